"""lighttrack.keras: Keras 3 .keras archives loaded in safe mode, on any backend; MLflow both ways."""

from __future__ import annotations

import sys

import keras
import mlflow.keras as real_keras  # the real MLflow, imported once for the module
import mlflow.pyfunc as real_pyfunc
import numpy as np
import pandas as pd
import pytest
import yaml

import lighttrack as mlflow
import lighttrack.keras
import lighttrack.pyfunc
from conftest import run_python
from lighttrack.errors import InvalidArgument, ModelError

# loading MLflow-made models (no hashes) with verify=False warns by design; that is tested in test_trust
pytestmark = pytest.mark.filterwarnings("ignore::lighttrack.models.files.UnverifiedModelWarning")

X = np.random.RandomState(3).rand(6, 3).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input([3]), keras.layers.Dense(2, activation="softmax")])


def test_round_trip_log_register_and_pyfunc_predict(model):
    with mlflow.start_run():
        info = lighttrack.keras.log_model(model, name="net", input_example=X[:2], registered_model_name="net")
    assert info.signature.inputs.to_json() == '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'
    loaded = lighttrack.keras.load_model("models:/net/1")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    pyfunc = lighttrack.pyfunc.load_model("models:/net/1")
    np.testing.assert_allclose(pyfunc.predict(X), model.predict(X, verbose=0), rtol=1e-6)
    # with a tensor signature a DataFrame is turned into the array the signature names, as in MLflow
    np.testing.assert_allclose(pyfunc.predict(pd.DataFrame(X)), model.predict(X, verbose=0), rtol=1e-6)
    with pytest.raises(InvalidArgument, match="dimension 1 must be 3"):
        pyfunc.predict(X[:, :2])


def test_mlmodel_keys_match_mlflow_and_mlflow_loads_ours(tmp_path, model):
    lighttrack.keras.save_model(model, tmp_path / "ours")
    real_keras.save_model(model, str(tmp_path / "theirs"), pip_requirements=["keras"])
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())["flavors"]
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["flavors"]
    assert ours["keras"] == {**theirs["keras"]}
    assert set(ours["python_function"]) == set(theirs["python_function"])
    assert f"keras=={keras.__version__}" in (tmp_path / "ours" / "requirements.txt").read_text().split()
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(real_keras.load_model(str(tmp_path / "ours")).predict(X, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(real_pyfunc.load_model(str(tmp_path / "ours")).predict(X), expected, rtol=1e-6)
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "theirs", verify=False).predict(X), expected, rtol=1e-6)


def test_lambda_layers_need_allow_pickle(tmp_path):
    net = keras.Sequential([keras.Input([3]), keras.layers.Lambda(lambda t: t * 2.0)])
    lighttrack.keras.save_model(net, tmp_path / "m")
    with pytest.raises(ModelError, match="Lambda layer.*allow_pickle=True"):
        lighttrack.keras.load_model(tmp_path / "m")
    loaded = lighttrack.keras.load_model(tmp_path / "m", allow_pickle=True)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), X * 2.0)


def test_a_model_saved_on_the_torch_backend_loads_here(tmp_path):
    code = (
        "import numpy as np, keras, lighttrack.keras\n"
        "keras.utils.set_random_seed(1)\n"
        "m = keras.Sequential([keras.Input([3]), keras.layers.Dense(2)])\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"lighttrack.keras.save_model(m, {str(tmp_path / 'm')!r}, input_example=x[:2])\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, m.predict(x, verbose=0))\n"
    )
    np.save(tmp_path / "x.npy", X)
    run_python(code, env={"KERAS_BACKEND": "torch"})
    meta = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert meta["flavors"]["keras"]["keras_backend"] == "torch"
    assert "torch==" in (tmp_path / "m" / "requirements.txt").read_text()
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "m").predict(X), np.load(tmp_path / "y.npy"),
                               rtol=1e-5)


def test_bad_input_is_refused_and_missing_keras_names_the_extra(tmp_path, model, monkeypatch):
    with pytest.raises(InvalidArgument, match="must be a keras.Model"):
        lighttrack.keras.save_model(object(), tmp_path / "a")
    with pytest.raises(InvalidArgument, match="save_exported_model=True is not supported"):
        lighttrack.keras.save_model(model, tmp_path / "b", save_exported_model=True)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(ModelError, match=r"pip install 'lighttrack\[keras\]'"):
        lighttrack.keras.save_model(model, tmp_path / "c")


# --- autolog -----------------------------------------------------------------------------------

@pytest.fixture
def autolog():
    yield lighttrack.keras.autolog
    lighttrack.keras.autolog(disable=True)


def _compiled():
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input([3]), keras.layers.Dense(2, activation="softmax")])
    net.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


def test_autolog_logs_optimizer_params_per_epoch_metrics_and_the_model(autolog):
    autolog()
    net = _compiled()
    labels = (X[:, 0] > 0.5).astype(int)
    net.fit(X, labels, epochs=3, batch_size=2, validation_data=(X, labels), verbose=0)
    (run,) = mlflow.MlflowClient().search_runs()
    client = mlflow.MlflowClient()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "keras"
    assert run.data.params["epochs"] == "3" and run.data.params["batch_size"] == "2"
    assert run.data.params["optimizer_name"] == "adam" and float(run.data.params["optimizer_learning_rate"]) == pytest.approx(0.01)
    for key in ("loss", "accuracy", "val_loss"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [0, 1, 2], key
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"model", "model_summary.txt"}
    loaded = lighttrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(X), net.predict(X, verbose=0), rtol=1e-6)


def test_autolog_into_the_users_run_and_log_models_false_and_disable(autolog):
    autolog(log_models=False)
    net = _compiled()
    labels = (X[:, 0] > 0.5).astype(int)
    with mlflow.start_run() as mine:
        net.fit(X, labels, epochs=1, verbose=0)
    run = mlflow.get_run(mine.info.run_id)
    assert "loss" in run.data.metrics
    assert "model" not in {a.path for a in mlflow.MlflowClient().list_artifacts(mine.info.run_id)}
    autolog(disable=True)
    net.fit(X, labels, epochs=1, verbose=0)
    assert len(mlflow.MlflowClient().search_runs()) == 1


def test_autolog_refuses_contradictory_switches():
    with pytest.raises(InvalidArgument, match="log_every_n_steps must be None"):
        lighttrack.keras.autolog(log_every_n_steps=2)
