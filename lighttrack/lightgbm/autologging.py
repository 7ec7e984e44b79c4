"""``lighttrack.lightgbm.autolog()``: log every ``lightgbm.train`` and sklearn-API ``fit``.

Logged, under MLflow's names: the params (and ``num_boost_round`` ...), each validation
metric per iteration as ``<valid name>-<metric>`` with the iteration as step,
``best_iteration``/``stopped_iteration`` after early stopping, feature importance as
``feature_importance_split.json`` and ``feature_importance_gain.json``, and the model (native
text; an ``LGBMClassifier`` is logged as itself and rebuilt from its booster on load). The
loop itself is shared with XGBoost (``lighttrack.models.booster_autolog``).
"""

from __future__ import annotations

from typing import Any

from lighttrack.models import booster_autolog
from lighttrack.models.patching import Integration, metric_name, sample_rows

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

    train = booster_autolog.patched_train(integration, _UNLOGGED, _LogEvalMetrics, _finish_train)
    for owner in (lgb, lightgbm.engine, lightgbm.sklearn):
        integration.patch(owner, "train", train)
    from lighttrack.lightgbm import SKLEARN_CLASSES

    # LGBMClassifier etc. override fit: patch every class that defines its own (the depth
    # guard keeps a subclass's fit calling super().fit one logged training)
    for cls in (lightgbm.sklearn.LGBMModel, *(getattr(lightgbm.sklearn, name) for name in SKLEARN_CLASSES.values())):
        if "fit" in vars(cls):
            integration.patch(cls, "fit", booster_autolog.patched_fit(integration, _finish_fit))


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


def _finish_train(call: dict[str, Any], history: list[dict[str, float]], train) -> Any:
    # LightGBM frees a Dataset's raw data once it is constructed: take the rows first
    raw = getattr(call["train_set"], "data", None)
    rows = integration.safely("take example rows", lambda: sample_rows(raw)) if raw is not None else None
    booster = train()
    _after_training(booster, history, booster, rows, booster.predict)
    return booster


def _finish_fit(estimator: Any, X: Any, fit) -> Any:
    rows = integration.safely("take example rows", lambda: sample_rows(X))
    result = fit()
    _after_training(estimator.booster_, integration.history, estimator, rows, estimator.predict)
    return result


def _after_training(booster: Any, history: list[dict[str, float]], model: Any, rows: Any, predict) -> None:
    import lighttrack.lightgbm

    if booster.best_iteration > 0 and history:
        best = int(booster.best_iteration)  # LightGBM counts iterations from 1
        booster_autolog.log_best_iteration(integration, len(history), best, history[best - 1], len(history))
    names = booster.feature_name()
    booster_autolog.log_importances(integration, {
        kind: lambda kind=kind: {n: float(v) for n, v in zip(names, booster.feature_importance(importance_type=kind))}
        for kind in _IMPORTANCE_TYPES})
    booster_autolog.log_trained_model(integration, lighttrack.lightgbm.log_model, model, lambda: rows, predict)
