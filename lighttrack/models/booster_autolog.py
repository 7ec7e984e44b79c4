"""The autolog training loop that XGBoost and LightGBM share, written once.

Both libraries train through a module-level ``train(params, data, ..., callbacks=...)`` that
their sklearn-API ``fit`` calls inside, so both are patched the same way: ``train`` gets a
callback recording each iteration's eval metrics; a ``train`` inside a patched ``fit`` only
records (the fit logs params and the model, one training not two); the outermost call runs in
a managed run, logs the params, and after training logs the best iteration, feature
importance and the model. What differs per library (the callback, where example rows come
from, how the best iteration is counted) is passed in by ``lighttrack.xgboost.autologging``
and ``lighttrack.lightgbm.autologging``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lighttrack.models.patching import Integration, params_text

#: ``finish(call, history, train)``: runs ``train()`` (the original with the bound arguments),
#: logs what follows training (``history``: the recorded metrics) and returns the booster
TrainFinish = Callable[[dict[str, Any], list[dict[str, float]], Callable[[], Any]], Any]
#: ``finish(estimator, X, fit)``: runs ``fit()``, logs what follows and returns its result
FitFinish = Callable[[Any, Any, Callable[[], Any]], Any]


def patched_train(integration: Integration, unlogged: tuple[str, ...], recorder: Callable[[], Any],
                  finish: TrainFinish) -> Callable[[Any], Any]:
    """The ``make`` for ``integration.patch(owner, "train", ...)``; ``recorder()`` builds the
    library's callback (it keeps ``.history``, one dict of metrics per iteration)."""

    def make(original: Any) -> Any:
        def train(*args: Any, **kwargs: Any) -> Any:
            if not integration.wants_run():
                return original(*args, **kwargs)
            bound = inspect.signature(original).bind(*args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
            callback = recorder()
            call["callbacks"] = [*(call.get("callbacks") or []), callback]
            if integration.depth > 0:  # inside an estimator's fit, which logs params and the model
                integration.history = callback.history
                return original(**call)
            with integration.training(), integration.managed_run():
                import lighttrack

                logged = {**(call.get("params") or {}),
                          **{k: v for k, v in call.items() if k not in unlogged and v is not None}}
                integration.safely("log params", lambda: lighttrack.log_params(params_text(logged)))
                return finish(call, callback.history, lambda: original(**call))

        return train

    return make


def patched_fit(integration: Integration, finish: FitFinish) -> Callable[[Any], Any]:
    """The ``make`` for ``integration.patch(EstimatorClass, "fit", ...)``: the estimator's
    params, then ``finish`` (the inner ``train`` leaves its metrics in ``integration.history``)."""

    def make(original: Any) -> Any:
        def fit(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
            if integration.depth > 0 or not integration.wants_run():
                return original(self, X, *args, **kwargs)
            with integration.training(), integration.managed_run():
                import lighttrack

                integration.safely("log params", lambda: lighttrack.log_params(params_text(self.get_params())))
                integration.history = []
                return finish(self, X, lambda: original(self, X, *args, **kwargs))

        return fit

    return make


def log_best_iteration(integration: Integration, stopped: int, best: int,
                       best_metrics: dict[str, float] | None, step: int) -> None:
    """After early stopping: MLflow's ``stopped_iteration``/``best_iteration`` and the best
    iteration's metrics again at ``step`` (one past the last iteration)."""
    import lighttrack

    def log() -> None:
        lighttrack.log_metrics({"stopped_iteration": stopped, "best_iteration": best})
        if best_metrics:
            lighttrack.log_metrics(best_metrics, step=step)

    integration.safely("log the best iteration", log)


def log_importances(integration: Integration, importances: dict[str, Callable[[], dict[str, Any]]]) -> None:
    """Each importance type as ``feature_importance_<type>.json`` (MLflow's names)."""
    import lighttrack

    for kind, scores in importances.items():
        integration.safely(f"log {kind} feature importance", lambda kind=kind, scores=scores: lighttrack.log_dict(
            scores(), f"feature_importance_{kind}.json"))


def log_trained_model(integration: Integration, log_model: Callable[..., Any], model: Any,
                      rows: Callable[[], Any], predict: Callable[[Any], Any], **extra: Any) -> None:
    """``log_model(model, name="model", ...)`` with an example and a signature from a few
    training rows, as the switches ask (``rows()`` is only called when one is wanted)."""
    from lighttrack.models.signature import infer_signature

    config = integration.config
    if not config["log_models"]:
        return

    def log() -> None:
        example = signature = None
        if config["log_input_examples"] or config["log_model_signatures"]:
            sample = integration.safely("take example rows", rows)
            if sample is not None:
                if config["log_model_signatures"]:
                    signature = integration.safely("infer a signature",
                                                   lambda: infer_signature(sample, predict(sample)))
                if config["log_input_examples"]:
                    example = sample
        log_model(model, name="model", signature=signature or False, input_example=example,
                  registered_model_name=config["registered_model_name"], **extra)

    integration.safely("log the model", log)
