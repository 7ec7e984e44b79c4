"""``mlflow.models.evaluation``: evaluating classifiers and regressors, and validating them.

    base.py        evaluate(): checks, predicts, logs          data.py     the data argument
    predict.py     the model argument -> predict/predict_proba classifier.py / regressor.py  metrics
    metrics.py     make_metric / extra_metrics                 plots.py    matplotlib figures
    record.py      what is written to the run                  results.py  EvaluationResult, artifacts
    validation.py  MetricThreshold, validate_evaluation_results

Nothing here imports numpy, pandas, scikit-learn or matplotlib until an evaluation runs.
"""

from __future__ import annotations

from lighttrack.models.evaluation.base import evaluate
from lighttrack.models.evaluation.metrics import EvaluationMetric, MetricValue, make_metric
from lighttrack.models.evaluation.results import (
    CsvEvaluationArtifact,
    EvaluationArtifact,
    EvaluationResult,
    ImageEvaluationArtifact,
)
from lighttrack.models.evaluation.validation import (
    MetricThreshold,
    ModelValidationFailedException,
    validate_evaluation_results,
)

__all__ = ["CsvEvaluationArtifact", "EvaluationArtifact", "EvaluationMetric", "EvaluationResult",
           "ImageEvaluationArtifact", "MetricThreshold", "MetricValue", "ModelValidationFailedException",
           "evaluate", "list_evaluators", "make_metric", "validate_evaluation_results"]


def list_evaluators() -> list[str]:
    """The evaluator names ``evaluate(evaluators=...)`` accepts."""
    from lighttrack.models.evaluation.base import EVALUATORS

    return list(EVALUATORS)
