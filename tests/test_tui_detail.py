"""Nested runs (folding groups, a parent's children), and artifacts (the first previewed at
once, long lines wrapped, one saved into a folder)."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from test_tui_helpers import _utc, build_sample, run_async_tests, settle, table_column  # noqa: E402,F401

from tui.app import make_app  # noqa: E402


@pytest.fixture
def sample(client):
    return build_sample(client)


async def test_a_parent_row_shows_its_child_count_and_folds(client, sample):
    async with make_app(client, experiment_ids=[sample["mnist-cnn"]], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        names = table_column(table, "attr.name")
        assert "▾ sweep (2)" in names and "└ trial-1" in names and "└ trial-2" in names
        table.move_cursor(row=table.get_row_index(sample["trial-2"]))
        await pilot.press("f")  # on a child: folds its parent
        await settle(pilot)
        names = table_column(table, "attr.name")
        assert "▸ sweep (2)" in names and not any("trial" in n for n in names)
        assert table.cursor_key == sample["sweep"]
        await pilot.press("F")
        await settle(pilot)
        assert "└ trial-1" in table_column(table, "attr.name")


async def test_a_parents_detail_lists_and_opens_its_children(client, sample):
    async with make_app(client, run_id=sample["sweep"], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        screen = pilot.app.screen
        children = screen.query_one("#children-table")
        assert table_column(children, "name") == ["trial-1", "trial-2"]
        children.focus()
        children.move_cursor(row=1)
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen.run_id == sample["trial-2"]
        assert not pilot.app.screen.query_one("#children-table").display  # a leaf run: no list


async def test_the_first_artifact_is_previewed_at_once_and_can_be_saved(client, sample, tmp_path):
    client.log_text(sample["forest-a"], "x = '" + "y" * 300 + " END'\n", "aaa-long.py")
    async with make_app(client, run_id=sample["forest-a"], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.preview_path == "aaa-long.py"  # no key needed
        assert "END" in pilot.app.export_screenshot()  # the long line wrapped, not cut at the edge
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("ctrl+a", "ctrl+k", *str(tmp_path / "saved"), "enter")
        await settle(pilot)
    assert (tmp_path / "saved" / "aaa-long.py").read_text().endswith("END'\n")


run_async_tests(globals())
