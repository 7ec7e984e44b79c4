"""Projects, for real: the sample projects run with `lighttrack run` (local env manager, small
parameters), the run handed over to the child, exit codes, logs, KILLED on SIGTERM, git tags
and --version checkouts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.projects import ExecutionError, run

SAMPLES = ROOT / "sample_projects"


@pytest.fixture
def invoke(db_path):
    def go(*args: str, code: int = 0):
        result = CliRunner().invoke(cli, ["--db", str(db_path), "run", *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return go


def only_run(client: LighttrackClient, experiment: str | None = None):
    ids = [client.get_experiment_by_name(experiment).experiment_id] if experiment else None
    runs = list(client.search_runs(ids))
    assert len(runs) == 1, runs
    return runs[0]


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text))
    return root


JOB = """\
import sys
import lighttrack as mlflow
with mlflow.start_run():
    mlflow.log_metric("m", 1.5)
    print("to stdout")
    print("to stderr", file=sys.stderr)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""
JOB_PROJECT = {
    "MLproject": """\
        name: job
        entry_points:
          main:
            parameters:
              code: {type: int, default: 0}
            command: "python job.py {code}"
    """,
    "job.py": JOB,
}


# ------------------------------------------------------------------ the sample projects
def test_iris_forest_logs_params_metrics_and_a_registered_model(invoke, client):
    invoke(str(SAMPLES / "iris_forest"), "--env-manager", "local", "-P", "n_estimators=10",
           "-P", "max_depth=3", "-P", "register_as=iris-proj", "--experiment-name", "iris", "--run-name", "small")
    r = only_run(client, "iris")
    assert r.info.status == "FINISHED" and r.info.run_name == "small"
    assert r.data.params == {"n_estimators": "10", "max_depth": "3", "test_size": "0.2", "register_as": "iris-proj"}
    assert r.data.metrics["accuracy"] > 0.8 and "cv_accuracy" in r.data.metrics
    tags = r.data.tags
    assert tags["mlflow.source.type"] == "PROJECT" and tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local" and tags["mlflow.project.backend"] == "local"
    assert tags["mlflow.source.name"] == str(SAMPLES / "iris_forest")
    import lighttrack.pyfunc

    model = lighttrack.pyfunc.load_model("models:/iris-proj/1")
    assert list(model.predict([[5.1, 3.5, 1.4, 0.2]])) == [0]
    assert client.get_model_version("iris-proj", 1).run_id == r.info.run_id
    files = {f.path for f in client.list_artifact_files(r.info.run_id)}
    assert {"logs/stdout.txt", "logs/stderr.txt", "model/MLmodel", "dataset.json"} <= files
    assert b"accuracy" in client.read_artifact(r.info.run_id, "logs/stdout.txt")


def test_wine_elasticnet_logs_regression_metrics_and_a_signature(invoke, client):
    invoke(str(SAMPLES / "wine_elasticnet"), "--env-manager", "local", "-P", "alpha=0.05", "-P", "l1_ratio=0.5")
    r = only_run(client)
    assert r.data.params == {"alpha": "0.05", "l1_ratio": "0.5"}
    assert {"rmse", "mae", "r2"} <= set(r.data.metrics) and r.data.metrics["r2"] > 0.5
    import numpy as np
    from sklearn.datasets import load_wine

    import lighttrack.pyfunc

    model = lighttrack.pyfunc.load_model(f"runs:/{r.info.run_id}/model")
    assert model.metadata.signature is not None
    predicted = model.predict(load_wine().data[:4, 1:])
    assert np.all((predicted > 10) & (predicted < 16))  # alcohol, in % by volume


def test_training_curve_logs_a_metric_per_epoch(invoke, client):
    invoke(str(SAMPLES / "training_curve"), "--env-manager", "local", "-P", "epochs=4")
    r = only_run(client)
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        assert [m.step for m in client.get_metric_history(r.info.run_id, key)] == [1, 2, 3, 4]
    assert r.data.metrics["val_accuracy"] > 0.8 and r.data.params["sleep"] == "0"


