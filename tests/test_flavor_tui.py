"""The TUI's run detail lists every flavour's logged models the way it lists sklearn's."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skl2onnx")

from sklearn.linear_model import LogisticRegression  # noqa: E402

import lighttrack as lt  # noqa: E402
import lighttrack.onnx  # noqa: E402
import lighttrack.pytorch  # noqa: E402
import lighttrack.sklearn  # noqa: E402
from lighttrack.onnx.convert import sklearn_to_onnx  # noqa: E402
from tui.adapter import TrackingAdapter  # noqa: E402


def test_run_detail_shows_pytorch_onnx_and_sklearn_models(client):
    X = np.random.default_rng(2).random((8, 3)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    clf = LogisticRegression().fit(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()
    with lt.start_run() as run:
        lt.sklearn.log_model(clf, name="sk", input_example=X[:2])
        lt.pytorch.log_model(net, name="torch", input_example=X[:4], registered_model_name="net")
        lt.onnx.log_model(sklearn_to_onnx(clf, 3), name="onnx", input_example=X[:2])
    detail = TrackingAdapter(client).run_detail(run.info.run_id)
    models = {m.path: m for m in detail.models}
    assert sorted(models) == ["onnx", "sk", "torch"]
    assert models["torch"].flavors == ["python_function", "pytorch"]
    assert models["onnx"].flavors == ["onnx", "python_function"]
    assert models["torch"].inputs == "tensor float32[-1, 3]"
    assert models["torch"].outputs == "tensor float32[-1, 2]"
    assert [str(v.version) for v in models["torch"].versions] == ["1"]
