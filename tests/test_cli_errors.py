"""Every CLI failure is one line on stderr with exit 1 (130 for Ctrl-C), never a traceback;
and every subcommand takes --db FILE, as the README says."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import ROOT
from lighttrack import LighttrackClient
from lighttrack.cli import cli


def _run(*args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess: what a user sees, tracebacks included."""
    prefix = ["--db", str(db)] if db is not None else []
    return subprocess.run([sys.executable, "-m", "lighttrack", *prefix, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def _one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr, result.stderr


@pytest.fixture
def logged_file(client, db_path) -> Path:
    run = client.create_run(client.create_experiment("e"))
    client.log_metric(run.info.run_id, "m", 1.0)
    client.set_terminated(run.info.run_id)
    return db_path


@pytest.mark.parametrize("command", [["backup"], ["export", "-o"]])
def test_backup_and_export_into_a_missing_folder(logged_file, tmp_path, command):
    target = tmp_path / "no-such-folder" / "copy.db"
    _one_line_error(_run(*command, str(target), db=logged_file), "does not exist (create it first)")
    assert not target.parent.exists()


_LOG_MODEL = """
import sys, lighttrack, lighttrack.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
lighttrack.set_tracking_uri(sys.argv[1])
X, y = load_iris(return_X_y=True)
with lighttrack.start_run():
    lighttrack.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), name="model",
                                 registered_model_name="iris")
"""


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    pytest.importorskip("sklearn")
    db = tmp_path_factory.mktemp("model") / "model.db"
    subprocess.run([sys.executable, "-c", _LOG_MODEL, str(db)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    return db


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", '{"inputs": [[1, 2,', "not valid JSON"),
    ("other.json", '{"rows": [1]}', "not an input MLflow reads"),
    ("split.json", '{"dataframe_split": {"columns": ["a"]}}', "not an input MLflow reads"),
    ("empty.csv", "", "the CSV file is empty"),
    ("header.csv", "a,b,c,d\n", "no input rows"),
    ("short.json", '{"inputs": [[1, 2, 3]]}', "the model cannot predict on"),
])
def test_models_predict_on_bad_input_is_one_line(model_file, tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    result = CliRunner().invoke(cli, ["--db", str(model_file), "models", "predict", "-m", "models:/iris/latest",
                                      "-i", str(tmp_path / name)], catch_exceptions=False)
    assert result.exit_code == 1 and result.output.startswith("Error: ") and message in result.output
    assert result.output.strip().count("\n") == 0, result.output


def test_models_predict_into_a_missing_folder_is_one_line(model_file, tmp_path):
    (tmp_path / "in.json").write_text(json.dumps({"inputs": [[5.1, 3.5, 1.4, 0.2]]}))
    out = tmp_path / "missing" / "out.json"
    result = _run("models", "predict", "-m", "models:/iris/latest", "-i", str(tmp_path / "in.json"),
                  "-o", str(out), db=model_file)
    _one_line_error(result, "does not exist (create it first)")
    good = CliRunner().invoke(cli, ["--db", str(model_file), "models", "predict", "-m", "models:/iris/latest",
                                    "-i", str(tmp_path / "in.json")], catch_exceptions=False)
    assert good.exit_code == 0 and json.loads(good.output) == {"predictions": [0]}


# --------------------------------------------------------------------------------- --db
def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_subcommand_takes_db():
    missing = [" ".join(path) for path, command in _commands(cli)
               if not any("--db" in p.opts for p in command.params)]
    assert missing == []


def test_db_after_the_subcommand_is_the_file_used(logged_file, tmp_path):
    other = tmp_path / "other.db"
    LighttrackClient(other).create_experiment("only-in-other")
    runner = CliRunner()
    after = runner.invoke(cli, ["experiments", "list", "--format", "json", "--db", str(other)],
                          catch_exceptions=False)
    # (every new file has MLflow's Default experiment too)
    assert sorted(e["name"] for e in json.loads(after.output)) == ["Default", "only-in-other"]
    # given on both levels, the one nearer the command wins
    both = runner.invoke(cli, ["--db", str(logged_file), "runs", "list", "--format", "json", "--db", str(other)],
                         catch_exceptions=False)
    assert json.loads(both.output) == []
    top = runner.invoke(cli, ["--db", str(logged_file), "runs", "list", "--format", "json"], catch_exceptions=False)
    assert len(json.loads(top.output)) == 1
    group = runner.invoke(cli, ["runs", "--db", str(logged_file), "list", "--format", "json"],
                          catch_exceptions=False)
    assert len(json.loads(group.output)) == 1


def test_db_on_a_subcommand_beats_the_environment(logged_file, tmp_path, monkeypatch):
    other = tmp_path / "other.db"
    LighttrackClient(other).create_experiment("only-in-other")
    monkeypatch.setenv("LIGHTTRACK_TRACKING_URI", str(other))
    result = CliRunner().invoke(cli, ["runs", "list", "--format", "json", "--db", str(logged_file)],
                                catch_exceptions=False)
    assert len(json.loads(result.output)) == 1


# ------------------------------------------------------------------------------- Ctrl-C
def _wait_for(predicate, what: str, process: subprocess.Popen, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _run_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet
        return 0


def _interrupted(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def test_ctrl_c_in_demo_exits_130_with_one_line(tmp_path):
    pytest.importorskip("sklearn")
    db = tmp_path / "demo.db"
    process = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(db), "demo"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    _wait_for(lambda: _run_count(db) >= 1, "the demo's first run", process)
    code, stderr = _interrupted(process)
    assert code == 130, stderr
    assert stderr.strip() == "lighttrack: interrupted"
    statuses = [r.info.status for r in LighttrackClient(db).search_runs(None)]
    assert "KILLED" in statuses and "RUNNING" not in statuses


def test_ctrl_c_in_import_mlflow_exits_130_with_one_line(tmp_path):
    pytest.importorskip("mlflow")
    # A server that accepts the connection and never answers: the import waits on it.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    connected = threading.Event()
    held = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        held.append(conn)
        connected.set()

    threading.Thread(target=accept, daemon=True).start()
    db = tmp_path / "target.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "lighttrack", "--db", str(db), "import-mlflow", f"http://127.0.0.1:{server.getsockname()[1]}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        _wait_for(connected.is_set, "the import to reach the server", process)
        code, stderr = _interrupted(process)
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert code == 130, stderr
    assert stderr.strip() == "lighttrack: interrupted"
    assert not db.exists()
