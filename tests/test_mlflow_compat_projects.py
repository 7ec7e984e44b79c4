"""MLflow's project cases (tests/projects/test_projects.py), ported: backend="local", run_id=,
the parent run tag, runs:/ path parameters, cancel() -> FAILED, params logged as given, and the
branch tag at version="master"."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

import lighttrack as mlflow
from lighttrack import LighttrackClient
from lighttrack.projects import ProjectError

SHOW = """\
import sys
import lighttrack as mlflow
with mlflow.start_run():
    mlflow.log_text(open(sys.argv[1]).read(), "seen.txt")
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "MLproject").write_text(textwrap.dedent("""\
        name: show
        entry_points:
          main:
            parameters:
              data: {type: path, default: default.txt}
            command: "python show.py {data}"
    """))
    (root / "show.py").write_text(SHOW)
    (root / "default.txt").write_text("the default")
    return root


def _run(project, **kwargs):
    return mlflow.projects.run(str(project), env_manager="local", **kwargs)


def test_backend_local_is_accepted_and_others_refused(project):
    submitted = _run(project, backend="local", backend_config={})
    assert submitted.get_status() == "FINISHED"
    with pytest.raises(ProjectError, match="backend='local'"):
        _run(project, backend="databricks")


def test_run_id_runs_the_project_in_that_run(project):
    client = LighttrackClient()
    existing = client.create_run("0").info.run_id
    submitted = _run(project, run_id=existing)
    assert submitted.run_id == existing
    run = client.get_run(existing)
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.source.type"] == "PROJECT"
    assert client.read_artifact(existing, "seen.txt") == b"the default"
    assert len(client.search_runs(["0"])) == 1


def test_a_project_started_inside_a_run_is_its_child(project):
    with mlflow.start_run() as parent:
        submitted = _run(project)
    tags = LighttrackClient().get_run(submitted.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_a_runs_uri_path_parameter_is_downloaded_and_logged_as_given(project):
    with mlflow.start_run() as source:
        mlflow.log_text("from an artifact", "inputs/data.txt")
    uri = f"runs:/{source.info.run_id}/inputs/data.txt"
    submitted = _run(project, parameters={"data": uri})
    client = LighttrackClient()
    assert client.read_artifact(submitted.run_id, "seen.txt") == b"from an artifact"
    assert client.get_run(submitted.run_id).data.params == {"data": uri}


def test_a_relative_path_parameter_is_logged_as_given(project, monkeypatch):
    monkeypatch.chdir(project)
    submitted = _run(project, parameters={"data": "default.txt"})
    assert LighttrackClient().get_run(submitted.run_id).data.params == {"data": "default.txt"}


def test_cancel_leaves_the_run_failed(tmp_path):
    root = tmp_path / "slow"
    root.mkdir()
    (root / "MLproject").write_text(
        'entry_points:\n  main:\n    command: "python -c \'import time; time.sleep(120)\'"\n')
    submitted = mlflow.projects.run(str(root), env_manager="local", synchronous=False)
    submitted.cancel()
    assert submitted.get_status() == "FAILED"
    assert LighttrackClient().get_run(submitted.run_id).info.status == "FAILED"


def _git(cwd, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_version_master_tags_the_branch(project):
    _git(project, "init", "-q", "-b", "master")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "one")
    _git(project, "checkout", "-q", "-b", "other")
    submitted = _run(project, version="master")
    tags = LighttrackClient().get_run(submitted.run_id).data.tags
    assert tags["mlflow.source.git.branch"] == "master"
    assert tags["mlflow.source.git.commit"] == _git(project, "rev-parse", "master")
