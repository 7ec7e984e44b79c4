"""Paging the runs table as fast as keys repeat, sorting while paging, jumping to the first and
last page, and what a crash looks like from the command line."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from lighttrack.entities import Param  # noqa: E402
from test_tui_helpers import _utc, run_async_tests, settle, table_column  # noqa: E402,F401

from tui.app import crash_message, make_app  # noqa: E402

T0 = 1_700_000_000_000


@pytest.fixture
def many(client):
    """350 runs: four pages of 100 (the last one 50)."""
    experiment = client.create_experiment("many")
    for i in range(350):
        run_id = client.create_run(experiment, start_time=T0 + i * 1000, run_name=f"r{i:03d}").info.run_id
        client.log_batch(run_id, params=[Param("i", str(i)), Param("lr", str([0.1, 0.01, 0.001][i % 3]))])
        client.log_metric(run_id, "acc", i / 350, step=0)
        client.set_terminated(run_id, end_time=T0 + i * 1000 + 10 * (i % 7))
    return experiment


def names(table) -> list[str]:
    return [n.lstrip("└ ") for n in table_column(table, "attr.name")]


def status(screen) -> str:
    return str(screen.query_one("#runs-status").render())


async def test_paging_keys_faster_than_pages_load_never_crash_and_land_right(client, many):
    async with make_app(client, experiment_ids=[many], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        # ] ] right after the first page, before anything is read ahead: both moves count
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert names(table)[0] == "r149" and "runs 201–300 of 350" in status(screen)
        # ] held far past the last page: stops there
        await pilot.press(*["right_square_bracket"] * 8)
        await settle(pilot)
        assert names(table)[0] == "r049" and len(names(table)) == 50
        # Down held at key-repeat speed across a page boundary: no crash, one page back/on
        await pilot.press("left_square_bracket")
        await settle(pilot)
        table.move_cursor(row=99)
        await pilot.press(*["down"] * 12)
        await settle(pilot)
        assert names(table)[0] == "r049"
        await pilot.press(*["up"] * 60, *["left_square_bracket"] * 5, *["right_square_bracket"] * 2)
        await settle(pilot)
        assert "of 350" in status(screen) and table.row_count in (50, 100)


async def test_sorting_while_pages_are_loading_shows_the_new_sort_from_its_first_page(client, many):
    async with make_app(client, experiment_ids=[many], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        await pilot.press("right_square_bracket", "right_square_bracket")
        screen.sort_by("params.i", False)  # while the pages are on their way
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert names(table)[0] == "r100" and "runs 101–200 of 350" in status(screen)  # numeric order
        await pilot.press("S", "right_square_bracket", "S", "right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert "params.i" == screen.sort.column and not screen.sort.descending
        assert names(table)[0] == "r200"
        assert table_column(table, "params.i")[:2] == ["200", "201"]


async def test_jump_to_the_last_and_first_page(client, many):
    async with make_app(client, experiment_ids=[many], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        assert names(table)[0] == "r049" and names(table)[-1] == "r000"
        assert "runs 301–350 of 350" in status(screen)
        await pilot.press("left_square_bracket")  # back from a page reached by a jump
        await settle(pilot)
        assert names(table)[0] == "r149"
        await pilot.press("left_curly_bracket")
        await settle(pilot)
        assert names(table)[0] == "r349" and "runs 1–100" in status(screen)


def test_a_crash_exits_1_with_one_line_naming_the_log(client, many, tmp_path):
    from tui.screens.runs import RunsScreen

    app = make_app(client, experiment_ids=[many], live=False)

    async def crash(pilot) -> None:
        await settle(pilot)
        await pilot.press("space")  # marking now fails: a bug in a handler

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RunsScreen, "action_mark", lambda self: [][1])
        app.run(headless=True, size=(100, 30), auto_pilot=crash)
    assert app.return_code == 1
    message = crash_message(app)
    assert message is not None and "\n" not in message
    assert message.startswith("lighttrack ui crashed (IndexError: list index out of range); the traceback is in ")
    log = message.rsplit(" ", 1)[1]
    assert str(tmp_path) in log
    text = open(log, encoding="utf-8").read()
    assert "Traceback" in text and "IndexError" in text and "<lambda>" in text


def test_a_normal_quit_is_not_a_crash(client, many):
    app = make_app(client, experiment_ids=[many], live=False)

    async def quit_(pilot) -> None:
        await settle(pilot)
        await pilot.press("q")

    app.run(headless=True, size=(100, 30), auto_pilot=quit_)
    assert app.return_code == 0 and crash_message(app) is None


async def test_a_new_page_is_drawn_once_already_scrolled_to_its_cursor(client, many):
    """Down on the last row of a page: the next page's first drawing shows its first row (the
    old scroll position was drawn first, then the cursor's: a fresh page drawn twice); the
    last page jumped to shows its last row in its first drawing."""
    async with make_app(client, experiment_ids=[many], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        drawn: list[tuple[int, float]] = []
        original = table.render_lines

        def render_lines(crop):
            drawn.append((table._update_count, table.scroll_y))
            return original(crop)
        table.render_lines = render_lines
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.cursor_row == table.row_count - 1 and table.scroll_y > 0
        drawn.clear()
        await pilot.press("down")  # past the last row: the next page
        await settle(pilot)
        assert names(table)[0] == "r249" and table.cursor_row == 0
        new_rows = [scroll for count, scroll in drawn if count == table._update_count]
        assert new_rows and set(new_rows) == {0}, drawn
        drawn.clear()
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        new_rows = [scroll for count, scroll in drawn if count == table._update_count]
        visible = table.scrollable_content_region.height
        assert table.cursor_row == table.row_count - 1
        assert new_rows and all(scroll >= table.row_count - visible for scroll in new_rows), drawn


async def test_reading_ahead_starts_after_the_page_is_drawn_and_the_app_freezes_start_up_objects(client, many,
                                                                                             monkeypatch):
    """The next page is read ahead once the shown one is on the screen (a reading thread
    started before shares the GIL with drawing it), after the garbage of the page before is
    collected; start-up objects are frozen out of full garbage collections while the app runs
    and given back when it ends."""
    import gc
    import types

    import tui.screens.runs as runs_module
    from tui.screens.runs import RunsScreen

    drawn_when_read: list[bool] = []
    events: list[str] = []
    original = RunsScreen.prefetch

    def prefetch(self, query, token):
        table = self.query_one("#runs-table")
        drawn_when_read.append(getattr(table, "drawn_rows", None) == table._update_count)
        events.append("read ahead")
        return original(self, query, token)

    def collect(*args):
        events.append("collect")
        return gc.collect(*args)
    monkeypatch.setattr(runs_module, "gc", types.SimpleNamespace(collect=collect))

    from tui.widgets.tables import KeyTable

    render = KeyTable.render_lines

    def render_lines(table, crop):
        strips = render(table, crop)
        table.drawn_rows = table._update_count
        return strips
    # on the class before the app starts: the first page may be drawn before a test could
    # reach the table (a hook set on it afterwards missed that drawing, at random)
    monkeypatch.setattr(KeyTable, "render_lines", render_lines)
    async with make_app(client, experiment_ids=[many], live=False).run_test(size=(120, 40)) as pilot:
        RunsScreen.prefetch = prefetch
        try:
            await settle(pilot)
            await pilot.press("ctrl+end", "down")  # the next page, then its read-ahead
            await settle(pilot)
        finally:
            RunsScreen.prefetch = original
        assert len(pilot.app.screen.pages) >= 2 and drawn_when_read and all(drawn_when_read)
        assert events[-2:] == ["collect", "read ahead"]
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0

run_async_tests(globals())
