"""Model validation: the gate a team runs before moving an alias to a new version.

MLflow 3.17's ``mlflow.validate_evaluation_results(thresholds, candidate, baseline)``: each
``MetricThreshold`` is checked against the candidate's metrics (an absolute ``threshold``) and,
when a baseline result is given, against the baseline's (``min_absolute_change``,
``min_relative_change``). Every failure is collected and reported in one
``ModelValidationFailedException`` naming the metric, both values and the threshold.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lighttrack.errors import InvalidArgument, LighttrackError


class MetricThresholdClassException(InvalidArgument):
    """A ``MetricThreshold`` was built with values MLflow does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__("Could not instantiate MetricThreshold class: " + message)


class ModelValidationFailedException(LighttrackError):
    """The candidate model did not meet a validation threshold (MLflow's name)."""


def _is_number(value: Any) -> bool:
    # MLflow checks the exact type: a bool (an int subclass) is not a threshold.
    return type(value) in (int, float)


class MetricThreshold:
    """A value threshold and/or a required improvement over a baseline, for one metric.

    ``threshold``: the candidate must be >= it (<= when lower is better).
    ``min_absolute_change`` (> 0): candidate >= baseline + change (<= baseline - change).
    ``min_relative_change`` (a float in [0, 1]): candidate >= baseline + change * |baseline|;
    with a baseline of 0 the candidate only has to be better than it.
    ``greater_is_better`` is required."""

    def __init__(self, threshold: float | None = None, min_absolute_change: float | None = None,
                 min_relative_change: float | None = None, greater_is_better: bool | None = None) -> None:
        if threshold is not None and not _is_number(threshold):
            raise MetricThresholdClassException("`threshold` parameter must be a number.")
        if min_absolute_change is not None and (not _is_number(min_absolute_change) or min_absolute_change <= 0):
            raise MetricThresholdClassException("`min_absolute_change` parameter must be a positive number.")
        if min_relative_change is not None:
            if not isinstance(min_relative_change, float):
                raise MetricThresholdClassException("`min_relative_change` parameter must be a floating point number.")
            if not 0 <= min_relative_change <= 1:
                raise MetricThresholdClassException("`min_relative_change` parameter must be between 0 and 1.")
        if greater_is_better is None:
            raise MetricThresholdClassException("`greater_is_better` parameter must be defined.")
        if not isinstance(greater_is_better, bool):
            raise MetricThresholdClassException("`greater_is_better` parameter must be a boolean.")
        if threshold is None and min_absolute_change is None and min_relative_change is None:
            raise MetricThresholdClassException("no threshold was specified.")
        self.threshold = threshold
        self.min_absolute_change = min_absolute_change
        self.min_relative_change = min_relative_change
        self.greater_is_better = greater_is_better

    def __str__(self) -> str:
        parts = [f"{name}={value}" for name, value in (
            ("threshold", self.threshold), ("min_absolute_change", self.min_absolute_change),
            ("min_relative_change", self.min_relative_change), ("greater_is_better", self.greater_is_better),
        ) if value is not None]
        return f"MetricThreshold({', '.join(parts)})"

    __repr__ = __str__


@dataclass
class _MetricCheck:
    """What one metric's validation found; ``str()`` is the sentence the error carries."""

    name: str
    candidate: Any
    threshold: MetricThreshold
    baseline: Any = None
    missing_candidate: bool = False
    missing_baseline: bool = False
    threshold_failed: bool = False
    absolute_failed: bool = False
    relative_failed: bool = False

    def passed(self) -> bool:
        return not (self.missing_candidate or self.missing_baseline or self.threshold_failed
                    or self.absolute_failed or self.relative_failed)

    def __str__(self) -> str:
        n = self.name
        if self.passed():
            return f"Metric {n} passed the validation."
        if self.missing_candidate:
            return f"Metric validation failed: metric {n} was missing from the evaluation result of the candidate model."
        parts = []
        if self.threshold_failed:
            parts.append(f"Metric {n} value threshold check failed: candidate model {n} = {self.candidate}, "
                         f"{n} threshold = {self.threshold.threshold}.")
        if self.missing_baseline:
            parts.append(f"Model comparison failed: metric {n} was missing from the evaluation result of the "
                         "baseline model.")
        else:
            if self.absolute_failed:
                parts.append(f"Metric {n} minimum absolute change check failed: candidate model {n} = "
                             f"{self.candidate}, baseline model {n} = {self.baseline}, {n} minimum absolute "
                             f"change threshold = {self.threshold.min_absolute_change}.")
            if self.relative_failed:
                parts.append(f"Metric {n} minimum relative change check failed: candidate model {n} = "
                             f"{self.candidate}, baseline model {n} = {self.baseline}, {n} minimum relative "
                             f"change threshold = {self.threshold.min_relative_change}.")
        return " ".join(parts)


def _check(name: str, rule: MetricThreshold, candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> _MetricCheck:
    check = _MetricCheck(name, candidate.get(name), rule, baseline.get(name))
    if name not in candidate:
        check.missing_candidate = True
        return check
    better_or_equal = operator.ge if rule.greater_is_better else operator.le
    towards_better = operator.add if rule.greater_is_better else operator.sub
    value = check.candidate
    if rule.threshold is not None:
        check.threshold_failed = not better_or_equal(value, rule.threshold)
    if (rule.min_relative_change or rule.min_absolute_change) and name not in baseline:
        check.missing_baseline = True
        return check
    base = check.baseline
    if rule.min_absolute_change is not None:
        # Decimal, as MLflow: 0.9 >= 0.8 + 0.1 must not fail on float rounding.
        check.absolute_failed = not better_or_equal(
            Decimal(value), Decimal(towards_better(base, rule.min_absolute_change)))
    if rule.min_relative_change is not None:
        if base == 0:
            check.relative_failed = not better_or_equal(Decimal(value), Decimal(towards_better(base, 1e-10)))
        else:
            change = (value - base) / abs(base) if rule.greater_is_better else (base - value) / abs(base)
            check.relative_failed = change < rule.min_relative_change
    return check


def validate_evaluation_results(validation_thresholds: dict[str, MetricThreshold], candidate_result: Any,
                                baseline_result: Any = None) -> None:
    """Raise ``ModelValidationFailedException`` unless the candidate meets every threshold.

    ``candidate_result`` / ``baseline_result`` are ``EvaluationResult`` objects (anything with a
    ``.metrics`` dict, so real MLflow's results work too)."""
    if type(validation_thresholds) is not dict or not all(
        type(k) is str and isinstance(v, MetricThreshold) for k, v in validation_thresholds.items()
    ):
        raise InvalidArgument("The validation thresholds argument must be a dictionary that maps strings "
                              "to MetricThreshold objects.")
    validate_metrics(validation_thresholds, candidate_result.metrics,
                     baseline_result.metrics if baseline_result is not None else {})


def validate_metrics(validation_thresholds: Mapping[str, MetricThreshold], candidate: Mapping[str, Any],
                     baseline: Mapping[str, Any]) -> None:
    """The check itself, on two metric dicts (every failing metric is reported at once)."""
    failures = [str(c) for c in (_check(name, rule, candidate, baseline or {})
                                 for name, rule in validation_thresholds.items()) if not c.passed()]
    if failures:
        raise ModelValidationFailedException("\n".join(failures))
