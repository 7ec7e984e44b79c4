"""The evaluation plots, drawn with matplotlib when it is installed.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so evaluating never touches
the user's pyplot state or backend and needs no display. Names are MLflow's artifact names:
``confusion_matrix``, ``roc_curve_plot``, ``precision_recall_curve_plot``; regressors get a
``residuals_plot`` (MLflow draws none without SHAP).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.models.evaluation.classifier import Curve


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(6.0, 4.0), dpi=175, layout="tight")


def confusion_matrix(y_true: Any, y_pred: Any, labels: Any, weights: Any) -> Callable[[Path], None]:
    def draw(path: Path) -> None:
        from matplotlib import rc_context
        from sklearn import metrics as sk

        # normalised per true label, as MLflow (and sklearn autolog) draw it
        matrix = sk.confusion_matrix(y_true, y_pred, labels=labels, normalize="true", sample_weight=weights)
        with rc_context({"font.size": min(8, math.ceil(50.0 / len(labels))), "axes.labelsize": 8}):
            figure = _figure()
            ax = figure.subplots()
            sk.ConfusionMatrixDisplay(confusion_matrix=matrix, display_labels=labels).plot(cmap="Blues", ax=ax)
            ax.set_title("Normalized confusion matrix")
            figure.savefig(path, bbox_inches="tight")

    return draw


def curve(found: Curve, kind: str, binary: bool) -> Callable[[Path], None]:
    def draw(path: Path) -> None:
        figure = _figure()
        ax = figure.subplots()
        for label, x, y in found.lines:
            ax.plot(x, y, label=label, drawstyle="steps-post", linewidth=1)
        diagonal = ([0, 1], [0, 1]) if kind == "roc" else ([0, 1], [1, 0])
        ax.plot(*diagonal, color="gray", alpha=0.3, linestyle="dashed")
        ax.set_xlabel(found.xlabel)
        ax.set_ylabel(found.ylabel)
        ax.set_title(found.title)
        if binary:
            ax.legend(loc="best")
        else:
            ax.legend(loc="center left", bbox_to_anchor=(1, 0.5))
        figure.savefig(path, bbox_inches="tight")

    return draw


def residuals(y_true: Any, y_pred: Any) -> Callable[[Path], None]:
    def draw(path: Path) -> None:
        import numpy as np

        predicted = np.asarray(y_pred, dtype=float)
        residual = np.asarray(y_true, dtype=float) - predicted
        figure = _figure()
        ax = figure.subplots()
        ax.scatter(predicted, residual, s=6, alpha=0.6)
        ax.axhline(0, color="gray", alpha=0.5, linestyle="dashed")
        ax.set_xlabel("Predicted value")
        ax.set_ylabel("Residual (target - predicted)")
        ax.set_title("Residuals")
        figure.savefig(path, bbox_inches="tight")

    return draw
