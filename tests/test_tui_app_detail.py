"""Pilot tests of the run screen (metrics and chart, overview, params, tags, artifacts,
models, describe and rename) and of live updates, driven by keys as a user would; split from
test_tui_app.py, which covers the other screens."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("textual")

from test_tui_helpers import _nodes, _utc, build_sample, run_async_tests, settle, shown, table_column  # noqa: E402,F401

from tui.app import make_app  # noqa: E402


@pytest.fixture
def sample(client):
    return build_sample(client)


def app_for(client, **kwargs):
    kwargs.setdefault("live", False)
    return make_app(client, **kwargs)


def names_in(table) -> list[str]:
    return [name.split(" (")[0].lstrip("└▾▸ ") for name in table_column(table, "attr.name")]


async def cursor_to(pilot, table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


# ------------------------------------------------------------------------ run detail
async def test_run_detail_metrics_with_a_chart_and_chart_options(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert type(screen).__name__ == "RunDetailScreen" and screen.run_id == sample["forest-d"]
        table = screen.query_one("#metrics-table")
        assert [str(c) for c in table.get_row("loss")] == ["loss", "0.15", "-0.007008", "1", "20", "21"]
        chart = screen.query_one("#metric-chart")
        assert chart.series[0].label == "acc" and len(chart.series[0]) == 20
        await pilot.press("down")
        await settle(pilot)
        assert chart.series[0].label == "loss"
        assert "21 points" in chart.border_subtitle
        await pilot.press("x", "s", "l")
        assert (chart.axis, chart.smoothing, chart.log_y) == ("relative", 0.6, True)
        await pilot.press("4")  # the charts tab: one chart per metric
        await settle(pilot)
        grid = list(screen.query("#charts-grid MetricChart"))
        assert [c.name for c in grid] == ["acc", "loss"]
        assert all(c.series and c.axis == "relative" for c in grid)


async def test_run_detail_overview_params_and_tags(client, sample):
    async with app_for(client, run_id=sample["trial-1"]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        overview = shown(screen.query_one("#run-info"))
        assert "trial-1" in overview and "sweep" in overview and sample["trial-1"] in overview
        assert table_column(screen.query_one("#params-table"), "value") == ["0.01"]
        assert "mlflow.parentRunId" in [r.key.value for r in screen.query_one("#tags-table").ordered_rows]
        await pilot.press("P")  # to the parent
        await settle(pilot)
        assert pilot.app.screen.run_id == sample["sweep"]


async def test_describe_and_rename_from_run_detail(client, sample):
    async with app_for(client, run_id=sample["forest-b"]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e", *"best trade-off", "ctrl+s")
        await settle(pilot)
        assert client.get_run(sample["forest-b"]).data.tags["mlflow.note.content"] == "best trade-off"
        assert "best trade-off" in shown(pilot.app.screen.query_one("#run-description"))
        await pilot.press("r", "ctrl+a", "ctrl+k", *"forest-b2", "enter")
        await settle(pilot)
        assert client.get_run(sample["forest-b"]).info.run_name == "forest-b2"


@pytest.mark.parametrize("path, expect", [
    ("config.json", '"features"'),
    ("params.yaml", "layers"),
    ("train.py", "def train"),
    ("notes.txt", "validated on 30 rows"),
])
async def test_artifact_preview_of_text_json_yaml_and_python(client, sample, path, expect):
    async with app_for(client, run_id=sample["forest-a"]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("6")
        tree = screen.query_one("#artifact-tree")
        node = next(n for n in _nodes(tree.root) if n.data and n.data[0] == path)
        tree.focus()
        tree.move_cursor(node)
        await settle(pilot)
        preview = screen.query_one("#artifact-preview")
        assert not preview.has_class("-table")
        assert expect in shown(preview.query_one("#preview-text"))
        from rich.syntax import Syntax

        content = preview.query_one("#preview-text").content
        assert isinstance(content, Syntax) == path.endswith((".py", ".json", ".yaml"))


async def test_csv_artifact_previews_as_a_table_and_images_as_pixels(client, sample):
    async with app_for(client, run_id=sample["forest-a"]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("6")
        tree = screen.query_one("#artifact-tree")
        tree.focus()
        tree.move_cursor(next(n for n in _nodes(tree.root) if n.data and n.data[0] == "metrics.csv"))
        await settle(pilot)
        preview = screen.query_one("#artifact-preview")
        assert preview.has_class("-table")
        table = preview.query_one("#preview-table")
        assert [str(c.label) for c in table.ordered_columns] == ["step", "acc", "loss"]
        assert table.row_count == 3
        pytest.importorskip("PIL")
        tree.move_cursor(next(n for n in _nodes(tree.root) if n.data and n.data[0] == "images/red.png"))
        await settle(pilot)
        assert not preview.has_class("-table")
        assert "▀" in shown(preview.query_one("#preview-text"))


async def test_models_tab_shows_flavors_and_signature(client, sample):
    async with app_for(client, run_id=sample["forest-a"]).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        text = shown(pilot.app.screen.query_one("#models-text"))
        assert "python_function, sklearn" in text
        assert "sepal length: double" in text and "long" in text


# ------------------------------------------------------------------------------ live
async def test_live_update_when_another_thread_writes_keeps_the_cursor(client, sample):
    async with app_for(client, experiment_ids=[sample["iris-forest"]], live=True,
                       poll_interval=0.05).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        await cursor_to(pilot, table, sample["forest-b"])
        await pilot.press("space")  # mark forest-b; the cursor moves to forest-a
        await cursor_to(pilot, table, sample["forest-b"])

        def train() -> None:  # another thread, its own connection
            run = client.create_run(sample["iris-forest"], start_time=1_704_081_600_000, run_name="forest-e")
            client.log_metric(run.info.run_id, "acc", 0.99, timestamp=1_704_081_601_000)
        worker = threading.Thread(target=train)
        worker.start()
        worker.join()
        for _ in range(200):
            await pilot.pause(0.02)
            if "forest-e" in names_in(table):
                break
        await settle(pilot)
        assert names_in(table)[0] == "forest-e"
        assert table.cursor_key == sample["forest-b"]  # the cursor stayed on its run
        assert sample["forest-b"] in screen.marked


async def test_a_running_runs_chart_grows_as_it_logs(client, sample):
    run_id = client.create_run(sample["mnist-cnn"], start_time=1_704_085_200_000, run_name="live").info.run_id
    client.log_metric_series(run_id, "loss", [1.0, 0.9], steps=[0, 1], timestamps=[1, 2])
    async with app_for(client, run_id=run_id, live=True, poll_interval=0.05).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        chart = pilot.app.screen.query_one("#metric-chart")
        assert len(chart.series[0]) == 2
        thread = threading.Thread(target=lambda: client.log_metric_series(
            run_id, "loss", [0.8, 0.7, 0.6], steps=[2, 3, 4], timestamps=[3, 4, 5]))
        thread.start()
        thread.join()
        for _ in range(200):
            await pilot.pause(0.02)
            if chart.series and len(chart.series[0]) == 5:
                break
        assert len(chart.series[0]) == 5
        assert pilot.app.screen.query_one("#metrics-table").get_row("loss")[5].plain == "5"


run_async_tests(globals())
