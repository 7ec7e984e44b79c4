"""The tracking-core workloads of issue 2 (DESIGN.md section 10), each with its MLflow twin.

Imports of lighttrack, mlflow and numpy happen inside the functions: this module is also
imported by the interpreter that runs the MLflow side, which may not have lighttrack's
dependencies.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from pathlib import Path

from harness import REPO_ROOT, Row, Timer, checkpoint, file_bytes, fmt, median, noisy_loss, workload

K = 1_000
M = 1_000_000


def _n(n: int) -> str:
    return f"n={n:,}"


def _child_env() -> dict[str, str]:
    """Environment for child interpreters: lighttrack importable from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def _lighttrack_file(folder: Path):
    """Point the fluent API at a new file in ``folder`` and return (module, path)."""
    import lighttrack

    path = folder / "bench.db"
    lighttrack.set_tracking_uri(str(path))
    return lighttrack, path


def _close_lighttrack() -> None:
    import lighttrack.store

    lighttrack.store.close_all()


def _mlflow(folder: Path):
    """Point MLflow at a new sqlite:/// file in ``folder`` (never a server) and return
    (module, uri, path). Creating MLflow's tables (alembic, ~1.5 s) happens here, untimed."""
    import logging

    import mlflow
    from mlflow.tracking import MlflowClient

    for name in ("mlflow", "alembic", "sqlalchemy"):  # after the import: mlflow sets its own level
        logging.getLogger(name).setLevel(logging.WARNING)

    path = folder / "mlflow.db"
    uri = f"sqlite:///{path}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    MlflowClient(uri).search_experiments()  # creates the schema
    return mlflow, uri, path


