"""``lighttrack.keras``: Keras 3 models in MLflow's format, as ``mlflow.keras``.

Saved as a ``.keras`` archive (config JSON + weights), on whatever backend Keras runs
(TensorFlow, JAX, PyTorch); the backend is recorded. Loaded with ``safe_mode=True``, which
refuses the one part of the format that is code (a ``Lambda`` layer's marshalled bytecode);
``allow_pickle=True`` lifts it for a file you trust. Custom layers load only when the caller
passes them (``custom_objects``), never because a file names a module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "keras"
EXTRA = "keras"
DATA_DIR = "data"
MODEL_NAME = "model"
KERAS_MODULE_FILE = "keras_module.txt"


def _keras():
    from lighttrack.models.flavor import require

    return require("keras", EXTRA, FLAVOR_NAME)


def save_keras_file(model: Any, folder: Path, keras_module: str) -> None:
    """``data/model.keras`` plus ``data/keras_module.txt``, the layout both MLflow flavours use."""
    data = folder / DATA_DIR
    data.mkdir(parents=True)
    (data / KERAS_MODULE_FILE).write_text(keras_module)
    try:
        model.save(str(data / f"{MODEL_NAME}.keras"))
    except Exception as exc:
        raise ModelError(f"keras could not save this model: {exc}") from None


def load_keras_file(path: Path, custom_objects: dict[str, Any] | None, allow_pickle: bool | None,
                    extra_kwargs: dict[str, Any] | None = None) -> Any:
    """A ``.keras``/``.h5`` file, in safe mode unless pickle-like code is explicitly allowed."""
    from lighttrack.pyfunc import pickle_allowed

    keras = _keras()
    kwargs = dict(extra_kwargs or {})
    if "safe_mode" in kwargs:
        raise InvalidArgument("safe_mode is decided by allow_pickle: pass allow_pickle=True to lift it")
    try:
        return keras.saving.load_model(str(path), custom_objects=custom_objects,
                                       safe_mode=not pickle_allowed(allow_pickle), **kwargs)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise ModelError(
                f"{path.name} holds a Lambda layer, whose Python bytecode runs when loaded; load it only if you "
                "trust where it came from, with allow_pickle=True or LIGHTTRACK_ALLOW_PICKLE=1"
            ) from None
        raise ModelError(f"keras could not load {path.name}: {exc}") from None


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    save_exported_model: bool = False,
    conda_env: Any = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write a Keras 3 model as an MLflow model folder (``.keras`` format) at ``path``."""
    from lighttrack.models import flavor

    keras = _keras()
    if save_exported_model:
        raise InvalidArgument("save_exported_model=True is not supported; use lighttrack.tensorflow for SavedModels")
    if not isinstance(model, keras.Model):
        raise InvalidArgument(f"model must be a keras.Model, not {type(model).__name__}")
    folder = flavor.new_model_folder(path)
    save_keras_file(model, folder, "keras")
    meta = flavor.start_model(folder, input_example=input_example, signature=signature,
                              predict=KerasWrapper(model).predict, run_id=_run_id, artifact_path=_artifact_path,
                              metadata=metadata)
    return flavor.finish_model(
        meta, folder, flavor=FLAVOR_NAME, loader_module="mlflow.keras", model_path=None, flavor_has_code=False,
        flavor_conf={"data": DATA_DIR, "keras_version": keras.__version__, "keras_backend": keras.backend.backend(),
                     "save_exported_model": False},
        packages=["keras", _backend_package(keras)], pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
    )


def _backend_package(keras: Any) -> str:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from importlib import metadata

        try:
            metadata.version("tensorflow-cpu")
            return "tensorflow-cpu"
        except metadata.PackageNotFoundError:
            return "tensorflow"
    return {"torch": "torch", "jax": "jax"}.get(backend, backend)


def log_model(
    model: Any,
    artifact_path: str | None = None,
    save_exported_model: bool = False,
    conda_env: Any = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save the Keras model into the active run (started if none) and register it when asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _load(folder: Path, meta: Model, custom_objects: dict[str, Any] | None, allow_pickle: bool | None,
          load_model_kwargs: dict[str, Any] | None = None) -> Any:
    from lighttrack.models.files import flavor_conf, inside

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    target = inside(folder, conf.get("data", DATA_DIR), "MLmodel's keras.data")
    if target.is_dir():
        target = target / MODEL_NAME
    if conf.get("save_exported_model"):
        from lighttrack.models.flavor import require

        return require("tensorflow", "tensorflow", FLAVOR_NAME).saved_model.load(str(target))
    return load_keras_file(target.with_name(target.name + ".keras"), custom_objects, allow_pickle, load_model_kwargs)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None,
               custom_objects: dict[str, Any] | None = None, load_model_kwargs: dict[str, Any] | None = None,
               *, allow_pickle: bool | None = None, verify: bool = True) -> Any:
    """The Keras model, from any model URI or folder (``verify=False``: a model without file
    hashes, such as MLflow's)."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load(folder, meta, custom_objects, allow_pickle, load_model_kwargs)


class KerasWrapper:
    """MLflow's Keras predict contract: a DataFrame in gives a DataFrame out, arrays give arrays."""

    def __init__(self, model: Any, exported: bool = False) -> None:
        self.raw_model = model
        self._call = model.serve if exported else (lambda x: model.predict(x, verbose=0))

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        if type(data).__name__ == "DataFrame":
            import pandas as pd

            return pd.DataFrame(np.asarray(self._call(data.values)), index=data.index)
        if not isinstance(data, (np.ndarray, list, tuple, dict)):
            raise InvalidArgument(f"input must be a numpy array, list, dict or DataFrame, not {type(data).__name__}")
        result = self._call(data)
        return np.asarray(result) if not isinstance(result, (dict, list, tuple)) else result


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> KerasWrapper:
    return KerasWrapper(_load(folder, meta, None, allow_pickle),
                        exported=bool(meta.flavors.get(FLAVOR_NAME, {}).get("save_exported_model")))


def autolog(*args: Any, **kwargs: Any) -> None:
    """Log per-epoch metrics, optimiser params and the model of every ``Model.fit`` (a callback;
    see ``lighttrack.keras.autologging``)."""
    from lighttrack.keras.autologging import autolog as _autolog

    _autolog(*args, **kwargs)