def test_custom_pyfunc_loads_with_its_artifact(invoke, client):
    invoke(str(SAMPLES / "custom_pyfunc"), "--env-manager", "local", "-P", "C=0.5")
    r = only_run(client)
    assert r.data.params == {"C": "0.5", "max_iter": "200"} and r.data.metrics["accuracy"] > 0.8
    import lighttrack.pyfunc

    model = lighttrack.pyfunc.load_model(f"runs:/{r.info.run_id}/model", allow_pickle=True)
    assert model.predict([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]) == ["setosa", "virginica"]


def test_sample_projects_are_complete():
    readme = (ROOT / "README.md").read_text()
    from lighttrack.projects import load_project

    for name in ("iris_forest", "wine_elasticnet", "training_curve", "custom_pyfunc"):
        folder = SAMPLES / name
        assert {"MLproject", "python_env.yaml", "conda.yaml"} <= {p.name for p in folder.iterdir()}
        assert load_project(folder).python_env == folder / "python_env.yaml"
        assert f"sample_projects/{name}" in readme


# ------------------------------------------------------------------ the run and the child
def test_the_run_exists_before_the_child_and_is_resumed(tmp_path, db_path, client):
    project = make_project(tmp_path / "p", {
        "MLproject": """\
            entry_points:
              main:
                parameters: {lr: float}
                command: "python check.py {lr}"
        """,
        "check.py": """\
            import os, sys
            import lighttrack as mlflow
            from lighttrack import LighttrackClient
            run_id = os.environ["LIGHTTRACK_RUN_ID"]
            assert os.path.isabs(os.environ["LIGHTTRACK_TRACKING_URI"])
            before = LighttrackClient().get_run(run_id)
            assert before.info.status == "RUNNING" and before.data.params == {"lr": sys.argv[1]}
            with mlflow.start_run() as run:
                assert run.info.run_id == run_id
                mlflow.log_metric("seen", 1)
        """,
    })
    submitted = run(str(project), parameters={"lr": 0.01}, env_manager="local", tracking_uri=db_path)
    r = client.get_run(submitted.run_id)
    assert r.info.status == "FINISHED" and r.data.metrics == {"seen": 1.0} and r.data.params == {"lr": "0.01"}
    assert submitted.wait() and submitted.get_status() == "FINISHED" and submitted.exit_code == 0


def test_exit_code_logs_and_failed_status(tmp_path, invoke, client):
    project = make_project(tmp_path / "p", JOB_PROJECT)
    result = invoke(str(project), "--env-manager", "local", "-P", "code=3", code=3)
    assert "to stdout" in result.output
    r = only_run(client)
    # The child's start_run block ended the run FINISHED; the exit code wins.
    assert r.info.status == "FAILED" and r.data.metrics == {"m": 1.5}
    assert client.read_artifact(r.info.run_id, "logs/stdout.txt") == b"to stdout\n"
    assert client.read_artifact(r.info.run_id, "logs/stderr.txt") == b"to stderr\n"
    assert r.data.tags["lighttrack.project.exitCode"] == "3"


def test_api_raises_on_failure_unless_asynchronous(tmp_path, db_path, client):
    project = make_project(tmp_path / "p", JOB_PROJECT)
    with pytest.raises(ExecutionError, match="FAILED"):
        run(str(project), parameters={"code": 2}, env_manager="local", tracking_uri=db_path)
    submitted = run(str(project), parameters={"code": 0}, env_manager="local", tracking_uri=db_path,
                    synchronous=False)
    assert submitted.wait() is True and submitted.get_status() == "FINISHED"


def test_file_entry_points_and_undeclared_parameters(tmp_path, db_path, client):
    project = make_project(tmp_path / "p", {
        "MLproject": """\
            entry_points:
              main:
                parameters: {a: string}
                command: "python echo.py {a}"
        """,
        "echo.py": "import sys; print(sys.argv[1:])\n",
        "run.sh": 'echo "sh got $*"\n',
    })
    a = run(str(project), parameters={"a": "x y", "extra": "it's"}, env_manager="local", tracking_uri=db_path)
    assert client.read_artifact(a.run_id, "logs/stdout.txt") == b"['x y', '--extra', \"it's\"]\n"
    assert a.command == "python echo.py 'x y' --extra 'it'\"'\"'s'"
    b = run(str(project), "echo.py", {"k": 1}, env_manager="local", tracking_uri=db_path)
    assert client.read_artifact(b.run_id, "logs/stdout.txt") == b"['--k', '1']\n"
    c = run(str(project), "run.sh", {"k": 2}, env_manager="local", tracking_uri=db_path)
    assert client.read_artifact(c.run_id, "logs/stdout.txt") == b"sh got --k 2\n"
    assert client.get_run(c.run_id).data.params == {"k": "2"}


