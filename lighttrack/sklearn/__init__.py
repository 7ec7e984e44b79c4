"""``lighttrack.sklearn``: scikit-learn models in MLflow's format, as ``mlflow.sklearn``.

Default format is skops, which loads without running pickled code. What a skops file may build
is decided here, on load, never by the file: the types its schema names must be scikit-learn,
numpy or scipy classes (lighttrack.models.trust) or be named by the caller
(``trusted_types=``, CLI ``--trust``). The types found at save time are still written to MLmodel
as ``skops_trusted_types`` because MLflow 3.17 reads that field (it refuses a forest's ``Tree``
otherwise). ``pickle``/``cloudpickle`` are available when asked for, and load only with
``allow_pickle=True`` or ``LIGHTTRACK_ALLOW_PICKLE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature
from lighttrack.pyfunc import FLAVOR_NAME as PYFUNC, pickle_allowed, refuse_pickle

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_PICKLE,
                                   SERIALIZATION_FORMAT_CLOUDPICKLE)
_FILES = {SERIALIZATION_FORMAT_SKOPS: "model.skops", SERIALIZATION_FORMAT_PICKLE: "model.pkl",
          SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl"}


def _serialize(sk_model: Any, fmt: str, trusted: list[str] | None) -> tuple[bytes, list[str] | None]:
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        from lighttrack.models.skops_import import skops_io

        skops = skops_io()
        try:
            data = skops.dumps(sk_model)
        except Exception as exc:
            raise ModelError(
                f"skops cannot save this model ({exc}); pass serialization_format='cloudpickle' "
                "(loading it will then need allow_pickle=True)"
            ) from None
        # Trust exactly the types of the estimator being saved; loading accepts only these.
        found = skops.get_untrusted_types(data=data)
        return data, sorted(set(found) | set(trusted or []))
    if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle

        return cloudpickle.dumps(sk_model), None
    import pickle

    return pickle.dumps(sk_model, protocol=pickle.HIGHEST_PROTOCOL), None


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: Any = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write ``sk_model`` as an MLflow model folder at ``path`` (which must be new or empty)."""
    from lighttrack.models.flavor import copy_code_paths, finish_model, new_model_folder, start_model

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidArgument(
            f"serialization_format must be one of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)}, "
            f"not {serialization_format!r}"
        )
    if not hasattr(sk_model, "fit"):
        raise InvalidArgument(f"sk_model must be a scikit-learn estimator, not {type(sk_model).__name__}")
    target = Path(path)
    if target.exists() and any(target.iterdir()):
        raise InvalidArgument(f"{target} already exists and is not empty: choose a new path")
    data, trusted = _serialize(sk_model, serialization_format, skops_trusted_types)
    folder = new_model_folder(target)
    model_file = _FILES[serialization_format]
    (folder / model_file).write_bytes(data)

    import sklearn

    predict = getattr(sk_model, pyfunc_predict_fn, None)
    meta = start_model(folder, input_example=input_example, signature=signature, predict=predict,
                       run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    packages = ["scikit-learn", "numpy", "scipy"] + (
        [] if serialization_format == SERIALIZATION_FORMAT_PICKLE else [serialization_format])
    return finish_model(
        meta, folder, flavor=FLAVOR_NAME,
        flavor_conf=dict(pickled_model=model_file, sklearn_version=sklearn.__version__,
                         serialization_format=serialization_format, skops_trusted_types=trusted),
        loader_module="mlflow.sklearn" if predict is not None else None, model_path=model_file,
        pyfunc_conf={"predict_fn": pyfunc_predict_fn}, packages=packages, pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code=copy_code_paths(folder, code_paths),
        conda_env=conda_env,
    )


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: Any = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save ``sk_model`` into the active run (started if none) at ``name``/``artifact_path``
    (default "model"), and register it as ``registered_model_name`` when given."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _load_estimator(folder: Path, meta: Model, allow_pickle: bool | None,
                    trusted_types: list[str] | None = None) -> Any:
    from lighttrack.models.files import flavor_conf, inside

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ModelError(f"unknown serialization format {fmt!r} in {folder}/MLmodel")
    data = inside(folder, conf.get("pickled_model", _FILES.get(fmt, "model.pkl")), "MLmodel's pickled_model").read_bytes()
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        return _load_skops(data, folder, conf, trusted_types)
    if not pickle_allowed(allow_pickle):
        raise refuse_pickle(f"the sklearn model at {folder}")
    from lighttrack.models.code_paths import add_model_code

    add_model_code(folder, meta, FLAVOR_NAME)
    if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle

        return cloudpickle.loads(data)
    import pickle

    return pickle.loads(data)


def _load_skops(data: bytes, folder: Path, conf: dict[str, Any], trusted_types: list[str] | None) -> Any:
    from lighttrack.models.trust import load_skops

    return load_skops(data, trusted_types, f"the skops model at {folder}", conf.get("skops_trusted_types") or [])


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *,
               allow_pickle: bool | None = None, trusted_types: list[str] | None = None,
               verify: bool = True) -> Any:
    """The scikit-learn estimator itself, from any model URI or folder.

    ``trusted_types`` names extra types a skops file may hold (beyond what fitted estimators
    are made of: ``lighttrack.models.trust.is_allowed_class``); ``verify=False`` loads a model
    without file hashes (MLflow's), with a warning."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load_estimator(folder, meta, allow_pickle, trusted_types)


class _SklearnModel:
    def __init__(self, estimator: Any, predict_fn: str) -> None:
        self.raw_model = estimator
        self._predict = getattr(estimator, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None,
                 trusted_types: list[str] | None = None) -> _SklearnModel:
    conf = meta.flavors.get(PYFUNC, {})
    return _SklearnModel(_load_estimator(folder, meta, allow_pickle, trusted_types),
                         conf.get("predict_fn", "predict"))


def autolog(*args: Any, **kwargs: Any) -> None:
    """Log params, training metrics and the model on every ``fit`` (see .autologging)."""
    from lighttrack.sklearn.autologging import autolog as _autolog

    _autolog(*args, **kwargs)


def get_default_pip_requirements(include_cloudpickle: bool = False) -> list[str]:
    """What a saved scikit-learn model lists in requirements.txt by default (installed versions)."""
    from lighttrack.models.environment import requirements_for

    return requirements_for(["scikit-learn", "numpy", "scipy", "skops"] + (["cloudpickle"] if include_cloudpickle else []))


def get_default_conda_env(include_cloudpickle: bool = False) -> dict[str, Any]:
    """MLflow's ``mlflow.sklearn.get_default_conda_env``: the conda environment of a saved model."""
    from lighttrack.models.environment import get_default_conda_env as conda_env

    return conda_env(get_default_pip_requirements(include_cloudpickle))
