"""``lighttrack.sklearn``: scikit-learn models in MLflow's format, as ``mlflow.sklearn``.

Default format is skops, which loads without running pickled code. skops refuses types it does
not know unless they are trusted (MLflow 3.17 fails on a plain RandomForest's ``Tree`` for that
reason); here the types of the estimator being saved are trusted at save time, recorded in the
MLmodel (``skops_trusted_types``, the field MLflow reads too), and on load only those types are
accepted. ``pickle``/``cloudpickle`` are available when asked for, and load only with
``allow_pickle=True`` or ``LIGHTTRACK_ALLOW_PICKLE=1``.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model, record_hashes
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
        import skops.io

        try:
            data = skops.io.dumps(sk_model)
        except Exception as exc:
            raise ModelError(
                f"skops cannot save this model ({exc}); pass serialization_format='cloudpickle' "
                "(loading it will then need allow_pickle=True)"
            ) from None
        # Trust exactly the types of the estimator being saved; loading accepts only these.
        found = skops.io.get_untrusted_types(data=data)
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
    from lighttrack.models.environment import requirements_for, write_environment
    from lighttrack.models.examples import save_input_example
    from lighttrack.models.signature import infer_signature

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidArgument(
            f"serialization_format must be one of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)}, "
            f"not {serialization_format!r}"
        )
    if not hasattr(sk_model, "fit"):
        raise InvalidArgument(f"sk_model must be a scikit-learn estimator, not {type(sk_model).__name__}")
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidArgument(f"{folder} already exists and is not empty: choose a new path")
    data, trusted = _serialize(sk_model, serialization_format, skops_trusted_types)
    folder.mkdir(parents=True, exist_ok=True)
    model_file = _FILES[serialization_format]
    (folder / model_file).write_bytes(data)

    import sklearn

    meta = Model(artifact_path=_artifact_path, run_id=_run_id, metadata=metadata)
    if input_example is not None:
        meta.saved_input_example_info = save_input_example(folder, input_example)
        if signature is None and hasattr(sk_model, pyfunc_predict_fn):
            try:
                signature = infer_signature(input_example, getattr(sk_model, pyfunc_predict_fn)(input_example))
            except Exception:  # an example the model cannot predict on: keep it, skip the signature
                signature = None
    meta.signature = signature or None
    packages = ["scikit-learn", "numpy", "scipy",
                "skops" if serialization_format == SERIALIZATION_FORMAT_SKOPS else serialization_format]
    requirements = pip_requirements or requirements_for(
        [p for p in packages if p != SERIALIZATION_FORMAT_PICKLE], extra_pip_requirements
    )
    env = write_environment(folder, requirements, conda_env)
    if hasattr(sk_model, pyfunc_predict_fn):
        meta.add_flavor(
            PYFUNC, loader_module="mlflow.sklearn", model_path=model_file, predict_fn=pyfunc_predict_fn,
            env=env, python_version=platform.python_version(), code=None,
        )
    meta.add_flavor(
        FLAVOR_NAME, pickled_model=model_file, sklearn_version=sklearn.__version__,
        serialization_format=serialization_format, code=None, skops_trusted_types=trusted,
    )
    record_hashes(meta, folder)
    meta.save(folder / "MLmodel")
    return meta


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
    **_: Any,
) -> ModelInfo:
    """Save ``sk_model`` into the active run (started if none) at ``name``/``artifact_path``
    (default "model"), and register it as ``registered_model_name`` when given."""
    from lighttrack.models.logged import artifact_path_of, log_model_folder

    path = artifact_path_of(artifact_path, name)

    def save(folder: Path, run_id: str, rel: str) -> Model:
        shutil.rmtree(folder)
        return save_model(
            sk_model, folder, conda_env=conda_env, serialization_format=serialization_format, signature=signature,
            input_example=input_example, pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements, pyfunc_predict_fn=pyfunc_predict_fn,
            metadata=metadata, skops_trusted_types=skops_trusted_types, _run_id=run_id, _artifact_path=rel,
        )

    return log_model_folder(save, path, registered_model_name)


def _load_estimator(folder: Path, meta: Model, allow_pickle: bool | None) -> Any:
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise ModelError(f"model at {folder} has no sklearn flavor (it has: {', '.join(meta.flavors)})")
    fmt = conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE)
    data = (folder / conf.get("pickled_model", _FILES.get(fmt, "model.pkl"))).read_bytes()
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        import skops.io
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            return skops.io.loads(data, trusted=conf.get("skops_trusted_types") or [])
        except UntrustedTypesFoundException as exc:
            raise ModelError(
                f"the skops model at {folder} holds types that were not recorded as trusted when it was "
                f"saved ({exc}); it was not loaded"
            ) from None
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ModelError(f"unknown serialization format {fmt!r} in {folder}/MLmodel")
    if not pickle_allowed(allow_pickle):
        raise refuse_pickle(f"the sklearn model at {folder}")
    if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle

        return cloudpickle.loads(data)
    import pickle

    return pickle.loads(data)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *,
               allow_pickle: bool | None = None) -> Any:
    """The scikit-learn estimator itself, from any model URI or folder."""
    from lighttrack.pyfunc import open_model_folder

    folder, meta, tmp = open_model_folder(model_uri, dst_path)
    try:
        return _load_estimator(folder, meta, allow_pickle)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


class _SklearnModel:
    def __init__(self, estimator: Any, predict_fn: str) -> None:
        self.raw_model = estimator
        self._predict = getattr(estimator, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> _SklearnModel:
    conf = meta.flavors.get(PYFUNC, {})
    return _SklearnModel(_load_estimator(folder, meta, allow_pickle), conf.get("predict_fn", "predict"))


def autolog(*args: Any, **kwargs: Any) -> None:
    """Log params, training metrics and the model on every ``fit`` (see sklearn_autolog)."""
    from lighttrack.sklearn_autolog import autolog as _autolog

    _autolog(*args, **kwargs)


def get_default_pip_requirements(include_cloudpickle: bool = False) -> list[str]:
    """What a saved scikit-learn model lists in requirements.txt by default (installed versions)."""
    from lighttrack.models.environment import requirements_for

    return requirements_for(["scikit-learn", "numpy", "scipy", "skops"] + (["cloudpickle"] if include_cloudpickle else []))


def get_default_conda_env(include_cloudpickle: bool = False) -> dict[str, Any]:
    """MLflow's ``mlflow.sklearn.get_default_conda_env``: the conda environment of a saved model."""
    from lighttrack.models.environment import get_default_conda_env as conda_env

    return conda_env(get_default_pip_requirements(include_cloudpickle))
