"""``flavors_frameworks``: log_model and load_model for the XGBoost, LightGBM, statsmodels, Keras
and TensorFlow flavours, each on a small model, through lighttrack and through MLflow.

The models are fitted once, outside any timing. Each repeat logs into a fresh file; load is
the flavour's own ``load_model`` of the URI just logged, and the loaded model must predict what
the original does (a note says so otherwise). A framework that is not installed skips its rows.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from harness import Row, Timer, workload

#: flavour -> framework to import (its rows are skipped without it)
FRAMEWORKS = {"xgboost": "xgboost", "lightgbm": "lightgbm", "statsmodels": "statsmodels",
              "keras": "keras", "tensorflow": "tensorflow"}


def _data():
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.rand(200, 4).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    return X, y


def _model(flavour: str):
    """(model, predict(model, X) -> array, X) for a small model of that framework."""
    X, y = _data()
    if flavour == "xgboost":
        import xgboost as xgb

        model = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
        return model, lambda m, x: m.predict(x), X
    if flavour == "lightgbm":
        import lightgbm as lgb

        model = lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
        return model, lambda m, x: m.predict(x), X
    if flavour == "statsmodels":
        import statsmodels.api as sm

        model = sm.OLS(X[:, 0].astype("float64"), X[:, 1:].astype("float64")).fit()
        return model, lambda m, x: m.predict(x[:, 1:].astype("float64")), X
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input([4]), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    return model, lambda m, x: m.predict(x, verbose=0), X


def _run(ctx, mlflow, fresh_file, load_kwargs) -> None:
    import numpy as np

    for flavour, framework in FRAMEWORKS.items():
        if importlib.util.find_spec(framework) is None:
            ctx.note(f"{flavour}_log", f"{framework} not installed: skipped")
            continue
        module = importlib.import_module(f"{mlflow.__name__}.{flavour}")
        model, predict, X = _model(flavour)
        expected = predict(model, X)
        for _ in range(ctx.repeat):
            fresh_file()
            with mlflow.start_run():
                with Timer() as log:
                    info = module.log_model(model, name="model", pip_requirements=[framework])
            with Timer() as load:
                loaded = module.load_model(info.model_uri, **load_kwargs.get(flavour, {}))
            ctx.record(f"{flavour}_log", log.seconds)
            ctx.record(f"{flavour}_load", load.seconds)
            if not np.allclose(np.asarray(predict(loaded, X), dtype=float), np.asarray(expected, dtype=float)):
                ctx.note(f"{flavour}_load", "LOADED MODEL PREDICTS DIFFERENTLY")


ROWS = [row for flavour in FRAMEWORKS for row in (
    Row(f"{flavour}_log", f"{flavour} log_model (small model)", "s"),
    Row(f"{flavour}_load", f"{flavour} load_model (same model)", "s"),
)]


@workload("flavors_frameworks", title="flavour log_model / load_model (xgboost ... tensorflow)",
          order=92, repeat=3, mlflow_repeat=2, rows=ROWS)
def flavors_frameworks(ctx):
    if importlib.util.find_spec("lighttrack.xgboost") is None:
        ctx.skip("lighttrack's framework flavours do not exist yet")
    import lighttrack
    import lighttrack.store

    def fresh_file():
        lighttrack.set_tracking_uri(str(ctx.tempdir() / "bench.db"))
        lighttrack.set_experiment("bench")

    try:
        _run(ctx, lighttrack, fresh_file, {"statsmodels": {"allow_pickle": True}})
    finally:
        lighttrack.store.close_all()


@flavors_frameworks.mlflow
def _(ctx):
    from workloads_core import _mlflow

    import mlflow

    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # statsmodels is pickle only

    def fresh_file():
        _mlflow(ctx.tempdir())
        mlflow.set_experiment("bench")

    _run(ctx, mlflow, fresh_file, {})
