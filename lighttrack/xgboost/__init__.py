"""``lighttrack.xgboost``: XGBoost models in MLflow's format, as ``mlflow.xgboost``.

Saved with XGBoost's own ``save_model`` (UBJSON by default, or JSON): a data format, not
pickle. A scikit-learn style estimator (``XGBClassifier``...) is saved the same way (XGBoost
keeps its sklearn attributes in the booster file) and rebuilt from it on load. MLflow builds
whatever class the MLmodel file names; here the class must be one of XGBoost's own
(``MODEL_CLASSES``), so the file cannot choose what code runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "xgboost"
EXTRA = "xgboost"
MODEL_FORMATS = ("ubj", "json")
#: The only classes a model file may ask for (MLflow imports any class the file names).
MODEL_CLASSES = {
    "xgboost.core.Booster": ("xgboost.core", "Booster"),
    "xgboost.sklearn.XGBClassifier": ("xgboost.sklearn", "XGBClassifier"),
    "xgboost.sklearn.XGBRegressor": ("xgboost.sklearn", "XGBRegressor"),
    "xgboost.sklearn.XGBRanker": ("xgboost.sklearn", "XGBRanker"),
    "xgboost.sklearn.XGBRFClassifier": ("xgboost.sklearn", "XGBRFClassifier"),
    "xgboost.sklearn.XGBRFRegressor": ("xgboost.sklearn", "XGBRFRegressor"),
}


def _xgboost():
    from lighttrack.models.flavor import require

    return require("xgboost", EXTRA, FLAVOR_NAME)


def _class_name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__name__}"


def _predictor(model: Any):
    xgb = _xgboost()
    if isinstance(model, xgb.Booster):
        return lambda data: model.predict(xgb.DMatrix(data))
    return model.predict


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write an XGBoost Booster or sklearn-API estimator as an MLflow model folder at ``path``."""
    from lighttrack.models import flavor

    xgb = _xgboost()
    if model_format not in MODEL_FORMATS:
        raise InvalidArgument(f"model_format must be one of {', '.join(MODEL_FORMATS)}, not {model_format!r}")
    model_class = _class_name(xgb_model)
    if model_class not in MODEL_CLASSES:
        raise InvalidArgument(
            f"xgb_model must be an xgboost Booster or one of its sklearn estimators "
            f"({', '.join(sorted(MODEL_CLASSES))}), not {model_class}"
        )
    flavor.check_code_paths(code_paths)
    folder = flavor.new_model_folder(path)
    data = f"model.{model_format}"
    xgb_model.save_model(str(folder / data))
    meta = flavor.start_model(folder, input_example=input_example, signature=signature,
                              predict=_predictor(xgb_model), run_id=_run_id, artifact_path=_artifact_path,
                              metadata=metadata)
    code = flavor.copy_code_paths(folder, code_paths)
    return flavor.finish_model(
        meta, folder, flavor=FLAVOR_NAME, loader_module="mlflow.xgboost", model_path=None, code=code,
        flavor_conf={"xgb_version": xgb.__version__, "data": data, "model_class": model_class,
                     "model_format": model_format},
        packages=["xgboost"], pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements,
        pyfunc_conf={"data": data},
    )


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save ``xgb_model`` into the active run (started if none) and register it when asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _load(folder: Path, meta: Model) -> Any:
    from lighttrack.models.files import flavor_conf, inside

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    model_class = conf.get("model_class", "xgboost.core.Booster")
    if model_class not in MODEL_CLASSES:
        raise ModelError(
            f"the xgboost model at {folder} asks for class {model_class!r}; lighttrack builds only "
            f"{', '.join(sorted(MODEL_CLASSES))}"
        )
    import importlib

    _xgboost()
    module, cls = MODEL_CLASSES[model_class]
    model = getattr(importlib.import_module(module), cls)()
    try:
        model.load_model(str(inside(folder, conf.get("data", "model.ubj"), "MLmodel's xgboost.data")))
    except Exception as exc:  # xgboost's own parser refused the file
        raise ModelError(f"the xgboost model at {folder} could not be read: {exc}") from None
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *, verify: bool = True) -> Any:
    """The Booster or sklearn-API estimator, from any model URI or folder (``verify=False``:
    a model without file hashes, such as MLflow's)."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load(folder, meta)


class _XGBModelWrapper:
    def __init__(self, model: Any) -> None:
        self.raw_model = model
        self._predict = _predictor(model)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> _XGBModelWrapper:
    return _XGBModelWrapper(_load(folder, meta))


def autolog(*args: Any, **kwargs: Any) -> None:
    """Log params, per-iteration eval metrics, feature importance and the model of every
    ``xgboost.train`` and sklearn-API ``fit`` (see ``lighttrack.xgboost.autologging``)."""
    from lighttrack.xgboost.autologging import autolog as _autolog

    _autolog(*args, **kwargs)
