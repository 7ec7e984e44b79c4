"""Table cells drawn in one step (tui/widgets/cells.py) are exactly what Textual's DataTable
draws: segment for segment, on generated texts (styles, spans, justify, overflow, tabs, wide
characters, too long) and on every visible line of real screens, with a cursor, zebra rows,
fixed columns and a sweep's coloured marks."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("textual")

from rich.console import Console  # noqa: E402
from rich.padding import Padding  # noqa: E402
from rich.style import Style  # noqa: E402
from rich.text import Text  # noqa: E402
from test_tui_helpers import run_async_tests, settle  # noqa: E402
from test_tui_sweep import sweep  # noqa: E402,F401  (the fixture)
from textual.render import measure  # noqa: E402
from textual.renderables.styled import Styled  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from tui.app import make_app  # noqa: E402
from tui.widgets.cells import one_line_cell, text_width  # noqa: E402
from tui.widgets.tables import KeyTable  # noqa: E402

WORDS = ["run", "0.001", "FINISHED", "lr", "résumé", "数据集", "🙂", "  ", "a\tb", "x" * 30, ""]
STYLES = [None, "bold", "green", "italic red on blue", Style(color="#ff8800", bold=True), Style.from_meta({"k": 1}),
          Style(link="https://example.org")]


def _text(rng: random.Random) -> Text:
    text = Text(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4))),
                style=rng.choice(STYLES) or "",
                justify=rng.choice([None, "default", "left", "right", "center", "full"]),
                overflow=rng.choice([None, "fold", "crop", "ellipsis"]),
                no_wrap=rng.choice([None, True, False]), end=rng.choice(["\n", ""]))
    for _ in range(rng.randint(0, 3)):
        if text.plain:
            start = rng.randrange(len(text.plain))
            text.stylize(rng.choice(STYLES[1:]), start, rng.randint(start, len(text.plain)))
    return text


def _datatables_way(console: Console, cell: Text, width: int, padding: int, pre: Style, post: Style | None):
    """What DataTable._render_cell does for a cell in a row of height 1."""
    options = console.options.update_dimensions(width, 1).update(no_wrap=True)
    return console.render_lines(Styled(Padding(cell, (0, padding)), pre_style=pre, post_style=post), options)


def test_generated_cells_are_drawn_exactly_as_datatable_draws_them():
    console = Console(width=200, color_system="truecolor")
    rng = random.Random(11)
    compared = 0
    for _ in range(3000):
        cell = _text(rng)
        width, padding = rng.randint(1, 24), rng.choice([0, 1, 2])
        # DataTable's pre style: the row's (meta {"fixed": True} in fixed columns), the cell's
        # meta (row and column), then the component style (cursor, hover)
        base = Style(color="#e0e0e0", bgcolor=rng.choice(["#1e1e1e", "#272727"]))
        base += rng.choice([Style.null(), Style.from_meta({"fixed": True})])
        meta = Style.from_meta({"row": rng.randint(0, 99), "column": rng.randint(0, 12)})
        component = rng.choice([Style.null(), Style(bgcolor="#0178d4", bold=True), Style(reverse=True)])
        post = rng.choice([Style.null(), Style(bold=True), Style(bgcolor="#0178d4")])
        expected = _datatables_way(console, cell, width, padding, base + meta + component, post)
        fast = one_line_cell(console, console.options, cell, width, padding, base + meta + component, post)
        meta_last = one_line_cell(console, console.options, cell, width, padding, base + component, post, meta)
        if fast is None:  # not one line of text in the room there is: DataTable draws it
            assert meta_last is None
            continue
        compared += 1
        assert [fast] == expected, (cell, width, padding)
        assert [meta_last] == expected, (cell, width, padding)
        for mine, theirs in zip(meta_last, expected[0]):  # Style equality leaves out nothing but link ids
            assert mine.style.meta == theirs.style.meta and list(mine.style.meta) == list(theirs.style.meta)
    assert compared > 2000  # most generated cells take the quick way


def test_text_widths_are_textuals_measure():
    console = Console(width=200)
    rng = random.Random(5)
    for _ in range(500):
        cell = _text(rng)
        assert text_width(cell) == measure(console, cell, 1)
        assert text_width(cell.plain) == measure(console, cell.plain, 1)
    assert text_width(Padding("x", 1)) is None


def _visible_lines(table) -> list[list]:
    """Every visible line of ``table`` drawn from scratch (no cached cell or line)."""
    table._update_count += 1
    for cache in (table._cell_render_cache, table._row_render_cache, table._line_cache, table._row_renderable_cache):
        cache.clear()
    return [list(table.render_line(y)) for y in range(table.size.height)]


def _both_ways(table, monkeypatch) -> tuple[list, list]:
    quick = _visible_lines(table)
    with monkeypatch.context() as patched:
        patched.setattr(KeyTable, "_render_cell", DataTable._render_cell)
        textual = _visible_lines(table)
    return quick, textual


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_real_screens_draw_the_same_lines_either_way(client, sweep, monkeypatch, size):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("space", "down", "space", "down")  # two marked (coloured), cursor on a third
        await settle(pilot)
        runs = pilot.app.screen.query_one("#runs-table")
        quick, textual = _both_ways(runs, monkeypatch)
        assert quick == textual and any(len(line) > 3 for line in quick)
        await pilot.press("c")
        await settle(pilot)
        compare = pilot.app.screen.query_one("#compare-table")
        quick, textual = _both_ways(compare, monkeypatch)
        assert quick == textual and any(len(line) > 3 for line in quick)


async def test_a_height_only_resize_keeps_the_drawn_cells(client, sweep):
    """Only a new width can change a cell or a line, so a table that gets shorter or taller
    (a message line shown above it) keeps what it has drawn instead of drawing it all again;
    what it shows then is what a fresh drawing shows."""
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#runs-table")
        count, width = table._update_count, table.size.width
        table.styles.height = table.size.height - 5
        await settle(pilot)
        assert table.size.width == width and table._update_count == count
        shown = [list(table.render_line(y)) for y in range(table.size.height)]
        assert shown == _visible_lines(table)
        table.styles.width = width - 10  # a new width does start over
        await settle(pilot)
        assert table._update_count != count


run_async_tests(globals())
