"""The UI on a sweep: runs told apart (names, default columns, remembered views, sort by any
key), one colour per run, honest charts, and the screen or a chart saved as a picture."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("textual")

from click.testing import CliRunner  # noqa: E402

from lighttrack.entities import Metric, Param  # noqa: E402
from test_tui_helpers import _utc, run_async_tests, settle, table_column  # noqa: E402,F401

from tui.app import make_app  # noqa: E402
from tui.format import ellipsize_middle, rich_colour, short_labels  # noqa: E402
from tui.series import Series, prepare, step_ticks  # noqa: E402

T0 = 1_704_067_200_000
PREFIX = "resnet18-imagenet-cosine-warmup"


@pytest.fixture
def sweep(client):
    """12 runs whose names share a long prefix; lr and bs vary, wd and epochs do not."""
    experiment = client.create_experiment("sweep", tags={"lighttrack.primary_metric": "val_acc"})
    ids = []
    for i in range(12):
        lr, bs = [0.1, 0.01, 0.001][i % 3], [64, 256][i % 2]
        name = f"{PREFIX}-lr{lr}-bs{bs}-seed{i}"
        run_id = client.create_run(experiment, start_time=T0 + i * 60_000, run_name=name).info.run_id
        client.log_batch(run_id, params=[Param("lr", str(lr)), Param("bs", str(bs)), Param("wd", "0.0001"),
                                         Param("epochs", "90")],
                         metrics=[Metric("val_acc", 0.5 + i / 30, T0, s) for s in range(3)]
                         + [Metric("a_const", 1.0, T0, 0), Metric("loss", 1 / (i + 1), T0, 0)])
        client.set_terminated(run_id, end_time=T0 + i * 60_000 + 5000)
        ids.append(run_id)
    return experiment, ids


def keys_of(table) -> list[str]:
    return [c.key.value for c in table.ordered_columns]


# ------------------------------------------------------------------------- told apart
def test_cutting_keeps_the_end_and_labels_keep_only_what_differs():
    assert ellipsize_middle("resnet18-lr0.001-bs256-wd0.0001-seed3", 20) == "resnet18….0001-seed3"
    names = [f"{PREFIX}-lr0.001-bs256-seed1", f"{PREFIX}-lr0.001-bs256-seed2", f"{PREFIX}-lr0.01-bs256-seed1"]
    labels = short_labels(names, 16)
    assert labels == ["…lr0.001-seed1", "…lr0.001-seed2", "…lr0.01-seed1"]
    assert len(set(labels)) == 3 and all(len(label) <= 16 for label in labels)


async def test_names_get_the_terminals_room_and_params_that_vary_come_first(client, sweep):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(250, 40)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one("#runs-table")
        names = table_column(table, "attr.name")
        assert names[0] == f"{PREFIX}-lr0.001-bs256-seed11"  # whole, on a wide terminal
        # what differs: the varying params, then the varying metrics, primary metric first
        assert keys_of(table)[6:] == ["params.bs", "params.lr", "metrics.val_acc", "metrics.loss"]
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        names = table_column(pilot.app.screen.query_one("#runs-table"), "attr.name")
        assert all("…" in n for n in names) and names[0].endswith("-seed11")  # the differing tail
        assert len(set(names)) == len(names)


async def test_columns_sort_and_filter_are_remembered_per_experiment(client, sweep):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        screen.sort_by("params.lr", False)
        await settle(pilot)
        await pilot.press("slash", *"params.bs = '64'", "enter")
        await settle(pilot)
        assert len(table_column(screen.query_one("#runs-table"), "attr.name")) == 6
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.sort.column == "params.lr" and screen.filter_text == "params.bs = '64'"
        assert screen.query_one("#filter").value == "params.bs = '64'"
        table = screen.query_one("#runs-table")
        assert len(table_column(table, "attr.name")) == 6
        assert "lr ▲" in [str(c.label) for c in table.ordered_columns]  # the arrow in the header


async def test_the_sort_dialog_offers_every_key_by_kind_with_search(client, sweep):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        dialog = pilot.app.screen
        options = dialog.query_one("#sort-keys")
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert "param   wd" in labels and "metric  a_const" in labels and "attr    duration" in labels
        assert any(label.startswith("tag ") for label in labels)
        await pilot.press(*"epochs")
        assert options.option_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen.sort.column == "params.epochs"


async def test_the_column_chooser_marks_ticks_in_text_and_up_returns_to_the_box(client, sweep):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        dialog = pilot.app.screen
        listing = dialog.query_one("#columns-list")
        prompts = {str(listing.get_option_at_index(i).value): str(listing.get_option_at_index(i).prompt)
                   for i in range(listing.option_count)}
        assert prompts["params.lr"].startswith("[x] ") and prompts["params.wd"].startswith("[ ] ")
        await pilot.press("down")
        assert listing.has_focus
        await pilot.press("up")
        assert dialog.query_one("#columns-filter").has_focus


# --------------------------------------------------------------------------- colours
async def test_a_runs_colour_is_the_same_in_the_mark_compare_headers_and_chart(client, sweep):
    experiment, ids = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#runs-table")
        await pilot.press("space", "space", "space")  # the three newest
        marked = list(screen.marked)
        await pilot.press("up", "up", "space")  # unmark the second: its colour is free again
        assert list(screen.marked) == [marked[0], marked[2]]
        mark_styles = [str(table.get_cell(run_id, "mark").style) for run_id in screen.marked]
        assert mark_styles == [f"bold {rich_colour(0)}", f"bold {rich_colour(2)}"]
        await pilot.press("c")
        await settle(pilot)
        compare = pilot.app.screen
        headers = [c.label for c in compare.query_one("#compare-table").ordered_columns][1:]
        assert [str(h.style) for h in headers] == [f"bold {rich_colour(0)}", f"bold {rich_colour(2)}"]
        labels = [str(h) for h in headers]  # short labels: only the words that differ, the tail kept
        assert labels[0].startswith("…lr0.001") and labels[0].endswith("seed11") and labels[1].endswith("seed9")
        assert all(PREFIX not in label for label in labels)
        await pilot.press("n")
        headers = [str(c.label) for c in compare.query_one("#compare-table").ordered_columns][1:]
        assert headers[0].startswith(PREFIX)  # the full name, one key away
        await pilot.press("2")
        await settle(pilot)
        chart = compare.query_one("#compare-chart")
        assert [s.colour for s in chart.series] == [0, 2]


# ---------------------------------------------------------------------------- charts
def test_step_ticks_are_whole_numbers():
    ticks, labels = step_ticks(0, 999)
    assert all(t == int(t) for t in ticks) and labels[:3] == ["0", "250", "500"]
    prepared = prepare([Series("a", np.arange(250), np.arange(250), np.linspace(0, 1, 250))])
    assert all("." not in label for label in prepared.x_ticks[1])


def test_one_diverged_run_is_clipped_with_a_note_and_can_be_shown():
    steps = np.arange(200)
    calm = [Series(f"r{i}", steps, steps, np.exp(-steps / 50) + i * 0.01, i) for i in range(3)]
    diverged = Series("bad", steps, steps, np.exp(steps / 10.0), 3)
    prepared = prepare(calm + [diverged], clip=None)
    assert prepared.clipped and prepared.y_range[1] < 1e7
    assert any("clipped" in note for note in prepared.notes)
    assert prepare(calm + [diverged], clip=False).y_range is None
    assert not prepare(calm, clip=None).clipped  # nothing dwarfs the rest: every point shown
    spiky = np.exp(-steps / 50)
    spiky[100] = 1000.0
    assert not prepare([Series("one", steps, steps, spiky)], clip=None).clipped  # a spike is kept unasked
    assert prepare([Series("one", steps, steps, spiky)], clip=True).y_range[1] < 10


def test_smoothing_reaches_the_last_point():
    steps = np.arange(100_000)
    values = np.sin(steps / 1000.0)
    prepared = prepare([Series("a", steps, steps, values)], buckets=200, smoothing=0.9)
    assert prepared.lines[0].x[-1] == 99_999


async def test_compare_says_when_nan_points_were_dropped_and_draws_one_value_as_a_value(client, sweep):
    experiment, ids = sweep
    client.log_batch(ids[0], metrics=[Metric("val_acc", math.nan, T0, 3)])
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_compare([ids[0], ids[1]])
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        compare = pilot.app.screen
        options = compare.query_one("#compare-metrics")
        options.highlighted = [o.id for o in options.options].index("val_acc")
        await settle(pilot)
        legend = str(compare.query_one("#compare-legend").render())
        assert "1 NaN/inf point(s) not drawn" in legend
        options.highlighted = [o.id for o in options.options].index("loss")
        await settle(pilot)
        drawn = compare.query_one("#compare-chart").render().plain
        assert "one value, step 0" in drawn and "0.5" in drawn
        assert "EMA" not in compare.query_one("#compare-chart").border_subtitle


async def test_a_key_per_legend_entry_hides_and_shows_a_run_in_the_chart(client, sweep):
    _, ids = sweep
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_compare(ids[:3])
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        compare = pilot.app.screen
        chart = compare.query_one("#compare-chart")
        assert len(chart.series) == 3
        legend = str(compare.query_one("#compare-legend").render())
        assert "1\u00a0■" in legend and "3\u00a0■" in legend
        await pilot.press("2")  # on the charts tab: run 2's line
        assert [s.run_id for s in chart.series] == [ids[0], ids[2]]
        assert "1 hidden" in str(compare.query_one("#compare-legend").render())
        await pilot.press("2")
        assert len(chart.series) == 3
        await pilot.press("t")  # the next tab: all metrics
        assert compare._active_tab() == "grid"


async def test_all_metrics_grid_filters_by_glob_and_opens_one_big(client, sweep):
    _, ids = sweep
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_compare(ids[:3])
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        compare = pilot.app.screen
        charts = list(compare.query("#compare-grid GridChart"))
        assert [c.name for c in charts] == ["a_const", "loss", "val_acc"]
        assert all(len(c.series) == 3 for c in charts)
        await pilot.press(*"val_*")
        await settle(pilot)
        charts = list(compare.query("#compare-grid GridChart"))
        assert [c.name for c in charts] == ["val_acc"]
        charts[0].focus()
        await pilot.press("enter")
        await settle(pilot)
        assert compare._active_tab() == "charts" and compare.metric_key == "val_acc"


async def test_scatter_defaults_to_what_varies_logs_learning_rates_and_opens_a_dot(client, sweep):
    experiment, ids = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.query_one("#runs-x").value == "params.bs"  # varies (wd, epochs do not)
        assert screen.query_one("#runs-y").value == "metrics.val_acc"  # the primary metric
        screen.query_one("#runs-x").value = "params.lr"
        await settle(pilot)
        chart = screen.query_one("#runs-scatter")
        assert chart.log_x  # 0.001..0.1: two decades
        assert "12 runs" in str(screen.query_one("#scatter-title").render())
        chart.focus()
        await pilot.press("right")  # the dot with the smallest lr (then smallest val_acc)
        picked = chart.picked_text()
        assert picked.startswith("● ") and "lr=0.001" in picked
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "RunDetailScreen"
        assert pilot.app.screen.run_id == chart.run_ids[chart.picked]


def test_a_big_search_is_sampled_at_random_and_says_so(client):
    from tui.adapter import RunQuery, TrackingAdapter

    experiment = client.create_experiment("big")
    for i in range(300):
        run_id = client.create_run(experiment, start_time=T0 + i, run_name=f"r{i}").info.run_id
        client.log_metric(run_id, "m", float(i))
    adapter = TrackingAdapter(client)
    first = adapter.runs_for_scatter(RunQuery((experiment,)), cap=100, seed=1)
    second = adapter.runs_for_scatter(RunQuery((experiment,)), cap=100, seed=2)
    assert first.total == 300 and len(first.runs) == 100 and "random blocks" in first.how
    names = {r.info.run_name for r in first.runs}
    assert len(names) == 100 and names != {f"r{i}" for i in range(200, 300)}  # not the first 100 of the order
    assert names != {r.info.run_name for r in second.runs}


async def test_parallel_coordinates_show_the_varying_params_and_the_metric(client, sweep):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        await settle(pilot)
        chart = pilot.app.screen.query_one("#runs-parallel")
        assert chart.display and chart.params == ["bs", "lr"] and chart.metric == "val_acc"
        drawn = chart.render().plain
        assert "colour = val_acc" in drawn and "lr: 0.001..0.1 log" in drawn


# ------------------------------------------------------------------------- pictures
async def test_f12_saves_the_screen_as_svg(client, sweep, tmp_path, monkeypatch):
    experiment, _ = sweep
    async with make_app(client, experiment_ids=[experiment], live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
    saved = list(tmp_path.glob("lighttrack-runs-sweep-*.svg"))
    assert len(saved) == 1
    text = saved[0].read_text()
    assert text.startswith("<svg") and "seed11" in text


def test_plot_writes_the_overlaid_chart_as_svg_and_png(client, sweep, db_path, tmp_path):
    from lighttrack.cli import cli

    _, ids = sweep
    out = tmp_path / "val.svg"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "plot", ids[0], ids[1], "--metric", "val_acc",
                                      "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out} (val_acc, 2 run(s))"
    svg = out.read_text()
    assert svg.startswith("<svg") and "seed0" in svg and "seed1" in svg
    pytest.importorskip("matplotlib")
    png = tmp_path / "val.png"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "plot", ids[0], "--metric", "val_acc", "-o", str(png)])
    assert result.exit_code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_refuses_bad_input_in_one_line_before_writing(client, sweep, db_path, tmp_path):
    from lighttrack.cli import cli

    _, ids = sweep
    for args, expected in (
        ([ids[0], "--metric", "nope", "-o", str(tmp_path / "a.svg")], "has no metric 'nope'"),
        ([ids[0], "--metric", "loss", "-o", str(tmp_path / "a.jpg")], "must end in .svg or .png"),
        ([ids[0], "--metric", "loss", "-o", str(tmp_path / "a.svg"), "--size", "big"], "expected COLSxROWS"),
    ):
        result = CliRunner().invoke(cli, ["--db", str(db_path), "plot", *args])
        assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not list(tmp_path.glob("a.*"))


run_async_tests(globals())
