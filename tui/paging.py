"""Which page of runs is shown, which one is on its way, and how to reach any other.

Kept apart from the screen (and free of Textual) because it is the part that crashed: pages
were requested faster than they loaded (``]`` ``]``, or Down held across a page boundary)
and the screen indexed a token it did not have yet. Here a move made while a page is still
loading is queued (keys) or dropped (the cursor bumping the edge at key-repeat speed), and a
page's token is always known: from the page before it, or asked of the client by offset.
"""

from __future__ import annotations

from typing import Callable


class Pager:
    """Page bookkeeping for one query; ``reset`` when the query changes."""

    #: At most this many explicit page moves wait for a loading page (a held ``]``).
    MAX_QUEUED = 20

    def __init__(self, page_size: int, token_at: Callable[[int], str | None]) -> None:
        self.page_size = page_size
        self.token_at = token_at  # offset -> page token (the client's)
        self.reset()

    def reset(self) -> None:
        self.index = 0  # the page on screen
        self.loading: int | None = 0  # the page being read, if any
        self.queued = 0  # explicit moves (+n forward, -n back) waiting for ``loading``
        self.tokens: dict[int, str | None] = {0: None}
        self.last: int | None = None  # the last page's index, once known

    @property
    def busy(self) -> bool:
        return self.loading is not None

    def token(self, index: int) -> str | None:
        if index not in self.tokens:
            self.tokens[index] = self.token_at(index * self.page_size) if index else None
        return self.tokens[index]

    def target(self, direction: int) -> int | None:
        """The page a move of ``direction`` from the page on screen leads to, or None when
        there is none (before the first, after the last)."""
        index = self.index + direction
        if index < 0 or (self.last is not None and index > self.last):
            return None
        return index

    def last_index(self, total: int | None) -> int:
        if total is None:
            return self.last if self.last is not None else self.index
        return max(0, (total - 1) // self.page_size)

    def start(self, index: int) -> str | None:
        """Begin loading page ``index``; returns its token."""
        self.loading = index
        return self.token(index)

    def queue(self, direction: int) -> None:
        self.queued = max(-self.MAX_QUEUED, min(self.MAX_QUEUED, self.queued + direction))

    def accepts(self, index: int, live: bool) -> bool:
        """Is a page that arrived for ``index`` still wanted? (A live refresh of the page on
        screen is, unless the user has moved on meanwhile.)"""
        if live:
            return self.loading is None and index == self.index
        return index == self.loading

    def arrived(self, index: int, next_token: str | None, total: int | None) -> int:
        """Page ``index`` is on screen now; returns the queued move to make next (0: none)."""
        self.index = index
        self.loading = None
        if next_token is None:
            self.last = index
            self.tokens.pop(index + 1, None)
        else:
            self.tokens[index + 1] = next_token
            if total is not None:
                self.last = self.last_index(total)
        if self.queued:
            step = 1 if self.queued > 0 else -1
            self.queued -= step
            return step
        return 0

    def failed(self) -> None:
        """The load did not finish: stay on the page on screen; drop queued moves."""
        self.loading = None
        self.queued = 0
