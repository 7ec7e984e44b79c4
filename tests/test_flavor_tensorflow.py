"""lighttrack.tensorflow: tf.keras models and tf.Module SavedModels; the file cannot pick a module."""

from __future__ import annotations

import sys

import mlflow.pyfunc as real_pyfunc  # the real MLflow, imported once for the module
import mlflow.tensorflow as real_tensorflow
import numpy as np
import pytest
import tensorflow as tf
import yaml

import lighttrack as mlflow
import lighttrack.pyfunc
import lighttrack.tensorflow
from lighttrack.errors import InvalidArgument, ModelError

# loading MLflow-made models (no hashes) with verify=False warns by design; that is tested in test_trust
pytestmark = pytest.mark.filterwarnings("ignore::lighttrack.models.files.UnverifiedModelWarning")

X = np.random.RandomState(4).rand(5, 3).astype(np.float32)


class Linear(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[1.0], [2.0], [3.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    def __call__(self, x):
        return tf.matmul(x, self.w)


@pytest.fixture(scope="module")
def keras_model():
    tf.keras.utils.set_random_seed(0)
    return tf.keras.Sequential([tf.keras.Input([3]), tf.keras.layers.Dense(2)])


def test_keras_model_round_trip_and_pyfunc(keras_model):
    with mlflow.start_run():
        lighttrack.tensorflow.log_model(keras_model, name="m", input_example=X[:2], registered_model_name="tfk")
    expected = keras_model.predict(X, verbose=0)
    np.testing.assert_allclose(lighttrack.tensorflow.load_model("models:/tfk/1").predict(X, verbose=0), expected,
                               rtol=1e-6)
    pyfunc = lighttrack.pyfunc.load_model("models:/tfk/1")
    np.testing.assert_allclose(pyfunc.predict(X), expected, rtol=1e-6)
    with pytest.raises(InvalidArgument, match="dimension 1 must be 3"):
        pyfunc.predict(X[:, :1])


def test_tf_module_is_a_savedmodel_and_predicts_through_pyfunc(tmp_path):
    module = Linear()
    lighttrack.tensorflow.save_model(module, tmp_path / "m", input_example=X[:2])
    assert (tmp_path / "m" / "tf2model" / "saved_model.pb").is_file()
    expected = X @ np.array([[1.0], [2.0], [3.0]], dtype=np.float32)
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "m").predict(X), expected, rtol=1e-6)
    np.testing.assert_allclose(lighttrack.tensorflow.load_model(tmp_path / "m")(X).numpy(), expected, rtol=1e-6)


def test_mlmodel_keys_match_mlflow_and_mlflow_loads_ours_and_we_load_theirs(tmp_path, keras_model):
    module = Linear()
    expected_k = keras_model.predict(X, verbose=0)
    expected_m = module(X).numpy()
    for kind, model in (("k", keras_model), ("m", module)):
        lighttrack.tensorflow.save_model(model, tmp_path / f"ours_{kind}", input_example=X[:2])
        real_tensorflow.save_model(model, str(tmp_path / f"theirs_{kind}"), input_example=X[:2],
                                   pip_requirements=["tensorflow"])
        ours = yaml.safe_load((tmp_path / f"ours_{kind}" / "MLmodel").read_text())["flavors"]
        theirs = yaml.safe_load((tmp_path / f"theirs_{kind}" / "MLmodel").read_text())["flavors"]
        assert set(ours["tensorflow"]) == set(theirs["tensorflow"]), kind
        assert set(ours["python_function"]) == set(theirs["python_function"]), kind
    for kind, expected in (("k", expected_k), ("m", expected_m)):
        np.testing.assert_allclose(real_pyfunc.load_model(str(tmp_path / f"ours_{kind}")).predict(X), expected, rtol=1e-6)
        np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / f"theirs_{kind}", verify=False).predict(X), expected,
                                   rtol=1e-6)
    assert "tensorflow" in (tmp_path / "ours_k" / "requirements.txt").read_text()


def test_the_file_cannot_name_the_module_that_is_imported(tmp_path, keras_model):
    real_tensorflow.save_model(keras_model, str(tmp_path / "m"), pip_requirements=["tensorflow"])
    (tmp_path / "m" / "data" / "keras_module.txt").write_text("antigravity")
    with pytest.raises(ModelError, match="names module 'antigravity'"):
        lighttrack.pyfunc.load_model(tmp_path / "m", verify=False)
    assert "antigravity" not in sys.modules


def test_pickled_custom_objects_need_allow_pickle(tmp_path, keras_model):
    real_tensorflow.save_model(keras_model, str(tmp_path / "m"), custom_objects={"scale": abs},
                               pip_requirements=["tensorflow"])
    with pytest.raises(ModelError, match="custom objects.*allow_pickle=True"):
        lighttrack.tensorflow.load_model(tmp_path / "m", verify=False)
    assert lighttrack.tensorflow.load_model(tmp_path / "m", allow_pickle=True, verify=False) is not None


def test_signature_rules_and_missing_tensorflow(tmp_path, keras_model, monkeypatch):
    from lighttrack.models import ColSpec, ModelSignature, Schema

    with pytest.raises(InvalidArgument, match="must all be tensors"):
        lighttrack.tensorflow.save_model(keras_model, tmp_path / "a",
                                         signature=ModelSignature(Schema([ColSpec("double", "x")])))
    with pytest.raises(InvalidArgument, match="tf.keras Model or a tf.Module"):
        lighttrack.tensorflow.save_model("nope", tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(ModelError, match=r"pip install 'lighttrack\[tensorflow\]'"):
        lighttrack.tensorflow.save_model(keras_model, tmp_path / "c")
