"""Models: MLflow's folder format, sklearn and pyfunc flavours, URIs, hashes, pickle trust."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

import lighttrack as mlflow
import lighttrack.pyfunc
import lighttrack.sklearn
from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import Model, infer_signature

SEED_EXAMPLE = '''
import lighttrack as mlflow
import lighttrack.sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score

# Carregar dados
data = load_iris()
X = data.data
y = data.target

# Dividir dados em treino e teste
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

# Iniciar uma nova execução no MLflow
with mlflow.start_run():
    # Treinar o modelo
    model = RandomForestClassifier(n_estimators=100, random_state=42)
    model.fit(X_train, y_train)

    # Fazer previsões
    y_pred = model.predict(X_test)

    # Calcular a acurácia
    accuracy = accuracy_score(y_test, y_pred)

    # Logar parâmetros e métricas
    mlflow.log_param("n_estimators", 100)
    mlflow.log_metric("accuracy", accuracy)

    # Logar o modelo
    mlflow.sklearn.log_model(model, "model")

    print(f"Acurácia: {accuracy}")
'''


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=42)


@pytest.fixture(scope="module")
def forest(iris):
    X_train, _, y_train, _ = iris
    return RandomForestClassifier(n_estimators=20, random_state=42).fit(X_train, y_train)


def test_the_seed_example_runs_verbatim_and_the_model_predicts_the_same(tmp_path):
    from conftest import run_python

    out = run_python(SEED_EXAMPLE, env={"LIGHTTRACK_TRACKING_URI": str(tmp_path / "seed.db")}).stdout
    assert out.startswith("Acurácia: 1.0")
    mlflow.set_tracking_uri(tmp_path / "seed.db")
    client = mlflow.MlflowClient()
    (run,) = client.search_runs()
    assert run.info.status == "FINISHED" and run.data.params == {"n_estimators": "100"}
    model = lighttrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=42)
    expected = RandomForestClassifier(n_estimators=100, random_state=42).fit(X_train, y_train).predict(X_test)
    assert (model.predict(X_test) == expected).all()


def test_log_model_writes_mlflows_folder_format(forest, iris):
    X_train = iris[0]
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(forest, name="model", input_example=X_train[:3])
    assert info.model_uri == f"models:/{info.model_id}" and info.run_id == run.info.run_id  # MLflow 3
    files = {f.path for f in mlflow.MlflowClient().list_artifact_files(run.info.run_id)}
    assert files == {f"model/{n}" for n in ("MLmodel", "model.skops", "requirements.txt", "python_env.yaml",
                                            "conda.yaml", "input_example.json")}
    meta = yaml.safe_load(mlflow.MlflowClient().read_artifact(run.info.run_id, "model/MLmodel"))
    assert meta["artifact_path"] == "model" and meta["run_id"] == run.info.run_id
    assert len(meta["model_uuid"]) == 32 and meta["utc_time_created"]
    assert meta["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert meta["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert meta["flavors"]["sklearn"]["skops_trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert set(meta["file_hashes"]) == {"model.skops", "requirements.txt", "python_env.yaml", "conda.yaml",
                                        "input_example.json"}
    assert json.loads(meta["signature"]["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}]
    assert meta["saved_input_example_info"]["type"] == "ndarray"
    requirements = mlflow.MlflowClient().read_artifact(run.info.run_id, "model/requirements.txt").decode()
    assert "scikit-learn==" in requirements and "skops==" in requirements
    history = json.loads(mlflow.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert history[0]["artifact_path"] == "model"


def test_artifact_path_positional_keyword_and_name_all_work(forest):
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(forest, "a")
        mlflow.sklearn.log_model(forest, artifact_path="b")
        mlflow.sklearn.log_model(forest, name="c")
        with pytest.raises(InvalidArgument, match="both artifact_path= .deprecated. and name="):
            mlflow.sklearn.log_model(forest, artifact_path="x", name="y")
    assert [f.path for f in mlflow.list_artifacts(run.info.run_id)] == ["a", "b", "c"]


def test_every_uri_form_loads_and_predicts_the_same(forest, iris, tmp_path):
    X_test = iris[1]
    expected = forest.predict(X_test)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(forest, name="model", registered_model_name="iris")
    client = mlflow.MlflowClient()
    client.transition_model_version_stage("iris", 1, "staging")
    client.set_registered_model_alias("iris", "champion", 1)
    folder = tmp_path / "exported"
    client.download_artifacts(run.info.run_id, "model", folder)
    for uri in (f"runs:/{run.info.run_id}/model", "models:/iris/1", "models:/iris/Staging",
                "models:/iris/latest", "models:/iris@champion", str(folder / "model")):
        assert (lighttrack.pyfunc.load_model(uri).predict(X_test) == expected).all(), uri
        assert (lighttrack.sklearn.load_model(uri).predict(X_test) == expected).all(), uri
    with pytest.raises(LookupError):
        lighttrack.pyfunc.load_model("models:/iris/Production")
    with pytest.raises(InvalidArgument, match="not a version number, a stage"):
        lighttrack.pyfunc.load_model("models:/iris/bogus")
    with pytest.raises(InvalidArgument, match="runs:/<run_id>/<path>"):
        lighttrack.pyfunc.load_model("s3://bucket/model")


def test_a_changed_model_file_is_refused(forest, tmp_path):
    path = tmp_path / "m"
    lighttrack.sklearn.save_model(forest, path)
    data = bytearray((path / "model.skops").read_bytes())
    data[-100] ^= 0xFF
    (path / "model.skops").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="changed since the model was saved"):
        lighttrack.pyfunc.load_model(str(path))
    (path / "model.skops").unlink()
    with pytest.raises(ModelError, match="missing"):
        lighttrack.sklearn.load_model(str(path))


def test_a_stripped_trust_record_does_not_matter_the_loader_decides(forest, tmp_path):
    """Trust comes from the loader's allow-list, not MLmodel: emptying the record changes nothing."""
    path = tmp_path / "m"
    lighttrack.sklearn.save_model(forest, path)
    meta = yaml.safe_load((path / "MLmodel").read_text())
    meta["flavors"]["sklearn"]["skops_trusted_types"] = []
    (path / "MLmodel").write_text(yaml.safe_dump(meta))
    assert lighttrack.sklearn.load_model(str(path)).n_estimators == 20


