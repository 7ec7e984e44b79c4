"""Pilot tests of the terminal UI: every screen and action, driven by keys as a user would,
checked on screen and through the public API afterwards."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

from lighttrack.entities import Param  # noqa: E402
from test_tui_helpers import _nodes, _utc, build_sample, run_async_tests, settle, shown, table_column  # noqa: E402,F401

from tui.app import make_app  # noqa: E402


@pytest.fixture
def sample(client):
    return build_sample(client)


def app_for(client, **kwargs):
    kwargs.setdefault("live", False)
    return make_app(client, **kwargs)


async def open_runs(pilot, name: str) -> None:
    screen = pilot.app.screen
    row = next(i for i, r in enumerate(screen.rows) if r.experiment.name == name)
    screen.query_one("#experiments-table").move_cursor(row=row)
    await pilot.press("enter")
    await settle(pilot)


def names_in(table) -> list[str]:
    return [name.split(" (")[0].lstrip("└▾▸ ") for name in table_column(table, "attr.name")]


async def cursor_to(pilot, table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


# ------------------------------------------------------------------------ experiments
async def test_experiments_screen_shows_counts_activity_and_description(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#experiments-table")
        names = table_column(table, "name")
        assert names[:4] == ["Default", "empty", "iris-forest", "mnist-cnn"]  # every file has Default "0"
        assert table_column(table, "runs")[2:4] == ["4", "3"]
        assert table_column(table, "last")[2] == "2024-01-01 03:00"
        assert table_column(table, "description")[2] == "RandomForest sweep on iris"


async def test_create_rename_describe_delete_and_restore_an_experiment(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.press(*"cifar")
        await pilot.press("enter")
        await settle(pilot)
        assert client.get_experiment_by_name("cifar") is not None
        screen = pilot.app.screen
        table = screen.query_one("#experiments-table")
        cifar = client.get_experiment_by_name("cifar").experiment_id
        await cursor_to(pilot, table, cifar)
        await pilot.press("r", "ctrl+a", "ctrl+k", *"cifar-10", "enter")
        await settle(pilot)
        assert client.get_experiment(cifar).name == "cifar-10"
        await pilot.press("e", *"small images", "ctrl+s")
        await settle(pilot)
        assert client.get_experiment(cifar).description == "small images"
        await cursor_to(pilot, table, cifar)
        await pilot.press("d")
        await pilot.press("y")
        await settle(pilot)
        assert client.get_experiment(cifar).lifecycle_stage == "deleted"
        assert "cifar-10" not in table_column(table, "name")
        await pilot.press("v")  # deleted ones
        await settle(pilot)
        assert table_column(table, "name") == ["cifar-10"]
        await pilot.press("u")
        await settle(pilot)
        assert client.get_experiment(cifar).lifecycle_stage == "active"


async def test_delete_asks_first_and_cancel_changes_nothing(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.press("escape")
        await settle(pilot)
        assert client.get_experiment(sample["empty"]).lifecycle_stage == "active"


async def test_enter_opens_runs_and_escape_goes_back(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_runs(pilot, "iris-forest")
        assert type(pilot.app.screen).__name__ == "RunsScreen"
        await pilot.press("escape")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "ExperimentsScreen"
        await pilot.press("escape")  # nothing below the first screen: stays
        assert type(pilot.app.screen).__name__ == "ExperimentsScreen"


async def test_marking_experiments_opens_their_runs_together(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#experiments-table")
        await cursor_to(pilot, table, sample["iris-forest"])
        await pilot.press("space")
        await cursor_to(pilot, table, sample["mnist-cnn"])
        await pilot.press("space", "enter")
        await settle(pilot)
        assert len(names_in(pilot.app.screen.query_one("#runs-table"))) == 7


# ------------------------------------------------------------------------------ runs
async def test_runs_table_shows_status_name_start_duration_user_and_data_columns(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#runs-table")
        assert names_in(table) == ["forest-d", "forest-c", "forest-b", "forest-a"]  # newest first
        assert table_column(table, "attr.status") == ["KILLED", "FAILED", "FINISHED", "FINISHED"]
        assert table_column(table, "attr.start")[-1] == "2024-01-01 00:00"
        assert table_column(table, "attr.duration")[-1] == "1m30s"
        assert table_column(table, "attr.user")[:2] == ["bo", "ana"]
        keys = [c.key.value for c in table.ordered_columns]
        assert {"metrics.acc", "metrics.loss", "params.criterion", "params.max_depth"} <= set(keys)
        assert table_column(table, "metrics.loss")[-1] == "0.3"
        status = shown(pilot.app.screen.query_one("#runs-status"))
        assert "runs 1–4 of 4" in status


async def test_filter_with_the_search_grammar(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("slash", *"metrics.acc > 0.94 and params.criterion = 'entropy'", "enter")
        await settle(pilot)
        assert names_in(screen.query_one("#runs-table")) == ["forest-d", "forest-c"]
        assert not screen.query_one("#filter-error").has_class("-shown")
        assert "of 2" in shown(screen.query_one("#runs-status"))


async def test_a_filter_that_does_not_parse_is_explained_and_changes_nothing(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("slash", *"metrics.acc >> 1", "enter")
        await settle(pilot)
        error = screen.query_one("#filter-error")
        assert error.has_class("-shown")
        text = shown(error)
        assert "position" in text and "^" in text
        assert len(names_in(screen.query_one("#runs-table"))) == 4  # the old rows stay
        assert screen.query_one("#filter").has_focus  # to fix it
        await pilot.press("ctrl+a", "ctrl+k", *"params.max_depth = '5'", "enter")
        await settle(pilot)
        assert not error.has_class("-shown")
        assert names_in(screen.query_one("#runs-table")) == ["forest-c", "forest-b"]


async def test_sort_by_any_column_on_the_server(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(*"metric acc", "enter")  # type to search every key, Enter sorts by the first
        await settle(pilot)
        table = screen.query_one("#runs-table")
        assert names_in(table) == ["forest-c", "forest-d", "forest-b", "forest-a"]  # acc high to low
        assert screen.sort.order_by() == "metrics.`acc` DESC"
        assert "acc ▼" in [str(c.label) for c in table.ordered_columns]
        await pilot.press("S")
        await settle(pilot)
        assert names_in(table) == ["forest-a", "forest-b", "forest-d", "forest-c"]


async def test_clicking_a_header_sorts_by_it(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        screen.header_clicked(type("E", (), {"column_key": type("K", (), {"value": "params.n_estimators"})()})())
        await settle(pilot)
        assert screen.sort.column == "params.n_estimators"
        assert table_column(table, "params.n_estimators")[0] in ("200", "50")  # numeric or text order, server's


async def test_column_chooser_adds_and_removes_columns(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("C")
        await settle(pilot)
        chooser = pilot.app.screen
        listing = chooser.query_one("#columns-list")
        await pilot.press(*"team")  # narrow to the tag
        await settle(pilot)
        assert [str(listing.get_option_at_index(i).value) for i in range(listing.option_count)] == ["tags.team"]
        listing.focus()
        listing.highlighted = 0
        await pilot.press("space")
        chooser.query_one("#columns-filter").value = "user"
        await settle(pilot)
        listing.highlighted = 0
        await pilot.press("space")  # untick the user column
        await pilot.press("enter")
        await settle(pilot)
        keys = [c.key.value for c in screen.query_one("#runs-table").ordered_columns]
        assert "tags.team" in keys and "attr.user" not in keys
        assert table_column(screen.query_one("#runs-table"), "tags.team")[0] == "vision"


async def test_marking_runs_and_comparing_them(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")  # nothing marked yet: a warning, no screen
        assert type(pilot.app.screen).__name__ == "RunsScreen"
        await pilot.press("space", "space", "space")  # marks move down: d, c, b
        assert len(pilot.app.screen.marked) == 3
        await pilot.press("c")
        await settle(pilot)
        screen = pilot.app.screen
        assert type(screen).__name__ == "CompareScreen"
        table = screen.query_one("#compare-table")
        row = table.get_row("metrics.acc")
        assert str(row[0]).startswith("≠")
        assert [str(c).startswith("★") for c in row[1:]] == [False, True, False]  # forest-c has the best acc
        loss = [str(c) for c in table.get_row("metrics.loss")[1:]]
        assert loss[1].startswith("★")  # lower is better for a loss
        assert str(table.get_row("params.criterion")[0]).startswith("≠")
        assert not str(table.get_row("tags.team")[0]).startswith("≠")
        await pilot.press("h")  # hide equal rows
        keys = [r.key.value for r in table.ordered_rows]
        assert "tags.team" not in keys and "params.criterion" in keys
        await pilot.press("h")
        assert "tags.team" in [r.key.value for r in table.ordered_rows]
        await cursor_to(pilot, table, "metrics.acc")
        await pilot.press("b")  # lower acc is better now
        assert str(table.get_row("metrics.acc")[3]).startswith("★")


async def test_compare_charts_overlay_one_line_per_run_with_options(client, sample):
    marked = [sample["forest-a"], sample["forest-b"]]
    async with app_for(client).run_test(size=(120, 34)) as pilot:
        await settle(pilot)
        pilot.app.open_compare(marked)
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        chart = screen.query_one("#compare-chart")
        assert screen.metric_key == "acc"
        assert [s.label for s in chart.series] == ["forest-a", "forest-b"]
        assert "forest-a" in shown(screen.query_one("#compare-legend"))
        await pilot.press("x")
        assert chart.axis == "relative"
        await pilot.press("x")
        assert chart.axis == "wall"
        await pilot.press("s")
        assert chart.smoothing == 0.6
        await pilot.press("l")
        assert chart.log_y
        await pilot.pause()
        assert chart._cached is not None and chart.prepared.x_label == "wall time"
        options = screen.query_one("#compare-metrics")
        options.focus()
        await pilot.press("down")
        await settle(pilot)
        assert screen.metric_key == "loss"
        assert len(chart.series) == 2 and len(chart.series[0]) == 21


async def test_compare_scatter_of_a_param_against_a_metric(client, sample):
    async with app_for(client).run_test(size=(120, 34)) as pilot:
        await settle(pilot)
        pilot.app.open_compare([sample[f"forest-{c}"] for c in "abcd"])
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        screen = pilot.app.screen
        chart = screen.query_one("#compare-scatter")
        assert screen.query_one("#compare-x").value == "params.max_depth"  # a numeric param that varies
        assert screen.query_one("#compare-y").value == "metrics.acc"
        assert len(chart.points) == 4
        screen.query_one("#compare-x").value = "params.n_estimators"
        await settle(pilot)
        assert sorted(p[1] for p in chart.points) == sorted(["10", "50", "100", "200"])


async def test_scatter_over_every_filtered_run(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"params.criterion = 'gini'", "enter")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        screen = pilot.app.screen
        assert type(screen).__name__ == "ScatterScreen"
        assert len(screen.runs) == 2
        assert len(screen.query_one("#runs-scatter").points) == 2


async def test_grouping_puts_children_under_their_parent(client, sample):
    async with app_for(client, experiment_ids=[sample["mnist-cnn"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#runs-table")
        assert names_in(table) == ["trial-2", "trial-1", "sweep"]
        await pilot.press("g")
        await settle(pilot)
        assert table_column(table, "attr.name") == ["▾ sweep (2)", "└ trial-2", "└ trial-1"]
        assert "top-level runs 1–1 of 1" in shown(pilot.app.screen.query_one("#runs-status"))


async def test_delete_and_restore_runs(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "d", "y")
        await settle(pilot)
        assert client.get_run(sample["forest-d"]).info.lifecycle_stage == "deleted"
        assert client.get_run(sample["forest-c"]).info.lifecycle_stage == "deleted"
        table = pilot.app.screen.query_one("#runs-table")
        assert names_in(table) == ["forest-b", "forest-a"]
        await pilot.press("v")  # deleted runs
        await settle(pilot)
        assert names_in(table) == ["forest-d", "forest-c"]
        await pilot.press("u")
        await settle(pilot)
        assert client.get_run(sample["forest-d"]).info.lifecycle_stage == "active"
        assert names_in(table) == ["forest-c"]


async def test_rename_a_run_and_edit_its_tags(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r", "ctrl+a", "ctrl+k", *"forest-best", "enter")
        await settle(pilot)
        assert client.get_run(sample["forest-d"]).info.run_name == "forest-best"
        assert names_in(pilot.app.screen.query_one("#runs-table"))[0] == "forest-best"
        await pilot.press("t")
        await settle(pilot)
        editor = pilot.app.screen
        assert type(editor).__name__ == "TagEditor"
        await pilot.press(*"owner", "enter", *"dana", "enter")
        await settle(pilot)
        assert client.get_run(sample["forest-d"]).data.tags["owner"] == "dana"
        tags = editor.query_one("#tags-table")
        tags.focus()
        tags.move_cursor(row=tags.get_row_index("team"))
        await pilot.press("delete")
        await settle(pilot)
        assert "team" not in client.get_run(sample["forest-d"]).data.tags
        await pilot.press("escape")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunsScreen"


async def test_paging_through_many_runs_never_loads_them_all(client):
    experiment = client.create_experiment("many")
    for i in range(230):
        run_id = client.create_run(experiment, start_time=1_700_000_000_000 + i * 1000, run_name=f"r{i:03d}").info.run_id
        client.log_batch(run_id, params=[Param("i", str(i))])
        client.set_terminated(run_id, end_time=1_700_000_000_000 + i * 1000 + 10)
    async with app_for(client, experiment_ids=[experiment]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        assert table.row_count == 100
        assert names_in(table)[0] == "r229"
        assert "runs 1–100 of 230" in shown(screen.query_one("#runs-status"))
        table.move_cursor(row=99)
        await pilot.press("down")  # past the last row: the next page
        await settle(pilot)
        assert table.row_count == 100 and names_in(table)[0] == "r129" and table.cursor_row == 0
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert table.row_count == 30 and "runs 201–230 of 230" in shown(screen.query_one("#runs-status"))
        await pilot.press("up")  # before the first row: back a page, on its last row
        await settle(pilot)
        assert names_in(table)[0] == "r129" and table.cursor_row == 99
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert names_in(table)[0] == "r229"


# --------------------------------------------------------------- palette, keys, themes
async def test_command_palette_jumps_to_a_run_by_name_and_by_id_prefix(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        targets = pilot.app.adapter.jump_targets("forest-c")
        assert [(t.kind, t.ident) for t in targets] == [("run", sample["forest-c"])]
        prefix = sample["trial-2"][:6]
        assert ("run", sample["trial-2"]) in [(t.kind, t.ident) for t in pilot.app.adapter.jump_targets(prefix)]
        assert ("experiment", sample["mnist-cnn"]) in [
            (t.kind, t.ident) for t in pilot.app.adapter.jump_targets("mnist")]
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"forest-c")
        for _ in range(100):
            await pilot.pause(0.02)
            palette = pilot.app.screen
            if palette.query("CommandList") and palette.query_one("CommandList").option_count:
                break
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunDetailScreen"
        assert pilot.app.screen.run_id == sample["forest-c"]


async def test_every_action_of_a_screen_is_a_palette_command(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        titles = [c.title for c in pilot.app.get_system_commands(pilot.app.screen)]
        for title in ("Compare", "Filter", "Sort", "Columns", "Group", "Delete", "Restore", "Rename", "Tags"):
            assert title in titles
        command = next(c for c in pilot.app.get_system_commands(pilot.app.screen) if c.title == "Group")
        await command.callback()
        await settle(pilot)
        assert pilot.app.screen.grouped


def test_every_binding_has_an_id_and_a_description():
    from textual.binding import Binding

    from tui.app import LighttrackApp
    from tui.screens import base, compare, dialogs, experiments, run_detail, runs
    from tui.widgets import tables

    classes = [LighttrackApp, base.DataScreen, experiments.ExperimentsScreen, runs.RunsScreen, runs.FilterInput,
               run_detail.RunDetailScreen, compare.CompareScreen, dialogs.ConfirmDialog, dialogs.PromptDialog,
               dialogs.ChoiceDialog, dialogs.ColumnChooser, dialogs.TagEditor, dialogs.StageDialog, tables.KeyTable]
    try:
        from tui.screens import registry
        classes += [registry.RegistryScreen, registry.ModelScreen]
    except ImportError:
        pass
    ids: dict[str, tuple[str, str]] = {}
    for cls in classes:
        for binding in cls.__dict__.get("BINDINGS", []):
            assert isinstance(binding, Binding), f"{cls.__name__}: {binding!r} is not a Binding"
            assert binding.id and binding.description and binding.tooltip, f"{cls.__name__}: {binding}"
            # one id, one meaning (dialogs share "dialog.cancel" on purpose: one remap for all)
            assert ids.setdefault(binding.id, (binding.key, binding.action)) == (binding.key, binding.action)
    assert len(ids) > 50


async def test_question_mark_shows_the_keys_and_the_footer_shows_them_too(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert pilot.app.screen.query("Footer")
        await pilot.press("question_mark")
        await pilot.pause()
        assert pilot.app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not pilot.app.screen.query("HelpPanel")


async def test_dark_and_light_themes(client, sample):
    async with app_for(client, theme="light").run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert pilot.app.theme == "textual-light"
        await pilot.press("f2")
        assert pilot.app.theme == "textual-dark"


async def test_a_worker_error_becomes_a_notification_not_a_crash(client, sample):
    async with app_for(client).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pilot.app.open_run("f" * 32)
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunDetailScreen"
        notes = list(pilot.app._notifications)
        assert notes and notes[-1].severity == "error" and "ffff" in notes[-1].message
        assert not pilot.app.screen.query_one("#run-tabs").loading
        await pilot.press("escape")
        assert type(pilot.app.screen).__name__ == "ExperimentsScreen"


async def test_works_at_80x24(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        widths = {c.key.value: c.width for c in table.ordered_columns}
        assert sum(widths.values()) + 2 * len(widths) > 0
        assert table_column(table, "attr.start")[0] == "01-01 03:00"  # compact at 80 columns
        assert "metrics.acc" in widths


run_async_tests(globals())
