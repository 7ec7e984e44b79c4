"""Many processes, one file; a writer killed mid-logging. Real subprocesses, no mocks."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import ROOT, run_python

import lighttrack
from lighttrack import LighttrackClient

WRITER = """
import sys, lighttrack as mlflow
path, worker, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mlflow.set_tracking_uri(path)
mlflow.set_experiment("sweep")
with mlflow.start_run(run_name=f"worker-{worker}"):
    mlflow.log_param("worker", worker)
    for step in range(points):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        if step % 500 == 0:
            mlflow.set_tag("progress", step)   # write-through calls interleave with flushes
            mlflow.flush()
    mlflow.log_text(f"worker {worker}", "who.txt")
"""


def test_six_processes_write_one_file_and_nothing_is_lost(db_path):
    LighttrackClient(db_path).create_experiment("sweep")  # create the file once, up front
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), str(worker), "3000"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(6)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err and "busy" not in err
    client = LighttrackClient(db_path)
    runs = client.search_runs(client.resolve_experiment_id("sweep"))
    assert sorted(r.data.params["worker"] for r in runs) == [str(w) for w in range(6)]
    for run in runs:
        assert run.info.status == "FINISHED"
        steps, _, values = client.metric_history_arrays(run.info.run_id, "loss")
        assert list(steps) == list(range(3000))
        assert client.read_artifact(run.info.run_id, "who.txt") == f"worker {run.data.params['worker']}".encode()


def test_threads_sharing_a_client_do_not_collide(client):
    import threading

    exp = client.create_experiment("threads")
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            run = client.create_run(exp, run_name=f"t{index}").info.run_id
            for step in range(200):
                client.log_metric(run, "m", float(step), step=step)
            client.set_terminated(run)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for run in client.search_runs([exp]):
        assert len(client.get_metric_history(run.info.run_id, "m")) == 200


KILLED_WRITER = """
import sys, time, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run(run_name="victim") as run:
    print(run.info.run_id, flush=True)
    step = 0
    while True:
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_text("x" * (step % 50), f"blob{step % 7}.txt") if step % 100 == 0 else None
        step += 1
        if step % 1000 == 0:
            time.sleep(0.01)
"""


def test_sigkill_mid_logging_leaves_an_intact_file_and_a_killed_run(db_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(db_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True,
    )
    run_id = proc.stdout.readline().strip()
    time.sleep(2.0)  # several background flushes happen
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    client = LighttrackClient(db_path)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"  # its process is gone: it does not stay RUNNING forever
    steps, _, _ = client.metric_history_arrays(run_id, "loss")
    assert len(steps) > 0 and list(steps) == list(range(len(steps)))  # a clean prefix
    assert client.search_runs(filter_string="attributes.status = 'KILLED'")[0].info.run_id == run_id
    assert client.mark_dead_runs_killed() == [run_id]
    assert client.get_run(run_id).info.end_time is not None


def test_atexit_finishes_open_runs_and_uncaught_errors_fail_them(db_path):
    ok = run_python(
        "import lighttrack as m, sys\n"
        f"m.set_tracking_uri({str(db_path)!r})\n"
        "r = m.start_run(); print(r.info.run_id)\n"
        "for i in range(1000): m.log_metric('x', i, step=i)\n"
    ).stdout.strip()
    crashed = run_python(
        "import lighttrack as m\n"
        f"m.set_tracking_uri({str(db_path)!r})\n"
        "r = m.start_run(); print(r.info.run_id, flush=True)\n"
        "m.log_metric('x', 1.0)\n"
        "raise RuntimeError('boom')\n",
        check=False,
    ).stdout.strip()
    client = LighttrackClient(db_path)
    assert client.get_run(ok).info.status == "FINISHED"
    assert len(client.get_metric_history(ok, "x")) == 1000  # nothing buffered was lost at exit
    assert client.get_run(crashed).info.status == "FAILED"
    assert client.get_run(crashed).data.metrics == {"x": 1.0}
    lighttrack.set_tracking_uri(None)
