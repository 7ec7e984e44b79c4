"""TUI benchmarks: time to the first runs screen on a big file, and time to draw a long metric.

    python bench/tui_bench.py            # generates bench/.cache/tui-100k.db once (a few minutes)

Budgets (DESIGN.md section 10): first runs screen on 100k runs / 10M metric points <= 1 s;
drawing a 1,000,000-point metric <= 200 ms. The file is built through the public API only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = Path(__file__).resolve().parent / ".cache"
RUNS = 100_000
STEPS = 50  # two metrics x 50 steps x 100k runs = 10M points
LONG_POINTS = 1_000_000
EXPERIMENT = "bench-100k"
DONE_TAG = "bench.complete"


def generate(path: Path, runs: int = RUNS) -> None:
    """Build the file once: ``runs`` runs with 5 params and 2 x STEPS metric points each, plus one
    run with a 1,000,000-point metric. A tag on the experiment marks the file complete."""
    from lighttrack import LighttrackClient
    from lighttrack.entities import Metric, Param

    client = LighttrackClient(path)
    existing = client.get_experiment_by_name(EXPERIMENT)
    if existing is not None and existing.tags.get(DONE_TAG) == str(runs):
        return
    if existing is not None:
        raise SystemExit(f"{path} is incomplete: delete it and run again")
    print(f"generating {path} ({runs:,} runs, {runs * STEPS * 2:,} metric points)...", flush=True)
    started = time.perf_counter()
    rng = random.Random(7)
    exp = client.create_experiment(EXPERIMENT)
    t0 = 1_700_000_000_000
    for i in range(runs):
        start = t0 + i * 60_000
        run = client.create_run(exp, start_time=start, run_name=f"run-{i:06d}",
                                tags={"mlflow.user": rng.choice(["ana", "bo", "chen"])})
        run_id = run.info.run_id
        lr = rng.choice([0.1, 0.03, 0.01, 0.003, 0.001])
        decay = rng.uniform(0.02, 0.1)
        metrics = []
        for step in range(STEPS):
            ts = start + step * 1000
            loss = math.exp(-decay * step) + rng.random() * 0.05
            metrics.append(Metric("loss", loss, ts, step))
            metrics.append(Metric("acc", 1 - loss / 2, ts, step))
        params = [Param("lr", str(lr)), Param("batch", str(rng.choice([32, 64, 128]))),
                  Param("depth", str(rng.randint(2, 12))), Param("opt", rng.choice(["adam", "sgd"])),
                  Param("seed", str(i))]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, end_time=start + STEPS * 1000)
        if i and i % 10_000 == 0:
            print(f"  {i:,} runs, {time.perf_counter() - started:.0f} s", flush=True)
    long_exp = client.create_experiment("bench-long")
    run_id = client.create_run(long_exp, start_time=t0, run_name="long-run").info.run_id
    import numpy as np

    steps = np.arange(LONG_POINTS, dtype=np.int64)
    values = np.sin(steps / 5000.0) + np.random.default_rng(1).normal(0, 0.05, LONG_POINTS)
    values[LONG_POINTS // 3] = 25.0  # a spike the downsampling must keep
    client.log_metric_series(run_id, "loss", values, steps=steps, timestamps=t0 + steps * 10)
    client.set_terminated(run_id, end_time=t0 + LONG_POINTS * 10)
    client.set_experiment_tag(exp, DONE_TAG, str(runs))
    print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__" and os.environ.get("TUI_BENCH_GENERATE_ONLY"):
    CACHE.mkdir(exist_ok=True)
    generate(CACHE / "tui-100k.db")
    raise SystemExit(0)


async def _first_runs_screen(path: Path, experiment_id: str, size=(120, 40)) -> dict[str, float]:
    """Seconds from building the app to (a) the experiments screen showing and (b) the
    first page of runs showing, opened straight on the big experiment; then (c) Enter from
    the experiments screen to runs, and (d) moving past the last row to the next page."""
    from tui.app import make_app
    from tui.screens.experiments import ExperimentsScreen
    from textual.worker import WorkerState

    from tui.screens.runs import RunsScreen

    async def wait_for(predicate, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError("the screen did not show in time")
            await asyncio.sleep(0.002)

    from tui.widgets.tables import KeyTable

    original_render_lines = KeyTable.render_lines

    def render_lines(table, crop):
        strips = original_render_lines(table, crop)
        table.bench_drawn = (table._update_count, time.perf_counter())
        return strips
    KeyTable.render_lines = render_lines  # every table records when it was drawn, with which rows

    async def drawn(table, since: float) -> float:
        """When the table's current rows were first drawn after ``since``: a page counts as
        shown when it is on the screen, not when the table holds it (drawing a fresh page is
        main-thread work of its own, which the wait for the rows alone raced)."""
        rows = table._update_count
        await wait_for(lambda: getattr(table, "bench_drawn", (None, 0.0))[0] == rows
                       and table.bench_drawn[1] > since)
        return table.bench_drawn[1]

    figures = {}
    started = time.perf_counter()
    app = make_app(path, experiment_ids=[experiment_id], live=False)
    async with app.run_test(size=size) as pilot:
        def runs_shown() -> bool:
            screen = app.screen
            return isinstance(screen, RunsScreen) and screen.page is not None and \
                screen.query_one("#runs-table").row_count > 0
        await wait_for(runs_shown)
        screen = app.screen
        table = screen.query_one("#runs-table")
        figures["first runs screen (opened on the experiment)"] = await drawn(table, started) - started
        await pilot.pause()
        # a user takes seconds to scroll 100 rows: by then the next page has been read ahead
        await wait_for(lambda: len(screen.pages) >= 2)
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        expected = screen.pages[(screen.run_query(), _token(screen, 1))].rows[0].run_id
        t = time.perf_counter()
        table.action_cursor_down()  # what the Down key does on the last row
        await wait_for(lambda: _page_index(screen) == 1 and table.row_count and table.cursor_key == expected)
        figures["next page of 100 runs: drawn (read ahead)"] = await drawn(table, t) - t
        # Sorting: the first page of a new sort order, the page after it with nothing read
        # ahead, and the last page, for each kind of key. Each is timed from an idle app (no
        # worker still reading), which is what a key press meets; a read still running in
        # another thread shares the GIL and the disk with it (the slow case is not hidden:
        # "next page, not read ahead" clears the cache of pages first).
        async def settle() -> None:
            # until a pause starts no new worker: the read-ahead starts only once a page has
            # been drawn, from a callback a pause runs
            def idle() -> bool:
                return not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers)
            while True:
                await wait_for(idle)
                await pilot.pause()
                if idle():
                    return

        for label, column, descending in (("metric", "metrics.acc", True), ("param", "params.lr", False),
                                          ("param (descending)", "params.lr", True),
                                          ("tag", "tags.mlflow.user", False),
                                          ("attribute", "attr.duration", True),
                                          # no index serves these two: SQLite sorts the 100k runs
                                          ("status", "attr.status", False), ("user", "attr.user", False)):
            await settle()
            t = time.perf_counter()
            screen.sort_by(column, descending)
            query = screen.run_query()
            await wait_for(lambda: screen.page is not None and screen.page.query == query)
            figures[f"sort by a {label}: first page drawn"] = await drawn(table, t) - t
            await settle()
            t = time.perf_counter()
            screen.pages.clear()
            _go_next(screen)
            await wait_for(lambda: screen.page.query == query and screen.page.token is not None)
            figures[f"sort by a {label}: next page, not read ahead"] = await drawn(table, t) - t
            await settle()
            last = screen.pager.last_index(screen.page.total)
            t = time.perf_counter()
            screen.pages.clear()
            screen.action_last_page()
            await wait_for(lambda: screen.page.query == query and _page_index(screen) == last)
            figures[f"sort by a {label}: last page (}} key)"] = await drawn(table, t) - t
        screen.refresh()
        await asyncio.sleep(0)
    started = time.perf_counter()
    app = make_app(path, live=False)
    async with app.run_test(size=size) as pilot:
        def experiments_shown() -> bool:
            screen = app.screen
            return isinstance(screen, ExperimentsScreen) and screen.loaded
        await wait_for(experiments_shown)
        experiments = app.screen
        table = experiments.query_one("#experiments-table")
        figures["experiments screen"] = await drawn(table, started) - started
        await pilot.pause()
        row = next(i for i, r in enumerate(experiments.rows) if r.experiment_id == experiment_id)
        table.move_cursor(row=row)
        await pilot.pause()
        t = time.perf_counter()
        await pilot.press("enter")
        await wait_for(runs_shown)
        shown = await drawn(app.screen.query_one("#runs-table"), t)
        figures["Enter on the experiment -> runs screen"] = shown - t
        figures["file open -> runs screen via the experiments screen"] = shown - started
    KeyTable.render_lines = original_render_lines
    return figures


def _go_next(screen) -> None:
    screen.workers.cancel_group(screen, "prefetch")
    screen.action_page(1)


def _token(screen, index: int):
    pager = getattr(screen, "pager", None)
    return pager.tokens[index] if pager is not None else screen.tokens[index]


def _page_index(screen) -> int:
    pager = getattr(screen, "pager", None)
    return pager.index if pager is not None else screen.page_index


def _run_keys(path: Path, experiment_id: str) -> dict[str, float]:
    """Listing the keys of the 100k-run experiment (what the column chooser and sort dialog show)."""
    from lighttrack import LighttrackClient

    client = LighttrackClient(path)
    times = []
    for _ in range(3):
        t = time.perf_counter()
        client.run_keys([experiment_id])
        times.append(time.perf_counter() - t)
    return {"run_keys() of the 100k-run experiment (median of 3)": statistics.median(times)}


async def _chart(path: Path, run_id: str, size=(120, 40)) -> dict[str, float]:
    """Drawing the 1,000,000-point metric: read (fast path) + downsample + build, measured
    directly, and in the app from opening the run to the chart on screen."""
    from tui.app import make_app
    from tui.screens.run_detail import RunDetailScreen
    from tui.widgets.chart import MetricChart

    figures = {}
    app = make_app(path, live=False)
    async with app.run_test(size=size) as pilot:
        chart = MetricChart()
        await app.screen.mount(chart)
        await pilot.pause()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            series = app.adapter.metric_series(run_id, "loss")
            chart.show([series])
            text = chart.draw(116, 30)
            times.append(time.perf_counter() - t)
        assert "25" in text.plain or len(series) == LONG_POINTS
        figures["1M-point chart: read + downsample + draw (median of 5)"] = statistics.median(times)
        reads, draws = [], []
        for _ in range(5):
            t = time.perf_counter()
            series = app.adapter.metric_series(run_id, "loss")
            reads.append(time.perf_counter() - t)
            t = time.perf_counter()
            chart.show([series])
            chart.draw(116, 30)
            draws.append(time.perf_counter() - t)
        figures["  of which reading 1M points (fast path)"] = statistics.median(reads)
        figures["  of which downsample to 232 columns + plotext draw"] = statistics.median(draws)
        await chart.remove()
        t = time.perf_counter()
        app.push_screen(RunDetailScreen(run_id))
        while True:
            screen = app.screen
            charts = screen.query("#metric-chart") if isinstance(screen, RunDetailScreen) else []
            if charts and charts.first().series and charts.first()._cached is not None:
                break
            await asyncio.sleep(0.002)
        figures["1M-point chart in the app: open the run -> chart drawn"] = time.perf_counter() - t
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=RUNS, help="runs in the generated file")
    parser.add_argument("--starts", type=int, default=5, help="app starts; each figure is their median")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    path = CACHE / ("tui-100k.db" if args.runs == RUNS else f"tui-{args.runs}.db")
    generate(path, args.runs)
    from lighttrack import LighttrackClient

    client = LighttrackClient(path)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    long_run = client.search_runs([client.get_experiment_by_name("bench-long").experiment_id])[0].info.run_id
    points = client.count_runs([experiment_id])
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {points:,} runs, "
          f"{points * STEPS * 2 + LONG_POINTS:,} metric points)")
    rounds = [asyncio.run(_first_runs_screen(path, experiment_id)) for _ in range(args.starts)]
    figures = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    figures.update(_run_keys(path, experiment_id))
    figures.update(asyncio.run(_chart(path, long_run)))
    width = max(len(k) for k in figures)
    print(f"TUI benchmark (median of {args.starts} app starts; budgets: first runs screen <= 1 s, a page <= 150 ms for any sort, "
          "1M-point chart <= 200 ms)")
    for name, seconds in figures.items():
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
