"""Paging keys of the runs screen: next/previous page (keys and the cursor at an edge), first
and last page, cached and read-ahead pages shown at once. The bookkeeping is ``tui.paging.Pager``.
"""

from __future__ import annotations

from tui.messages import RunsLoaded


class RunPaging:
    """Mixin for ``RunsScreen`` (which owns ``pager``, ``page``, ``pages`` and ``load_page``,
    and routes ``KeyTable.EdgeReached`` here: Textual reads ``@on`` handlers from the screen
    class itself, not from mixins)."""

    def action_page(self, direction: int, at_edge: bool = False) -> None:
        """One page on or back. While a page is still loading, keys wait their turn (``]]``
        moves two pages) and the cursor bumping the edge (a held Down) is dropped."""
        if self.pager.busy:
            if not at_edge:
                self.pager.queue(direction)
            return
        index = self.pager.target(direction)
        if index is None or self.page is None or (direction > 0 and self.page.next_token is None):
            if not at_edge:
                self.notify("this is the last page" if direction > 0 else "this is the first page", timeout=2)
            return
        self._go(index, -1 if at_edge and direction < 0 else 0)

    def action_first_page(self) -> None:
        if not self.pager.busy and self.pager.index != 0:
            self._go(0, 0)

    def action_last_page(self) -> None:
        if self.pager.busy or self.page is None:
            return
        last = self.pager.last_index(self.page.total)
        if last != self.pager.index:
            self._go(last, -1)

    def _go(self, index: int, cursor: int) -> None:
        self.pending_cursor = cursor
        token = self.pager.start(index)
        cached = self.pages.get((self.run_query(), token))
        if cached is not None:
            # Shown at once (cached pages are dropped whenever the file changes, so it is current).
            self.post_message(RunsLoaded(cached, False, index))
            return
        self.busy()
        self.load_page(self.run_query(), token, False, index)
