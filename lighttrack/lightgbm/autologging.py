"""``lighttrack.lightgbm.autolog()``: log every ``lightgbm.train`` and sklearn-API ``fit``.

Logged, under MLflow's names: the params (and ``num_boost_round`` ...), each validation
metric per iteration as ``<valid name>-<metric>`` with the iteration as step,
``best_iteration``/``stopped_iteration`` after early stopping, feature importance as
``feature_importance_split.json`` and ``feature_importance_gain.json``, and the model (native
text; an ``LGBMClassifier`` is logged as itself and rebuilt from its booster on load).
"""

from __future__ import annotations

import inspect
from typing import Any

from lighttrack.models.patching import Integration, metric_name, params_text, sample_rows

integration = Integration("lightgbm")
_UNLOGGED = ("params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model",
             "evals_result", "learning_rates", "callbacks")
_IMPORTANCE_TYPES = ("split", "gain")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Turn LightGBM autologging on (or off with ``disable=True``); MLflow's switches."""
    if not integration.configure(
        disable, log_input_examples=log_input_examples, log_model_signatures=log_model_signatures,
        log_models=log_models, exclusive=exclusive, silent=silent, registered_model_name=registered_model_name,
        extra_tags=extra_tags,
    ):
        return
    from lighttrack.lightgbm import _lightgbm

    lgb = _lightgbm()
    import lightgbm.engine
    import lightgbm.sklearn

    for owner in (lgb, lightgbm.engine, lightgbm.sklearn):
        integration.patch(owner, "train", _patched_train)
    from lighttrack.lightgbm import SKLEARN_CLASSES

    # LGBMClassifier etc. override fit: patch every class that defines its own (the depth
    # guard keeps a subclass's fit calling super().fit one logged training)
    for cls in (lightgbm.sklearn.LGBMModel, *(getattr(lightgbm.sklearn, name) for name in SKLEARN_CLASSES.values())):
        if "fit" in vars(cls):
            integration.patch(cls, "fit", _patched_fit)


class _LogEvalMetrics:
    """A LightGBM callback: each iteration's validation results, logged with the iteration as step."""

    order = 100  # after LightGBM's own callbacks (early stopping raises before this runs)

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []

    def __call__(self, env: Any) -> None:
        import lighttrack

        metrics = {metric_name(f"{data}-{name}"): float(value)
                   for data, name, value, *_ in env.evaluation_result_list or []}
        if metrics:
            integration.safely("log metrics", lambda: lighttrack.log_metrics(metrics, step=env.iteration))
        self.history.append(metrics)


def _patched_train(original):
    def train(*args: Any, **kwargs: Any) -> Any:
        if not integration.wants_run():
            return original(*args, **kwargs)
        bound = inspect.signature(original).bind(*args, **kwargs)
        bound.apply_defaults()
        call = dict(bound.arguments)
        recorder = _LogEvalMetrics()
        call["callbacks"] = [*(call.get("callbacks") or []), recorder]
        if integration.depth > 0:  # inside an estimator's fit, which logs params and the model
            integration.history = recorder.history
            return original(**call)
        with integration.training(), integration.managed_run():
            import lighttrack

            logged = {**(call.get("params") or {}),
                      **{k: v for k, v in call.items() if k not in _UNLOGGED and v is not None}}
            integration.safely("log params", lambda: lighttrack.log_params(params_text(logged)))
            train_set = call["train_set"]
            raw = getattr(train_set, "data", None)
            rows = integration.safely("take example rows", lambda: sample_rows(raw)) if raw is not None else None
            booster = original(**call)
            _after_training(booster, recorder.history, booster, rows, booster.predict)
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
            rows = integration.safely("take example rows", lambda: sample_rows(X))
            result = original(self, X, *args, **kwargs)
            _after_training(self.booster_, integration.history, self, rows, self.predict)
            return result

    return fit


def _after_training(booster: Any, history: list[dict[str, float]], model: Any, rows: Any, predict) -> None:
    import lighttrack

    config = integration.config
    if booster.best_iteration > 0 and history:
        best = int(booster.best_iteration)

        def log_best() -> None:
            lighttrack.log_metrics({"stopped_iteration": len(history), "best_iteration": best})
            if history[best - 1]:
                lighttrack.log_metrics(history[best - 1], step=len(history))

        integration.safely("log the best iteration", log_best)
    names = booster.feature_name()
    for kind in _IMPORTANCE_TYPES:
        integration.safely(f"log {kind} feature importance", lambda kind=kind: lighttrack.log_dict(
            {n: float(v) for n, v in zip(names, booster.feature_importance(importance_type=kind))},
            f"feature_importance_{kind}.json"))
    if config["log_models"]:
        integration.safely("log the model", lambda: _log_model(model, rows, predict))


def _log_model(model: Any, rows: Any, predict) -> None:
    import lighttrack.lightgbm
    from lighttrack.models.signature import infer_signature

    config = integration.config
    signature = None
    if rows is not None and config["log_model_signatures"]:
        signature = integration.safely("infer a signature", lambda: infer_signature(rows, predict(rows)))
    lighttrack.lightgbm.log_model(model, name="model", signature=signature or False,
                                  input_example=rows if config["log_input_examples"] else None,
                                  registered_model_name=config["registered_model_name"])
