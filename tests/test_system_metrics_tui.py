"""The run screen's System tab: a run's system metrics on their own, live; absent without them.
In compare: their own table section, and out of the charts unless asked for."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("textual")

from test_tui_helpers import run_async_tests, settle, table_column  # noqa: E402

from tui.app import make_app  # noqa: E402


def _with_system_metrics(client) -> str:
    found = client.get_experiment_by_name("gpu-box")
    experiment = found.experiment_id if found else client.create_experiment("gpu-box")
    run_id = client.create_run(experiment, start_time=1_704_085_200_000, run_name="train").info.run_id
    for key, values in {
        "system/cpu_utilization_percentage": [50.0, 70.0],
        "system/system_memory_usage_percentage": [20.0, 21.0],
        "system/gpu_3_utilization_percentage": [90.0, 95.0],
        "system/gpu_3_memory_usage_megabytes": [8000.0, 8100.0],
        "system/network_receive_megabytes": [0.5, 1.5],
    }.items():
        client.log_metric_series(run_id, key, values, steps=[0, 1], timestamps=[1, 2])
    client.log_metric_series(run_id, "loss", [1.0, 0.5], steps=[0, 1], timestamps=[1, 2])
    return run_id


async def test_system_tab_groups_the_runs_system_metrics_and_charts_them_live(client):
    run_id = _with_system_metrics(client)
    async with make_app(client, run_id=run_id, live=True, poll_interval=0.05).run_test(size=(110, 32)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("8")  # the System tab
        await settle(pilot)
        assert screen.query_one("#run-tabs").active == "tab-system"
        table = screen.query_one("#system-table")
        assert table_column(table, "group") == ["CPU", "memory", "network", "GPU 3", "GPU 3"]
        assert table_column(table, "key") == ["cpu_utilization_percentage", "usage_percentage",
                                              "receive_megabytes", "memory_usage_megabytes", "utilization_percentage"]
        assert "system/cpu_utilization_percentage" not in [k for k in table_column(table, "key")]
        chart = screen.query_one("#system-chart")
        assert chart.series and chart.series[0].label == "system/cpu_utilization_percentage"
        assert len(chart.series[0]) == 2
        thread = threading.Thread(target=lambda: client.log_metric_series(
            run_id, "system/cpu_utilization_percentage", [60.0], steps=[2], timestamps=[3]))
        thread.start()
        thread.join()
        for _ in range(200):
            await pilot.pause(0.02)
            if chart.series and len(chart.series[0]) == 3:
                break
        assert len(chart.series[0]) == 3  # live: the chart grew
        await pilot.press("down", "down", "down")
        await settle(pilot)
        assert chart.series[0].label == "system/gpu_3_memory_usage_megabytes"


async def test_no_system_tab_for_a_run_without_system_metrics(client):
    experiment = client.create_experiment("laptop")
    run_id = client.create_run(experiment, run_name="plain").info.run_id
    client.log_metric(run_id, "loss", 1.0)
    async with make_app(client, run_id=run_id, live=False).run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tabs = pilot.app.screen.query_one("#run-tabs")
        assert tabs.get_tab("tab-system").display is False


async def test_compare_gives_system_metrics_their_own_section_and_keeps_them_out_of_charts(client):
    first = _with_system_metrics(client)
    second = _with_system_metrics(client)
    async with make_app(client, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_compare([first, second])
        await settle(pilot)
        screen = pilot.app.screen
        keys = [str(k.value) for k in screen.query_one("#compare-table").rows]
        assert "metrics.loss" in keys and "§system" in keys
        assert not any(k.startswith("metrics.system/") for k in keys)
        system_rows = keys[keys.index("§system") + 1:]
        assert "system.cpu_utilization_percentage" in system_rows and "metrics.loss" not in system_rows
        options = screen.query_one("#compare-metrics")
        ids = [o.id for o in options.options]
        assert ids[0] == "loss" and all(k.startswith("system/") for k in ids[1:])  # the model's first
        assert screen.metric_key == "loss"
        await pilot.press("3")  # all metrics: the model's only, until system metrics are asked for
        await settle(pilot)
        assert screen.grid_keys == ["loss"]
        screen.query_one("#grid-filter").value = "system/cpu*"
        await settle(pilot)
        assert screen.grid_keys == ["system/cpu_utilization_percentage"]


run_async_tests(globals())
