"""``lighttrack.xgboost.autolog()``: log every ``xgboost.train`` and sklearn-API ``fit``.

Logged, under MLflow's names: the booster params (and ``num_boost_round`` ...), each eval
metric per iteration as ``<eval name>-<metric>`` with the iteration as step,
``best_iteration``/``stopped_iteration`` after early stopping, feature importance as
``feature_importance_<type>.json``, and the model (native UBJ/JSON, with a signature inferred
from the first training rows). ``XGBClassifier.fit`` is one run with the classifier as its
model, not a second run for the ``xgboost.train`` inside it. The loop itself is shared with
LightGBM (``lighttrack.models.booster_autolog``).
"""

from __future__ import annotations

from typing import Any

from lighttrack.models import booster_autolog
from lighttrack.models.patching import Integration, metric_name, sample_rows

integration = Integration("xgboost")
_UNLOGGED = ("params", "dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks",
             "learning_rates", "custom_metric")


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Turn XGBoost autologging on (or off with ``disable=True``); MLflow's switches."""
    if not integration.configure(
        disable, importance_types=importance_types or ["weight"], log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures, log_models=log_models, exclusive=exclusive, silent=silent,
        registered_model_name=registered_model_name, model_format=model_format, extra_tags=extra_tags,
    ):
        return
    from lighttrack.xgboost import _xgboost

    xgb = _xgboost()
    import xgboost.sklearn
    import xgboost.training

    train = booster_autolog.patched_train(integration, _UNLOGGED, lambda: _callback(xgb), _finish_train)
    for owner in (xgb, xgboost.training, xgboost.sklearn):
        integration.patch(owner, "train", train)
    from lighttrack.xgboost import MODEL_CLASSES

    # XGBClassifier etc. override fit: patch every class that defines its own (the depth
    # guard keeps a subclass's fit calling super().fit one logged training)
    estimators = [xgboost.sklearn.XGBModel, *(getattr(xgboost.sklearn, cls) for module, cls in MODEL_CLASSES.values()
                                              if module == "xgboost.sklearn")]
    fit = booster_autolog.patched_fit(integration, _finish_fit)
    for cls in estimators:
        if "fit" in vars(cls):
            integration.patch(cls, "fit", fit)


def _callback(xgb: Any):
    class LogEvalMetrics(xgb.callback.TrainingCallback):
        """Each iteration's eval results, logged with the iteration as step."""

        def __init__(self) -> None:
            self.history: list[dict[str, float]] = []

        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            import lighttrack

            metrics = {metric_name(f"{data}-{name}"): float(values[-1] if not isinstance(values[-1], tuple)
                                                          else values[-1][0])
                       for data, by_metric in evals_log.items() for name, values in by_metric.items()}
            if metrics:
                integration.safely("log metrics", lambda: lighttrack.log_metrics(metrics, step=epoch))
            self.history.append(metrics)
            return False

    return LogEvalMetrics()


def _finish_train(call: dict[str, Any], history: list[dict[str, float]], train) -> Any:
    from lighttrack.xgboost import _xgboost

    xgb = _xgboost()
    booster = train()
    _after_training(booster, history, call.get("early_stopping_rounds"),
                    lambda: sample_rows(call["dtrain"].get_data()), booster,
                    lambda rows: booster.predict(xgb.DMatrix(rows)))
    return booster


def _finish_fit(estimator: Any, X: Any, fit) -> Any:
    result = fit()
    _after_training(estimator.get_booster(), integration.history, getattr(estimator, "early_stopping_rounds", None),
                    lambda: sample_rows(X), estimator, estimator.predict)
    return result


def _after_training(booster: Any, history: list[dict[str, float]], early_stopping: Any, rows, model: Any,
                    predict) -> None:
    import lighttrack.xgboost

    config = integration.config
    if early_stopping and history:
        best = int(booster.best_iteration)  # xgboost counts iterations from 0
        booster_autolog.log_best_iteration(integration, len(history) - 1, best,
                                           history[best] if best < len(history) else None, len(history))
    booster_autolog.log_importances(integration, {
        kind: lambda kind=kind: booster.get_score(importance_type=kind) for kind in config["importance_types"]})
    booster_autolog.log_trained_model(integration, lighttrack.xgboost.log_model, model, rows, predict,
                                      model_format=config["model_format"])
