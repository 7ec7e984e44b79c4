"""MLflow's default classifier metrics, computed with scikit-learn the way MLflow 3.17 does.

Binary (two labels): true_negatives, false_positives, false_negatives, true_positives,
example_count, accuracy_score, recall_score, precision_score, f1_score (average="binary" on the
positive label), and with probabilities log_loss, roc_auc, precision_recall_auc (average
precision). Multiclass: the same scores averaged (``average``, default "weighted"), log_loss and
a one-vs-rest roc_auc, plus a per-class table. The label list is the sorted union of labels and
predictions unless ``label_list`` is given; the positive label is the last one unless
``pos_label`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lighttrack.errors import InvalidArgument


@dataclass
class Curve:
    """One ROC or PR curve per line: (legend label, x values, y values), plus its area(s)."""

    lines: list[tuple[str, Any, Any]]
    auc: Any
    xlabel: str
    ylabel: str
    title: str


@dataclass
class ClassifierOutcome:
    metrics: dict[str, float]
    labels: Any
    pos_label: Any = None
    per_class: Any = None  # a DataFrame (multiclass)
    curves: dict[str, Curve] = field(default_factory=dict)


def _number(value: Any) -> float | int:
    # numpy scalars become Python numbers: they are logged, compared and JSON-dumped.
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iub"):
        return int(value)
    return float(value)


def label_list(y_true: Any, y_pred: Any, config: dict[str, Any]) -> tuple[Any, Any, int]:
    """(sorted labels with the positive one last, the positive label, its probability column)."""
    import numpy as np

    given, pos_label = config.get("label_list"), config.get("pos_label")
    if pos_label is not None and given is not None and pos_label not in list(given):
        raise InvalidArgument(f"'pos_label' {pos_label} must exist in 'label_list' {given}.")
    labels = np.unique(np.concatenate([y_true, y_pred])) if given is None else np.array(given)
    if len(labels) < 2:
        raise InvalidArgument(
            "Evaluation dataset for classification must contain at least two unique labels, but only "
            f"{len(labels)} unique labels were found. Give every possible class: "
            "evaluator_config={'label_list': [0, 1]}")
    labels = np.sort(labels)
    pos_index = 1
    if len(labels) == 2:
        if pos_label is not None and pos_label in labels:
            pos_index = int(np.where(labels == pos_label)[0][0])
            labels = np.append(np.delete(labels, pos_index), pos_label)
        else:
            pos_label = labels[-1]
    return labels, pos_label, pos_index


def _common(y_true, y_pred, y_proba, labels, average, pos_label, weights) -> dict[str, Any]:
    from sklearn import metrics as sk

    scored = {
        "example_count": len(y_true),
        "accuracy_score": sk.accuracy_score(y_true, y_pred, sample_weight=weights),
        "recall_score": sk.recall_score(y_true, y_pred, average=average, pos_label=pos_label, sample_weight=weights),
        "precision_score": sk.precision_score(y_true, y_pred, average=average, pos_label=pos_label,
                                              sample_weight=weights),
        "f1_score": sk.f1_score(y_true, y_pred, average=average, pos_label=pos_label, sample_weight=weights),
    }
    if y_proba is not None:
        scored["log_loss"] = sk.log_loss(y_true, y_proba, labels=labels, sample_weight=weights)
    return scored


def binary_metrics(y_true, y_pred, y_proba, labels, pos_label, weights) -> dict[str, Any]:
    from sklearn import metrics as sk

    tn, fp, fn, tp = sk.confusion_matrix(y_true, y_pred, labels=labels).ravel()
    return {"true_negatives": tn, "false_positives": fp, "false_negatives": fn, "true_positives": tp,
            **_common(y_true, y_pred, y_proba, labels, "binary", pos_label, weights)}


def _curve(kind: str, y_true, scores, pos_label, weights) -> tuple[Any, Any, float]:
    """(x, y, area) of one ROC curve (AUC) or PR curve (average precision, as MLflow)."""
    import numpy as np
    from sklearn import metrics as sk

    if kind == "roc":
        fpr, tpr, _ = sk.roc_curve(y_true, scores, pos_label=pos_label, sample_weight=weights)
        return fpr, tpr, sk.roc_auc_score(np.asarray(y_true) == pos_label, scores, sample_weight=weights)
    precision, recall, _ = sk.precision_recall_curve(y_true, scores, pos_label=pos_label, sample_weight=weights)
    return recall, precision, sk.average_precision_score(y_true, scores, pos_label=pos_label, sample_weight=weights)


_AXES = {"roc": ("False Positive Rate", "True Positive Rate", "ROC curve", "AUC"),
         "pr": ("Recall", "Precision", "Precision recall curve", "AP")}


def curves(y_true, y_proba, labels, pos_label, pos_index, weights, binary: bool) -> dict[str, Curve]:
    import numpy as np

    found = {}
    for kind, (xlabel, ylabel, title, area_name) in _AXES.items():
        if binary:
            x, y, area = _curve(kind, y_true, y_proba[:, pos_index], pos_label, weights)
            lines, auc = [(f"{area_name}={area:.3f}", x, y)], area
            xlabel, ylabel = f"{xlabel} (Positive label: {pos_label})", f"{ylabel} (Positive label: {pos_label})"
        else:
            lines, auc = [], []
            for index, label in enumerate(labels):
                x, y, area = _curve(kind, np.where(np.asarray(y_true) == label, 1, 0), y_proba[:, index], 1, weights)
                lines.append((f"label={label},{area_name}={area:.3f}", x, y))
                auc.append(area)
        found[kind] = Curve(lines, auc, xlabel, ylabel, title)
    return found


def per_class_table(y_true, y_pred, labels, weights) -> Any:
    import numpy as np
    import pandas as pd

    rows = []
    for label in labels:
        y_bin = np.where(np.asarray(y_true) == label, 1, 0)
        pred_bin = np.where(np.asarray(y_pred) == label, 1, 0)
        rows.append({"positive_class": label, **binary_metrics(y_bin, pred_bin, None, [0, 1], 1, weights)})
    return pd.DataFrame(rows)


def evaluate_classifier(y_true, y_pred, y_proba, config: dict[str, Any]) -> ClassifierOutcome:
    """Every default classifier metric MLflow computes for these labels and predictions."""
    import numpy as np
    from sklearn import metrics as sk

    weights = config.get("sample_weights")
    labels, pos_label, pos_index = label_list(y_true, y_pred, config)
    if y_proba is not None:
        y_proba = np.asarray(y_proba)
    outcome = ClassifierOutcome({}, labels, pos_label)
    if len(labels) == 2:
        scored = binary_metrics(y_true, y_pred, y_proba, labels, pos_label, weights)
        if y_proba is not None:
            outcome.curves = curves(y_true, y_proba, labels, pos_label, pos_index, weights, binary=True)
            scored["roc_auc"] = outcome.curves["roc"].auc
            scored["precision_recall_auc"] = outcome.curves["pr"].auc
    else:
        average = config.get("average", "weighted")
        scored = _common(y_true, y_pred, y_proba, labels, average, None, weights)
        if average in ("macro", "weighted") and y_proba is not None:
            scored["roc_auc"] = sk.roc_auc_score(y_true, y_proba, sample_weight=weights, average=average,
                                                 multi_class="ovr")
        outcome.per_class = per_class_table(y_true, y_pred, labels, weights)
        if y_proba is not None and len(labels) <= config.get("max_classes_for_multiclass_roc_pr", 10):
            outcome.curves = curves(y_true, y_proba, labels, None, None, weights, binary=False)
            outcome.per_class["roc_auc"] = outcome.curves["roc"].auc
            outcome.per_class["precision_recall_auc"] = outcome.curves["pr"].auc
    outcome.metrics = {name: _number(value) for name, value in scored.items()}
    return outcome
