"""Issue 6's figures: merge and push-mlflow throughput for a 1,000-run file.

The file: 1,000 runs x (10 params, 5 tags, 5 metrics x 100 steps, one small artifact) =
500,000 metric points. Merge is timed into an empty file and again into a file that already
holds everything (the idempotent no-op). Push goes to a real ``mlflow server`` started here on
127.0.0.1 with a temporary SQLite backend; it is timed once (pushing again is the no-op row).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from harness import REPO_ROOT, Row, Timer, workload

RUNS = 1000
STEPS = 100
METRICS = 5


def _build(ctx, path, runs: int) -> int:
    from lighttrack import LighttrackClient, Metric, Param, RunTag

    client = LighttrackClient(str(path))
    exp = client.create_experiment("sync-bench")
    now = time.time_ns() // 1_000_000
    with ctx.progress(runs, f"building a {runs:,}-run file") as bar:
        for i in range(runs):
            run_id = client.create_run(exp, start_time=now + i, run_name=f"run-{i:05d}").info.run_id
            client.log_batch(
                run_id,
                params=[Param(f"p{j}", str(i * j)) for j in range(10)],
                tags=[RunTag(f"t{j}", f"v{i % 7}") for j in range(5)],
                metrics=[Metric(f"m{k}", 1.0 / (s + 1) + k, now + s, s) for k in range(METRICS) for s in range(STEPS)],
            )
            client.log_text(run_id, f"run {i}\n", "notes.txt")
            client.set_terminated(run_id)
            bar.advance()
    from lighttrack.store import close_all

    close_all()
    return runs * METRICS * STEPS


@workload("sync", title="merge / push-mlflow (1,000 runs)", order=95, repeat=3, rows=[
    Row("merge_runs", "merge a 1,000-run file into an empty one", "runs/s", better="higher"),
    Row("merge_points", "  the same, metric points", "points/s", better="higher"),
    Row("merge_again", "merge the same file again (no-op)", "s"),
    Row("push_runs", "push-mlflow a 1,000-run file to a local server", "runs/s", better="higher"),
    Row("push_points", "  the same, metric points", "points/s", better="higher"),
    Row("push_again", "push-mlflow again (nothing new)", "s"),
])
def sync_throughput(ctx):
    from lighttrack import sync
    from lighttrack.store import close_all

    runs = ctx.size(RUNS, 100)
    source = ctx.tempdir() / "source.db"
    points = _build(ctx, source, runs)
    for _ in range(ctx.repeat):
        target = ctx.tempdir() / "target.db"
        with Timer() as t:
            report = sync.merge(source, into=target)
        ctx.record("merge_runs", report.runs_added / t.seconds)
        ctx.record("merge_points", report.metric_points / t.seconds)
        with Timer() as again:
            sync.merge(source, into=target)
        ctx.record("merge_again", again.seconds)
        close_all()
        ctx.drop(target.parent)
    if importlib.util.find_spec("mlflow") is None:
        ctx.note("push_runs", "mlflow not installed: pip install 'lighttrack[mlflow]'")
        return
    with _server(ctx) as uri:
        from lighttrack.sync.mlflow_push import push_mlflow

        with Timer() as t:
            report = push_mlflow(uri, source=str(source))
        ctx.record("push_runs", report.runs_created / t.seconds)
        ctx.record("push_points", points / t.seconds)
        with Timer() as again:
            push_mlflow(uri, source=str(source))
        ctx.record("push_again", again.seconds)
    close_all()


class _server:
    """``mlflow server`` on a free loopback port with a temporary backend, for one workload."""

    def __init__(self, ctx) -> None:
        self.folder = ctx.tempdir()

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
             "--backend-store-uri", f"sqlite:///{self.folder / 'backend.db'}",
             "--artifacts-destination", str(self.folder / "artifacts")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ},
        )
        uri = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(uri + "/health", timeout=2).read()
                return uri
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    raise RuntimeError("mlflow server did not start") from None
                time.sleep(0.5)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


# ------------------------------------------------------------------- issue 13: the team path
TEAM_RUNS = 200


def _team_file(ctx, path, runs: int) -> None:
    """The issue's file: runs of 10 params, 5 tags and 100 points."""
    from lighttrack import LighttrackClient, Metric, Param, RunTag
    from lighttrack.store import close_all

    client = LighttrackClient(str(path))
    exp = client.create_experiment("team-bench")
    now = time.time_ns() // 1_000_000
    for i in range(runs):
        run_id = client.create_run(exp, start_time=now + i, run_name=f"run-{i:05d}").info.run_id
        client.log_batch(run_id, params=[Param(f"p{j}", str(i * j)) for j in range(10)],
                         tags=[RunTag(f"t{j}", f"v{i % 7}") for j in range(5)],
                         metrics=[Metric("loss", 1.0 / (s + 1), now + s, s) for s in range(100)])
        client.set_terminated(run_id)
    close_all()


@workload("push_team", title="push-mlflow vs the server's own ceiling (200 runs x 10 params, 5 tags, 100 points)",
          order=98, repeat=1, rows=[
    Row("pg_ceiling", "plain 8-thread client, Postgres-backed server", "runs/s", better="higher"),
    Row("pg_push", "push-mlflow, Postgres-backed server", "runs/s", better="higher"),
    Row("pg_ratio", "  push / ceiling (Postgres)", "%", budget=80, better="higher"),
    Row("sqlite_ceiling", "plain 8-thread client, SQLite-backed server", "runs/s", better="higher"),
    Row("sqlite_push", "push-mlflow, SQLite-backed server", "runs/s", better="higher"),
    Row("sqlite_ratio", "  push / ceiling (SQLite)", "%", budget=80, better="higher"),
])
def push_team(ctx):
    if importlib.util.find_spec("mlflow") is None:
        ctx.skip("mlflow not installed: pip install 'lighttrack[mlflow]'")
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from mlflow_servers import MlflowServer, Postgres, plain_client_ceiling, postgres_bin

    from lighttrack.store import close_all
    from lighttrack.sync.mlflow_push import push_mlflow

    runs = ctx.size(TEAM_RUNS, 60)
    for name in ("pg", "sqlite"):
        if name == "pg" and postgres_bin() is None:
            ctx.note("pg_push", "PostgreSQL not installed (apt-get install postgresql)")
            continue
        pg = Postgres() if name == "pg" else None
        server = None
        try:
            server = MlflowServer(pg.start() if pg else None, workers=2)
            uri = server.start()
            plain_client_ceiling(uri, 10)  # warm the server's workers and connection pools
            for _ in range(ctx.repeat):
                before = plain_client_ceiling(uri, runs)
                source = ctx.tempdir() / "team.db"
                _team_file(ctx, source, runs)
                report = push_mlflow(uri, source=str(source))
                after = plain_client_ceiling(uri, runs)
                ceiling = (before + after) / 2  # measured around the push: the same server state
                ctx.record(f"{name}_ceiling", ceiling)
                ctx.record(f"{name}_push", report.runs_created / report.seconds)
                ctx.record(f"{name}_ratio", report.runs_created / report.seconds / ceiling * 100)
                ctx.note(f"{name}_push", f"{report.requests / max(report.runs_created, 1):.1f} requests a run")
                close_all()
                ctx.drop(source.parent)
        finally:
            if server is not None:
                server.stop()
            if pg is not None:
                pg.stop()