# ----------------------------------------------------------------------------------- 1 import
def _interpreter_cost(ctx, statement: str, env: dict[str, str]) -> None:
    """median(wall of `python -c statement`) - median(wall of `python -c pass`), runs
    interleaved so that drift hits both sides alike."""
    folder = ctx.tempdir()
    runs = ctx.repeat

    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([ctx.python, "-c", code], cwd=folder, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    wall("pass"), wall(statement)  # warm the OS file cache and the .pyc files
    bare, loaded = [], []
    for _ in range(runs):
        bare.append(wall("pass"))
        loaded.append(wall(statement))
    net = (median(loaded) - median(bare)) * 1000
    module = statement.split()[-1]
    inside = []
    for _ in range(5):  # the same import timed inside the interpreter: free of start-up noise
        probe = subprocess.run(
            [ctx.python, "-c", f"import time; t = time.perf_counter(); import {module}; "
             "print(time.perf_counter() - t)"],
            cwd=folder, env=env, check=True, capture_output=True, text=True,
        )
        inside.append(float(probe.stdout.strip().splitlines()[-1]) * 1000)
    ctx.extra("net", "in_process_ms", inside)
    ctx.note("net", f"in-process {fmt(median(inside))} ms")
    for a, b in zip(loaded, bare):
        ctx.record("net", (a - b) * 1000)
    ctx.headline("net", net)
    ctx.extra("net", "interpreter_ms", median(bare) * 1000)
    ctx.extra("net", "with_import_ms", median(loaded) * 1000)
    ctx.note("net", f"{runs} runs each")


@workload("import", title="import", order=10, repeat=10, mlflow_repeat=10, rows=[
    Row("net", "import (net of interpreter start)", "ms", budget=50),
])
def import_time(ctx):
    _interpreter_cost(ctx, "import lighttrack", _child_env())
    probe = subprocess.run(
        [ctx.python, "-c", "import sys, lighttrack; print(','.join(m for m in "
         "('sqlite3', 'numpy', 'sklearn', 'textual', 'tui', 'sqlite_utils') if m in sys.modules))"],
        env=_child_env(), capture_output=True, text=True, check=True,
    )
    loaded = probe.stdout.strip()
    ctx.note("net", f"also loads: {loaded}" if loaded else "loads no sqlite3/numpy/sklearn/textual")


@import_time.mlflow
def _(ctx):
    _interpreter_cost(ctx, "import mlflow", dict(os.environ))


# ------------------------------------------------------------------------------ 2 log_metric
def _time_log_metric_loop(ctx, mlflow, values) -> None:
    """One run of ``log_metric`` calls: the loop alone, and the loop plus ``end_run``."""
    n = len(values)
    mlflow.set_experiment("bench")
    mlflow.start_run()
    with Timer() as loop:
        for i, v in enumerate(values):
            mlflow.log_metric("loss", v, step=i)
        loop_end = time.perf_counter()
        mlflow.end_run()
    ctx.record("call", (loop_end - loop.start) / n * 1e6)
    ctx.record("e2e", loop.seconds / n * 1e6)
    ctx.record("flush", (loop.seconds - (loop_end - loop.start)) * 1000)


@workload("log_metric", title="log_metric", order=20, repeat=5, mlflow_repeat=3, rows=[
    Row("call", "fluent log_metric in a loop (loop only)", "us/call", budget=2),
    Row("e2e", "fluent log_metric incl. end_run flush", "us/point", budget=3),
    Row("flush", "end_run flush of the loop's points", "ms"),
])
def log_metric(ctx):
    n = ctx.size(100 * K, 20 * K)
    values = noisy_loss(n)
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        mlflow, path = _lighttrack_file(folder)
        _time_log_metric_loop(ctx, mlflow, values)
        run_id = mlflow.last_active_run().info.run_id
        stored = len(mlflow.MlflowClient(str(path)).metric_history_arrays(run_id, "loss")[0])
        if stored != n:
            ctx.note("e2e", f"LOST POINTS: {stored:,} of {n:,} stored")
        _close_lighttrack()
        ctx.drop(folder)
    for key in ("call", "e2e", "flush"):
        ctx.note(key, _n(n))
    ctx.size_of("flush", n)


@log_metric.mlflow
def _(ctx):
    n = ctx.size(2 * K, 300)
    values = noisy_loss(n)
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        mlflow, _uri, _path = _mlflow(folder)
        _time_log_metric_loop(ctx, mlflow, values)
    for key in ("call", "e2e"):
        ctx.note(key, _n(n))
    ctx.note("flush", "end_run (log_metric writes through)")
    ctx.size_of("flush", n)


# ------------------------------------------------------------------------------------ 3 bulk
@workload("bulk", title="bulk points/s", order=30, repeat=5, mlflow_repeat=3, rows=[
    Row("series", "client.log_metric_series, list of floats", "points/s", budget=1_000_000, better="higher"),
    Row("series_numpy", "client.log_metric_series, numpy array", "points/s", better="higher"),
    Row("log_batch", "client.log_batch, Metric objects", "points/s", better="higher"),
])
def bulk(ctx):
    import numpy as np
    from lighttrack import LighttrackClient, Metric

    n = ctx.size(1 * M, 200 * K)
    n_batch = ctx.size(100 * K, 20 * K)
    values = noisy_loss(n)
    array = np.array(values)
    now = time.time_ns() // 1_000_000
    metrics = [Metric("loss", v, now + i, i) for i, v in enumerate(values[:n_batch])]
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        client = LighttrackClient(str(folder / "bench.db"))
        exp = client.create_experiment("bench")
        for key, payload in (("series", values), ("series_numpy", array)):
            run_id = client.create_run(exp).info.run_id
            with Timer() as t:
                client.log_metric_series(run_id, "loss", payload)
            ctx.record(key, n / t.seconds)
        run_id = client.create_run(exp).info.run_id
        with Timer() as t:
            client.log_batch(run_id, metrics=metrics)
        ctx.record("log_batch", n_batch / t.seconds)
        _close_lighttrack()
        ctx.drop(folder)
    ctx.note("series", _n(n))
    ctx.note("series_numpy", _n(n))
    ctx.note("log_batch", f"{_n(n_batch)} in one call")


@bulk.mlflow
def _(ctx):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    n = ctx.size(10 * K, 2 * K)
    values = noisy_loss(n)
    now = time.time_ns() // 1_000_000
    metrics = [Metric("loss", v, now + i, i) for i, v in enumerate(values)]
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        _mlflow_mod, uri, _path = _mlflow(folder)
        client = MlflowClient(uri)
        exp = client.create_experiment("bench")
        run_id = client.create_run(exp).info.run_id
        with Timer() as t:
            for start in range(0, n, 1000):  # MLflow refuses more than 1,000 metrics a call
                client.log_batch(run_id, metrics=metrics[start:start + 1000])
        ctx.record("series", n / t.seconds)
        ctx.record("log_batch", n / t.seconds)
    ctx.note("series", f"log_batch {_n(n)}, 1,000 a call")
    ctx.note("log_batch", f"{_n(n)}, 1,000 a call")


# ----------------------------------------------------------------------------------- 4 bytes
@workload("bytes", title="bytes on disk per point", order=40, repeat=3, mlflow_repeat=1, rows=[
    Row("fluent", "file bytes / point, fluent log_metric", "B/point", budget=12),
    Row("bulk", "file bytes / point, log_metric_series", "B/point"),
])
def bytes_per_point(ctx):
    from lighttrack import LighttrackClient

    n = ctx.size(1 * M, 200 * K)
    values = noisy_loss(n, seed=1)
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        mlflow, path = _lighttrack_file(folder)
        mlflow.set_experiment("bench")
        with mlflow.start_run():
            for i, v in enumerate(values):  # real timestamps: log_metric stamps them
                mlflow.log_metric("loss", v, step=i)
        _close_lighttrack()
        checkpoint(path)
        ctx.record("fluent", file_bytes(path) / n)
        ctx.drop(folder)

        folder = ctx.tempdir()
        path = folder / "bench.db"
        client = LighttrackClient(str(path))
        run_id = client.create_run(client.create_experiment("bench")).info.run_id
        client.log_metric_series(run_id, "loss", values)
        client.set_terminated(run_id)
        _close_lighttrack()
        checkpoint(path)
        ctx.record("bulk", file_bytes(path) / n)
        ctx.drop(folder)
    ctx.note("fluent", f"{_n(n)}, whole file after checkpoint")
    ctx.note("bulk", f"{_n(n)}, default steps and timestamps")


@bytes_per_point.mlflow
def _(ctx):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    n = ctx.size(100 * K, 10 * K)
    values = noisy_loss(n, seed=1)
    start_ms = time.time_ns() // 1_000_000
    # a realistic cadence: ~1 ms apart, like a fast training loop
    metrics = [Metric("loss", v, start_ms + i, i) for i, v in enumerate(values)]
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        _mod, uri, path = _mlflow(folder)
        client = MlflowClient(uri)
        run_id = client.create_run(client.create_experiment("bench")).info.run_id
        for start in range(0, n, 1000):
            client.log_batch(run_id, metrics=metrics[start:start + 1000])
        client.set_terminated(run_id)
        checkpoint(path)
        size = file_bytes(path)
        ctx.record("fluent", size / n)
        ctx.record("bulk", size / n)
    ctx.note("fluent", f"log_batch {_n(n)}, whole file")
    ctx.note("bulk", f"log_batch {_n(n)}, whole file")


# --------------------------------------------------------------------------------- 5 history
@workload("history", title="history read", order=50, repeat=5, mlflow_repeat=3, rows=[
    Row("arrays_100k", "metric_history_arrays, 100k points", "ms", budget=10),
    Row("arrays_1m", "metric_history_arrays, 1M points", "ms"),
    Row("list_100k", "get_metric_history (list of Metric), 100k", "ms"),
])
def history(ctx):
    import numpy  # noqa: F401  (imported up front: its import is not the read's cost)
    from lighttrack import LighttrackClient

    big = ctx.size(1 * M, 1 * M)
    folder = ctx.tempdir()
    path = folder / "bench.db"
    client = LighttrackClient(str(path))
    run_id = client.create_run(client.create_experiment("bench")).info.run_id
    start_ms = time.time_ns() // 1_000_000
    for key, n in (("loss100k", 100 * K), ("loss1m", big)):
        rnd = random.Random(2)
        timestamps = [start_ms + 50 * i + rnd.randrange(5) for i in range(n)]
        client.log_metric_series(run_id, key, noisy_loss(n, seed=2), timestamps=timestamps)
    client.set_terminated(run_id)
    _close_lighttrack()
    checkpoint(path)
    for _ in range(ctx.repeat):
        client = LighttrackClient(str(path))  # a fresh connection each time: nothing cached
        for row, key, n, read in (
            ("arrays_100k", "loss100k", 100 * K, client.metric_history_arrays),
            ("arrays_1m", "loss1m", big, client.metric_history_arrays),
            ("list_100k", "loss100k", 100 * K, client.get_metric_history),
        ):
            with Timer() as t:
                got = read(run_id, key)
            ctx.record(row, t.seconds * 1000)
            length = len(got[0]) if isinstance(got, tuple) else len(got)
            del got  # freeing 100k Metric objects must not be charged to the next read
            if length != n:
                ctx.note(row, f"WRONG LENGTH {length:,} (expected {n:,})")
        _close_lighttrack()
    ctx.note("arrays_100k", "fresh connection per read")
    ctx.note("arrays_1m", _n(big))
    for row, n in (("arrays_100k", 100 * K), ("arrays_1m", big), ("list_100k", 100 * K)):
        ctx.size_of(row, n)


@history.mlflow
def _(ctx):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    n = ctx.size(100 * K, 10 * K)
    folder = ctx.tempdir()
    _mod, uri, _path = _mlflow(folder)
    client = MlflowClient(uri)
    run_id = client.create_run(client.create_experiment("bench")).info.run_id
    start_ms = time.time_ns() // 1_000_000
    values = noisy_loss(n, seed=2)
    with ctx.progress(n, f"logging {n:,} points (log_batch, 1,000 a call)") as bar:
        for start in range(0, n, 1000):
            client.log_batch(run_id, metrics=[
                Metric("loss", values[i], start_ms + 50 * i, i) for i in range(start, min(start + 1000, n))
            ])
            bar.advance(min(1000, n - start))
    client.set_terminated(run_id)
    for _ in range(ctx.repeat):
        with Timer() as t:
            got = client.get_metric_history(run_id, "loss")
        assert len(got) == n, len(got)
        del got
        ctx.record("arrays_100k", t.seconds * 1000)
        ctx.record("list_100k", t.seconds * 1000)
    ctx.note("arrays_100k", f"get_metric_history, {_n(n)}")
    ctx.note("list_100k", f"get_metric_history, {_n(n)}")
    ctx.size_of("arrays_100k", n)
    ctx.size_of("list_100k", n)


# ------------------------------------------------------------------------------------ 6 runs
RUN_METRICS = ("loss", "acc", "val_loss", "val_acc", "lr")


def _run_payloads(n: int) -> list[tuple[dict, dict, list[list[float]]]]:
    rnd = random.Random(3)
    out = []
    for r in range(n):
        params = {
            "lr": f"{10 ** rnd.uniform(-4, -1):.3g}", "batch_size": str(rnd.choice([16, 32, 64, 128])),
            "optimizer": rnd.choice(["adam", "adamw", "sgd"]), "dropout": f"{rnd.uniform(0, 0.5):.2f}",
            "layers": str(rnd.randint(2, 12)), "hidden": str(rnd.choice([128, 256, 512])),
            "weight_decay": f"{10 ** rnd.uniform(-6, -2):.2g}", "warmup": str(rnd.choice([0, 100, 500])),
            "epochs": "20", "seed": str(r),
        }
        tags = {"team": "vision", "dataset": "cifar10", "model": rnd.choice(["resnet", "vit"]),
                "stage": "dev", "sweep": f"sweep-{r // 100}"}
        points = [[rnd.random() for _ in RUN_METRICS] for _ in range(20)]
        out.append((params, tags, points))
    return out


def _create_runs(mlflow, payloads) -> None:
    """The fluent sequence a sweep script runs, once per run."""
    for params, tags, points in payloads:
        mlflow.start_run()
        mlflow.log_params(params)
        mlflow.set_tags(tags)
        for step, row in enumerate(points):
            for key, value in zip(RUN_METRICS, row):
                mlflow.log_metric(key, value, step=step)
        mlflow.end_run()


@workload("runs", title="create runs", order=60, repeat=3, mlflow_repeat=1, rows=[
    Row("create_1000", "1,000 runs (10 params, 5 tags, 5x20 metrics), fluent", "s", budget=1.0),
])
def create_runs(ctx):
    n = ctx.size(1000, 200)
    payloads = _run_payloads(n)
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        mlflow, path = _lighttrack_file(folder)
        exp = mlflow.set_experiment("bench").experiment_id
        with Timer() as t:
            _create_runs(mlflow, payloads)
        ctx.record("create_1000", t.seconds * 1000 / n)
        client = mlflow.MlflowClient(str(path))
        runs = client.search_runs([exp], max_results=None)
        points = sum(s.count for s in client.get_metric_summaries(runs[0].info.run_id))
        if len(runs) != n or points != 100 or any(r.info.status != "FINISHED" for r in runs):
            ctx.note("create_1000", f"WRONG CONTENT: {len(runs)} runs, {points} points in the first")
        _close_lighttrack()
        ctx.drop(folder)
    if n != 1000:
        ctx.note("create_1000", f"{n:,} runs, scaled to 1,000")


@create_runs.mlflow
def _(ctx):
    n = ctx.size(100, 10)
    payloads = _run_payloads(n)
    for _ in range(ctx.repeat):
        folder = ctx.tempdir()
        mlflow, _uri, _path = _mlflow(folder)
        mlflow.set_experiment("bench")
        with Timer() as t:
            _create_runs(mlflow, payloads)
        ctx.record("create_1000", t.seconds * 1000 / n)
    ctx.note("create_1000", f"{n:,} runs, scaled to 1,000")


# ------------------------------------------------------------------------------- 8 processes
LIGHTTRACK_WRITER = """
import sys, lighttrack as mlflow
path, exp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mlflow.set_tracking_uri(path)
with mlflow.start_run(experiment_id=exp):
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
"""
LIGHTTRACK_IDLE = "import sys, lighttrack as mlflow"

MLFLOW_WRITER = """
import sys, logging
logging.disable(logging.INFO)
import mlflow
uri, exp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
mlflow.set_tracking_uri(uri)
with mlflow.start_run(experiment_id=exp):
    for i in range(n):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
"""
MLFLOW_IDLE = "import sys, mlflow"


def _spawn_all(python: str, code: str, args: list[str], procs: int, env, folder: Path, tag: str):
    """Start ``procs`` interpreters at once, wait for all; (wall seconds, list of errors)."""
    logs = [folder / f"{tag}-{k}.err" for k in range(procs)]
    handles = [open(log, "wb") for log in logs]
    start = time.perf_counter()
    children = [
        subprocess.Popen([python, "-c", code, *args], env=env, cwd=folder,
                         stdout=subprocess.DEVNULL, stderr=handle)
        for handle in handles
    ]
    codes = [child.wait() for child in children]
    wall = time.perf_counter() - start
    for handle in handles:
        handle.close()
    errors = []
    for code_, log in zip(codes, logs):
        text = log.read_text(errors="replace")
        if code_ != 0 or "Traceback" in text or "locked" in text:
            last = text.strip().splitlines()[-1] if text.strip() else ""
            errors.append(f"exit {code_}: {last[:200]}")
    return wall, errors


def _processes(ctx, *, writer: str, idle: str, env, prepare, count_points, n: int) -> None:
    counts = [4] if ctx.quick else [4, 8]
    folder = ctx.tempdir()  # warm-up, untimed: bytecode and OS file caches
    target, exp = prepare(folder)
    _spawn_all(ctx.python, idle, [], 1, env, folder, "warm-idle")
    _spawn_all(ctx.python, writer, [target, exp, "10"], 1, env, folder, "warm-write")
    ctx.drop(folder)
    for procs in counts:
        all_errors, base_walls = [], []
        for _ in range(ctx.repeat):
            folder = ctx.tempdir()
            target, exp = prepare(folder)
            base, base_errors = _spawn_all(ctx.python, idle, [], procs, env, folder, "idle")
            raw, errors = _spawn_all(ctx.python, writer, [target, exp, str(n)], procs, env, folder, "write")
            all_errors += base_errors + errors
            base_walls.append(base)
            ctx.record(f"p{procs}_raw", raw)
            ctx.record(f"p{procs}_net", raw - base)
            stored, runs = count_points(target, exp)
            expected = procs * n
            if stored != expected or runs != procs:
                all_errors.append(f"{stored:,} of {expected:,} points in {runs} runs")
            ctx.drop(folder)
        ctx.extra(f"p{procs}_net", "idle_s", base_walls)
        ctx.note(f"p{procs}_net", f"{procs} x {n:,} points; {len(all_errors)} errors")
        ctx.note(f"p{procs}_raw", f"idle processes: {median(base_walls):.2f} s")
        if all_errors:
            ctx.extra(f"p{procs}_net", "errors", all_errors)
            ctx.note(f"p{procs}_net", "first: " + all_errors[0])


@workload("processes", title="processes writing one file", order=80, repeat=5, mlflow_repeat=1, rows=[
    Row("p4_net", "4 processes x 2,000 points, net of import", "s", budget=0.2),
    Row("p4_raw", "4 processes x 2,000 points, spawn to exit", "s"),
    Row("p8_net", "8 processes x 2,000 points, net of import", "s"),
    Row("p8_raw", "8 processes x 2,000 points, spawn to exit", "s"),
])
def processes(ctx):
    from lighttrack import LighttrackClient

    def prepare(folder: Path):
        path = folder / "shared.db"
        client = LighttrackClient(str(path))
        exp = client.create_experiment("procs")
        _close_lighttrack()
        return str(path), exp

    def count_points(path: str, exp: str):
        client = LighttrackClient(path)
        runs = client.search_runs([exp], max_results=None)
        stored = sum(s.count for r in runs for s in client.get_metric_summaries(r.info.run_id)
                     if r.info.status == "FINISHED")
        _close_lighttrack()
        return stored, len(runs)

    _processes(ctx, writer=LIGHTTRACK_WRITER, idle=LIGHTTRACK_IDLE, env=_child_env(),
               prepare=prepare, count_points=count_points, n=2000)


@processes.mlflow
def _(ctx):
    from mlflow.tracking import MlflowClient

    def prepare(folder: Path):
        _mod, uri, _path = _mlflow(folder)
        exp = MlflowClient(uri).create_experiment("procs")
        return uri, exp

    def count_points(uri: str, exp: str):
        client = MlflowClient(uri)
        runs = client.search_runs([exp], max_results=1000)
        stored = sum(len(client.get_metric_history(r.info.run_id, "loss")) for r in runs
                     if r.info.status == "FINISHED")
        return stored, len(runs)

    n = ctx.size(2000, 200)
    _processes(ctx, writer=MLFLOW_WRITER, idle=MLFLOW_IDLE, env=dict(os.environ),
               prepare=prepare, count_points=count_points, n=n)
