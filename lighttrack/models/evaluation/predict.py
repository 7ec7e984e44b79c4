"""Turning ``evaluate``'s ``model`` argument into predict / predict_proba calls.

As MLflow: a model URI is loaded as a pyfunc model; for the scikit-learn, XGBoost and CatBoost
flavours the raw estimator is used, so class probabilities (log loss, ROC and PR curves) and a
scikit-learn ``score`` are available; any other pyfunc model or a plain function gives
predictions only. Loading a URI goes through lighttrack's loader, so its trust rules hold
(``allow_pickle``/``trust_code`` from the environment, hashes checked).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lighttrack.errors import InvalidArgument

#: Flavours whose raw model MLflow's evaluator unwraps (for predict_proba and score).
RAW_MODEL_FLAVOURS = ("mlflow.sklearn", "mlflow.xgboost", "mlflow.catboost")


@dataclass
class Predictor:
    """How to get predictions (and maybe probabilities) from the evaluated model."""

    predict: Callable[[Any], Any]
    predict_proba: Callable[[Any], Any] | None = None
    #: a scikit-learn estimator whose ``score`` MLflow reports as the ``score`` metric
    sklearn_model: Any = None


def _loader_module(model: Any) -> str | None:
    meta = getattr(model, "metadata", None)
    flavors = getattr(meta, "flavors", None) or {}
    return (flavors.get("python_function") or {}).get("loader_module")


def predictor_for(model: Any) -> Predictor | None:
    """None for ``model=None`` (the data holds the predictions)."""
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        from lighttrack.pyfunc import load_model

        model = load_model(model)
    loader = _loader_module(model)
    if loader is not None:
        if loader in RAW_MODEL_FLAVOURS or loader.replace("lighttrack.", "mlflow.") in RAW_MODEL_FLAVOURS:
            raw = model.get_raw_model()
            return Predictor(raw.predict, getattr(raw, "predict_proba", None),
                             raw if loader.endswith(".sklearn") and hasattr(raw, "score") else None)
        return Predictor(model.predict)
    if callable(model):
        return Predictor(model)
    raise InvalidArgument("The model argument must be a string URI referring to a model, a loaded pyfunc model "
                          f"(lighttrack.pyfunc.load_model), a function, or None; got {type(model).__name__}")


def as_column(output: Any, predictions: str | None) -> Any:
    """The model's output as one 1-D array (a named column of a multi-column output)."""
    import numpy as np
    import pandas as pd

    if isinstance(output, pd.DataFrame):
        if predictions is not None and predictions in output.columns:
            return output[predictions].to_numpy()
        if output.shape[1] == 1:
            return output.iloc[:, 0].to_numpy()
        raise InvalidArgument("Output column name is not specified for the multi-output model. Please set the "
                              f"correct output column name using the `predictions` parameter (one of "
                              f"{', '.join(map(str, output.columns))}).")
    if isinstance(output, dict):
        if predictions is not None and predictions in output:
            return np.asarray(output[predictions])
        if len(output) == 1:
            return np.asarray(next(iter(output.values())))
        raise InvalidArgument("Output column name is not specified for the multi-output model. Please set the "
                              "correct output column name using the `predictions` parameter.")
    values = np.asarray(output)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InvalidArgument(f"the model returned an output of shape {values.shape}; evaluate needs one "
                              "prediction per row")
    return values
