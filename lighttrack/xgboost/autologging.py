"""``lighttrack.xgboost.autolog()``: log every ``xgboost.train`` and sklearn-API ``fit``.

Logged, under MLflow's names: the booster params (and ``num_boost_round`` ...), each eval
metric per iteration as ``<eval name>-<metric>`` with the iteration as step,
``best_iteration``/``stopped_iteration`` after early stopping, feature importance as
``feature_importance_<type>.json``, and the model (native UBJ/JSON, with a signature inferred
from the first training rows). ``XGBClassifier.fit`` is one run with the classifier as its
model, not a second run for the ``xgboost.train`` inside it.
"""

from __future__ import annotations

import inspect
from typing import Any

from lighttrack.models.patching import Integration, metric_name, params_text, sample_rows

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

    for owner in (xgb, xgboost.training, xgboost.sklearn):
        integration.patch(owner, "train", _patched_train)
    from lighttrack.xgboost import MODEL_CLASSES

    # XGBClassifier etc. override fit: patch every class that defines its own (the depth
    # guard keeps a subclass's fit calling super().fit one logged training)
    estimators = [xgboost.sklearn.XGBModel, *(getattr(xgboost.sklearn, cls) for module, cls in MODEL_CLASSES.values()
                                              if module == "xgboost.sklearn")]
    for cls in estimators:
        if "fit" in vars(cls):
            integration.patch(cls, "fit", _patched_fit)


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


def _patched_train(original):
    def train(*args: Any, **kwargs: Any) -> Any:
        if not integration.wants_run():
            return original(*args, **kwargs)
        from lighttrack.xgboost import _xgboost

        xgb = _xgboost()
        inside_fit = integration.depth > 0
        bound = inspect.signature(original).bind(*args, **kwargs)
        bound.apply_defaults()
        call = dict(bound.arguments)
        recorder = _callback(xgb)
        call["callbacks"] = [*(call.get("callbacks") or []), recorder]
        if inside_fit:  # the estimator's fit logs params and the model; only metrics come from here
            integration.history = recorder.history
            return original(**call)
        with integration.training(), integration.managed_run():
            import lighttrack

            logged = {**(call.get("params") or {}),
                      **{k: v for k, v in call.items() if k not in _UNLOGGED and v is not None}}
            integration.safely("log params", lambda: lighttrack.log_params(params_text(logged)))
            booster = original(**call)
            _after_training(booster, recorder.history, call.get("early_stopping_rounds"),
                            lambda: sample_rows(call["dtrain"].get_data()), booster,
                            lambda rows: booster.predict(xgb.DMatrix(rows)))
            return booster

    return train


def _patched_fit(original):
    def fit(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        if integration.depth > 0 or not integration.wants_run():
            return original(self, X, *args, **kwargs)
        with integration.training(), integration.managed_run():
            import lighttrack

            integration.safely("log params", lambda: lighttrack.log_params(params_text(self.get_params())))
            integration.history = []
            result = original(self, X, *args, **kwargs)
            _after_training(self.get_booster(), integration.history, getattr(self, "early_stopping_rounds", None),
                            lambda: sample_rows(X), self, self.predict)
            return result

    return fit


def _after_training(booster: Any, history: list[dict[str, float]], early_stopping: Any, rows, model: Any,
                    predict) -> None:
    import lighttrack

    config = integration.config
    if early_stopping and history:
        best = int(booster.best_iteration)

        def log_best() -> None:
            lighttrack.log_metrics({"stopped_iteration": len(history) - 1, "best_iteration": best})
            if best < len(history) and history[best]:
                lighttrack.log_metrics(history[best], step=len(history))

        integration.safely("log the best iteration", log_best)
    for kind in config["importance_types"]:
        integration.safely(f"log {kind} feature importance", lambda kind=kind: lighttrack.log_dict(
            booster.get_score(importance_type=kind), f"feature_importance_{kind}.json"))
    if config["log_models"]:
        integration.safely("log the model", lambda: _log_model(model, rows, predict))


def _log_model(model: Any, rows, predict) -> None:
    import lighttrack.xgboost
    from lighttrack.models.signature import infer_signature

    config = integration.config
    example = signature = None
    if config["log_input_examples"] or config["log_model_signatures"]:
        sample = integration.safely("take example rows", rows)
        if sample is not None:
            if config["log_model_signatures"]:
                signature = integration.safely("infer a signature", lambda: infer_signature(sample, predict(sample)))
            if config["log_input_examples"]:
                example = sample
    lighttrack.xgboost.log_model(model, name="model", signature=signature or False, input_example=example,
                                 model_format=config["model_format"],
                                 registered_model_name=config["registered_model_name"])
