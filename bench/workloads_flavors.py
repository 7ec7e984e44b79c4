"""``flavors``: log_model and load_model per flavour (sklearn, pytorch, onnx) through lighttrack
and through MLflow in the same run, plus the cold ``models predict`` CLI (issue 11).

One ``Flavour`` entry per flavour: how to build a small model (fitted outside any timing), how
to predict with the loaded model, and what each side needs to log/load it. The same code then
runs with ``lighttrack`` or ``mlflow`` as the namespace (the APIs are the same), so adding a
flavour is adding one entry to ``FLAVOURS``; its rows appear in the table by themselves.
A framework that is not installed skips its rows with a note.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import Row, Timer, workload


@dataclass(frozen=True)
class Flavour:
    framework: str                                     # module that must be importable
    build: Callable[[], tuple[Any, Any]]               # -> (model, X)
    predict: Callable[[Any, Any], Any]                 # (loaded or original model, X) -> array
    log_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)   # side -> log_model kwargs
    load_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)  # side -> load_model kwargs


def _iris_forest():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    data = load_iris()
    return RandomForestClassifier(n_estimators=100, random_state=42).fit(data.data, data.target), data.data


def _torch_mlp():
    import numpy as np
    import torch

    torch.manual_seed(0)
    X = np.random.default_rng(0).random((64, 8)).astype(np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).eval()
    return net, X


def _torch_predict(model, X):
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(X)).numpy()


def _onnx_logreg():
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    # skl2onnx directly: the MLflow side's interpreter may have no lighttrack (or an old one).
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    data = load_iris()
    X = data.data.astype("float32")
    model = LogisticRegression(max_iter=500).fit(X, data.target)
    return convert_sklearn(model, initial_types=[("input", FloatTensorType([None, 4]))],
                           options={id(model): {"zipmap": False}}), X


def _onnx_predict(model, X):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})[0]


def _framework_flavours() -> dict[str, Flavour]:
    """XGBoost, LightGBM, statsmodels, Keras and TensorFlow (the models live in
    workloads_flavors_frameworks.py)."""
    from workloads_flavors_frameworks import FRAMEWORKS, _model

    def build(name):
        def make():
            model, _, X = _model(name)
            return model, X
        return make

    def predictor(name):
        return lambda m, X: _model_predict(name)(m, X)

    return {name: Flavour(framework, build(name), predictor(name),
                          load_kwargs={"lighttrack": {"allow_pickle": True}} if name == "statsmodels" else {})
            for name, framework in FRAMEWORKS.items()}


def _model_predict(name):
    if name == "statsmodels":
        return lambda m, X: m.predict(X[:, 1:].astype("float64"))
    if name in ("keras", "tensorflow"):
        return lambda m, X: m.predict(X, verbose=0)
    return lambda m, X: m.predict(X)


FLAVOURS: dict[str, Flavour] = {
    "sklearn": Flavour("sklearn", _iris_forest, lambda m, X: m.predict(X),
                       log_kwargs={"mlflow": {"skops_trusted_types": ["sklearn.tree._tree.Tree"]}}),
    "pytorch": Flavour("torch", _torch_mlp, _torch_predict,
                       log_kwargs={"both": {"input_example": None}}),  # filled with X below
    "onnx": Flavour("onnx", _onnx_logreg, _onnx_predict),
    **_framework_flavours(),
}


def _run(ctx, mlflow, side: str, fresh_file) -> None:
    import numpy as np

    for name, flavour in FLAVOURS.items():
        if importlib.util.find_spec(flavour.framework) is None:
            ctx.note(f"{name}_log", f"{flavour.framework} not installed: skipped")
            continue
        module = importlib.import_module(f"{mlflow.__name__}.{name}")
        model, X = flavour.build()
        expected = flavour.predict(model, X)
        kwargs = {**flavour.log_kwargs.get("both", {}), **flavour.log_kwargs.get(side, {})}
        if "input_example" in kwargs:
            kwargs["input_example"] = X[:4]
        for repeat in range(ctx.repeat + 1):  # the first round is a warm-up: imports are not timed
            fresh_file()
            with mlflow.start_run():
                with Timer() as log:
                    info = module.log_model(model, name="model", pip_requirements=[flavour.framework], **kwargs)
            with Timer() as load:
                loaded = module.load_model(info.model_uri, **flavour.load_kwargs.get(side, {}))
            if repeat == 0:
                continue
            ctx.record(f"{name}_log", log.seconds)
            ctx.record(f"{name}_load", load.seconds * 1000)
            if not np.allclose(np.asarray(flavour.predict(loaded, X), dtype=float), np.asarray(expected, dtype=float)):
                ctx.note(f"{name}_load", "LOADED MODEL PREDICTS DIFFERENTLY")


def _predict_cli(ctx, command: list[str], row: str = "predict_cli") -> None:
    """The predict command in a fresh interpreter (cold: nothing imported), wall time."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    for _ in range(ctx.repeat):
        with Timer() as t:
            done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            ctx.note(row, f"FAILED: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
            return
        ctx.record(row, t.seconds)


ROWS = [row for name in FLAVOURS for row in (
    Row(f"{name}_log", f"{name} log_model ({'forest on iris' if name == 'sklearn' else 'small model'})", "s"),
    Row(f"{name}_load", f"{name} load_model (same model)", "ms"),
)] + [Row("predict_cli", "`models predict` CLI, cold, forest on iris", "s", budget=1.5),
      Row("import_floor", "its floor: `python -c 'import sklearn.ensemble'`, cold", "s")]


@workload("flavors", title="flavour log_model / load_model (sklearn, pytorch, onnx); predict CLI",
          order=91, repeat=3, mlflow_repeat=2, rows=ROWS)
def flavors(ctx):
    import lighttrack
    import lighttrack.store

    def fresh_file():
        lighttrack.set_tracking_uri(str(ctx.tempdir() / "bench.db"))
        lighttrack.set_experiment("bench")

    try:
        _run(ctx, lighttrack, "lighttrack", fresh_file)
    finally:
        lighttrack.store.close_all()
    import lighttrack.sklearn

    folder = ctx.tempdir()
    model, X = _iris_forest()
    lighttrack.sklearn.save_model(model, folder / "forest")
    (folder / "rows.json").write_text('{"inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}')
    code = "import sys; from lighttrack.cli import main; sys.argv[0] = 'lighttrack'; main()"
    _predict_cli(ctx, [sys.executable, "-c", code, "--db", str(folder / "t.db"), "models", "predict",
                       "-m", str(folder / "forest"), "-i", str(folder / "rows.json")])
    # What any process that predicts with a forest pays before its first line runs: the cold
    # CLI cannot be faster than this on the machine measured.
    _predict_cli(ctx, [sys.executable, "-c", "import sklearn.ensemble"], row="import_floor")


@flavors.mlflow
def _(ctx):
    from workloads_core import _mlflow

    import mlflow

    def fresh_file():
        _mlflow(ctx.tempdir())
        mlflow.set_experiment("bench")

    _run(ctx, mlflow, "mlflow", fresh_file)
    import mlflow.sklearn

    folder = ctx.tempdir()
    model, X = _iris_forest()
    mlflow.sklearn.save_model(model, folder / "forest", skops_trusted_types=["sklearn.tree._tree.Tree"],
                              pip_requirements=["scikit-learn"])
    (folder / "rows.json").write_text('{"inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}')
    os.environ["MLFLOW_ALLOW_MODEL_CODE_EXECUTION"] = "true"
    code = "import sys; from mlflow.cli import cli; sys.argv[0] = 'mlflow'; cli()"
    _predict_cli(ctx, [sys.executable, "-c", code, "models", "predict", "-m", str(folder / "forest"),
                       "-i", str(folder / "rows.json"), "-t", "json", "--env-manager", "local"])
