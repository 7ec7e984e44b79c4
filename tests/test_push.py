"""push-mlflow against real MLflow servers: PostgreSQL-backed (a private cluster started here)
and SQLite-backed. A pusher killed mid-way and run again delivers every run, param, tag, point,
artifact and registry entry exactly once; --watch survives the server going away."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from lighttrack import LighttrackClient, Metric, Param, RunTag  # noqa: E402
from lighttrack.sync.mlflow_push import BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS, batches  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlflow_servers import MlflowServer, Postgres, postgres_bin  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def pg_server():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL binaries not found (.ci/run installs Debian's postgresql)")
    pg = Postgres()
    server = None
    try:
        server = MlflowServer(pg.start(), workers=2)
        yield server.start()
    finally:
        if server is not None:
            server.stop()
        pg.stop()


@pytest.fixture(autouse=True)
def _quiet_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")


def _wait_for(predicate, what: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


# ------------------------------------------------------------------------------ batches
def test_batches_stay_within_mlflows_limits_in_the_fewest_requests():
    points, params, tags = list(range(2500)), list(range(250)), list(range(150))
    sent = list(batches(points, params, tags))
    for m, p, t in sent:
        assert len(m) <= BATCH_METRICS and len(p) <= BATCH_PARAMS and len(t) <= BATCH_TAGS
        assert len(m) + len(p) + len(t) <= 1000
    assert [x for b in sent for x in b[0]] == points
    assert [x for b in sent for x in b[1]] == params and [x for b in sent for x in b[2]] == tags
    assert len(sent) == 3  # 2,900 items: three requests of <= 1,000
    assert list(batches([], [], [])) == []


# ---------------------------------------------------------------------- the local file
def _build(path: Path, experiment: str, runs: int) -> list[str]:
    client = LighttrackClient(str(path))
    exp = client.create_experiment(experiment)
    now = int(time.time() * 1000)
    ids = []
    for i in range(runs):
        run_id = client.create_run(exp, start_time=now + i, run_name=f"run-{i}",
                                   tags={"team": "vision", "index": str(i)}).info.run_id
        steps = 2500 if i % 10 == 0 else 150  # some runs need several log-batches
        client.log_batch(run_id, params=[Param(f"p{j}", str(i * j)) for j in range(10)],
                         metrics=[Metric("loss", 1.0 / (s + 1), now + s, s) for s in range(steps)]
                         + [Metric("acc", float("nan") if s == 3 else s / 10, now + s, s) for s in range(5)])
        if i % 5 == 0:
            client.log_text(run_id, f"notes of run {i}\n", f"notes/run-{i}.txt")
        client.set_terminated(run_id, "FINISHED" if i % 7 else "FAILED")
        ids.append(run_id)
    return ids


def _register(path: Path, name: str, run_ids: list[str]) -> None:
    client = LighttrackClient(str(path))
    client.create_registered_model(name)
    for run_id in run_ids[:2]:
        client.log_text(run_id, "model", "model/MLmodel")
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.transition_model_version_stage(name, "2", "Production")
    client.set_registered_model_alias(name, "champion", "1")


def _compare(uri: str, path: Path, experiment: str, ids: list[str], model: str) -> None:
    import math

    import mlflow

    from lighttrack.store import close_all

    close_all()
    local = LighttrackClient(str(path))
    remote = mlflow.MlflowClient(uri)
    remote_exp = remote.get_experiment_by_name(experiment)
    remote_runs = remote.search_runs([remote_exp.experiment_id], max_results=1000)
    by_local = {}
    for run in remote_runs:
        key = run.data.tags["lighttrack.run_id"]
        assert key not in by_local, f"run {key} arrived twice"
        by_local[key] = run
    assert sorted(by_local) == sorted(ids)
    for run_id in ids:
        mine, theirs = local.get_run(run_id), by_local[run_id]
        assert theirs.data.params == mine.data.params
        for key, value in mine.data.tags.items():
            assert theirs.data.tags[key] == value
        assert theirs.info.status == mine.info.status and theirs.info.end_time == mine.info.end_time
        for key in mine.data.metrics:
            want = [(m.step, m.timestamp, m.value) for m in local.get_metric_history(run_id, key)]
            got = sorted((m.step, m.timestamp, m.value) for m in remote.get_metric_history(theirs.info.run_id, key))
            assert len(got) == len(want), f"{run_id} {key}: {len(got)} points on the server, {len(want)} here"
            for (s1, t1, v1), (s2, t2, v2) in zip(sorted(want), got):
                assert (s1, t1) == (s2, t2) and (v1 == v2 or (math.isnan(v1) and math.isnan(v2)))
        want_files = sorted(f.path for f in _walk(local, run_id))
        got_files = sorted(f.path for f in _walk(remote, theirs.info.run_id))
        assert got_files == want_files
    versions = sorted(remote.search_model_versions(f"name = '{model}'"), key=lambda v: int(v.version))
    assert [v.current_stage for v in versions] == ["None", "Production"]
    assert [v.run_id for v in versions] == [by_local[i].info.run_id for i in ids[:2]]
    assert remote.get_registered_model(model).aliases == {"champion": "1"}


def _walk(client, run_id: str, path: str | None = None):
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            yield from _walk(client, run_id, item.path)
        else:
            yield item


def _sent_runs(path: Path, uri: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM sync_state WHERE remote = ? AND kind = 'run'", (uri,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


# ------------------------------------------------------------------ killed, then again
def test_push_killed_mid_way_then_again_delivers_everything_exactly_once(pg_server, tmp_path):
    path = tmp_path / "box.db"
    ids = _build(path, "killed-push", 60)
    _register(path, "killed-model", ids)
    from lighttrack.store import close_all

    close_all()
    pusher = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(path), "push-mlflow", pg_server,
                               "--workers", "4"], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: pusher.poll() is not None or _sent_runs(path, pg_server) >= 10, "the push to start")
    finally:
        pusher.send_signal(signal.SIGKILL)
        pusher.wait()
    assert _sent_runs(path, pg_server) < 60 or pusher.returncode == -signal.SIGKILL
    again = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(path), "push-mlflow", pg_server],
                           env=_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    _compare(pg_server, path, "killed-push", ids, "killed-model")
    third = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(path), "push-mlflow", pg_server],
                           env=_env(), capture_output=True, text=True)
    # A third push that sends nothing leaves the server as compared above.
    assert ("0 new run(s), 0 updated, 60 unchanged; 0 metric points, 0 artifact file(s); 0 model(s), "
            "0 version(s), 0 stage and 0 alias change(s)") in third.stdout


def test_runs_created_but_not_recorded_are_found_again_not_doubled(pg_server, tmp_path):
    """The window a SIGKILL can hit: the server created the run, the file never recorded it.
    Reproduced exactly: forget the records, keep the pending markers."""
    from lighttrack.store import close_all
    from lighttrack.sync.mlflow_push import push_mlflow

    path = tmp_path / "box.db"
    ids = _build(path, "unrecorded", 12)
    _register(path, "unrecorded-model", ids)
    first = push_mlflow(pg_server, str(path))
    assert first.runs_created == 12 and first.versions_created == 2
    close_all()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE sync_state SET kind = kind || '-pending', remote_id = '', state = '{}'"
                     " WHERE kind IN ('run', 'version')")
    conn.close()
    second = push_mlflow(pg_server, str(path))
    assert second.runs_created == 0 and second.runs_recovered == 12 and second.versions_created == 0
    _compare(pg_server, path, "unrecorded", ids, "unrecorded-model")


def test_progress_reports_runs_and_points(pg_server, tmp_path):
    from lighttrack.sync.mlflow_push import push_mlflow

    path = tmp_path / "box.db"
    _build(path, "progress", 5)
    calls = []
    report = push_mlflow(pg_server, str(path), progress=lambda phase, done, total, points=0: calls.append(
        (phase, done, total, points)))
    assert calls[-1][1:] == (5, 5, report.metric_points) and report.metric_points > 0
    assert report.requests == 5 * 3 + 2  # create, one log-batch, update a run (+2 runs of 2,500 points)


# ------------------------------------------------------------------------------- watch
WRITER = """
import sys, lighttrack
lighttrack.set_tracking_uri(sys.argv[1])
lighttrack.set_experiment("watched")
run = lighttrack.start_run(run_name="streaming")
print(run.info.run_id, flush=True)
for line in sys.stdin:
    first, last = map(int, line.split())
    if first < 0:
        break
    for s in range(first, last):
        lighttrack.log_metric("loss", 1.0 / (s + 1), step=s)
    lighttrack.flush()
    print("logged", last, flush=True)