def test_pickle_models_need_an_explicit_trust_switch(forest, tmp_path, monkeypatch):
    for fmt in ("pickle", "cloudpickle"):
        path = tmp_path / fmt
        lighttrack.sklearn.save_model(forest, path, serialization_format=fmt)
        with pytest.raises(ModelError, match="allow_pickle=True or LIGHTTRACK_ALLOW_PICKLE=1"):
            lighttrack.sklearn.load_model(str(path))
        assert lighttrack.sklearn.load_model(str(path), allow_pickle=True).n_estimators == 20
    monkeypatch.setenv("LIGHTTRACK_ALLOW_PICKLE", "1")
    assert lighttrack.pyfunc.load_model(str(tmp_path / "pickle")).predict(np.zeros((1, 4))).shape == (1,)
    with pytest.raises(InvalidArgument, match="serialization_format must be one of"):
        lighttrack.sklearn.save_model(forest, tmp_path / "x", serialization_format="joblib")


def test_signature_checks_inputs_and_says_what_is_wrong(forest, iris):
    pd = pytest.importorskip("pandas")
    X_train = iris[0]
    signature = infer_signature(X_train, forest.predict(X_train))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(forest, name="m", signature=signature)
    model = lighttrack.pyfunc.load_model(info.model_uri)
    with pytest.raises(InvalidArgument, match=r"expects \(any, 4\)"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(InvalidArgument, match="2 dimensions"):
        model.predict(np.zeros(4))
    with pytest.raises(InvalidArgument, match="expects float64"):
        model.predict(np.array([["a", "b", "c", "d"]]))
    assert model.predict(np.zeros((2, 4), dtype=np.int64)).shape == (2,)  # ints cast safely

    frame = pd.DataFrame(X_train, columns=["sl", "sw", "pl", "pw"])
    regression = LinearRegression().fit(frame, iris[2])
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(regression, name="r", input_example=frame.head(3))
    model = lighttrack.pyfunc.load_model(info.model_uri)
    assert [c["name"] for c in json.loads(model.metadata.to_dict()["signature"]["inputs"])] == ["sl", "sw", "pl", "pw"]
    with pytest.raises(InvalidArgument, match=r"missing column\(s\) \['pw'\]"):
        model.predict(frame.drop(columns=["pw"]))
    with pytest.raises(InvalidArgument, match="column 'sl'"):
        model.predict(frame.assign(sl="text"))
    assert model.predict(frame[["pw", "pl", "sw", "sl"]]).shape == (len(frame),)  # reordered


class AddN(lighttrack.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["offset"]) as f:
            self.offset = float(f.read())

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1)
        return (np.asarray(model_input) + self.offset) * scale


