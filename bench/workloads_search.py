"""The search workload of issue 2: filter + order over 10k and 100k runs, with its MLflow twin.

The files are built once and cached in bench/.cache (keyed by schema and builder version).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from pathlib import Path

from harness import CACHE_DIR, Row, Timer, checkpoint, workload
from workloads_core import K, _close_lighttrack, _mlflow

# ---------------------------------------------------------------------------------- 7 search
SEARCH_FILTER = "metrics.acc > 0.5 and params.lr < 0.05"
# MLflow compares params only as strings (=, !=, LIKE, ILIKE); this one selects the same
# share of runs (~45%) with a string comparison both can run.
COMPAT_FILTER = "metrics.acc > 0.5 and params.optimizer != 'sgd'"
SEARCH_ORDER = ["metrics.acc DESC"]
SEARCH_BUILDER = 1  # bump when the generated runs change, to rebuild the caches


def _search_runs(n: int):
    """Deterministic run contents for the search files: 10 params, 5 tags, 5 metrics."""
    rnd = random.Random(4)
    optimizers = ["adam"] * 6 + ["adamw"] * 3 + ["sgd"]
    for i in range(n):
        acc = rnd.random()
        params = {
            "lr": f"{10 ** rnd.uniform(-4, -1):.3g}", "batch_size": str(rnd.choice([16, 32, 64, 128, 256])),
            "optimizer": rnd.choice(optimizers), "dropout": f"{rnd.uniform(0, 0.5):.2f}",
            "layers": str(rnd.randint(2, 12)), "hidden": str(rnd.choice([128, 256, 512, 1024])),
            "weight_decay": f"{10 ** rnd.uniform(-6, -2):.2g}", "warmup": str(rnd.choice([0, 100, 500, 1000])),
            "epochs": str(rnd.randint(5, 50)), "seed": str(i),
        }
        tags = {"team": rnd.choice(["vision", "nlp", "speech"]), "dataset": rnd.choice(["cifar10", "imagenet"]),
                "model": rnd.choice(["resnet", "vit", "mlp"]), "stage": rnd.choice(["dev", "prod"]),
                "sweep": f"sweep-{i // 100}"}
        metrics = {"acc": acc, "loss": -math.log(max(acc, 1e-9)), "f1": acc * rnd.uniform(0.9, 1.0),
                   "precision": rnd.random(), "recall": rnd.random()}
        yield i, params, tags, metrics


def _cached(name: str, build, stale: str | None = None) -> Path:
    """A file under bench/.cache built once by ``build(tmp_path)``; ``stale`` is a glob of
    older versions of it (another schema or builder) to delete when a new one is built."""
    CACHE_DIR.mkdir(exist_ok=True)
    target = CACHE_DIR / name
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        for leftover in CACHE_DIR.glob(partial.name + "*"):
            leftover.unlink()
        build(partial)
        checkpoint(partial)
        partial.rename(target)
        for leftover in CACHE_DIR.glob(partial.name + "*"):  # -wal/-shm of the build
            leftover.unlink()
        for old in CACHE_DIR.glob(stale) if stale else ():
            if old != target:
                old.unlink()
    return target


def _lighttrack_search_file(ctx, n: int) -> tuple[Path, float]:
    from lighttrack import LighttrackClient, Metric, Param, RunTag
    from lighttrack.store.db import SCHEMA_VERSION

    def build(path: Path) -> None:
        client = LighttrackClient(str(path))
        exp = client.create_experiment("search")
        t0 = time.time_ns() // 1_000_000 - n * 1000
        with ctx.progress(n, f"building {n:,} lighttrack runs (cached in bench/.cache)") as bar:
            for i, params, tags, metrics in _search_runs(n):
                run_id = client.create_run(exp, start_time=t0 + i * 1000, run_name=f"run-{i:06d}").info.run_id
                client.log_batch(
                    run_id,
                    metrics=[Metric(k, v, t0 + i * 1000 + 500, 0) for k, v in metrics.items()],
                    params=[Param(k, v) for k, v in params.items()],
                    tags=[RunTag(k, v) for k, v in tags.items()],
                )
                client.set_terminated(run_id, end_time=t0 + i * 1000 + 900)
                bar.advance()
        _close_lighttrack()

    started = time.perf_counter()
    cached = _cached(f"lighttrack-search-{n}-schema{SCHEMA_VERSION}-b{SEARCH_BUILDER}.db", build,
                     stale=f"lighttrack-search-{n}-schema*-b*.db*")
    built = time.perf_counter() - started
    target = ctx.tempdir() / "search.db"
    shutil.copyfile(cached, target)
    return target, built


def _time_search(ctx, row: str, search, filter_string: str, reopen=None) -> None:
    """Time ``search(filter_string)`` ctx.repeat times (``reopen()`` first, untimed, when given:
    a fresh connection each time) and check the answer: 100 runs, acc > 0.5, descending."""
    for _ in range(ctx.repeat):
        if reopen is not None:
            reopen()
        found = None  # the previous answer is freed here, not inside the next timing
        with Timer() as t:
            found = search(filter_string)
        ctx.record(row, t.seconds * 1000)
    accs = [r.data.metrics["acc"] for r in found]
    if len(found) != 100 or accs != sorted(accs, reverse=True) or min(accs) <= 0.5:
        ctx.note(row, f"WRONG RESULT: {len(found)} runs")


@workload("search", title="search_runs with filter + order", order=70, repeat=5, mlflow_repeat=3, rows=[
    Row("10k", "search_runs filter + order, 10k runs", "ms", budget=50),
    Row("100k", "search_runs filter + order, 100k runs", "ms", budget=300),
    Row("compat_10k", "same, MLflow-compatible filter, 10k runs", "ms"),
])
def search(ctx):
    from lighttrack import LighttrackClient

    sizes = [10 * K] if ctx.quick else [10 * K, 100 * K]
    for n in sizes:
        path, built = _lighttrack_search_file(ctx, n)
        row = f"{n // K}k"
        filters = [(row, SEARCH_FILTER)] + ([("compat_10k", COMPAT_FILTER)] if n == 10 * K else [])
        for key, filter_string in filters:
            state = {}

            def reopen():
                _close_lighttrack()
                state["client"] = client = LighttrackClient(str(path))
                state["exp"] = client.get_experiment_by_name("search").experiment_id

            def run_search(f):
                return state["client"].search_runs([state["exp"]], f, order_by=SEARCH_ORDER, max_results=100)

            _time_search(ctx, key, run_search, filter_string, reopen)
            matching = state["client"].count_runs([state["exp"]], filter_string)
            ctx.note(key, f"{matching:,} of {n:,} match")
            ctx.size_of(key, n)
            ctx.extra(key, "build_or_cache_s", built)
        _close_lighttrack()
        ctx.drop(path.parent)
    ctx.note("10k", "fresh connection per search")


@search.mlflow
def _(ctx):
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    import mlflow

    n = ctx.size(10 * K, 2 * K)
    limit = float(os.environ.get("LTBENCH_MLFLOW_BUILD_LIMIT", "900"))

    def build(path: Path) -> None:
        uri = f"sqlite:///{path}"
        client = MlflowClient(uri)
        exp = client.create_experiment("search", artifact_location=str(path.parent / "mlruns"))
        t0 = time.time_ns() // 1_000_000 - n * 1000
        deadline = time.monotonic() + limit
        with ctx.progress(n, f"building {n:,} MLflow runs (cached in bench/.cache)") as bar:
            for i, params, tags, metrics in _search_runs(n):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"building {n:,} MLflow runs takes more than {limit:.0f} s "
                                       "(LTBENCH_MLFLOW_BUILD_LIMIT)")
                run_id = client.create_run(exp, start_time=t0 + i * 1000, run_name=f"run-{i:06d}").info.run_id
                client.log_batch(
                    run_id,
                    metrics=[Metric(k, v, t0 + i * 1000 + 500, 0) for k, v in metrics.items()],
                    params=[Param(k, v) for k, v in params.items()],
                    tags=[RunTag(k, v) for k, v in tags.items()],
                )
                client.set_terminated(run_id, end_time=t0 + i * 1000 + 900)
                bar.advance()

    folder = ctx.tempdir()
    _mlflow(folder)  # logging levels; the cached file is what gets searched
    started = time.perf_counter()
    cached = _cached(f"mlflow-{mlflow.__version__}-search-{n}-b{SEARCH_BUILDER}.db", build,
                     stale=f"mlflow-*-search-{n}-b*.db*")
    built = time.perf_counter() - started
    path = folder / "search.db"
    shutil.copyfile(cached, path)
    uri = f"sqlite:///{path}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("search").experiment_id

    def run_search(f):
        return client.search_runs([exp], f, order_by=SEARCH_ORDER, max_results=100)

    _time_search(ctx, "10k", run_search, COMPAT_FILTER)
    ctx.size_of("10k", n)
    ctx.size_of("compat_10k", n)
    _time_search(ctx, "compat_10k", run_search, COMPAT_FILTER)
    ctx.note("10k", "MLflow has no numeric param compare: compatible filter")
    ctx.extra("10k", "build_or_cache_s", built)
    if n != 10 * K:
        ctx.note("10k", f"{n:,} runs (quick)")
        ctx.note("compat_10k", f"{n:,} runs (quick)")
