"""``mlflow.metrics``: where MLflow code imports ``MetricValue`` and ``make_metric`` from.

Only the classic-ML pieces ``evaluate(extra_metrics=...)`` uses; MLflow's GenAI metric
builders are not here.
"""

from __future__ import annotations

from lighttrack.models.evaluation.metrics import EvaluationMetric, MetricValue, make_metric

__all__ = ["EvaluationMetric", "MetricValue", "make_metric"]