def test_custom_python_model_with_an_artifact(tmp_path):
    offset = tmp_path / "offset.txt"
    offset.write_text("10")
    with mlflow.start_run():
        info = lighttrack.pyfunc.log_model(name="adder", python_model=AddN(), artifacts={"offset": str(offset)},
                                           registered_model_name="adder")
    lighttrack.pyfunc._pickled_here.clear()  # as another process reading the file: not pickled here
    with pytest.raises(ModelError, match="allow_pickle"):
        lighttrack.pyfunc.load_model(info.model_uri)
    model = lighttrack.pyfunc.load_model("models:/adder/1", allow_pickle=True)
    assert model.predict(np.array([1.0, 2.0])).tolist() == [11.0, 12.0]
    assert model.predict(np.array([1.0]), params={"scale": 2}).tolist() == [22.0]
    assert isinstance(model.unwrap_python_model(), AddN)


def test_get_model_info_and_model_metadata(forest):
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(forest, name="m", metadata={"owner": "ada"})
    again = lighttrack.models.get_model_info(info.model_uri)
    assert again.model_uuid == info.model_uuid and again.metadata == {"owner": "ada"}
    assert Model.load  # the class is importable for tooling


def test_autolog_classifier_regressor_search_and_disable():
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    mlflow.autolog()
    try:
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
        run = mlflow.last_active_run()
        assert run.info.status == "FINISHED"
        assert {"training_accuracy_score", "training_f1_score", "training_log_loss", "training_roc_auc",
                "training_precision_score", "training_recall_score"} <= set(run.data.metrics)
        assert run.data.params["n_estimators"] == "5"
        assert run.data.tags["estimator_class"] == "sklearn.ensemble._forest.RandomForestClassifier"
        loaded = lighttrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
        assert loaded.metadata.signature is not None and loaded.predict(X[:3]).shape == (3,)

        Xd, yd = load_diabetes(return_X_y=True)
        with mlflow.start_run() as outer:
            LinearRegression().fit(Xd, yd)
        metrics = mlflow.get_run(outer.info.run_id).data.metrics
        assert {"training_mean_squared_error", "training_root_mean_squared_error",
                "training_mean_absolute_error", "training_r2_score"} <= set(metrics)

        from sklearn.linear_model import Ridge

        GridSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, cv=3).fit(Xd, yd)
        parent = mlflow.last_active_run()
        assert parent.data.params["best_alpha"] in ("0.1", "1.0", "10.0")
        assert "best_cv_score" in parent.data.metrics
        children = mlflow.search_runs(search_all_experiments=True,
                                      filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        assert sorted(c.data.params["alpha"] for c in children) == ["0.1", "1.0", "10.0"]
        assert all("mean_test_score" in c.data.metrics for c in children)
    finally:
        mlflow.autolog(disable=True)
    before = len(mlflow.search_runs(search_all_experiments=True))
    LinearRegression().fit(X, y)
    assert len(mlflow.search_runs(search_all_experiments=True)) == before

