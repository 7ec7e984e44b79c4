"""Issue 13's figures on a training box: the system-metrics sampler's cost, shard fold throughput.

Sampler: one run, the ``log_metric`` loop timed alternately with the sampler off and on (at a
0.1 s interval, 100x MLflow's default rate, so that it samples many times during each loop),
so both sides share the run, the file and the machine's moment. The row is the relative slowdown.

Shards: N processes' shard files (each one run of 10 params and 2,000 points) folded into the
main file, as ``lighttrack merge --shards`` does.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from harness import REPO_ROOT, Row, Timer, workload

K = 1000


@workload("system_metrics", title="system metrics sampler", order=96, repeat=7, rows=[
    Row("off", "log_metric loop, sampler off", "us/call"),
    Row("on", "log_metric loop, sampler on (0.1 s interval), same run", "us/call"),
    Row("cost", "  sampler cost on the loop", "%", budget=5),
])
def system_metrics_cost(ctx):
    import lighttrack
    from lighttrack import system_metrics

    n = ctx.size(200 * K, 50 * K)
    folder = ctx.tempdir()
    lighttrack.set_tracking_uri(str(folder / "bench.db"))
    run = lighttrack.start_run()
    writer = run._writer

    def loop(offset: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            lighttrack.log_metric("loss", 0.5, step=offset + i)
        seconds = time.perf_counter() - started
        lighttrack.flush()  # untimed: each side starts from an empty buffer
        return seconds / n * 1e6

    loop(0)  # warm caches (name validation, the writer's key ids)
    offs, ons = [], []
    for r in range(ctx.repeat):
        offs.append(loop((2 * r + 1) * n))
        monitor = system_metrics.SystemMetricsMonitor(run.run_id, writer.add, 0.1, 1).start()
        ons.append(loop((2 * r + 2) * n))
        monitor.stop()
    for off, on in zip(offs, ons):
        ctx.record("off", off)
        ctx.record("on", on)
    ctx.record("cost", (statistics.median(ons) / statistics.median(offs) - 1) * 100)
    lighttrack.end_run()
    steps = len(lighttrack.MlflowClient().get_metric_history(run.run_id, "system/cpu_utilization_percentage"))
    ctx.note("on", f"{n:,} calls; {steps} system samples logged")
    from lighttrack.store import close_all

    close_all()


SHARD_SCRIPT = """
import sys, lighttrack
lighttrack.set_tracking_uri(sys.argv[1])
with lighttrack.start_run(run_name=f"task-{sys.argv[2]}"):
    lighttrack.log_params({f"p{j}": j for j in range(10)})
    for s in range(int(sys.argv[3])):
        lighttrack.log_metric("loss", 1.0 / (s + 1), step=s)
"""


@workload("shards", title="shard mode (network filesystems)", order=97, repeat=3, rows=[
    Row("write", "16 processes writing shards at once (wall time)", "s"),
    Row("fold_runs", "fold 16 finished shards into the main file", "shards/s", better="higher"),
    Row("fold_points", "  the same, metric points", "points/s", better="higher"),
    Row("fold_again", "fold again (nothing left)", "s"),
])
def shard_fold(ctx):
    from lighttrack.store import close_all, shards

    tasks, steps = 16, ctx.size(2 * K, 500)
    env = {**os.environ, "LIGHTTRACK_SHARDS": "1", "PYTHONPATH": str(REPO_ROOT)}
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        main = folder / "team.db"
        with Timer() as write:
            procs = [subprocess.Popen([sys.executable, "-c", SHARD_SCRIPT, str(main), str(t), str(steps)], env=env)
                     for t in range(tasks)]
            if any(p.wait() for p in procs):
                raise RuntimeError("a shard writer failed")
        ctx.record("write", write.seconds)
        with Timer() as fold:
            report = shards.fold_path(main)
        ctx.record("fold_runs", report.shards_folded / fold.seconds)
        ctx.record("fold_points", report.metric_points / fold.seconds)
        with Timer() as again:
            shards.fold_path(main)
        ctx.record("fold_again", again.seconds)
        close_all()
        ctx.drop(folder)
    ctx.note("fold_runs", f"{tasks} shards x 1 run x {steps:,} points")


LIVE_SHARD_SCRIPT = """
import sys, lighttrack
from lighttrack import fluent
from lighttrack.store.runs import stamp_heartbeats
lighttrack.set_tracking_uri(sys.argv[1])
run = lighttrack.start_run(run_name="live")
n, step = int(sys.argv[2]), 0
while True:
    for _ in range(n):
        lighttrack.log_metric("loss", 1.0 / (step + 1), step=step)
        step += 1
    lighttrack.flush()
    stamp_heartbeats(fluent._client().store.conn, [run.info.run_id])  # newer: a merge takes it
    print("ready", flush=True)
    if not sys.stdin.readline():
        break
