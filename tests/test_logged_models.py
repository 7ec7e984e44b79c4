"""MLflow 3's logged models through the public API: log_model -> LoggedModel, models:/<model_id>,
search, params/tags/metrics, the registry's model_id, merge/export, the CLI, the schema."""

from __future__ import annotations

import logging
import sqlite3
import types

import pytest
from click.testing import CliRunner

import lighttrack as mlflow
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.entities import LoggedModelStatus
from lighttrack.errors import InvalidArgument, InvalidFilter, NotFound

sklearn_datasets = pytest.importorskip("sklearn.datasets")
from sklearn.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    X, y = sklearn_datasets.load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


def test_log_model_makes_a_logged_model_and_returns_models_uri(iris):
    X, _, model = iris
    with mlflow.start_run() as run:
        mlflow.log_param("C", "1.0")
        mlflow.log_metric("loss", 0.3)  # step 0: linked to the model, as MLflow 3 does
        mlflow.log_metric("loss", 0.1, step=5)
        info = mlflow.sklearn.log_model(model, name="clf", params={"solver": "lbfgs"}, tags={"team": "a"},
                                        model_type="classifier")
    assert info.model_id.startswith("m-") and len(info.model_id) == 34
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id
    found = mlflow.get_logged_model(info.model_id)
    assert found.name == "clf" and found.source_run_id == run.info.run_id
    assert found.status == LoggedModelStatus.READY and str(found.status) == "READY"
    assert found.params == {"C": "1.0", "solver": "lbfgs"}  # the run's params join the model's
    assert found.tags["team"] == "a" and found.model_type == "classifier"
    assert [(m.key, m.value, m.step, m.run_id) for m in found.metrics] == [("loss", 0.3, 0, run.info.run_id)]
    assert found.experiment_id == run.info.experiment_id and found.model_uri == info.model_uri
    assert mlflow.last_logged_model().model_id == info.model_id
    # models:/<model_id> loads; runs:/<run>/<name> keeps working
    assert (mlflow.pyfunc.load_model(info.model_uri).predict(X[:4]) == model.predict(X[:4])).all()
    assert (mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/clf").predict(X[:4]) == model.predict(X[:4])).all()
    meta = mlflow.models.get_model_info(info.model_uri)
    assert meta.model_id == info.model_id


def test_log_model_outside_a_run_starts_no_run(iris):
    _, _, model = iris
    mlflow.set_experiment("standalone")
    info = mlflow.sklearn.log_model(model, name="lonely")
    assert mlflow.active_run() is None and info.run_id is None
    found = mlflow.get_logged_model(info.model_id)
    assert found.source_run_id is None and found.experiment_id == mlflow.get_experiment_by_name("standalone").experiment_id
    assert mlflow.search_runs(output_format="list") == []
    assert mlflow.pyfunc.load_model(info.model_uri) is not None


def test_artifact_path_still_works_with_mlflows_deprecation_message(iris, caplog):
    _, _, model = iris
    with caplog.at_level(logging.WARNING), mlflow.start_run():
        info = mlflow.sklearn.log_model(model, artifact_path="old")
    assert "`artifact_path` is deprecated. Please use `name` instead." in caplog.text
    assert mlflow.get_logged_model(info.model_id).name == "old"
    with pytest.raises(InvalidArgument, match="both artifact_path= .deprecated. and name="), mlflow.start_run():
        mlflow.sklearn.log_model(model, artifact_path="x", name="y")


def test_bad_names_and_keywords_are_refused_before_anything_is_written(iris):
    _, _, model = iris
    with pytest.raises(InvalidArgument, match="invalid logged model name 'a.b'"):
        mlflow.sklearn.log_model(model, name="a.b")
    with pytest.raises(InvalidArgument, match="unexpected keyword.*bogus.*params, tags, model_type"):
        mlflow.sklearn.log_model(model, name="ok", bogus=1)
    assert mlflow.search_logged_models(output_format="list") == []


def test_a_failed_save_leaves_a_failed_model(iris):
    class Broken:
        pass

    with pytest.raises(Exception), mlflow.start_run():
        mlflow.sklearn.log_model(Broken(), name="broken", serialization_format="nonsense")
    [model] = mlflow.search_logged_models(output_format="list")
    assert model.status == LoggedModelStatus.FAILED and model.name == "broken"


def test_metrics_linked_to_a_model_with_the_dataset(iris):
    _, _, model = iris
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf")
        data = types.SimpleNamespace(name="iris-test", digest="abc123")
        mlflow.log_metric("accuracy", 0.95, model_id=info.model_id, dataset=data)
        mlflow.log_metrics({"f1": 0.9, "recall": 0.8}, model_id=info.model_id, step=2)
    found = mlflow.get_logged_model(info.model_id)
    rows = sorted((m.key, m.value, m.step, m.dataset_name, m.dataset_digest, m.run_id) for m in found.metrics)
    assert rows == [("accuracy", 0.95, 0, "iris-test", "abc123", run.info.run_id),
                    ("f1", 0.9, 2, None, None, run.info.run_id), ("recall", 0.8, 2, None, None, run.info.run_id)]
    assert mlflow.get_run(run.info.run_id).data.metrics["accuracy"] == 0.95  # and the run's metric
    client = mlflow.MlflowClient()
    client.log_metric(run.info.run_id, "auc", 0.99, model_id=info.model_id, dataset_name="iris-test")
    assert {m.key for m in client.get_logged_model(info.model_id).metrics} == {"accuracy", "f1", "recall", "auc"}
    with pytest.raises(NotFound, match="no logged model with id 'm-nope'"):
        mlflow.log_metric("x", 1.0, model_id="m-nope")


def test_tags_params_initialize_finalize_delete():
    mlflow.set_experiment("manual")
    pending = mlflow.initialize_logged_model(name="manual", params={"a": 1}, tags={"t": "1"}, model_type="agent")
    assert pending.status == LoggedModelStatus.PENDING and pending.params == {"a": "1"}
    mlflow.set_logged_model_tags(pending.model_id, {"t": "2", "u": "x"})
    mlflow.log_model_params({"b": 2.5}, model_id=pending.model_id)
    mlflow.delete_logged_model_tag(pending.model_id, "u")
    with pytest.raises(NotFound):
        mlflow.delete_logged_model_tag(pending.model_id, "u")
    done = mlflow.finalize_logged_model(pending.model_id, LoggedModelStatus.READY)
    assert done.status == LoggedModelStatus.READY and done.tags["t"] == "2" and "u" not in done.tags
    assert done.params == {"a": "1", "b": "2.5"} and mlflow.last_logged_model().model_id == pending.model_id
    with pytest.raises(InvalidArgument, match="READY or FAILED"):
        mlflow.finalize_logged_model(pending.model_id, "PENDING")
    mlflow.MlflowClient().delete_logged_model(pending.model_id)
    assert mlflow.search_logged_models(output_format="list") == []
    with pytest.raises(NotFound):
        mlflow.get_logged_model(pending.model_id)


def test_search_filter_order_paging_and_pandas(iris):
    _, _, model = iris
    mlflow.set_experiment("sweep")
    ids = []
    for c in ("0.1", "1.0", "10.0"):
        with mlflow.start_run():
            mlflow.log_param("C", c)
            info = mlflow.sklearn.log_model(model, name=f"clf-{c.replace('.', '_')}", model_type="classifier")
            mlflow.log_metric("accuracy", float(c) / 10, model_id=info.model_id)
            ids.append(info.model_id)
    newest_first = mlflow.search_logged_models(output_format="list")
    assert [m.model_id for m in newest_first] == ids[::-1]
    found = mlflow.search_logged_models(filter_string="metrics.accuracy > 0.05 AND params.C != '10.0'",
                                        output_format="list")
    assert [m.model_id for m in found] == [ids[1]]
    found = mlflow.search_logged_models(filter_string="name LIKE 'clf-1%' OR status = 'FAILED'", output_format="list")
    assert {m.model_id for m in found} == {ids[1], ids[2]}
    by_metric = mlflow.search_logged_models(order_by=[{"field_name": "metrics.accuracy", "ascending": False}],
                                            output_format="list")
    assert [m.model_id for m in by_metric] == [ids[2], ids[1], ids[0]]
    assert [m.model_id for m in mlflow.search_logged_models(order_by=["creation_time ASC"], output_format="list")] == ids
    assert len(mlflow.search_logged_models(max_results=2, output_format="list")) == 2
    client = mlflow.MlflowClient()
    experiment = mlflow.get_experiment_by_name("sweep").experiment_id
    page = client.search_logged_models([experiment], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_logged_models([experiment], max_results=2, page_token=page.token)
    assert [m.model_id for m in [*page, *rest]] == ids[::-1] and rest.token is None
    frame = mlflow.search_logged_models(filter_string=f"model_id = '{ids[0]}'")
    assert list(frame["model_id"]) == [ids[0]] and frame["params"][0] == {"C": "0.1"}
    assert mlflow.search_logged_models(filter_string=f"source_run_id = '{mlflow.get_logged_model(ids[0]).source_run_id}'",
                                       output_format="list")[0].model_id == ids[0]


@pytest.mark.parametrize(("filter_string", "message"), [
    ("metrics.accuracy > 'x'", "at position 19: expected a number"),
    ("nme = 'a'", "at position 0: expected an attribute of logged models, got unknown attribute 'nme'"),
    ("status = 'DONE'", "expected one of UNSPECIFIED, PENDING, READY, FAILED for status"),
    ("name = 'a' AND", "at position 14"),
])
def test_bad_filters_are_one_clear_error_with_a_position(filter_string, message):
    with pytest.raises(InvalidFilter, match=message):
        mlflow.search_logged_models(filter_string=filter_string)


def test_bad_order_by_is_refused():
    with pytest.raises(InvalidFilter, match="dataset_digest can only be given together with dataset_name"):
        mlflow.search_logged_models(order_by=[{"field_name": "metrics.a", "dataset_digest": "x"}])
    with pytest.raises(InvalidFilter, match="unknown attribute 'colour'"):
        mlflow.search_logged_models(order_by=[{"field_name": "colour"}])


def test_registry_versions_record_the_model_id(iris):
    X, _, model = iris
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf", registered_model_name="iris")
    version = mlflow.MlflowClient().get_model_version("iris", 1)
    assert version.model_id == info.model_id and version.run_id == run.info.run_id
    runless = mlflow.sklearn.log_model(model, name="lonely")
    v2 = mlflow.register_model(runless.model_uri, "iris")
    assert v2.model_id == runless.model_id and v2.source == runless.model_uri and v2.run_id is None
    v3 = mlflow.register_model(f"runs:/{run.info.run_id}/clf", "iris")  # MLflow 2's form finds the model too
    assert v3.model_id == info.model_id
    assert (mlflow.pyfunc.load_model("models:/iris/2").predict(X[:3]) == model.predict(X[:3])).all()
    mlflow.MlflowClient().create_registered_model("other")
    created = mlflow.MlflowClient().create_model_version("other", runless.model_uri)
    assert created.model_id == runless.model_id
    with pytest.raises(NotFound, match="no logged model"):
        mlflow.register_model("models:/m-0000", "iris")


def test_merge_and_export_carry_logged_models(iris, tmp_path):
    X, _, model = iris
    other = tmp_path / "other.db"
    mlflow.set_tracking_uri(str(other))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="clf", params={"p": "1"}, tags={"t": "x"})
        mlflow.log_metric("accuracy", 0.9, model_id=info.model_id, dataset=types.SimpleNamespace(name="d", digest="g"))
    lonely = mlflow.sklearn.log_model(model, name="lonely")
    target = tmp_path / "target.db"
    from lighttrack import sync

    report = sync.merge(other, target)
    assert report.logged_models_added == 2
    client = LighttrackClient(target)
    got = client.get_logged_model(info.model_id)
    assert got.params == {"p": "1"} and got.tags["t"] == "x" and got.source_run_id == run.info.run_id
    assert [(m.key, m.dataset_name, m.dataset_digest) for m in got.metrics] == [("accuracy", "d", "g")]
    mlflow.set_tracking_uri(str(target))
    assert (mlflow.pyfunc.load_model(f"models:/{lonely.model_id}").predict(X[:3]) == model.predict(X[:3])).all()
    again = sync.merge(other, target)
    assert again.logged_models_added == 0 and not again.changed
    # export carries the models of the chosen runs only
    subset = tmp_path / "subset.db"
    sync.export(subset, filter_string=f"attributes.run_id = '{run.info.run_id}'", source=target)
    kept = LighttrackClient(subset)
    experiment = kept.get_run(run.info.run_id).info.experiment_id
    assert [m.model_id for m in kept.search_logged_models([experiment])] == [info.model_id]


def test_gc_keeps_a_models_files_and_purges_deleted_models(iris, db_path):
    X, _, model = iris
    info = mlflow.sklearn.log_model(model, name="lonely")
    client = LighttrackClient(db_path)
    client.gc()
    assert (mlflow.pyfunc.load_model(info.model_uri).predict(X[:2]) == model.predict(X[:2])).all()
    client.delete_logged_model(info.model_id)
    client.gc()
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM logged_models").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM blobs").fetchone() == (0,)


