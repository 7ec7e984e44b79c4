"""What the screens look like at 80x24 and 120x40, asserted on the rendered widgets (the
snapshots show it too, but only a person comparing pictures notices a cut): footers fit the
width with the most useful keys and ``?``, every cut value ends in an ellipsis, and a column
scrolled sideways is never cut at the left edge under a blank header."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from lighttrack.entities import Metric, Param  # noqa: E402
from test_tui_helpers import build_sample, run_async_tests, settle, table_column  # noqa: E402,F401
from textual.widgets._footer import FooterKey  # noqa: E402

from tui.app import make_app  # noqa: E402

SIZES = [(80, 24), (120, 40)]
ELLIPSIS = "…"


def footer_keys(screen) -> list[FooterKey]:
    footer = screen.query_one("FittedFooter")
    return list(footer.query(FooterKey))


def assert_footer_fits(screen, width: int, first: str) -> None:
    keys = footer_keys(screen)
    actions = [k.action for k in keys]
    assert "toggle_keys" in actions  # ? lists every key, shown or not
    assert actions[0] == first  # the most useful key first
    for key in keys:
        assert key.region.width > 0 and key.region.right <= width, (key.action, key.region, width)
        text = "".join(segment.text for y in range(key.region.height) for segment in key.render_line(y))
        assert key.description in text, (key.description, text)  # the label is whole


@pytest.mark.parametrize("size", SIZES)
async def test_footers_fit_the_width_with_the_most_useful_keys_first(client, size):
    ids = build_sample(client)
    async with make_app(client, live=False).run_test(size=size) as pilot:
        await settle(pilot)
        assert_footer_fits(pilot.app.screen, size[0], "select_cursor")
        experiments = pilot.app.screen
        experiments.query_one("#experiments-table").move_cursor(
            row=next(i for i, r in enumerate(experiments.rows) if r.experiment_id == ids["iris-forest"]))
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert type(screen).__name__ == "RunsScreen"
        assert_footer_fits(screen, size[0], "select_cursor")
        shown = [k.action for k in footer_keys(screen)]
        assert "mark" in shown and "compare" in shown  # what a sweep needs first
        if size[0] == 80:  # not everything fits: the rest is behind ?
            assert len(shown) < len([b for b in screen.BINDINGS if b.show])


async def _sweep(client, long_value: str) -> str:
    experiment = client.create_experiment("sweep")
    for i in range(6):
        run = client.create_run(experiment, start_time=1_700_000_000_000 + i,
                                run_name=f"resnet18-imagenet-augmented-lr0.001-bs256-seed{i}")
        client.log_batch(run.info.run_id, params=[Param("notes", long_value + str(i)), Param("lr", str(i))],
                         metrics=[Metric("acc", 0.5 + i / 100, 0, 0)])
    return experiment


@pytest.mark.parametrize("size", SIZES)
async def test_every_cut_value_ends_in_an_ellipsis(client, size):
    long_value = "a note that is much longer than any column gives room for " * 2
    experiment = await _sweep(client, long_value)
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=size) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        screen.columns = ["params.notes", "params.lr", "metrics.acc"]
        screen._show()
        await settle(pilot)
        table = screen.query_one("#runs-table")
        names = table_column(table, "attr.name")
        full = {r.info.run_name for r in client.search_runs([experiment])}
        assert len(set(names)) == 6  # the differing tail stays
        for name in names:
            assert name.strip() in full or ELLIPSIS in name, name
        notes = table_column(table, "params.notes")
        assert all(ELLIPSIS in note and note.rstrip(ELLIPSIS + " ") in long_value for note in notes), notes


@pytest.mark.parametrize("size", SIZES)
async def test_scrolling_sideways_keeps_whole_columns_under_their_headers(client, size):
    ids = build_sample(client)
    async with make_app(client, experiment_ids=[ids["iris-forest"]], live=False).run_test(size=size) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#runs-table")
        fixed = sum(c.get_render_width(table) for c in table.ordered_columns[:table.fixed_columns])
        moved = False
        for _ in range(12):
            before = table.scroll_x
            await pilot.press("right")
            await pilot.pause()
            moved |= table.scroll_x != before
            starts = table._column_starts()
            assert table.scroll_x in starts  # never inside a column
            first = table.ordered_columns[table.fixed_columns + starts.index(table.scroll_x)] \
                if starts.index(table.scroll_x) < len(starts) - 1 else None
            header = "".join(segment.text for segment in table.render_line(0))
            if first is not None:  # the first scrolled column's header starts where it shows
                assert header[fixed:].lstrip().startswith(str(first.label).strip()[:4]), header
        if size[0] == 80:
            assert moved  # at 80 columns there is something to scroll to
        for _ in range(12):
            await pilot.press("left")
            await pilot.pause()
            assert table.scroll_x in table._column_starts()
        assert table.scroll_x == 0


run_async_tests(globals())
