"""The evaluation data as ``evaluate`` receives it, checked and split before anything is logged.

MLflow's forms: a pandas DataFrame with ``targets`` (and, for a model-less evaluation,
``predictions``) naming columns; a 2-D numpy array or list of rows with ``targets`` an array;
or an ``mlflow.data`` dataset (anything with ``.df`` and ``.targets``). Features keep their
column names; an array's columns are named ``feature_1`` ... as MLflow names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lighttrack.errors import InvalidArgument


@dataclass
class EvaluationData:
    """Features (a DataFrame), labels (1-D array) and, without a model, the given predictions."""

    features: Any
    labels: Any
    predictions: Any
    feature_names: list[str]


def _column_names(count: int) -> list[str]:
    width = math.ceil(math.log10(count + 1))
    return [f"feature_{str(i + 1).zfill(width)}" for i in range(count)]


def prepare(data: Any, targets: Any, predictions: str | None, feature_names: list[str] | None,
            needs_predictions_column: bool) -> EvaluationData:
    """Split ``data`` into features / labels / predictions, refusing what MLflow refuses."""
    import numpy as np
    import pandas as pd

    if data is None:
        raise InvalidArgument("evaluate needs data: a pandas DataFrame, a 2-D numpy array or list of rows, "
                              "or an mlflow.data dataset")
    if hasattr(data, "df") and hasattr(data, "targets") and not isinstance(data, pd.DataFrame):
        # an mlflow.data PandasDataset: its own targets/predictions columns unless given here
        targets = targets if targets is not None else data.targets
        predictions = predictions if predictions is not None else getattr(data, "predictions", None)
        data = data.df
    if feature_names is not None:
        feature_names = list(feature_names)
        if len(set(feature_names)) != len(feature_names):
            raise InvalidArgument("`feature_names` argument must be a list containing unique feature names.")
    if targets is None:
        raise InvalidArgument("targets is required for classifier and regressor evaluation: the label column "
                              "name (DataFrame data) or an array of labels (array data)")
    if isinstance(data, pd.DataFrame):
        return _from_frame(data, targets, predictions, feature_names, needs_predictions_column)
    if isinstance(data, (np.ndarray, list)):
        if isinstance(targets, str) or not isinstance(targets, (np.ndarray, list, pd.Series)):
            raise InvalidArgument("`targets` argument must be a numpy array or list of evaluation labels "
                                  "when data is a numpy array or list.")
        if needs_predictions_column:
            raise InvalidArgument("predictions= names a column, so data must be a pandas DataFrame when no "
                                  "model is given")
        rows = np.asarray(data)
        if rows.ndim != 2:
            raise InvalidArgument("If the `data` argument is a numpy array, it must be a 2-dimensional array "
                                  "(rows of features); a list must hold equal-length feature rows.")
        labels = np.asarray(targets)
        if labels.ndim != 1 or len(labels) != len(rows):
            raise InvalidArgument(f"targets must be a 1-D array with one label per row of data: {len(rows)} rows, "
                                  f"targets of shape {labels.shape}")
        names = feature_names if feature_names is not None else _column_names(rows.shape[1])
        if len(names) != rows.shape[1]:
            raise InvalidArgument("feature name list must be the same length with feature data.")
        return EvaluationData(pd.DataFrame(rows, columns=names), labels, None, names)
    raise InvalidArgument(f"data must be a pandas DataFrame, a numpy array, a list of rows or an mlflow.data "
                          f"dataset, not {type(data).__name__}")


def _from_frame(frame: Any, targets: Any, predictions: str | None, feature_names: list[str] | None,
                needs_predictions_column: bool) -> EvaluationData:
    if not isinstance(targets, str):
        raise InvalidArgument("When data is a pandas DataFrame, targets must be the name of the column which "
                              "contains evaluation labels in the data.")
    if targets not in frame.columns:
        raise InvalidArgument(f"targets column {targets!r} is not in data; its columns are "
                              f"{', '.join(map(str, frame.columns))}")
    given = None
    if needs_predictions_column:
        if not isinstance(predictions, str) or predictions not in frame.columns:
            raise InvalidArgument("with model=None, predictions= must name the data column holding the model's "
                                  f"outputs; data's columns are {', '.join(map(str, frame.columns))}")
        given = frame[predictions].to_numpy()
    if feature_names is not None:
        missing = [n for n in feature_names if n not in frame.columns]
        if missing:
            raise InvalidArgument(f"feature_names {missing} are not columns of data")
        features = frame[feature_names]
    else:
        drop = [c for c in (targets, predictions if needs_predictions_column else None) if c is not None]
        features = frame.drop(columns=drop)
    return EvaluationData(features, frame[targets].to_numpy(), given, [str(c) for c in features.columns])
