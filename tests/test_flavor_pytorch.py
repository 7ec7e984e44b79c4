"""lighttrack.pytorch: pt2 by default, pickle on request; MLflow loads ours, we load MLflow's."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lighttrack as lt  # noqa: E402
import lighttrack.pyfunc  # noqa: E402
import lighttrack.pytorch  # noqa: E402
from lighttrack.errors import InvalidArgument, ModelError  # noqa: E402
from lighttrack.models.mlmodel import Model, record_hashes  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:the model at .* without checking:UserWarning")

X = np.random.default_rng(0).random((6, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).eval()


def _expected(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def test_pt2_round_trip_log_load_and_pyfunc(net):
    with lt.start_run():
        info = lt.pytorch.log_model(net, name="net", input_example=X[:4], registered_model_name="tiny")
    assert info.flavors["pytorch"]["model_data"] == "data"
    assert set(info.flavors["python_function"]) >= {"loader_module", "data", "env", "pickle_module_name"}
    assert info.signature.inputs.to_dict() if hasattr(info.signature.inputs, "to_dict") else True
    spec = info.signature.inputs.inputs[0]
    assert (spec.dtype, spec.shape) == ("float32", (-1, 3))
    loaded = lt.pytorch.load_model("models:/tiny/1")
    assert np.allclose(loaded(torch.from_numpy(X)).detach().numpy(), _expected(net, X))
    model = lt.pyfunc.load_model(info.model_uri)
    assert np.allclose(model.predict(X), _expected(net, X))  # batch of 6 although traced with 4
    import pandas as pd

    frame = pd.DataFrame(X.astype(np.float64), columns=list("abc"))
    assert np.allclose(model.predict(frame), _expected(net, X))  # a frame works too (cast to float32)
    with pytest.raises(InvalidArgument, match=r"expects \(any, 3\)"):
        model.predict(np.zeros((2, 5), dtype=np.float32))
    requirements = (lt.MlflowClient().download_artifacts(info.run_id, "net/requirements.txt"))
    assert f"torch=={torch.__version__.split('+')[0]}" in open(requirements).read()


def test_pt2_needs_an_example_and_pickle_needs_the_switch(net, tmp_path):
    with pytest.raises(InvalidArgument, match="input_example"):
        lt.pytorch.save_model(net, tmp_path / "none")
    assert not (tmp_path / "none").exists()
    lt.pytorch.save_model(net, tmp_path / "p", serialization_format="pickle", input_example=X)
    assert (tmp_path / "p" / "data" / "model.pth").is_file()
    with pytest.raises(ModelError, match="allow_pickle"):
        lt.pytorch.load_model(str(tmp_path / "p"))
    with pytest.raises(ModelError, match="allow_pickle"):
        lt.pyfunc.load_model(str(tmp_path / "p"))
    loaded = lt.pytorch.load_model(str(tmp_path / "p"), allow_pickle=True)
    assert np.allclose(loaded(torch.from_numpy(X)).detach().numpy(), _expected(net, X))


def test_a_pt2_archive_carrying_a_pickle_is_refused(net, tmp_path):
    """torch.export.load unpickles sample inputs with weights_only=False: plant a payload there."""
    lt.pytorch.save_model(net, tmp_path / "m", input_example=X)
    archive = tmp_path / "m" / "data" / "model.pt2"
    with zipfile.ZipFile(archive) as z:
        members = {n: z.read(n) for n in z.namelist()}
    (name,) = [n for n in members if "sample_inputs" in n]

    class Boom:
        def __reduce__(self):
            return (print, ("payload ran",))

    buffer = io.BytesIO()
    torch.save({"x": Boom()}, buffer)
    members[name] = buffer.getvalue()
    with zipfile.ZipFile(archive, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    meta = Model.load(tmp_path / "m")
    record_hashes(meta, tmp_path / "m")
    meta.save(tmp_path / "m" / "MLmodel")
    with pytest.raises(ModelError, match="sample_inputs.*could run code"):
        lt.pytorch.load_model(str(tmp_path / "m"))


def test_mlflow_loads_ours_and_we_load_mlflows(net, tmp_path, monkeypatch):
    mlflow_pytorch = pytest.importorskip("mlflow.pytorch")
    import mlflow.pyfunc

    lt.pytorch.save_model(net, tmp_path / "ours", input_example=X)
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "ours"))
    assert np.allclose(theirs.predict(X), _expected(net, X))
    assert np.allclose(mlflow_pytorch.load_model(str(tmp_path / "ours"))(torch.from_numpy(X)).detach().numpy(),
                       _expected(net, X))

    mlflow_pytorch.save_model(net, tmp_path / "mlflow", input_example=X, pip_requirements=["torch"])
    with pytest.raises(ModelError, match="no file hashes"):
        lt.pyfunc.load_model(str(tmp_path / "mlflow"))
    ours = lt.pyfunc.load_model(str(tmp_path / "mlflow"), verify=False)
    assert np.allclose(ours.predict(X), theirs.predict(X))

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    mlflow_pytorch.save_model(net, tmp_path / "mlflow-pickle", serialization_format="pickle", pip_requirements=["torch"])
    with pytest.raises(ModelError, match="allow_pickle"):
        lt.pytorch.load_model(str(tmp_path / "mlflow-pickle"), verify=False)
    loaded = lt.pytorch.load_model(str(tmp_path / "mlflow-pickle"), verify=False, allow_pickle=True)
    assert np.allclose(loaded(torch.from_numpy(X)).detach().numpy(), _expected(net, X))


def test_a_missing_framework_is_one_line_naming_the_extra(net, tmp_path):
    """In a fresh interpreter where torch (or onnxruntime) cannot be imported."""
    from conftest import run_python

    lt.pytorch.save_model(net, tmp_path / "m", input_example=X)
    rows = tmp_path / "rows.json"
    rows.write_text('{"inputs": [[0.1, 0.2, 0.3]]}')
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from lighttrack.cli import main\n"
        "sys.argv = ['lighttrack', '--db', sys.argv[1], 'models', 'predict', '-m', sys.argv[2], '-i', sys.argv[3]]\n"
        "main()\n"
    )
    result = run_python(code, str(tmp_path / "t.db"), str(tmp_path / "m"), str(rows), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("pip install 'lighttrack[pytorch]'"), result.stderr
    assert "Traceback" not in result.stderr
    api = run_python(
        "import sys; sys.modules['onnxruntime'] = None\n"
        "import lighttrack.onnx\n"
        "try:\n    lighttrack.onnx._runtime()\n"
        "except ImportError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    assert "MissingFramework lighttrack.onnx needs onnxruntime" in api.stdout
    assert "pip install 'lighttrack[onnx]'" in api.stdout


def test_signatures_infer_tensor_specs_from_torch_tensors_and_enforce_them():
    from lighttrack.models import infer_signature
    from lighttrack.models.signature import enforce

    signature = infer_signature(torch.zeros(5, 3), (torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64)))
    assert signature.inputs.to_json() == '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'
    assert [(s.dtype, s.shape) for s in signature.outputs.inputs] == [("float32", (-1, 2)), ("int64", (-1,))]
    assert enforce(signature.inputs, torch.ones(2, 3)).shape == (2, 3)  # a tensor is checked as its array
    with pytest.raises(InvalidArgument, match="dimension 1 must be 3"):
        enforce(signature.inputs, torch.ones(2, 4))
