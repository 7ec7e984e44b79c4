"""``lighttrack.tensorflow``: TensorFlow models in MLflow's format, as ``mlflow.tensorflow``.

A ``tf.keras`` model is saved as ``data/model.keras`` (what MLflow writes on TF >= 2.16) and
loaded with Keras' ``safe_mode``; a ``tf.Module`` is saved as a SavedModel (``tf2model/``).
MLflow imports whatever module ``data/keras_module.txt`` names and unpickles saved custom
objects; here the module must be a Keras one (``KERAS_MODULES``) and pickled custom objects
load only with ``allow_pickle``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature, TensorSpec

FLAVOR_NAME = "tensorflow"
EXTRA = "tensorflow"
DATA_DIR = "data"
TF2_DIR = "tf2model"
SAVE_FORMAT_FILE = "save_format.txt"
MODEL_TYPE_KERAS = "keras"
MODEL_TYPE_TF2_MODULE = "tf2-module"
#: What ``keras_module.txt`` may name; anything else is refused rather than imported.
KERAS_MODULES = ("tensorflow.keras", "keras", "tf_keras")
_PICKLED_CUSTOM_OBJECTS = ("custom_objects.cloudpickle", "global_custom_objects.cloudpickle")


def _tensorflow():
    from lighttrack.models.flavor import require

    return require("tensorflow", EXTRA, FLAVOR_NAME)


def _check_signature(signature: Any) -> None:
    """MLflow's rule: a TensorFlow signature is tensors whose first dimension is the batch."""
    if not isinstance(signature, ModelSignature) or signature.inputs is None:
        return
    for spec in signature.inputs.inputs:
        if not isinstance(spec, TensorSpec):
            raise InvalidArgument("a tensorflow model's signature inputs must all be tensors (TensorSpec)")
        if not spec.shape or spec.shape[0] != -1:
            raise InvalidArgument("a tensorflow model's signature tensors must have -1 (any) as first dimension")


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    saved_model_kwargs: dict[str, Any] | None = None,
    keras_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Write a ``tf.keras`` model or a ``tf.Module`` as an MLflow model folder at ``path``."""
    from lighttrack.keras import KerasWrapper, save_keras_file
    from lighttrack.models import flavor

    tf = _tensorflow()
    import keras

    is_keras = isinstance(model, keras.Model)
    if not is_keras and not isinstance(model, tf.Module):
        raise InvalidArgument(f"model must be a tf.keras Model or a tf.Module, not {type(model).__name__}")
    if keras_model_kwargs and keras_model_kwargs.get("save_format", "tf") != "tf":
        raise InvalidArgument("keras_model_kwargs save_format must be 'tf' (written as .keras); h5 is not written")
    _check_signature(signature)
    flavor.check_code_paths(code_paths)
    folder = flavor.new_model_folder(path)
    if is_keras:
        save_keras_file(model, folder, "tensorflow.keras")
        (folder / DATA_DIR / SAVE_FORMAT_FILE).write_text("tf")
        predict = KerasWrapper(model).predict
        conf = {"data": DATA_DIR, "model_type": MODEL_TYPE_KERAS, "keras_version": tf.__version__, "save_format": "tf"}
        pyfunc_conf = {"data": DATA_DIR}
    else:
        tf.saved_model.save(model, str(folder / TF2_DIR), **(saved_model_kwargs or {}))
        predict = _ModuleWrapper(model).predict
        conf = {"saved_model_dir": TF2_DIR, "model_type": MODEL_TYPE_TF2_MODULE}
        pyfunc_conf = {}
    meta = flavor.start_model(folder, input_example=input_example, signature=signature, predict=predict,
                              run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    code = flavor.copy_code_paths(folder, code_paths)
    from importlib import metadata as package_metadata

    try:
        package_metadata.version("tensorflow-cpu")
        package = "tensorflow-cpu"
    except package_metadata.PackageNotFoundError:
        package = "tensorflow"
    return flavor.finish_model(
        meta, folder, flavor=FLAVOR_NAME, loader_module="mlflow.tensorflow", model_path=None, code=code,
        flavor_conf=conf, packages=[package], pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, pyfunc_conf=pyfunc_conf,
    )


def log_model(
    model: Any,
    artifact_path: str | None = None,
    custom_objects: Any = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    saved_model_kwargs: dict[str, Any] | None = None,
    keras_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    **kwargs: Any,  # MLflow 3's params, tags, model_type, step, model_id
) -> ModelInfo:
    """Save the model into the active run (started if none) and register it when asked."""
    arguments = dict(locals())
    if custom_objects is not None:
        raise InvalidArgument("custom_objects are not saved (MLflow pickles them); pass them to load_model instead")
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, arguments)


def _model_type(conf: dict[str, Any]) -> str:
    found = conf.get("model_type")
    if found is not None:
        return found
    return MODEL_TYPE_KERAS if "data" in conf else "tf1-estimator"  # files from old MLflow versions


def _custom_objects(data: Path, given: dict[str, Any] | None, allow_pickle: bool | None,
                    add_code: Callable[[], Any]) -> dict[str, Any] | None:
    from lighttrack.pyfunc import pickle_allowed, refuse_pickle

    pickled = [data / name for name in _PICKLED_CUSTOM_OBJECTS if (data / name).is_file()]
    if not pickled:
        return given
    if not pickle_allowed(allow_pickle):
        raise refuse_pickle(f"the custom objects saved with the model in {data.parent}")
    add_code()
    import cloudpickle

    found: dict[str, Any] = {}
    for file in pickled:
        with open(file, "rb") as f:
            found.update(cloudpickle.load(f))
    return {**found, **(given or {})}


def _load(folder: Path, meta: Model, allow_pickle: bool | None, custom_objects: dict[str, Any] | None = None,
          keras_model_kwargs: dict[str, Any] | None = None, saved_model_kwargs: dict[str, Any] | None = None) -> Any:
    from lighttrack.keras import KERAS_MODULE_FILE, MODEL_NAME, load_keras_file
    from lighttrack.models.code_paths import add_model_code
    from lighttrack.models.files import flavor_conf, inside

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    kind = _model_type(conf)
    tf = _tensorflow()
    if kind == MODEL_TYPE_TF2_MODULE:
        return tf.saved_model.load(str(inside(folder, conf.get("saved_model_dir", TF2_DIR), "MLmodel's tensorflow.saved_model_dir")),
                                   **(saved_model_kwargs or {}))
    if kind != MODEL_TYPE_KERAS:
        raise ModelError(f"the tensorflow model at {folder} is a {kind!r} model; lighttrack loads "
                         f"{MODEL_TYPE_KERAS!r} and {MODEL_TYPE_TF2_MODULE!r} models")
    data = inside(folder, conf.get("data", DATA_DIR), "MLmodel's tensorflow.data")
    module_file = data / KERAS_MODULE_FILE
    module = module_file.read_text().strip() if module_file.is_file() else "tensorflow.keras"
    if module not in KERAS_MODULES:
        raise ModelError(f"{module_file} names module {module!r}; lighttrack loads Keras models only through "
                         f"{', '.join(KERAS_MODULES)}")
    save_format = conf.get("save_format", "h5")
    target = data / MODEL_NAME
    if save_format == "h5":
        target = target.with_suffix(".h5")
    elif target.with_suffix(".keras").exists():
        target = target.with_suffix(".keras")
    else:
        raise ModelError(f"the keras model at {folder} is a TF<2.16 SavedModel folder, which Keras 3 cannot load")
    objects = _custom_objects(data, custom_objects, allow_pickle, lambda: add_model_code(folder, meta, FLAVOR_NAME))
    return load_keras_file(target, objects, allow_pickle,
                           keras_model_kwargs)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None,
               saved_model_kwargs: dict[str, Any] | None = None, keras_model_kwargs: dict[str, Any] | None = None,
               *, custom_objects: dict[str, Any] | None = None, allow_pickle: bool | None = None,
               verify: bool = True) -> Any:
    """The Keras model or the loaded ``tf.Module`` (SavedModel), from any model URI or folder
    (``verify=False``: a model without file hashes, such as MLflow's)."""
    from lighttrack.models.files import opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        return _load(folder, meta, allow_pickle, custom_objects, keras_model_kwargs, saved_model_kwargs)


class _ModuleWrapper:
    """MLflow's tf.Module contract: an array in, the module called on it, an array out."""

    def __init__(self, module: Any) -> None:
        self.raw_model = module

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import tensorflow as tf

        if type(data).__name__ == "DataFrame":
            data = data.to_numpy()
        if not isinstance(data, (np.ndarray, list)):
            raise InvalidArgument(f"a tf.Module predicts from a numpy array or list, not {type(data).__name__}")
        result = self.raw_model(tf.convert_to_tensor(data))
        return result.numpy() if isinstance(result, tf.Tensor) else result


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> Any:
    from lighttrack.keras import KerasWrapper

    model = _load(folder, meta, allow_pickle)
    if _model_type(meta.flavors[FLAVOR_NAME]) == MODEL_TYPE_TF2_MODULE:
        return _ModuleWrapper(model)
    return KerasWrapper(model)


def autolog(*args: Any, **kwargs: Any) -> None:
    """Keras autologging for ``tf.keras`` (the same callback as ``lighttrack.keras.autolog``)."""
    from lighttrack.keras.autologging import autolog as _autolog

    _autolog(*args, **kwargs)
