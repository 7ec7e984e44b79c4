"""Custom metrics for ``evaluate(extra_metrics=[...])``: MLflow's ``make_metric`` and ``MetricValue``.

An ``eval_fn`` receives its arguments by parameter name, as MLflow passes them: ``predictions``
and ``targets`` (pandas Series), ``metrics`` (the built-in metrics so far, name ->
``MetricValue``), a feature column of the data by its name, or an ``evaluator_config`` key.
It returns a ``MetricValue`` (or a plain number); each aggregate result is logged as
``<name>`` when it is named like the metric, else ``<name>/<aggregate>``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lighttrack.errors import InvalidArgument


@dataclass
class MetricValue:
    """What a metric computed: per-row ``scores``/``justifications`` and ``aggregate_results``."""

    scores: list[Any] | None = None
    justifications: list[str] | None = None
    aggregate_results: dict[str, float] | None = None


@dataclass
class EvaluationMetric:
    """A custom metric: a function, its name, and whether larger is better."""

    eval_fn: Callable[..., Any]
    name: str
    greater_is_better: bool
    long_name: str | None = None
    version: str | None = None
    metric_details: str | None = None

    def __str__(self) -> str:
        return f"EvaluationMetric(name={self.name}, greater_is_better={self.greater_is_better})"


def make_metric(*, eval_fn: Callable[..., Any], greater_is_better: bool, name: str | None = None,
                long_name: str | None = None, version: str | None = None, metric_details: str | None = None,
                **unsupported: Any) -> EvaluationMetric:
    """MLflow's ``mlflow.models.make_metric`` for classic ML metrics."""
    if unsupported:
        raise InvalidArgument(f"make_metric got {', '.join(sorted(unsupported))}, which lighttrack does not take "
                              "(GenAI metric options); allowed: eval_fn, greater_is_better, name, long_name, "
                              "version, metric_details")
    if not callable(eval_fn):
        raise InvalidArgument("make_metric: eval_fn must be a function")
    if not isinstance(greater_is_better, bool):
        raise InvalidArgument("make_metric: greater_is_better must be True or False")
    name = name or getattr(eval_fn, "__name__", None)
    if not name or name == "<lambda>":
        raise InvalidArgument("make_metric: the metric needs a name= (the function has no usable __name__)")
    return EvaluationMetric(eval_fn, name, greater_is_better, long_name, version, metric_details)


def compute_extra_metrics(extra: list[Any], predictions: Any, targets: Any, features: Any,
                          builtin: dict[str, Any], config: dict[str, Any]) -> dict[str, float]:
    """The aggregate values of every custom metric, in order (a later one may use an earlier one)."""
    import pandas as pd

    known = {name: MetricValue(aggregate_results={name: value}) for name, value in builtin.items()}
    found: dict[str, float] = {}
    for index, metric in enumerate(extra):
        if not isinstance(metric, EvaluationMetric):
            raise InvalidArgument(f"extra_metrics[{index}] is a {type(metric).__name__}; build each one with "
                                  "lighttrack.models.make_metric(eval_fn=..., greater_is_better=...)")
        args = []
        for param, spec in inspect.signature(metric.eval_fn).parameters.items():
            if param == "predictions":
                args.append(pd.Series(predictions))
            elif param == "targets":
                args.append(pd.Series(targets))
            elif param == "metrics":
                args.append(dict(known))
            elif param in features.columns:
                args.append(features[param])
            elif param in config:
                args.append(config[param])
            elif param in known:
                args.append(known[param])
            elif spec.default is not inspect.Parameter.empty:
                args.append(spec.default)
            else:
                raise InvalidArgument(f"metric {metric.name!r} needs {param!r}, which is not predictions, targets, "
                                      "metrics, a feature column, an evaluator_config key or an earlier metric")
        value = metric.eval_fn(*args)
        if not isinstance(value, MetricValue):
            value = MetricValue(aggregate_results={metric.name: value})
        name = f"{metric.name}/{metric.version}" if metric.version else metric.name
        known[name] = value
        for aggregate, number in (value.aggregate_results or {}).items():
            if number is not None:
                found[name if aggregate == name.split("/")[0] else f"{name}/{aggregate}"] = float(number)
    return found
