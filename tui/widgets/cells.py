"""One table cell drawn in one step: the segments Textual's DataTable makes for a one-line
text cell, without going through rich's renderable layers.

Why: DataTable draws every cell as ``Styled(Padding(text))`` through ``console.render_lines``
twice over; each layer copies console options and re-splits the segments. A fresh page of the
runs table (13 columns x 36 lines at 120x40) took 140-210 ms of the main thread to draw, more
than the whole page budget, and measuring the new rows' widths 40 ms more. For a cell that is
one line of ``Text`` (every cell ``KeyTable.fill`` makes) the result of those layers is
known, and is built here from the same rich calls the layers end in: ``Text.wrap`` (justify,
overflow, tabs), ``Text.render``, the crop/pad to the column and the padding and style
sandwich. Anything else (several lines, other renderables, zero-width columns) returns None
and takes DataTable's own path. ``tests/test_tui_cells.py`` checks both paths give the same
segments, cell by cell, on real screens and on generated texts.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

_NULL = Style.null()  # what Padding's default style "none" resolves to
_NEWLINE = Text("\n")


def one_line_cell(console: Console, options: ConsoleOptions, cell: object, width: int, padding: int,
                  pre_style: Style, post_style: Style | None, meta: Style | None = None) -> list[Segment] | None:
    """The one line of segments DataTable's ``_render_cell`` makes for ``cell`` in a row of
    height 1, or None when ``cell`` is not a single line of text (then DataTable draws it).

    ``meta``: the cell's own meta style (row and column, for mouse clicks), when ``pre_style``
    is given without it; it is added last (see ``_styled``)."""
    inner = width - 2 * padding
    if not isinstance(cell, Text) or inner < 1 or "\n" in cell.plain or cell.end not in ("", "\n"):
        return None
    overflow = cell.overflow or options.overflow or "fold"
    if overflow == "ignore":
        return None
    justify = cell.justify or options.justify or "default"
    plain = cell.plain
    if justify == "default" and "\t" not in plain and cell_len(plain) <= inner:
        # wrap would give the text back unchanged ("default" neither pads nor moves it); the
        # join is what carries the text's own style (Text.render alone drops it without spans)
        segments = list(_NEWLINE.join([cell]).render(console)) if cell.style or cell.spans else [Segment(plain)]
    else:
        tab_size = console.tab_size if cell.tab_size is None else cell.tab_size
        no_wrap = True if cell.no_wrap is None else cell.no_wrap  # DataTable's options say no_wrap
        lines = cell.wrap(console, inner, justify=justify, overflow=overflow, tab_size=tab_size or 8,
                          no_wrap=no_wrap)
        if len(lines) != 1:
            return None
        segments = list(_NEWLINE.join(lines).render(console))
    used = sum(segment.cell_length for segment in segments)
    if used > inner:  # (wrap has already cut it; this is rich's crop, for wide characters)
        segments = Segment.adjust_line_length(segments, inner, style=_NULL, pad=True)
    elif used < inner:
        segments.append(Segment(" " * (inner - used), _NULL))
    if padding:
        segments = [Segment(" " * padding, _NULL), *segments, Segment(" " * padding, _NULL)]
    if meta is None:
        return [Segment(text, _sandwich(style, pre_style, post_style)) for text, style, _ in segments]
    return [Segment(text, _styled(style, pre_style, post_style, meta)) for text, style, _ in segments]


def _sandwich(style: Style | None, pre: Style, post: Style | None) -> Style | None:
    """``Segment.apply_style(style=pre, post_style=post)`` for one segment."""
    if pre:
        style = pre + style
    if post:
        style = style + post if style else post
    return style


def _styled(style: Style | None, pre: Style, post: Style | None, meta: Style) -> Style:
    """``pre + meta + style + post`` as ``pre + style + post + meta``: the same style (a style
    holding only meta changes nothing else, so it can go last when no other part holds meta or a
    link), but the part before ``meta`` repeats from cell to cell and rich caches it, where the
    cell's own meta made every addition new (each merging pickled meta)."""
    if _no_meta(style) and _no_meta(post):
        combined = _sandwich(style, pre, post)
        return combined + meta if combined else meta
    return _sandwich(style, pre + meta, post)  # (pre has no meta or link either: see KeyTable)


def _no_meta(style: Style | None) -> bool:
    return style is None or (not style._meta and not style.link)


def text_width(cell: object) -> int | None:
    """What ``textual.render.measure(console, cell, 1)`` gives for a text cell, without the
    console options it builds per call; None for anything else."""
    if isinstance(cell, str):
        return cell_len(cell)
    if isinstance(cell, Text):
        return max((cell_len(line) for line in cell.plain.splitlines()), default=0)
    return None