def test_sigterm_kills_the_child_and_marks_the_run_killed(tmp_path, db_path, client):
    project = make_project(tmp_path / "p", {
        "MLproject": """\
            entry_points:
              main:
                command: "python sleeper.py"
        """,
        "sleeper.py": """\
            import os, time
            import lighttrack as mlflow
            with mlflow.start_run():
                open("child.pid", "w").write(str(os.getpid()))
                time.sleep(60)
        """,
    })
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-m", "lighttrack", "--db", str(db_path), "run", str(project), "--env-manager", "local"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    pid_file = project / "child.pid"
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, parent.communicate()
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    out, err = parent.communicate(timeout=20)
    assert parent.returncode == 128 + signal.SIGTERM, err
    r = only_run(client)
    assert r.info.status == "KILLED" and r.info.end_time
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)
    assert b"was killed" in err


def test_cancel_an_asynchronous_run(tmp_path, db_path, client):
    project = make_project(tmp_path / "p", {
        "MLproject": 'entry_points:\n  main:\n    command: "python -c \'import time; print(1, flush=True); time.sleep(60)\'"\n',
    })
    submitted = run(str(project), env_manager="local", tracking_uri=db_path, synchronous=False)
    assert submitted.get_status() == "RUNNING" and submitted.pid
    time.sleep(0.3)
    submitted.cancel()
    # MLflow: a cancelled project run is FAILED (a signal from outside still reads KILLED)
    assert submitted.get_status() == "FAILED" and client.get_run(submitted.run_id).info.status == "FAILED"
    assert submitted.exit_code == 128 + signal.SIGTERM


# ----------------------------------------------------------------------------- git
def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    project = make_project(root / "proj", {
        "MLproject": 'entry_points:\n  main:\n    command: "python say.py"\n',
        "say.py": "print('version one')\n",
    })
    _git(root, "init", "-q", "-b", "trunk")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "one")
    _git(root, "tag", "v1")
    first = _git(root, "rev-parse", "HEAD")
    (project / "say.py").write_text("print('version two')\n")
    _git(root, "commit", "-q", "-am", "two")
    return root, project, first


def test_git_tags_and_dirty_state(repo, db_path, client):
    root, project, _ = repo
    (project / "say.py").write_text("print('edited')\n")
    submitted = run(str(project), env_manager="local", tracking_uri=db_path)
    tags = client.get_run(submitted.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == _git(root, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.branch"] == "trunk"
    assert tags["lighttrack.source.git.dirty"] == "true"


def test_version_runs_a_ref_in_a_temporary_worktree(repo, invoke, client):
    root, project, first = repo
    invoke(str(project), "--env-manager", "local", "--version", "v1")
    r = only_run(client)
    assert client.read_artifact(r.info.run_id, "logs/stdout.txt") == b"version one\n"
    assert r.data.tags["mlflow.source.git.commit"] == first
    assert r.data.tags["lighttrack.project.version"] == "v1"
    assert r.data.tags["mlflow.source.name"] == str(project)
    assert len(_git(root, "worktree", "list").splitlines()) == 1  # the worktree is gone
    assert (project / "say.py").read_text() == "print('version two')\n"  # the checkout untouched
    result = CliRunner().invoke(cli, ["--db", str(client.path), "run", str(project), "--version", "nope"])
    assert result.exit_code == 1 and "--version 'nope': no such commit" in result.output


def test_a_git_url_is_cloned(repo, db_path, client):
    root, _, first = repo
    submitted = run(f"file://{root}#proj", env_manager="local", version=first, tracking_uri=db_path)
    r = client.get_run(submitted.run_id)
    assert client.read_artifact(r.info.run_id, "logs/stdout.txt") == b"version one\n"
    assert r.data.tags["mlflow.source.git.repoURL"] == f"file://{root}"
    assert r.data.tags["mlflow.source.name"] == f"file://{root}#proj"
