"""MLflow's default regressor metrics (scikit-learn's, MLflow 3.17's names)."""

from __future__ import annotations

from typing import Any


def evaluate_regressor(y_true: Any, y_pred: Any, config: dict[str, Any]) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as sk

    weights = config.get("sample_weights")
    y_true = np.asarray(y_true)
    total = float((y_true * np.asarray(weights)).sum() if weights is not None else y_true.sum())
    scored = {
        "example_count": len(y_true),
        "mean_absolute_error": sk.mean_absolute_error(y_true, y_pred, sample_weight=weights),
        "mean_squared_error": sk.mean_squared_error(y_true, y_pred, sample_weight=weights),
        "root_mean_squared_error": sk.root_mean_squared_error(y_true, y_pred, sample_weight=weights),
        "sum_on_target": total,
        "mean_on_target": total / len(y_true),
        "r2_score": sk.r2_score(y_true, y_pred, sample_weight=weights),
        "max_error": sk.max_error(y_true, y_pred),
        "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y_true, y_pred, sample_weight=weights),
    }
    return {name: (value if isinstance(value, int) else float(value)) for name, value in scored.items()}