"""


@workload("live_view", title="shard mode: a reader's private live view (writes nothing)", order=97.5, repeat=3,
          rows=[
    Row("plain", "open + search 100 runs, shards not looked at (LIGHTTRACK_SHARDS=0)", "s"),
    Row("first", "open + search 100 runs, main file + 1 live shard (copy + merge)", "s"),
    Row("idle", "  follow: nothing changed", "s"),
    Row("grown", "  follow: the live shard grew by 5,000 points (merged again)", "s"),
    Row("copy_rate", "  copying the main file", "MB/s", better="higher"),
])
def live_view(ctx):
    from lighttrack import LighttrackClient, Metric, Param
    from lighttrack.store import close_all
    from lighttrack.store.live_view import LiveView

    runs, steps = ctx.size(2 * K, 300), 5 * K
    env = {**os.environ, "LIGHTTRACK_SHARDS": "1", "PYTHONPATH": str(REPO_ROOT)}
    folder = ctx.tempdir()
    main = folder / "team.db"
    client = LighttrackClient(str(main))
    exp = client.create_experiment("sweep")
    for i in range(runs):
        run_id = client.create_run(exp).info.run_id
        client.log_batch(run_id, params=[Param(f"p{j}", str(j)) for j in range(10)],
                         metrics=[Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(100)])
        client.set_terminated(run_id)
    close_all()
    size_mb = main.stat().st_size / 1e6
    writer = subprocess.Popen([sys.executable, "-c", LIVE_SHARD_SCRIPT, str(main), str(steps)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        for r in range(ctx.repeat):
            os.environ["LIGHTTRACK_SHARDS"] = "0"  # the same reader, shards not looked at
            with Timer() as plain:
                LighttrackClient(str(main), readonly=True).search_runs(None, "", max_results=100)
            ctx.record("plain", plain.seconds)
            close_all()
            os.environ["LIGHTTRACK_SHARDS"] = "1"
            with Timer() as first:
                reader = LighttrackClient(str(main), readonly=True)
                reader.search_runs(None, "", max_results=100)
            ctx.record("first", first.seconds)
            view: LiveView = reader.store.view
            with Timer() as copy:
                view._rebuild({}, view._main_stamp)  # the copy alone, no shard merged
            ctx.record("copy_rate", size_mb / copy.seconds)
            view.update(force=True)  # back to main + shard
            with Timer() as idle:
                view.update(force=True)
            ctx.record("idle", idle.seconds)
            writer.stdin.write("go\n")
            writer.stdin.flush()
            assert writer.stdout.readline().strip() == "ready"
            with Timer() as grown:
                view.update(force=True)
            ctx.record("grown", grown.seconds)
            close_all()
        ctx.note("first", f"main file {size_mb:.1f} MB ({runs:,} runs x 100 points)")
    finally:
        os.environ.pop("LIGHTTRACK_SHARDS", None)
        writer.kill()
        writer.wait()
        close_all()
        ctx.drop(folder)
