"""``mlflow.models.evaluate`` / ``mlflow.evaluate`` for classifiers and regressors.

One call: predictions from the model (or a data column), MLflow's default metrics under MLflow's
names, custom ``extra_metrics``, plots when matplotlib is installed, everything logged to the
active run (or to a new run that is ended again, as MLflow does). Every argument is checked
before a run is started or anything is written.

Beyond MLflow 3.17 (which moved validation to ``validate_evaluation_results``): passing
``baseline_model`` and ``validation_thresholds`` here evaluates the baseline on the same data
(nothing of it is logged) and raises ``ModelValidationFailedException`` when the candidate fails.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import weakref
from typing import Any

from lighttrack.errors import InvalidArgument
from lighttrack.models.evaluation import plots
from lighttrack.models.evaluation.data import prepare
from lighttrack.models.evaluation.predict import as_column, predictor_for
from lighttrack.models.evaluation.results import CsvEvaluationArtifact, EvaluationResult, ImageEvaluationArtifact
from lighttrack.models.evaluation.validation import MetricThreshold, validate_metrics

_logger = logging.getLogger(__name__)

MODEL_TYPES = ("classifier", "regressor")
EVALUATORS = ("default", "classifier", "regressor")
#: evaluator_config keys of MLflow's default evaluator; the explainability ones are accepted
#: and have no effect (SHAP explanations are not produced here).
CONFIG_KEYS = frozenset({
    "pos_label", "label_list", "average", "sample_weights", "metric_prefix", "max_classes_for_multiclass_roc_pr",
    "log_model_explainability", "log_explainer", "explainability_algorithm", "explainability_nsamples",
    "explainability_kernel_link", "log_metrics_with_dataset_info", "col_mapping",
})
_plots_note_given = False


def _check_arguments(model_type: Any, evaluators: Any, evaluator_config: Any, extra_metrics: Any,
                     baseline_model: Any, validation_thresholds: Any) -> dict[str, Any]:
    if model_type not in MODEL_TYPES:
        raise InvalidArgument(f"model_type must be one of {', '.join(MODEL_TYPES)} (lighttrack evaluates classic ML "
                              f"models; MLflow's GenAI types are not supported), not {model_type!r}")
    names = [evaluators] if evaluators is None or isinstance(evaluators, str) else list(evaluators)
    for name in names:
        if name is not None and name not in EVALUATORS:
            raise InvalidArgument(f"evaluator {name!r} is not available; lighttrack has {', '.join(EVALUATORS)}")
        if name in MODEL_TYPES and name != model_type:
            raise InvalidArgument(f"the {name!r} evaluator cannot evaluate a {model_type}")
    config = dict(evaluator_config or {})
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown and not extra_metrics:
        raise InvalidArgument(f"evaluator_config has {', '.join(unknown)}, which the default evaluator does not "
                              f"take; allowed: {', '.join(sorted(CONFIG_KEYS))} (or parameters of extra_metrics)")
    prefix = config.get("metric_prefix", "")
    if not isinstance(prefix, str):
        raise InvalidArgument("evaluator_config['metric_prefix'] must be a string")
    if validation_thresholds is not None:
        if type(validation_thresholds) is not dict or not all(
            type(k) is str and isinstance(v, MetricThreshold) for k, v in validation_thresholds.items()
        ):
            raise InvalidArgument("The validation thresholds argument must be a dictionary that maps strings to "
                                  "MetricThreshold objects.")
    elif baseline_model is not None:
        raise InvalidArgument("baseline_model is only used with validation_thresholds=; to compare two results use "
                              "validate_evaluation_results(thresholds, candidate_result, baseline_result)")
    return config


def _compute(predictor, data, model_type, config, predictions, extra_metrics):
    """(metrics, what the plots need) for one model on the prepared data; logs nothing."""
    from lighttrack.models.evaluation.classifier import evaluate_classifier
    from lighttrack.models.evaluation.metrics import compute_extra_metrics
    from lighttrack.models.evaluation.regressor import evaluate_regressor

    if predictor is None:
        y_pred, y_proba = data.predictions, None
    else:
        y_pred = as_column(predictor.predict(data.features.copy()), predictions)
        y_proba = predictor.predict_proba(data.features.copy()) if predictor.predict_proba else None
    if len(y_pred) != len(data.labels):
        raise InvalidArgument(f"the model returned {len(y_pred)} predictions for {len(data.labels)} rows")
    metrics: dict[str, Any] = {}
    weights = config.get("sample_weights")
    if predictor is not None and predictor.sklearn_model is not None:
        try:
            metrics["score"] = float(predictor.sklearn_model.score(data.features.copy(), data.labels,
                                                                   sample_weight=weights))
        except Exception as exc:  # MLflow warns and goes on: score is a bonus, not the evaluation
            _logger.warning("Computing sklearn model score failed: %r", exc)
    outcome = None
    if model_type == "classifier":
        outcome = evaluate_classifier(data.labels, y_pred, y_proba, config)
        metrics.update(outcome.metrics)
    else:
        metrics.update(evaluate_regressor(data.labels, y_pred, config))
    if extra_metrics:
        metrics.update(compute_extra_metrics(list(extra_metrics), y_pred, data.labels, data.features, metrics, config))
    prefix = config.get("metric_prefix", "")
    return {f"{prefix}{k}": v for k, v in metrics.items()}, (y_pred, outcome)


def _log_artifacts(logger, model_type, data, y_pred, outcome, config) -> None:
    global _plots_note_given
    weights = config.get("sample_weights")
    if outcome is not None and outcome.per_class is not None:
        logger.log("per_class_metrics", ".csv", lambda p: outcome.per_class.to_csv(p, index=False),
                   CsvEvaluationArtifact)
    if not plots.available():
        if not _plots_note_given:
            _logger.warning("matplotlib is not installed, so evaluation plots are not logged "
                            "(pip install 'lighttrack[evaluate]')")
            _plots_note_given = True
        return
    if model_type == "regressor":
        logger.log("residuals_plot", ".png", plots.residuals(data.labels, y_pred), ImageEvaluationArtifact)
        return
    binary = len(outcome.labels) == 2
    for kind, name in (("roc", "roc_curve_plot"), ("pr", "precision_recall_curve_plot")):
        if kind in outcome.curves:
            logger.log(name, ".png", plots.curve(outcome.curves[kind], kind, binary), ImageEvaluationArtifact)
    logger.log("confusion_matrix", ".png", plots.confusion_matrix(data.labels, y_pred, outcome.labels, weights),
               ImageEvaluationArtifact)


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    predictions: str | None = None,
    feature_names: list[str] | None = None,
    evaluators: str | list[str] | None = None,
    evaluator_config: dict[str, Any] | None = None,
    extra_metrics: list[Any] | None = None,
    baseline_model: Any = None,
    validation_thresholds: dict[str, MetricThreshold] | None = None,
    env_manager: str = "local",
    model_config: dict[str, Any] | None = None,
    model_id: str | None = None,
) -> EvaluationResult:
    """Evaluate a classifier or regressor on ``data``; log metrics and plots to the run.

    ``model``: a model URI (``runs:/``, ``models:/``, a folder), a loaded pyfunc model, a
    function of the features, or None with ``predictions=`` naming the data column of outputs.
    ``evaluator_config``: MLflow's default-evaluator keys (pos_label, label_list, average,
    sample_weights, metric_prefix, max_classes_for_multiclass_roc_pr).
    ``model_id``: the logged model the metrics also belong to (MLflow 3); by default the one a
    ``models:/<model_id>`` URI or a loaded model names."""
    import lighttrack.fluent as fluent

    if env_manager != "local":
        raise InvalidArgument(f"env_manager must be 'local' (the model runs in this interpreter), not {env_manager!r}")
    if model_config is not None:
        raise InvalidArgument("model_config is not supported by lighttrack's evaluate; load the model yourself "
                              "and pass the loaded model")
    config = _check_arguments(model_type, evaluators, evaluator_config, extra_metrics, baseline_model,
                              validation_thresholds)
    prepared = prepare(data, targets, predictions, feature_names, needs_predictions_column=model is None)
    predictor = predictor_for(model)
    metrics, (y_pred, outcome) = _compute(predictor, prepared, model_type, config, predictions, extra_metrics)
    baseline_metrics = None
    if baseline_model is not None:
        baseline_metrics, _ = _compute(predictor_for(baseline_model), prepared, model_type, config, predictions,
                                       extra_metrics)

    from lighttrack.models.evaluation.record import ArtifactLogger, log_evaluation_metrics

    active = fluent.active_run()
    with contextlib.nullcontext(active) if active is not None else fluent.start_run() as run:
        client = fluent._client()
        if model_id is not None:
            client.get_logged_model(model_id)  # an unknown id is refused before anything is written
        log_evaluation_metrics(client, run.info.run_id, metrics, model_id or _model_id_of(model, client))
        logger = ArtifactLogger(client, run.info.run_id, config.get("metric_prefix", ""))
        _log_artifacts(logger, model_type, prepared, y_pred, outcome, config)
    result = EvaluationResult(metrics, logger.artifacts, run.info.run_id, baseline_metrics)
    # the artifacts' local copies live as long as the result that can read them
    weakref.finalize(result, shutil.rmtree, str(logger.folder), True)
    if validation_thresholds is not None:
        # after logging, as MLflow 2 did: the run keeps the numbers that failed the gate
        validate_metrics(validation_thresholds, metrics, baseline_metrics or {})
    return result


def _model_id_of(model: Any, client: Any) -> str | None:
    """The logged model that ``model`` is, when it names one (MLflow 3 links the metrics)."""
    from lighttrack.models.uri import logged_model_id

    if isinstance(model, str):
        found = logged_model_id(model)
    else:
        found = getattr(getattr(model, "metadata", None), "model_id", None)
    if not found:
        return None
    from lighttrack.errors import NotFound

    try:
        client.get_logged_model(found)
    except NotFound:  # a model loaded from a folder may carry an id this file does not have
        return None
    return found
