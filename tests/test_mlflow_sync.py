"""push-mlflow and import-mlflow against a real `mlflow server` on 127.0.0.1 (started here)."""

from __future__ import annotations


import pytest
from click.testing import CliRunner

import lighttrack
import lighttrack.pyfunc
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.store import close_all
from mlflow_servers import free_port

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")
mlflow_pyfunc = pytest.importorskip("mlflow.pyfunc")


@pytest.fixture
def server(mlflow_server):
    return mlflow_server


@pytest.fixture(autouse=True)
def _mlflow_env(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "true")


def _log_some(client: LighttrackClient, experiment: str) -> list[str]:
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import lighttrack.sklearn

    exp = client.create_experiment(experiment)
    lighttrack.set_tracking_uri(client.path)
    lighttrack.set_experiment(experiment)
    X, y = load_iris(return_X_y=True)
    ids = []
    with lighttrack.start_run(run_name="parent") as parent:
        lighttrack.log_param("kind", "sweep")
        for c in (0.5, 2.0):
            with lighttrack.start_run(run_name=f"C={c}", nested=True) as run:
                lighttrack.log_param("C", c)
                for step in range(1500):
                    lighttrack.log_metric("loss", float(np.exp(-step / 300) + c), step=step)
                lighttrack.log_dict({"c": c}, "config/params.json")
                model = LogisticRegression(C=c, max_iter=300).fit(X, y)
                lighttrack.sklearn.log_model(model, name="model", registered_model_name=f"{experiment}-model")
                ids.append(run.info.run_id)
        ids.append(parent.info.run_id)
    client.transition_model_version_stage(f"{experiment}-model", 2, "Production")
    client.set_registered_model_alias(f"{experiment}-model", "champion", 2)
    assert exp
    return ids


def test_push_read_back_push_again_then_import(server, db_path, tmp_path):
    client = LighttrackClient(db_path)
    ids = _log_some(client, "pushed")
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "push-mlflow", server], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 new run(s)" in result.output and "3,000 metric points" in result.output

    remote = mlflow.MlflowClient(server)
    experiment = remote.get_experiment_by_name("pushed")
    remote_runs = {r.data.tags["lighttrack.run_id"]: r for r in remote.search_runs([experiment.experiment_id])}
    assert set(remote_runs) == set(ids)
    child = remote_runs[ids[0]]
    assert child.data.params == {"C": "0.5"} and child.info.status == "FINISHED"
    assert child.data.tags["mlflow.runName"] == "C=0.5"
    assert child.data.tags["mlflow.parentRunId"] == remote_runs[ids[2]].info.run_id  # mapped to the server's id
    history = remote.get_metric_history(child.info.run_id, "loss")
    assert [m.step for m in history] == list(range(1500))
    assert {a.path for a in remote.list_artifacts(child.info.run_id)} == {"config", "model"}
    versions = remote.search_model_versions("name = 'pushed-model'")
    assert sorted((v.version, v.current_stage) for v in versions) == [("1", "None"), ("2", "Production")]
    assert remote.get_registered_model("pushed-model").aliases == {"champion": "2"}
    mlflow.set_tracking_uri(server)
    loaded = mlflow_pyfunc.load_model("models:/pushed-model@champion")
    assert loaded.predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]

    # again: nothing duplicated; then new points and a stage change go as a delta
    again = runner.invoke(cli, ["--db", str(db_path), "push-mlflow", server], catch_exceptions=False)
    assert "0 new run(s), 0 updated, 3 unchanged; 0 metric points" in again.output
    client.log_metric(ids[0], "loss", 0.0, step=1500)
    client.transition_model_version_stage("pushed-model", 1, "Archived")
    delta = runner.invoke(cli, ["--db", str(db_path), "push-mlflow", server], catch_exceptions=False)
    assert "1 updated" in delta.output and "1 metric points" in delta.output and "1 stage" in delta.output
    assert len(remote.get_metric_history(child.info.run_id, "loss")) == 1501
    assert len(remote.search_runs([experiment.experiment_id])) == 3
    assert remote.get_model_version("pushed-model", 1).current_stage == "Archived"

    # import the server into a fresh file and compare with the original
    close_all()
    fresh = tmp_path / "fresh.db"
    result = runner.invoke(cli, ["--db", str(fresh), "import-mlflow", server], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    imported = LighttrackClient(fresh)
    original = LighttrackClient(db_path)
    by_name = {r.info.run_name: r for r in imported.search_runs(max_results=None)}
    for run_id in ids:
        mine = original.get_run(run_id)
        theirs = by_name[mine.info.run_name]
        assert theirs.data.params == mine.data.params
        assert theirs.data.metrics == mine.data.metrics
        assert [m.value for m in imported.get_metric_history(theirs.info.run_id, "loss")] == \
            [m.value for m in original.get_metric_history(run_id, "loss")]
    assert {f.path for f in imported.list_artifact_files(by_name["C=2.0"].info.run_id)} == \
        {f.path for f in original.list_artifact_files(ids[1])}
    model = imported.get_registered_model("pushed-model")
    assert model.aliases == {"champion": 2}  # ints, as MLflow's SQL store (the REST server above gives strings)
    assert [v.current_stage for v in imported.get_latest_versions("pushed-model", ["Production"])] == ["Production"]
    lighttrack.set_tracking_uri(fresh)
    assert lighttrack.pyfunc.load_model("models:/pushed-model@champion").predict([[5.1, 3.5, 1.4, 0.2]]).tolist() == [0]
    again = runner.invoke(cli, ["--db", str(fresh), "import-mlflow", server], catch_exceptions=False)
    assert "nothing new" in again.output


def test_import_from_an_mlflow_sqlite_file(tmp_path, db_path):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(store)
    mlflow.set_experiment("local-mlflow")
    with mlflow.start_run(run_name="m1") as run:
        mlflow.log_param("a", "1")
        for step in range(10):
            mlflow.log_metric("x", step * 0.5, step=step)
        mlflow.log_text("hi", "notes.txt")
    mlflow.set_tracking_uri(None)
    from lighttrack.sync.mlflow_import import import_mlflow

    report = import_mlflow(store, into=str(db_path))
    assert report.runs_added == 1
    client = LighttrackClient(db_path)
    got = client.get_run(run.info.run_id)  # MLflow's run id is kept
    assert got.data.params == {"a": "1"} and got.info.run_name == "m1"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "x")] == [s * 0.5 for s in range(10)]
    assert client.read_artifact(run.info.run_id, "notes.txt") == b"hi"
    assert not import_mlflow(store, into=str(db_path)).changed


def test_unreachable_server_is_one_line_and_writes_nothing(db_path):
    LighttrackClient(db_path).create_experiment("e")
    close_all()
    before = db_path.read_bytes()
    result = CliRunner().invoke(cli, ["--db", str(db_path), "push-mlflow", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1 and "cannot reach the MLflow server" in result.output
    close_all()
    assert db_path.read_bytes() == before
