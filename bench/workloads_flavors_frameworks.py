"""The small models of the XGBoost, LightGBM, statsmodels, Keras and TensorFlow rows of the
``flavors`` workload (workloads_flavors.py times them, through lighttrack and MLflow).

Each is fitted once, outside any timing; a framework that is not installed skips its rows.
"""

from __future__ import annotations

import os


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

        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow's side: statsmodels is pickle only

        model = sm.OLS(X[:, 0].astype("float64"), X[:, 1:].astype("float64")).fit()
        return model, lambda m, x: m.predict(x[:, 1:].astype("float64")), X
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input([4]), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
    return model, lambda m, x: m.predict(x, verbose=0), X
