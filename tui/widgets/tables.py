"""DataTable helpers: a table that asks for the next page at its edges, and a refill that
keeps the cursor on the same row (by key) without flicker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from tui.format import ellipsize
from tui.widgets.cells import one_line_cell, text_width


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # str or rich Text (a run's colour in compare's headers)
    width: int | None = None


class KeyTable(DataTable):
    """A row-cursor table whose Enter shows in the footer and whose edges ask for more rows."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="table.open",
                tooltip="Open the highlighted row"),
        # DataTable's own movement keys, kept out of the key panel (system) so that `?` shows
        # the screen's keys first; they still work, and arrows are obvious.
        *[Binding(key, action, description, show=False, system=True, id=f"table.{action}", tooltip=description)
          for key, action, description in (
              ("up", "cursor_up", "Row up"), ("down", "cursor_down", "Row down"),
              ("left", "cursor_left", "Scroll left"), ("right", "cursor_right", "Scroll right"),
              ("pageup", "page_up", "Page up"), ("pagedown", "page_down", "Page down"),
              ("ctrl+home", "scroll_top", "First row"), ("ctrl+end", "scroll_bottom", "Last row"),
              ("home", "scroll_home", "Home"), ("end", "scroll_end", "End"),
              ("ctrl+pageup", "page_left", "Page left"), ("ctrl+pagedown", "page_right", "Page right"))],
    ]

    class EdgeReached(Message):
        """The cursor tried to move past the last (+1) or first (-1) row."""

        def __init__(self, table: "KeyTable", direction: int) -> None:
            super().__init__()
            self.table = table
            self.direction = direction

        @property
        def control(self) -> "KeyTable":
            return self.table

    def __init__(self, *, pages: bool = False, openable: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        self.pages = pages
        self.openable = openable  # False: Enter opens nothing here, so the footer must not say "Open"
        self._when_drawn: list[Callable[[], None]] = []
        self._drawing: tuple[Any, Any] | None = None  # (console, options) while drawing
        self._cell_meta: dict[tuple[int, int], Style] = {}  # DataTable's per-cell meta, made once
        self._drawn_width: int | None = None  # the width of the last drawing

    def when_drawn(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback(*args)`` once the table has been drawn with the rows it holds now
        (``call_after_refresh`` runs before the screen is painted, which is timer-driven)."""
        self._when_drawn.append(partial(callback, *args))

    def render_lines(self, crop: Region) -> list[Strip]:
        self._drawing = (self.app.console, self.app.console_options)  # the same for every cell
        self._drawn_width = self.size.width
        try:
            strips = super().render_lines(crop)
        finally:
            self._drawing = None
        waiting, self._when_drawn = self._when_drawn, []
        for callback in waiting:
            self.call_later(callback)
        return strips

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor" and not self.openable:
            return False
        return super().check_action(action, parameters)

    def action_cursor_down(self) -> None:
        if self.pages and self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.EdgeReached(self, 1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.pages and self.row_count and self.cursor_row <= 0:
            self.post_message(self.EdgeReached(self, -1))
            return
        super().action_cursor_up()

    # Drawing: a new page is 13 x 36 fresh cells; DataTable's own path costs ~0.3 ms a cell,
    # tui/widgets/cells.py makes the same segments for one-line text cells in a fraction of it.
    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Any]]:
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        row = self.rows.get(row_key) if row_key is not None else None
        if row is None or column_index < 0 or row.height != 1 or row.auto_height:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (row_key, self._column_locations.get_key(column_index), base_style, cursor, hover,
                     self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        cached = self._cell_render_cache.get(cache_key)
        if cached is not None:
            return cached
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        meta = self._cell_meta.get((row_index, column_index))
        if meta is None:
            meta = self._cell_meta[row_index, column_index] = Style.from_meta({"row": row_index, "column": column_index})
        if component_style._meta or component_style.link:
            pre_style, meta = base_style + meta + component_style, None  # DataTable's order, as is
        else:
            pre_style = base_style + component_style
        cell = self._get_row_renderables(row_index).cells[column_index]
        console, options = self._drawing or (self.app.console, self.app.console_options)
        line = one_line_cell(console, options, cell, width, self.cell_padding, pre_style, post_style, meta)
        if line is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._cell_render_cache[cache_key] = [line]
        return [line]

    def _on_resize(self, event: events.Resize) -> None:
        """DataTable starts its drawing over on any resize; only a new width can change a cell
        or a line (both are cached by width and row, not height). A table gains or loses a
        line of height when its horizontal scrollbar comes or goes (a page of columns a few
        cells wider than the screen): that drew the whole page a second time (70-100 ms)
        right after it was shown."""
        if event.size.width == self._drawn_width:
            event.prevent_default()  # (Textual calls each class's handler: this stops DataTable's)

    def _update_dimensions(self, new_rows: Any) -> None:
        """DataTable's, with text cells measured directly (its per-cell measure builds console
        options each time: 40 ms for a page of 100 rows)."""
        rest = []
        columns = self.ordered_columns
        for row_key in new_rows:
            index = self._row_locations.get(row_key)
            row = self.rows.get(row_key)
            if index is None or row is None:
                continue
            cells = self._get_row_renderables(index).cells
            widths = [text_width(cell) for cell in cells]
            if row.label is not None or row.auto_height or None in widths:
                rest.append(row_key)
                continue
            for column, cell_width in zip(columns, widths):
                column.content_width = max(column.content_width, cell_width)
        super()._update_dimensions(rest)

    # Sideways by whole columns: scrolling a cell at a time left a column cut at the left edge
    # showing the tail of its values under a blank header (the label is left-aligned and was
    # scrolled away), so no one could tell which column it was.
    def _column_starts(self) -> list[int]:
        starts, x = [0], 0
        for column in self.ordered_columns[self.fixed_columns:]:
            x += column.get_render_width(self)
            starts.append(x)
        return starts

    def action_cursor_right(self) -> None:
        if self.cursor_type in ("cell", "column"):
            super().action_cursor_right()
            return
        width = sum(column.get_render_width(self) for column in self.ordered_columns)
        natural_max = width - self.scrollable_content_region.width
        if self.scroll_x >= natural_max:
            return  # every column to the right is in view
        target = next((x for x in self._column_starts() if x > self.scroll_x), None)
        if target is None:
            return
        if target > self.max_scroll_x:  # room to the right, so the last columns stay whole too
            self.virtual_size = Size(self.virtual_size.width + target - self.max_scroll_x, self.virtual_size.height)
        self.scroll_to(x=target, animate=False, immediate=True)

    def action_cursor_left(self) -> None:
        if self.cursor_type in ("cell", "column"):
            super().action_cursor_left()
            return
        target = max((x for x in self._column_starts() if x < self.scroll_x), default=None)
        if target is not None:
            self.scroll_to(x=target, animate=False, immediate=True)

    @property
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None

    def fill(self, columns: list[Column], rows: list[tuple[str, list[Any]]], *,
             keep: str | None = None, cursor: int | None = None) -> None:
        """Show ``rows`` (key, cells) under ``columns``. Same columns and keys: cells are
        updated in place (live refresh, no flicker); otherwise the table is rebuilt and the
        cursor goes back to ``keep``'s row, else to index ``cursor``, else stays where it was."""
        keep = keep if keep is not None else self.cursor_key
        old_index = self.cursor_row
        rows = [(key, [fit(cell, column.width) for cell, column in zip(cells, columns)]) for key, cells in rows]
        columns = [Column(c.key, fit(c.label, c.width), c.width) for c in columns]
        current_columns = [c.key.value for c in self.ordered_columns]
        current_labels = [str(c.label) for c in self.ordered_columns]
        same_columns = current_columns == [c.key for c in columns] and current_labels == [str(c.label) for c in columns]
        if same_columns and [r.key.value for r in self.ordered_rows] == [key for key, _ in rows]:
            for key, cells in rows:
                old = self.get_row(key)
                for column, new, before in zip(columns, cells, old):
                    if str(new) != str(before) or type(new) is not type(before):
                        self.update_cell(key, column.key, new)
            if cursor is not None:
                self.move_cursor(row=cursor, animate=False)
            return
        scroll = self.scroll_offset
        self.clear(columns=not same_columns)
        if not same_columns:
            for column in columns:
                self.add_column(column.label, width=column.width, key=column.key)
        for key, cells in rows:
            self.add_row(*cells, key=key)
        index = None
        if cursor is not None:
            index = cursor
        elif keep is not None:
            try:
                index = self.get_row_index(keep)
            except Exception:
                index = None
        if index is None:
            index = old_index
        if self.row_count:
            row = max(0, min(index, self.row_count - 1))
            self.move_cursor(row=row, animate=False, scroll=False)
            y = scroll.y
            if cursor is not None:
                # New rows (another page): show the cursor's part of the table in the first
                # drawing; drawing the old scroll position first and then the cursor's drew a
                # fresh page twice (2 x 70-100 ms at 120x40).
                height = self.scrollable_content_region.height
                y = 0 if row < height else row - height + 1
            self.scroll_to(x=scroll.x, y=y, animate=False, immediate=True)
            self.call_after_refresh(self._cursor_into_view)

    def _cursor_into_view(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.cursor_row, animate=False, scroll=True)


def fit(cell: Any, width: int | None) -> Any:
    """A cell cut to its column with an ellipsis (DataTable cuts silently: ``1,000,00`` for
    1,000,000, ``2026-12-0`` hiding the part that differs)."""
    if width is None:
        return cell
    if isinstance(cell, Text):
        if cell.cell_len <= width:
            return cell
        cut = cell.copy()
        cut.truncate(width, overflow="ellipsis")
        return cut
    if isinstance(cell, str) and len(cell) > width:
        return ellipsize(cell, width)
    return cell
