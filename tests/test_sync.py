"""One file, many machines: merge, export and backup on real files and real processes."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_python

from lighttrack import LighttrackClient, sync
from lighttrack.errors import FileError, InvalidArgument, NotALighttrackFile, SchemaTooNew
from lighttrack.store import close_all

MACHINE = """
import sys, lighttrack as mlflow, lighttrack.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
path, machine = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(path)
mlflow.set_experiment("shared-sweep")            # the same name on both machines
X, y = load_iris(return_X_y=True)
for c in (0.1, 1.0):
    with mlflow.start_run(run_name=f"{machine}-C{c}"):
        mlflow.log_params({"C": c, "machine": machine})
        for step in range(300):
            mlflow.log_metric("loss", 1.0 / (step + 1) + c, step=step)
        mlflow.log_text(f"notes from {machine}", "notes.txt")
        mlflow.log_text("identical on every machine", "common.txt")
        model = LogisticRegression(C=c, max_iter=300).fit(X, y)
        mlflow.sklearn.log_model(model, name="model", registered_model_name="iris-lr")
client = mlflow.MlflowClient()
client.transition_model_version_stage("iris-lr", 2, "Production")
client.set_registered_model_alias("iris-lr", "champion", 2)
mlflow.set_experiment(f"only-on-{machine}")
with mlflow.start_run():
    mlflow.log_metric("solo", 1.0)
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def machine_files(tmp_path_factory):
    """Two processes, two files, overlapping experiment and model names."""
    base = tmp_path_factory.mktemp("machines")
    paths = {}
    for machine in ("laptop", "gpubox"):
        src = base / machine / "lighttrack.db"
        src.parent.mkdir()
        run_python(MACHINE, str(src), machine)
        paths[machine] = src
    return paths


@pytest.fixture
def two_machines(machine_files, tmp_path):
    """The two machines' files, 'copied home' (each test gets its own copies)."""
    paths = {}
    for machine, src in machine_files.items():
        home = tmp_path / f"{machine}-copy.db"
        shutil.copy(src, home)  # the writer exited, so the file is whole without its WAL
        paths[machine] = home
    return paths


def everything(path: Path) -> dict:
    """What a user could notice in a file: every run, point, artifact byte and registry entry."""
    client = LighttrackClient(path)
    runs = {}
    for run in client.search_runs(max_results=None):
        rid = run.info.run_id
        files = {f.path: client.read_artifact(rid, f.path) for f in client.list_artifact_files(rid)}
        metrics = {k: tuple(map(tuple, (list(a) for a in client.metric_history_arrays(rid, k, numpy=False))))
                   for k in run.data.metrics}
        runs[rid] = (run.info.run_name, run.info.status, run.data.params, metrics, files,
                     client.get_experiment(run.info.experiment_id).name)
    models = {}
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{model.name}'")
        models[model.name] = (model.aliases, sorted((v.version, v.current_stage, v.run_id) for v in versions))
    return {"runs": runs, "models": models}


def test_two_machines_merge_into_a_third_and_again_changes_nothing(two_machines, tmp_path):
    laptop, gpubox = two_machines["laptop"], two_machines["gpubox"]
    before = {name: sha(p) for name, p in two_machines.items()}
    laptop_view, gpubox_view = everything(laptop), everything(gpubox)
    close_all()
    home = tmp_path / "home.db"
    first = sync.merge(laptop, into=home)
    second = sync.merge(gpubox, into=home)
    assert first.runs_added == 3 and second.runs_added == 3
    assert second.experiments_matched == 2  # shared-sweep: same name, other id -> joined; and Default "0"
    merged = everything(home)
    # every run, point and artifact byte of both machines is there, unchanged
    assert merged["runs"] == {**laptop_view["runs"], **gpubox_view["runs"]}
    client = LighttrackClient(home)
    shared = client.get_experiment_by_name("shared-sweep")
    assert client.count_runs(shared.experiment_id) == 4
    # registry: the second machine's versions were appended, origin recorded, alias kept
    aliases, versions = merged["models"]["iris-lr"]
    assert [v[0] for v in versions] == [1, 2, 3, 4]
    assert aliases == {"champion": 2}
    appended = client.get_model_version("iris-lr", 4)
    assert appended.tags["lighttrack.origin.version"] == "2"
    assert appended.current_stage == "Production" and appended.run_id in gpubox_view["runs"]
    assert any("alias iris-lr@champion" in note for note in second.notes)
    # the appended versions still load: their runs came along
    import lighttrack

    lighttrack.set_tracking_uri(home)
    import lighttrack.pyfunc

    assert lighttrack.pyfunc.load_model("models:/iris-lr/4").predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]
    # the same content is stored once
    conn = sqlite3.connect(home)
    assert conn.execute("SELECT count(*) FROM blobs b JOIN artifacts a ON a.sha256 = b.sha256"
                        " WHERE a.path = 'common.txt'").fetchone()[0] == 4
    assert conn.execute("SELECT count(DISTINCT sha256) FROM artifacts WHERE path = 'common.txt'").fetchone()[0] == 1
    conn.close()
    # again: nothing changes
    snapshot = everything(home)
    again = [sync.merge(laptop, into=home), sync.merge(gpubox, into=home)]
    assert not any(r.changed for r in again) and everything(home) == snapshot
    # the sources were only read
    close_all()
    assert {name: sha(p) for name, p in two_machines.items()} == before


