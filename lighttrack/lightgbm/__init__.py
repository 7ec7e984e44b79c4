"""``lighttrack.lightgbm``: LightGBM models in MLflow's format, as ``mlflow.lightgbm``.

A Booster is saved as LightGBM's own text model (``model.lgb``), as MLflow does. A
scikit-learn style estimator (``LGBMClassifier``...) is where MLflow pickles (CVE-2024-37056)
or, in 3.17, writes skops that trusts whatever types the file lists. Here it is rebuilt on load
from its booster text plus a small JSON of its sklearn state (params, classes, feature count):
no pickle, no skops parsing. A skops copy is written beside it only so ``mlflow.lightgbm``
can load the model too; lighttrack never reads it. MLflow-saved sklearn-API models load here
from their skops file against lighttrack's own allow-list (never the file's), or from pickle
only with ``allow_pickle``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "lightgbm"
EXTRA = "lightgbm"
BOOSTER_FILE = "model.lgb"
SKOPS_FILE = "model.skops"
#: lighttrack's rebuild recipe for sklearn-API estimators (never read by MLflow).
SKLEARN_STATE_FILE = "lgb_sklearn.json"
BOOSTER_CLASS = "lightgbm.basic.Booster"
SKLEARN_CLASSES = {
    "lightgbm.sklearn.LGBMClassifier": "LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor": "LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker": "LGBMRanker",
}
#: What an MLflow-written skops file may contain; decided here, not by the file.
SKOPS_TRUSTED = sorted({"collections.OrderedDict", "collections.defaultdict", BOOSTER_CLASS, *SKLEARN_CLASSES})


_FILE_PARAM_PARTS = ("file", "output", "input_model", "convert", "path", "dir")


def _lightgbm():
    from lighttrack.models.flavor import require

    return require("lightgbm", EXTRA, FLAVOR_NAME)


def _class_name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__name__}"


def _sklearn_state(model: Any) -> dict[str, Any]:
    """What ``fit`` leaves on an estimator besides the booster, as JSON."""
    params = model.get_params(deep=False)
    unsaveable = sorted(k for k, v in params.items() if callable(v))
    if unsaveable:
        raise InvalidArgument(
            f"this {type(model).__name__} has callable params ({', '.join(unsaveable)}) that a booster file "
            "cannot hold; save model.booster_ instead"
        )
    try:
        json.dumps(params)
    except TypeError as exc:
        raise InvalidArgument(f"the params of this {type(model).__name__} cannot be saved as JSON: {exc}") from None
    classes = getattr(model, "_classes", None)
    try:
        return _fitted_state(model, params, classes)
    except AttributeError as exc:  # a LightGBM whose estimator keeps its fitted state elsewhere
        raise ModelError(f"cannot read this {type(model).__name__}'s fitted state ({exc}); save model.booster_ "
                         "instead") from None


def _fitted_state(model: Any, params: dict[str, Any], classes: Any) -> dict[str, Any]:
    return {
        "model_class": _class_name(model),
        "params": params,
        "objective": model._objective,
        "n_features": model._n_features,
        "n_features_in": model._n_features_in,
        "fitted_with_feature_names": bool(model._fitted_with_feature_names),
        "best_iteration": int(model._best_iteration or 0),
        "classes": None if classes is None else classes.tolist(),
        "classes_dtype": None if classes is None else str(classes.dtype),
    }


def _rebuild(state: dict[str, Any], booster: Any) -> Any:
    import numpy as np

    lgb = _lightgbm()
    cls_name = SKLEARN_CLASSES.get(state.get("model_class", ""))
    if cls_name is None:
        raise ModelError(f"{SKLEARN_STATE_FILE} names class {state.get('model_class')!r}; "
                         f"lighttrack rebuilds only {', '.join(sorted(SKLEARN_CLASSES))}")
    params = state.get("params") or {}
    if not isinstance(params, dict):
        raise ModelError(f"{SKLEARN_STATE_FILE} holds no params mapping")
    # LightGBM params that name files are how a crafted model would make it read or write one
    touching = sorted(k for k in params if any(part in str(k).lower() for part in _FILE_PARAM_PARTS))
    if touching:
        raise ModelError(f"{SKLEARN_STATE_FILE} sets LightGBM params that name files ({', '.join(touching)}); "
                         "the model was not loaded")
    model = getattr(lgb, cls_name)(**params)
    model._Booster = booster
    model._objective = state.get("objective")
    model._n_features = int(state["n_features"])
    model._n_features_in = int(state["n_features_in"])
    model._fitted_with_feature_names = bool(state.get("fitted_with_feature_names"))
    model._best_iteration = int(state.get("best_iteration") or 0)
    model._evals_result = {}
    if state.get("classes") is not None:
        from lightgbm.compat import _LGBMLabelEncoder

        classes = np.asarray(state["classes"], dtype=np.dtype(state["classes_dtype"]))
        model._le = _LGBMLabelEncoder().fit(classes)
        model._classes = model._le.classes_
        model._n_classes = len(model._classes)
        model._class_map = dict(zip(model._le.classes_, model._le.transform(model._le.classes_)))
    model.fitted_ = True
    return model


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write a LightGBM Booster or sklearn-API estimator as an MLflow model folder at ``path``."""
    from lighttrack.models import flavor

    lgb = _lightgbm()
    model_class = _class_name(lgb_model)
    is_booster = isinstance(lgb_model, lgb.Booster)
    if not is_booster and model_class not in SKLEARN_CLASSES:
        raise InvalidArgument(
            f"lgb_model must be a lightgbm Booster or one of {', '.join(sorted(SKLEARN_CLASSES))}, not {model_class}"
        )
    if not is_booster and not getattr(lgb_model, "fitted_", False):
        raise InvalidArgument(f"this {type(lgb_model).__name__} is not fitted: call fit() before saving it")
    state = None if is_booster else _sklearn_state(lgb_model)
    flavor.check_code_paths(code_paths)
    folder = flavor.new_model_folder(path)
    booster = lgb_model if is_booster else lgb_model.booster_
    booster.save_model(str(folder / BOOSTER_FILE))
    trusted = None
    data = BOOSTER_FILE
    if state is not None:
        import skops.io

        (folder / SKLEARN_STATE_FILE).write_text(json.dumps(state))
        skops_bytes = skops.io.dumps(lgb_model)
        (folder / SKOPS_FILE).write_bytes(skops_bytes)
        trusted = sorted(set(skops.io.get_untrusted_types(data=skops_bytes)))
        data = SKOPS_FILE
    meta = flavor.start_model(folder, input_example=input_example, signature=signature, predict=lgb_model.predict,
                              run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    code = flavor.copy_code_paths(folder, code_paths)
    return flavor.finish_model(
        meta, folder, flavor=FLAVOR_NAME, loader_module="mlflow.lightgbm", model_path=None, code=code,
        flavor_conf={"lgb_version": lgb.__version__, "data": data, "model_class": model_class,
                     "serialization_format": "skops", "skops_trusted_types": trusted},
        packages=["lightgbm"] if is_booster else ["lightgbm", "scikit-learn", "skops"],
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements, pyfunc_conf={"data": data},
    )


def log_model(
    lgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save ``lgb_model`` into the active run (started if none) and register it when asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _load(folder: Path, meta: Model, allow_pickle: bool | None = None, trusted_types: list[str] | None = None) -> Any:
    from lighttrack.models.files import flavor_conf, inside

    lgb = _lightgbm()
    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    model_class = conf.get("model_class", BOOSTER_CLASS)
    if model_class == BOOSTER_CLASS:
        return _read_booster(inside(folder, conf.get("data", BOOSTER_FILE), "MLmodel's lightgbm.data"), lgb)
    if model_class not in SKLEARN_CLASSES:
        raise ModelError(f"the lightgbm model at {folder} asks for class {model_class!r}; lighttrack loads only "
                         f"{', '.join(sorted([BOOSTER_CLASS, *SKLEARN_CLASSES]))}")
    if (folder / SKLEARN_STATE_FILE).is_file() and (folder / BOOSTER_FILE).is_file():
        try:
            state = json.loads((folder / SKLEARN_STATE_FILE).read_text())
        except ValueError as exc:
            raise ModelError(f"{folder / SKLEARN_STATE_FILE} is not valid JSON: {exc}") from None
        if not isinstance(state, dict):
            raise ModelError(f"{folder / SKLEARN_STATE_FILE} is not a JSON object")
        booster = _read_booster(folder / BOOSTER_FILE, lgb)
        try:
            return _rebuild(state, booster)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{folder / SKLEARN_STATE_FILE} cannot rebuild the estimator ({exc!r})") from None
    return _load_mlflow_sklearn(folder, meta, conf, inside(folder, conf.get("data", SKOPS_FILE), "MLmodel's lightgbm.data"),
                                allow_pickle, trusted_types)


def _read_booster(path: Path, lgb: Any) -> Any:
    try:
        return lgb.Booster(model_file=str(path))
    except Exception as exc:  # LightGBM's own parser refused the file
        raise ModelError(f"the lightgbm model file {path.name} could not be read: {exc}") from None


def _load_mlflow_sklearn(folder: Path, meta: Model, conf: dict[str, Any], data: Path, allow_pickle: bool | None,
                         trusted_types: list[str] | None) -> Any:
    """An MLflow-saved LGBMClassifier/Regressor: skops against our allow-list, or pickle if allowed."""
    fmt = conf.get("serialization_format", "cloudpickle")
    if fmt == "skops":
        from lighttrack.models.trust import load_skops

        model = load_skops(data.read_bytes(), [*SKOPS_TRUSTED, *(trusted_types or [])],
                           f"the lightgbm skops model at {folder}", conf.get("skops_trusted_types"))
        if _class_name(model) not in SKLEARN_CLASSES:
            raise ModelError(f"the lightgbm model at {folder} holds a {_class_name(model)}, not "
                             f"one of {', '.join(sorted(SKLEARN_CLASSES))}; it was not loaded")
        return model
    if fmt not in ("pickle", "cloudpickle"):
        raise ModelError(f"unknown serialization_format {fmt!r} in {folder}/MLmodel")
    from lighttrack.pyfunc import pickle_allowed, refuse_pickle

    if not pickle_allowed(allow_pickle):
        raise refuse_pickle(f"the lightgbm model at {folder}")
    from lighttrack.models.code_paths import add_model_code

    add_model_code(folder, meta, FLAVOR_NAME)
    import cloudpickle

    with open(data, "rb") as f:
        return cloudpickle.load(f)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *,
               allow_pickle: bool | None = None, trusted_types: list[str] | None = None, verify: bool = True) -> Any:
    """The Booster or sklearn-API estimator, from any model URI or folder. ``trusted_types``
    and ``allow_pickle`` only matter for MLflow-saved sklearn-API models (skops or pickle);
    ``verify=False`` loads a model without file hashes (MLflow's)."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load(folder, meta, allow_pickle, trusted_types)


class _LGBModelWrapper:
    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None,
                 trusted_types: list[str] | None = None) -> _LGBModelWrapper:
    return _LGBModelWrapper(_load(folder, meta, allow_pickle, trusted_types))


def autolog(*args: Any, **kwargs: Any) -> None:
    """Log params, per-iteration eval metrics, feature importance and the model of every
    ``lightgbm.train`` and sklearn-API ``fit`` (see ``lighttrack.lightgbm.autologging``)."""
    from lighttrack.lightgbm.autologging import autolog as _autolog

    _autolog(*args, **kwargs)
