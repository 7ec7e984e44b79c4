"""Logged models against real MLflow 3.17: an MLflow-logged model imports here intact, and ours
pushes to a real `mlflow server` and reads back through MlflowClient."""

from __future__ import annotations

import types

import numpy as np
import pytest

import lighttrack
from lighttrack import LighttrackClient

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
from sklearn.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = sklearn_datasets.load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture
def server(mlflow_server):
    return mlflow_server


def test_an_mlflow_logged_model_imports_with_its_id_params_metrics_tags(tmp_path, db_path, iris):
    X, y, model = iris
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(store)
    try:
        mlflow.set_experiment("mlflow-side")
        with mlflow.start_run() as run:
            mlflow.log_param("C", "1.0")
            info = mlflow.sklearn.log_model(model, name="clf", params={"solver": "lbfgs"}, tags={"team": "vision"},
                                            model_type="classifier")
            data = mlflow.data.from_numpy(X, targets=y, name="iris-train")
            mlflow.log_metric("accuracy", 0.97, model_id=info.model_id, dataset=data)
        mlflow.register_model(info.model_uri, "iris-mlflow")
        remote = mlflow.MlflowClient().get_logged_model(info.model_id)
    finally:
        mlflow.set_tracking_uri(None)
    from lighttrack.sync.mlflow_import import import_mlflow

    report = import_mlflow(store, into=str(db_path))
    assert report.logged_models_added == 1
    client = LighttrackClient(db_path)
    got = client.get_logged_model(info.model_id)  # MLflow's model id is kept
    assert got.name == "clf" and got.source_run_id == run.info.run_id and str(got.status) == "READY"
    assert got.params == remote.params and got.params["solver"] == "lbfgs" and got.params["C"] == "1.0"
    assert got.tags["team"] == "vision" and got.model_type == "classifier"
    [metric] = [m for m in got.metrics if m.key == "accuracy"]
    assert metric.value == 0.97 and metric.dataset_name == "iris-train" and metric.dataset_digest == data.digest
    assert metric.run_id == run.info.run_id
    lighttrack.set_tracking_uri(str(db_path))
    loaded = lighttrack.pyfunc.load_model(f"models:/{info.model_id}")
    assert (loaded.predict(X[:5]) == model.predict(X[:5])).all()
    # MLflow 3 keeps the files outside the run; runs:/<run>/<name> still finds them here
    assert (lighttrack.sklearn.load_model(f"runs:/{run.info.run_id}/clf").predict(X[:5]) == model.predict(X[:5])).all()
    version = client.get_model_version("iris-mlflow", 1)
    assert version.model_id == info.model_id and version.source == f"models:/{info.model_id}"
    assert (lighttrack.pyfunc.load_model("models:/iris-mlflow/1").predict(X[:3]) == model.predict(X[:3])).all()
    assert not import_mlflow(store, into=str(db_path)).changed  # importing twice adds nothing


def test_ours_pushes_and_reads_back_through_mlflows_client(server, db_path, iris):
    X, y, model = iris
    lighttrack.set_experiment("pushed-logged-models")
    with lighttrack.start_run() as run:
        lighttrack.log_param("C", "1.0")
        info = lighttrack.sklearn.log_model(model, name="clf", params={"solver": "lbfgs"}, tags={"team": "a"},
                                            model_type="classifier", registered_model_name="iris-pushed")
        lighttrack.log_metric("accuracy", 0.96, model_id=info.model_id,
                              dataset=types.SimpleNamespace(name="iris-test", digest="d1g3st"))
    runless = lighttrack.sklearn.log_model(model, name="standalone")  # MLflow 3: no run needed
    from lighttrack.sync.mlflow_push import push_mlflow

    report = push_mlflow(server, str(db_path))
    assert report.logged_models_created == 2
    remote = mlflow.MlflowClient(server)
    experiment = remote.get_experiment_by_name("pushed-logged-models")
    found = remote.search_logged_models([experiment.experiment_id], filter_string="name = 'clf'")
    assert len(found) == 1
    pushed = remote.get_logged_model(found[0].model_id)
    assert pushed.params == {"C": "1.0", "solver": "lbfgs"} and pushed.tags["team"] == "a"
    assert pushed.tags["lighttrack.model_id"] == info.model_id and pushed.model_type == "classifier"
    assert str(pushed.status) == "READY"
    [metric] = pushed.metrics
    assert (metric.key, metric.value, metric.dataset_name, metric.dataset_digest) == (
        "accuracy", 0.96, "iris-test", "d1g3st")
    assert remote.get_run(pushed.source_run_id).data.tags["lighttrack.run_id"] == run.info.run_id
    other = remote.search_logged_models([experiment.experiment_id], filter_string="name = 'standalone'")
    assert len(other) == 1 and not other[0].source_run_id
    mlflow.set_tracking_uri(server)
    try:
        loaded = mlflow.pyfunc.load_model(f"models:/{pushed.model_id}")
        assert (np.asarray(loaded.predict(X[:5])) == model.predict(X[:5])).all()
        version = remote.get_model_version("iris-pushed", 1)  # MLflow 3.17 returns model_id None here
        assert version.source == f"models:/{pushed.model_id}"
    finally:
        mlflow.set_tracking_uri(None)
    # a second push sends nothing new, a new metric goes alone
    assert push_mlflow(server, str(db_path)).logged_models_created == 0
    LighttrackClient(db_path).log_metric(run.info.run_id, "f1", 0.9, model_id=info.model_id)
    push_mlflow(server, str(db_path))
    assert sorted(m.key for m in remote.get_logged_model(pushed.model_id).metrics) == ["accuracy", "f1"]
    assert runless.run_id is None