def test_a_run_on_both_sides_keeps_the_one_that_finished_later(client, db_path, tmp_path):
    exp = client.create_experiment("e")
    run = client.create_run(exp, run_name="r").info.run_id
    client.log_metric(run, "m", 1.0, step=0)
    close_all()
    copy = tmp_path / "copy.db"
    shutil.copy(db_path, copy)
    # the copy keeps training and finishes; the original still shows it RUNNING
    other = LighttrackClient(copy)
    other.log_metric(run, "m", 2.0, step=1)
    other.set_terminated(run, "FINISHED")
    close_all()
    report = sync.merge(copy, into=db_path)
    assert report.runs_replaced == 1 and "kept the source's" in report.notes[0]
    mine = LighttrackClient(db_path)
    assert [m.value for m in mine.get_metric_history(run, "m")] == [1.0, 2.0]
    assert mine.get_run(run).info.status == "FINISHED"
    # the other way round: the target is newer, so it is kept
    close_all()
    stale = tmp_path / "stale.db"
    shutil.copy(db_path, stale)
    newer = LighttrackClient(db_path)
    newer.set_tag(run, "reviewed", "yes")
    newer.update_run(run, status="FINISHED")
    conn = newer.store.conn
    conn.execute("UPDATE runs SET end_time = end_time + 1000 WHERE uuid = ?", (run,))
    close_all()
    report = sync.merge(stale, into=db_path)
    assert report.runs_kept == 1 and "kept this file's" in report.notes[0]
    assert LighttrackClient(db_path).get_run(run).data.tags["reviewed"] == "yes"


KILLED_MERGE = """
import sys
from lighttrack import sync
print("start", flush=True)
sync.merge(sys.argv[1], into=sys.argv[2])
print("done", flush=True)
"""


