"""``lighttrack.sklearn.autolog()``: log every scikit-learn ``fit`` without changing the code.

On fit: a run is started if none is active (and ended after), the estimator's params, training
metrics, the training set (a dataset input, context "train") and the model with a signature are
logged, and the estimator class is tagged. Search
estimators (GridSearchCV, RandomizedSearchCV...) also log the best params and one child run per
candidate. ``autolog(disable=True)`` puts every original ``fit`` back.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from typing import Any

log = logging.getLogger("lighttrack")

_originals: dict[type, Any] = {}
_state = threading.local()
_config: dict[str, Any] = {}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = None,
    log_post_training_metrics: bool = True,
    serialization_format: str = "skops",
    registered_model_name: str | None = None,
    log_datasets: bool = True,
    **_: Any,
) -> None:
    if disable:
        for cls, fit in _originals.items():
            cls.fit = fit
        _originals.clear()
        return
    _config.update(
        log_input_examples=log_input_examples, log_model_signatures=log_model_signatures,
        log_models=log_models, max_tuning_runs=max_tuning_runs, silent=silent,
        serialization_format=serialization_format, registered_model_name=registered_model_name,
        log_datasets=log_datasets,
    )
    from sklearn.utils import all_estimators

    for _, estimator_class in all_estimators():
        # Patch fit where it is defined (often an abstract base such as BaseForest).
        owner = next((k for k in estimator_class.__mro__ if "fit" in k.__dict__), None)
        if owner is None or owner in _originals or owner.__module__.startswith("builtins"):
            continue
        _originals[owner] = owner.__dict__["fit"]
        owner.fit = _patched(owner.__dict__["fit"])


def _patched(original):
    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        if getattr(_state, "depth", 0):  # a fit inside a fit (ensembles, search CV): not a new run
            return original(self, *args, **kwargs)
        _state.depth = 1
        try:
            return _logged_fit(original, self, args, kwargs)
        finally:
            _state.depth = 0

    fit.__lighttrack_autolog__ = True
    return fit


def _logged_fit(original, estimator, args, kwargs):
    import lighttrack

    started = lighttrack.active_run() is None
    run = lighttrack.start_run() if started else lighttrack.active_run()
    try:
        result = original(estimator, *args, **kwargs)
    except BaseException:
        if started:
            lighttrack.end_run("FAILED")
        raise
    try:
        _log_fitted(estimator, run.info.run_id, args, kwargs)
    except Exception as exc:  # logging must never break the user's training
        if not _config.get("silent"):
            log.warning("lighttrack autolog: could not log %s: %s", type(estimator).__name__, exc)
    finally:
        if started:
            lighttrack.end_run()
    return result


def _params(estimator: Any) -> dict[str, str]:
    from lighttrack.validation import MAX_PARAM_VALUE_LENGTH

    out = {}
    for key, value in estimator.get_params(deep=True).items():
        text = str(value)
        if len(text) > MAX_PARAM_VALUE_LENGTH:
            log.warning("lighttrack autolog: param %s is %d characters; not logged", key, len(text))
            continue
        out[key] = text
    return out


def _log_fitted(estimator: Any, run_id: str, args: tuple, kwargs: dict) -> None:
    import lighttrack

    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    client = lighttrack.MlflowClient()
    client.log_batch(run_id, params=[lighttrack.Param(k, v) for k, v in _params(estimator).items()])
    client.set_tag(run_id, "estimator_name", type(estimator).__name__)
    client.set_tag(run_id, "estimator_class", f"{type(estimator).__module__}.{type(estimator).__name__}")
    training_set = _training_set(X, y) if _config.get("log_datasets", True) else None
    if training_set is not None:
        client.log_inputs(run_id, [training_set])
    metrics = _training_metrics(estimator, X, y)
    if metrics:
        lighttrack.log_metrics(metrics, run_id=run_id)
    if hasattr(estimator, "cv_results_"):
        _log_search(estimator, run_id, client, training_set)
    if _config.get("log_models", True) and X is not None:
        _log_model(estimator, X)


def _training_set(X: Any, y: Any) -> Any:
    """The training data as MLflow's autolog logs it: a dataset input with context "train",
    its source the code that ran (a DataFrame without y, as MLflow; arrays with y as targets;
    sparse matrices densified). A y that is a list or Series is made an array first (MLflow's
    digest fails on those and logs nothing). None, with a warning, when it cannot be described."""
    from lighttrack.data.code_dataset_source import code_source
    from lighttrack.entities import DatasetInput, InputTag

    try:
        import numpy as np

        from lighttrack.data import from_numpy, from_pandas

        if X is None:
            return None
        if type(X).__name__ == "DataFrame" and hasattr(X, "dtypes"):
            dataset = from_pandas(X, source=code_source())
        else:
            if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse
                X = X.toarray()
            if hasattr(y, "toarray") and hasattr(y, "nnz"):
                y = y.toarray()
            if not isinstance(X, np.ndarray):
                log.warning("lighttrack autolog: unrecognized dataset type %s; dataset logging skipped", type(X).__name__)
                return None
            targets = None if y is None else y if isinstance(y, np.ndarray) else np.asarray(y)
            dataset = from_numpy(X, targets=targets, source=code_source())
        return DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", "train")])
    except Exception as exc:  # describing the data must never break the user's training
        log.warning("lighttrack autolog: failed to log training dataset information: %s", exc)
        return None


def _training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    if X is None or y is None or not hasattr(estimator, "predict"):
        return {}
    from sklearn import metrics as m
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}

    def attempt(name: str, compute) -> None:
        try:
            value = float(compute())
        except Exception:
            return
        if not math.isnan(value):
            out[name] = value

    predicted = estimator.predict(X)
    if is_classifier(estimator):
        attempt("training_accuracy_score", lambda: m.accuracy_score(y, predicted))
        attempt("training_precision_score", lambda: m.precision_score(y, predicted, average="weighted", zero_division=0))
        attempt("training_recall_score", lambda: m.recall_score(y, predicted, average="weighted", zero_division=0))
        attempt("training_f1_score", lambda: m.f1_score(y, predicted, average="weighted", zero_division=0))
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            attempt("training_log_loss", lambda: m.log_loss(y, proba, labels=estimator.classes_))
            if proba.shape[1] == 2:
                attempt("training_roc_auc", lambda: m.roc_auc_score(y, proba[:, 1]))
            else:
                attempt("training_roc_auc", lambda: m.roc_auc_score(y, proba, multi_class="ovr", average="weighted",
                                                                    labels=estimator.classes_))
    elif is_regressor(estimator):
        attempt("training_mean_squared_error", lambda: m.mean_squared_error(y, predicted))
        attempt("training_root_mean_squared_error", lambda: math.sqrt(m.mean_squared_error(y, predicted)))
        attempt("training_mean_absolute_error", lambda: m.mean_absolute_error(y, predicted))
        attempt("training_r2_score", lambda: m.r2_score(y, predicted))
    if hasattr(estimator, "score"):
        attempt("training_score", lambda: estimator.score(X, y))
    return out


def _log_search(search: Any, parent_id: str, client, training_set: Any = None) -> None:
    """Best params/score on the parent; one child run per candidate (best ranks first), each
    with the training set as its input, as MLflow's."""
    import lighttrack
    from lighttrack.util import now_ms

    results = search.cv_results_
    best = getattr(search, "best_params_", None) or {}
    client.log_batch(parent_id, params=[lighttrack.Param(f"best_{k}", str(v)) for k, v in best.items()])
    if getattr(search, "best_score_", None) is not None:
        client.log_metric(parent_id, "best_cv_score", float(search.best_score_))
    ranks = list(results.get("rank_test_score", range(1, len(results["params"]) + 1)))
    order = sorted(range(len(results["params"])), key=lambda i: ranks[i])
    limit = _config.get("max_tuning_runs")
    if limit is not None:
        order = order[:limit]
    parent = client.get_run(parent_id).info
    for i in order:
        child = client.create_run(
            parent.experiment_id, run_name=f"{parent.run_name}-candidate-{i}",
            tags={"mlflow.parentRunId": parent_id, "mlflow.autologging": "sklearn"},
        ).info.run_id
        metrics = []
        for key, values in results.items():
            if not key.startswith(("mean_test", "std_test", "rank_test", "mean_train", "std_train")):
                continue
            try:
                metrics.append(lighttrack.Metric(key, float(values[i]), now_ms(), 0))
            except (TypeError, ValueError):
                continue
        client.log_batch(child, metrics=metrics,
                         params=[lighttrack.Param(k, str(v)) for k, v in results["params"][i].items()])
        if training_set is not None:
            client.log_inputs(child, [training_set])
        client.set_terminated(child)


def _log_model(estimator: Any, X: Any) -> None:
    import lighttrack.sklearn

    signature = None
    example = None
    try:
        sample = X[:5] if not hasattr(X, "iloc") else X.iloc[:5]
        if _config.get("log_model_signatures", True) and hasattr(estimator, "predict"):
            from lighttrack.models.signature import infer_signature

            signature = infer_signature(sample, estimator.predict(sample))
        if _config.get("log_input_examples"):
            example = sample
    except Exception:  # a signature is a courtesy: the model is logged without one
        signature = None
    model = getattr(estimator, "best_estimator_", None) or estimator
    lighttrack.sklearn.log_model(
        model, name="model", signature=signature or False, input_example=example,
        serialization_format=_config.get("serialization_format", "skops"),
        registered_model_name=_config.get("registered_model_name"),
    )
