"""`lighttrack merge`, `merge --shards` and `gc` show a rich progress bar with runs/s and points/s
on a terminal (stderr), and print nothing but their summary into a pipe.

"A terminal" is forced the way rich documents it (``TTY_COMPATIBLE=1``): the command runs as a
real subprocess, the same code path a user's terminal takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lighttrack import LighttrackClient, Metric
from lighttrack.store import close_all

ROOT = Path(__file__).resolve().parent.parent


def _file(path: Path, runs: int = 6, points: int = 50, deleted: int = 0) -> Path:
    client = LighttrackClient(str(path))
    experiment = client.create_experiment("e")
    for r in range(runs):
        run_id = client.create_run(experiment).info.run_id
        client.log_batch(run_id, metrics=[Metric("loss", 1.0 / (s + 1), 1000 + s, s) for s in range(points)])
        client.set_terminated(run_id)
        if r < deleted:
            client.delete_run(run_id)
    close_all()
    return path


def _cli(*args: str, terminal: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("FORCE_COLOR", None)
    env["TTY_COMPATIBLE"] = "1" if terminal else "0"
    done = subprocess.run([sys.executable, "-m", "lighttrack", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_merge_shows_runs_and_points_per_second_on_a_terminal(tmp_path):
    source = _file(tmp_path / "laptop.db")
    done = _cli("--db", str(tmp_path / "team.db"), "merge", str(source), terminal=True)
    assert "runs/s" in done.stderr and "points/s" in done.stderr and "6/6" in done.stderr
    assert "runs/s" not in done.stdout  # the bar is on stderr; stdout keeps the summary
    assert "6 run(s) added" in done.stdout


def test_merge_prints_only_its_summary_into_a_pipe(tmp_path):
    source = _file(tmp_path / "laptop.db")
    done = _cli("--db", str(tmp_path / "team.db"), "merge", str(source), terminal=False)
    assert done.stderr == ""
    assert done.stdout.splitlines()[0].startswith("merged: 6 run(s) added")
    assert len(done.stdout.splitlines()) == 1


def test_the_merge_reports_counts_to_its_progress_callback(tmp_path):
    from lighttrack import sync

    source = _file(tmp_path / "laptop.db", runs=4, points=25)
    calls = []
    sync.merge(str(source), str(tmp_path / "team.db"), progress=lambda *a, **k: calls.append((a, k)))
    (phase, runs, total), extra = calls[-1]
    assert (phase, runs, total, extra) == ("done", 4, 4, {"points": 100})
    assert all(a[2] == 4 for a, _ in calls)  # the total is the runs selected, from the first tick


def test_folding_shards_shows_rates_on_a_terminal(tmp_path):
    main = tmp_path / "team.db"
    script = ("import sys, lighttrack\nlighttrack.set_tracking_uri(sys.argv[1])\n"
              "with lighttrack.start_run():\n    [lighttrack.log_metric('x', i, step=i) for i in range(30)]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LIGHTTRACK_SHARDS": "1"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script, str(main)], env=env, check=True)
    done = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "merge", "--shards"],
                          env={**env, "TTY_COMPATIBLE": "1", "COLUMNS": "200"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "runs/s" in done.stderr and "points/s" in done.stderr


def test_gc_shows_progress_on_a_terminal_and_nothing_in_a_pipe(tmp_path):
    db = _file(tmp_path / "a.db", runs=6, points=40, deleted=4)
    shown = _cli("--db", str(db), "gc", terminal=True)
    assert "gc" in shown.stderr and "runs/s" in shown.stderr and "points/s" in shown.stderr
    assert "4/4" in shown.stderr
    assert shown.stdout.startswith("purged 4 run(s)")
    again = _file(tmp_path / "b.db", runs=3, points=10, deleted=2)
    piped = _cli("--db", str(again), "gc", terminal=False)
    assert piped.stderr == ""
    assert piped.stdout.startswith("purged 2 run(s)") and len(piped.stdout.splitlines()) == 1


def test_gc_reports_runs_and_points_purged_to_its_callback(tmp_path):
    db = _file(tmp_path / "a.db", runs=5, points=20, deleted=3)
    calls = []
    report = LighttrackClient(str(db)).gc(progress=lambda *a, **k: calls.append((a, k)))
    assert report.runs == 3
    assert calls[-1] == (("done", 3, 3), {"points": 60})
    assert [a[0] for a, _ in calls] == ["runs", "runs", "unused blobs", "VACUUM", "done"]


def test_export_shows_rates_on_a_terminal(tmp_path):
    db = _file(tmp_path / "a.db", runs=3, points=10)
    done = _cli("--db", str(db), "export", "-o", str(tmp_path / "out.db"), terminal=True)
    assert "runs/s" in done.stderr and "points/s" in done.stderr