def test_a_merge_killed_midway_leaves_the_target_as_it_was(client, db_path, tmp_path):
    exp = client.create_experiment("target-exp")
    client.create_run(exp, run_name="already-here")
    close_all()
    target_view = everything(db_path)
    close_all()
    source = tmp_path / "big.db"
    big = LighttrackClient(source)
    run = big.create_run(big.create_experiment("big")).info.run_id
    for i in range(12):  # ~190 MB of incompressible artifacts: the copy takes a while
        big.log_bytes(run, os.urandom(16 * 1024 * 1024), f"chunk{i}.bin")
    close_all()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MERGE, str(source), str(db_path)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "start"
    wal = Path(f"{db_path}-wal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < 20 * 1024 * 1024):
        time.sleep(0.01)
    assert proc.poll() is None, "the merge finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert everything(db_path) == target_view


def test_export_carries_only_the_chosen_runs_and_their_models(two_machines, tmp_path):
    home = tmp_path / "home.db"
    sync.merge(two_machines["laptop"], into=home)
    out = tmp_path / "subset.db"
    report = sync.export(out, experiments=["shared-sweep"], filter_string="params.C < 0.5",
                         with_models=True, source=home)
    assert report.runs_added == 1
    subset = LighttrackClient(out)
    (run,) = subset.search_runs()
    assert run.data.params == {"C": "0.1", "machine": "laptop"}
    assert len(subset.get_metric_history(run.info.run_id, "loss")) == 300
    assert [m.name for m in subset.search_registered_models()] == ["iris-lr"]
    (version,) = subset.search_model_versions()
    assert version.run_id == run.info.run_id
    conn = sqlite3.connect(out)
    used = conn.execute("SELECT count(*) FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM artifacts)").fetchone()
    assert used[0] == 0  # no artifact of other runs came along
    conn.close()
    with pytest.raises(InvalidArgument, match="already exists"):
        sync.export(out, source=home)
    bare = sync.export(tmp_path / "bare.db", source=home)
    assert bare.versions_added == 0 and bare.runs_added == 3


BACKUP_WRITER = """
import os, sys, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
ready, stop = sys.argv[3], sys.argv[4]
with mlflow.start_run(run_name=f"writer-{sys.argv[2]}"):
    for step in range(2_000_000):  # bounded: the test says stop long before
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        if step % 2000 == 0:
            mlflow.flush()
            if step == 0:
                open(ready, "w").close()
            elif os.path.exists(stop):
                break
"""


def test_backup_while_four_processes_write(db_path, tmp_path):
    LighttrackClient(db_path).create_experiment("warm-up")
    close_all()
    stop = tmp_path / "stop"
    ready = [tmp_path / f"ready-{i}" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", BACKUP_WRITER, str(db_path), str(i), str(ready[i]), str(stop)],
                              env={**os.environ, "PYTHONPATH": str(ROOT)}) for i in range(4)]
    # Back up once every writer has flushed a first point and while all of them are still
    # writing (they stop only when told): the copy is taken mid-write whatever the load.
    deadline = time.monotonic() + 120
    while not all(path.exists() for path in ready):
        assert all(proc.poll() is None for proc in procs), "a writer ended before it was ready"
        assert time.monotonic() < deadline, "the writers never started"
        time.sleep(0.05)
    out = sync.backup(tmp_path / "backup.db", source=db_path)
    stop.touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    copy = LighttrackClient(out)
    runs = copy.search_runs()
    assert len(runs) == 4
    for run in runs:  # each run is a consistent prefix: steps 0..k with nothing missing
        steps, _, _ = copy.metric_history_arrays(run.info.run_id, "loss", numpy=False)
        assert list(steps) == list(range(len(steps)))
    with pytest.raises(InvalidArgument, match="already exists"):
        sync.backup(out, source=db_path)


def test_bad_sources_are_refused_and_nothing_is_written(client, db_path, tmp_path):
    client.create_experiment("e")
    close_all()
    before = sha(db_path)
    text = tmp_path / "notes.db"
    text.write_text("not a database\n" * 20)
    with pytest.raises(NotALighttrackFile):
        sync.merge(text, into=db_path)
    newer = tmp_path / "newer.db"
    LighttrackClient(newer).create_experiment("x")
    close_all()
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="99"):
        sync.merge(newer, into=db_path)
    with pytest.raises(FileError, match="does not exist"):
        sync.merge(tmp_path / "missing.db", into=db_path)
    with pytest.raises(InvalidArgument, match="into itself"):
        sync.merge(db_path, into=db_path)
    close_all()
    assert sha(db_path) == before


def test_mlflow_commands_without_the_extra_say_how_to_install(db_path):
    code = (
        "import sys; sys.modules['mlflow'] = None\n"
        "from lighttrack.cli import main\n"
        f"sys.argv = ['lighttrack', '--db', {str(db_path)!r}, 'push-mlflow', 'http://127.0.0.1:9']\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert "pip install 'lighttrack[mlflow]'" in result.stderr and "Traceback" not in result.stderr


def test_merge_cli(two_machines, tmp_path):
    from click.testing import CliRunner

    from lighttrack.cli import cli

    home = tmp_path / "home.db"
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(home), "merge", str(two_machines["laptop"])], catch_exceptions=False)
    assert out.exit_code == 0 and "3 run(s) added" in out.output
    out = runner.invoke(cli, ["merge", str(two_machines["laptop"]), "--into", str(home)], catch_exceptions=False)
    assert "nothing new" in out.output
    out = runner.invoke(cli, ["--db", str(home), "export", "-o", str(tmp_path / "x.db"), "--filter", "params.C > 0.5"],
                        catch_exceptions=False)
    assert out.exit_code == 0 and "1 run(s) added" in out.output
    out = runner.invoke(cli, ["--db", str(home), "backup", str(tmp_path / "b.db")], catch_exceptions=False)
    assert out.exit_code == 0 and "backed up" in out.output
    out = runner.invoke(cli, ["--db", str(home), "merge", str(tmp_path / "nope.db")])
    assert out.exit_code == 1 and out.output.startswith("Error:")