lighttrack.end_run()
print("ended", flush=True)
"""


def test_watch_streams_and_survives_the_server_going_away(tmp_path):
    import mlflow

    path = tmp_path / "box.db"
    server = MlflowServer(workers=1)
    uri = server.start()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    watcher = None
    try:
        run_id = writer.stdout.readline().strip()

        def log(first: int, last: int) -> None:
            writer.stdin.write(f"{first} {last}\n")
            writer.stdin.flush()
            assert writer.stdout.readline().split() == ["logged", str(last)]

        log(0, 100)
        watcher = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(path), "push-mlflow", uri,
                                    "--watch", "--interval", "0.2"], env=_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        remote = mlflow.MlflowClient(uri)

        def points_on_server() -> int:
            try:
                runs = remote.search_runs([remote.get_experiment_by_name("watched").experiment_id],
                                          f"tags.`lighttrack.run_id` = '{run_id}'")
                return len(remote.get_metric_history(runs[0].info.run_id, "loss")) if runs else 0
            except Exception:
                return -1

        _wait_for(lambda: points_on_server() == 100, "the first points to stream")
        server.stop(remove=False)  # the server goes away; training goes on
        log(100, 250)
        server.start()
        _wait_for(lambda: points_on_server() == 250, "the points logged while the server was away")
        log(250, 300)
        writer.stdin.write("-1 -1\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "ended"

        def finished() -> bool:
            runs = remote.search_runs([remote.get_experiment_by_name("watched").experiment_id])
            return len(runs) == 1 and runs[0].info.status == "FINISHED"

        _wait_for(finished, "the run's end to arrive")
        (run,) = remote.search_runs([remote.get_experiment_by_name("watched").experiment_id])
        steps = sorted(m.step for m in remote.get_metric_history(run.info.run_id, "loss"))
        assert steps == list(range(300))  # nothing lost, nothing twice
    finally:
        for proc in (watcher, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        server.stop()


# ------------------------------------------------------------------------- progress bar
def test_the_progress_bar_shows_rates_on_a_terminal_and_nothing_otherwise():
    import io

    from rich.console import Console

    from lighttrack.cli.sync import rate_bar

    piped = io.StringIO()
    with rate_bar("pushing", console=Console(file=piped)) as update:  # not a terminal: quiet
        update("runs", 5, 10, points=500)
    assert piped.getvalue() == ""
    terminal = io.StringIO()
    with rate_bar("pushing", console=Console(file=terminal, force_terminal=True, width=120)) as update:
        update("runs", 5, 10, points=500)
        update("runs", 10, 10, points=1000)
    shown = terminal.getvalue()
    assert "runs/s" in shown and "points/s" in shown and "10/10" in shown
