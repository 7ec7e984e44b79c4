"""lighttrack.onnx and `models convert --to onnx`: onnxruntime serving, MLflow both ways."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from sklearn.linear_model import LogisticRegression  # noqa: E402

import lighttrack as lt  # noqa: E402
import lighttrack.onnx  # noqa: E402
import lighttrack.pyfunc  # noqa: E402
import lighttrack.sklearn  # noqa: E402
from lighttrack.cli import cli  # noqa: E402
from lighttrack.errors import InvalidArgument, ModelError  # noqa: E402
from lighttrack.models.mlmodel import Model, record_hashes  # noqa: E402
from lighttrack.onnx.convert import sklearn_to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:the model at .* without checking:UserWarning")

X = np.random.default_rng(1).random((12, 3))
Y = (X[:, 0] + X[:, 1] > 1).astype(int)


@pytest.fixture(scope="module")
def clf():
    return LogisticRegression().fit(X, Y)


@pytest.fixture(scope="module")
def proto(clf):
    return sklearn_to_onnx(clf, 3)


def test_round_trip_pyfunc_and_signature(proto, clf):
    with lt.start_run():
        info = lt.onnx.log_model(proto, name="m", input_example=X[:2].astype(np.float32),
                                 registered_model_name="onx")
    assert info.flavors["onnx"]["data"] == "model.onnx"
    assert info.signature.inputs.inputs[0].shape == (-1, 3)
    assert isinstance(lt.onnx.load_model("models:/onx/1"), onnx.ModelProto)
    model = lt.pyfunc.load_model(info.model_uri)
    out = model.predict(X)  # float64 in: cast to the model's float32
    assert np.array_equal(out["label"], clf.predict(X))
    assert np.allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5)
    import pandas as pd

    frame = model.predict(pd.DataFrame(X, columns=list("abc")))
    assert list(frame["label"]) == list(clf.predict(X))
    with pytest.raises(InvalidArgument, match=r"expects \(any, 3\)"):
        model.predict(np.zeros((2, 4)))


def test_external_data_outside_the_folder_is_refused(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((300, 3), dtype=np.float32), name="W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 300])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    lt.onnx.save_model(model, tmp_path / "m")  # large tensors go to an external file
    proto = onnx.load(str(tmp_path / "m" / "model.onnx"), load_external_data=False)
    (entry,) = [e for e in proto.graph.initializer[0].external_data if e.key == "location"]
    external = tmp_path / "m" / entry.value
    external.replace(tmp_path / "secret.bin")
    entry.value = "../secret.bin"
    onnx.save_model(proto, str(tmp_path / "m" / "model.onnx"))
    meta = Model.load(tmp_path / "m")
    record_hashes(meta, tmp_path / "m")
    meta.save(tmp_path / "m" / "MLmodel")
    with pytest.raises(ModelError, match="outside the model folder"):
        lt.pyfunc.load_model(str(tmp_path / "m"))


def test_mlflow_loads_ours_and_we_load_mlflows(proto, clf, tmp_path):
    import mlflow.onnx
    import mlflow.pyfunc

    lt.onnx.save_model(proto, tmp_path / "ours")
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "ours"))
    assert np.array_equal(theirs.predict(X.astype(np.float32))["label"], clf.predict(X))
    assert isinstance(mlflow.onnx.load_model(str(tmp_path / "ours")), onnx.ModelProto)
    mlflow.onnx.save_model(proto, tmp_path / "mlflow", pip_requirements=["onnx"])
    ours = lt.pyfunc.load_model(str(tmp_path / "mlflow"), verify=False)
    assert np.array_equal(ours.predict(X)["label"], theirs.predict(X.astype(np.float32))["label"])


def test_cli_converts_a_logged_sklearn_model_and_predicts_with_it(clf, tmp_path, db_path):
    with lt.start_run() as run:
        lt.sklearn.log_model(clf, name="model")
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", str(db_path), "models", "convert", f"runs:/{run.info.run_id}/model",
                               "--to", "onnx"])
    assert done.exit_code == 0, done.output
    uri = f"runs:/{run.info.run_id}/model-onnx"
    assert uri in done.output
    assert lt.MlflowClient().get_run(run.info.run_id).info.status == "FINISHED"  # not resumed
    loaded = lt.pyfunc.load_model(uri)
    assert np.array_equal(loaded.predict(X)["label"], clf.predict(X))
    rows = tmp_path / "rows.json"
    rows.write_text('{"inputs": [[0.9, 0.9, 0.1], [0.0, 0.1, 0.2]]}')
    predicted = runner.invoke(cli, ["--db", str(db_path), "models", "predict", "-m", uri, "-i", str(rows)])
    assert predicted.exit_code == 0, predicted.output
    assert '"label": [1, 0]' in predicted.output

    out = runner.invoke(cli, ["--db", str(db_path), "models", "convert", f"runs:/{run.info.run_id}/model",
                              "--to", "onnx", "-o", str(tmp_path / "folder")])
    assert out.exit_code == 0 and (tmp_path / "folder" / "model.onnx").is_file()
    missing = runner.invoke(cli, ["--db", str(db_path), "models", "convert", str(tmp_path / "nope"), "--to", "onnx"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