def test_the_migration_makes_the_tables(db_path):
    mlflow.MlflowClient()  # creates the file
    conn = sqlite3.connect(db_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"logged_models", "logged_model_params", "logged_model_tags", "logged_model_metrics",
            "logged_model_artifacts"} <= tables
    columns = {r[1] for r in conn.execute("PRAGMA table_info(model_versions)")}
    assert "logged_model_id" in columns


def test_cli_list_and_show_logged(iris, db_path):
    _, _, model = iris
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="clf")
        mlflow.log_metric("accuracy", 0.93, model_id=info.model_id, dataset=types.SimpleNamespace(name="t", digest="d"))
    mlflow.flush()
    runner = CliRunner()
    listed = runner.invoke(cli, ["--db", str(db_path), "models", "list-logged", "--filter", "metrics.accuracy > 0.9"],
                           catch_exceptions=False)
    assert listed.exit_code == 0 and info.model_id in listed.output and "accuracy=0.93" in listed.output
    shown = runner.invoke(cli, ["--db", str(db_path), "models", "show-logged", info.model_id], catch_exceptions=False)
    assert "metric accuracy = 0.93   step 0   on t (d)" in shown.output
    bad = runner.invoke(cli, ["--db", str(db_path), "models", "list-logged", "--filter", "metrics.accuracy > 'x'"])
    assert bad.exit_code == 1 and "position" in bad.output and "Traceback" not in bad.output
