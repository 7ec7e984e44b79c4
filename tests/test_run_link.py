"""MLflow's ModelVersion.run_link: stored, returned, and carried by merge, export, push and import."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import lighttrack
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.errors import InvalidArgument
from lighttrack.store import close_all

LINK = "http://mlflow.example:5000/#/experiments/0/runs/abc"


def _version_with_link(client: LighttrackClient, name: str = "m", link: str | None = LINK):
    exp = client.create_experiment(f"exp-{name}")
    run = client.create_run(exp)
    client.log_text(run.info.run_id, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name)
    return client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id,
                                       run_link=link)


def test_run_link_is_returned_by_create_get_and_search(client):
    created = _version_with_link(client)
    assert created.run_link == LINK
    assert client.get_model_version("m", created.version).run_link == LINK
    assert [v.run_link for v in client.search_model_versions("name = 'm'")] == [LINK]
    assert lighttrack.search_model_versions(filter_string="name = 'm'")[0].run_link == LINK


def test_no_run_link_reads_none_as_in_mlflow(client):
    created = _version_with_link(client, link=None)
    assert client.get_model_version("m", created.version).run_link is None
    assert _version_with_link(client, "n", link="").run_link is None


@pytest.mark.parametrize("bad, message", [(42, "run_link is a str"), ("x" * 8001, "8,001 characters")])
def test_a_bad_run_link_is_refused_before_anything_is_written(client, bad, message):
    with pytest.raises(InvalidArgument, match=message):
        _version_with_link(client, link=bad)
    assert client.search_model_versions("name = 'm'") == []


def test_merge_and_export_carry_run_link(tmp_path):
    source = LighttrackClient(tmp_path / "source.db")
    version = _version_with_link(source)
    close_all()
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(tmp_path / "target.db"), "merge", str(tmp_path / "source.db")],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["--db", str(tmp_path / "source.db"), "export", "-o", str(tmp_path / "sub.db"),
                                  "--with-models"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    close_all()
    for path in ("target.db", "sub.db"):
        assert LighttrackClient(tmp_path / path).get_model_version("m", version.version).run_link == LINK


mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")


def test_push_mlflow_and_import_mlflow_carry_run_link_through_real_mlflow(tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "true")
    ours = LighttrackClient(tmp_path / "ours.db")
    _version_with_link(ours)
    close_all()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(tmp_path / "ours.db"), "push-mlflow", uri], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    theirs = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert [v.run_link for v in theirs.search_model_versions("name = 'm'")] == [LINK]

    # and back: a version MLflow made with a run_link keeps it here
    run = theirs.create_run(theirs.create_experiment("from-mlflow"))
    theirs.log_text(run.info.run_id, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
    theirs.set_terminated(run.info.run_id)
    theirs.create_registered_model("theirs")
    theirs.create_model_version("theirs", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id,
                                run_link="http://their.server/run")
    result = runner.invoke(cli, ["--db", str(tmp_path / "back.db"), "import-mlflow", uri], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    close_all()
    back = LighttrackClient(tmp_path / "back.db")
    assert back.get_model_version("theirs", 1).run_link == "http://their.server/run"
    assert back.get_model_version("m", 1).run_link == LINK
