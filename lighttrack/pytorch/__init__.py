"""``lighttrack.pytorch``: PyTorch models in MLflow's format, as ``mlflow.pytorch``.

The default ``serialization_format="pt2"`` (MLflow 3.17's default too) saves a ``torch.export``
program traced from the input example: a graph and tensors, no Python class to import. The
archive is checked before ``torch.export.load`` opens it (lighttrack.pytorch.pt2), because that
function itself unpickles some records. ``"pickle"`` (MLflow's older whole-module ``torch.save``)
is there on request and loads only with ``allow_pickle=True``. Files: ``data/model.pt2`` or
``data/model.pth`` + ``data/pickle_module_info.txt``, exactly MLflow's layout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "pytorch"
SERIALIZATION_FORMAT_PT2 = "pt2"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_PT2, SERIALIZATION_FORMAT_PICKLE)
_DATA = "data"
_PT2_FILE = "model.pt2"
_PICKLE_FILE = "model.pth"
_PICKLE_MODULE_INFO = "pickle_module_info.txt"
#: pickle modules a model may name in pickle_module_info.txt; all read with pickle (cloudpickle writes plain pickle)
_PICKLE_MODULES = {"pickle": "pickle", "cloudpickle": "pickle", "mlflow.pytorch.pickle_module": "pickle"}


def _torch():
    from lighttrack.models.flavor import require

    return require("torch", extra="pytorch")


def _example_tensors(torch: Any, input_example: Any) -> tuple[Any, ...]:
    import numpy as np

    items = input_example if isinstance(input_example, (tuple, list)) else (input_example,)
    if not items or not all(isinstance(v, (np.ndarray, torch.Tensor)) for v in items):
        raise InvalidArgument(
            "serialization_format='pt2' traces the model from input_example, which must be a numpy "
            "array or torch tensor (or a tuple of them); pass one, or serialization_format='pickle'"
        )
    return tuple(torch.from_numpy(v) if isinstance(v, np.ndarray) else v for v in items)


def _export(torch: Any, pytorch_model: Any, tensors: tuple[Any, ...], target: Path) -> None:
    # The first dimension is the batch: let torch.export decide whether it can be dynamic
    # (Dim.AUTO keeps a size-1 example from failing, as MLflow does).
    dynamic = [{0: torch.export.Dim.AUTO} if t.dim() else None for t in tensors]
    try:
        program = torch.export.export(pytorch_model, tensors, dynamic_shapes=dynamic)
    except Exception as exc:
        raise ModelError(
            f"torch.export could not trace this model from the input example ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); pass serialization_format='pickle' "
            "(loading it will then need allow_pickle=True)"
        ) from None
    torch.export.save(program, str(target))


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    mlflow_model: Any = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_PT2,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
    **kwargs: Any,
) -> Model:
    """Write ``pytorch_model`` (a ``torch.nn.Module``) as an MLflow model folder at ``path``."""
    from lighttrack.models.flavor import copy_code_paths, finish_model, new_model_folder, start_model
    from lighttrack.models.signature import as_array

    torch = _torch()
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidArgument(f"serialization_format must be one of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)}, "
                              f"not {serialization_format!r}")
    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidArgument(f"pytorch_model must be a torch.nn.Module, not {type(pytorch_model).__name__}")
    tensors = _example_tensors(torch, input_example) if serialization_format == SERIALIZATION_FORMAT_PT2 else ()
    target = Path(path)
    if target.exists() and any(target.iterdir()):
        raise InvalidArgument(f"{target} already exists and is not empty: choose a new path")
    folder = new_model_folder(target)
    data = folder / _DATA
    data.mkdir()
    try:
        if serialization_format == SERIALIZATION_FORMAT_PT2:
            _export(torch, pytorch_model, tensors, data / _PT2_FILE)
            pickle_name = None
        else:
            pickler = pickle_module or _default_pickler()
            pickle_name = pickler.__name__
            (data / _PICKLE_MODULE_INFO).write_text(pickle_name)
            torch.save(pytorch_model, data / _PICKLE_FILE, pickle_module=pickler, **kwargs)
    except BaseException:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise

    def predict(example: Any) -> Any:
        items = _example_tensors(torch, example) if not isinstance(example, torch.Tensor) else (example,)
        with torch.no_grad():
            return as_array(pytorch_model(*items))

    example = as_array(input_example) if input_example is not None and not isinstance(input_example, tuple) else None
    meta = start_model(folder, input_example=example, signature=signature, predict=predict,
                       run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    packages = ["torch", "numpy"] + ([pickle_name] if pickle_name and pickle_name != "pickle" else [])
    code = copy_code_paths(folder, code_paths)
    pyfunc_conf: dict[str, Any] = {"data": _DATA, "model_config": {"device": None}}
    pyfunc_conf["pickle_module_name"] = pickle_name or "mlflow.pytorch.pickle_module"
    return finish_model(
        meta, folder, flavor=FLAVOR_NAME,
        flavor_conf={"model_data": _DATA, "pytorch_version": str(torch.__version__)},
        loader_module="mlflow.pytorch", model_path=None, pyfunc_conf=pyfunc_conf, packages=packages,
        pip_requirements=pip_requirements, extra_pip_requirements=extra_pip_requirements, code=code,
    )


def _default_pickler() -> Any:
    try:
        import cloudpickle

        return cloudpickle
    except ImportError:
        import pickle

        return pickle


def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    pickle_module: Any = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_PT2,
    *,
    name: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save ``pytorch_model`` into the active run (started if none) and register it if asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def _code_adder(folder: Path, meta: Model) -> Callable[[], Any]:
    """Put the model's code_paths on sys.path; called only once pickle is allowed."""
    from lighttrack.models.code_paths import add_model_code

    return lambda: add_model_code(folder, meta, FLAVOR_NAME)


def _load_from_data(data: Path, allow_pickle: bool | None, add_code: Callable[[], Any], device: Any = None) -> Any:
    from lighttrack.pyfunc import pickle_allowed, refuse_pickle

    torch = _torch()
    if (data / _PICKLE_FILE).is_file():
        if not pickle_allowed(allow_pickle):
            raise refuse_pickle(f"the PyTorch model at {data.parent} (serialization_format='pickle')")
        add_code()
        name = (data / _PICKLE_MODULE_INFO).read_text().strip() if (data / _PICKLE_MODULE_INFO).is_file() else "pickle"
        if name not in _PICKLE_MODULES:
            raise ModelError(f"the PyTorch model at {data.parent} names pickle module {name!r}; lighttrack "
                             f"only uses {', '.join(sorted(_PICKLE_MODULES))}")
        import importlib

        pickler = importlib.import_module(_PICKLE_MODULES[name])
        return torch.load(data / _PICKLE_FILE, pickle_module=pickler, weights_only=False, map_location=device)
    archive = data / _PT2_FILE
    if not archive.is_file():
        raise ModelError(f"the PyTorch model at {data.parent} has neither {_PT2_FILE} nor {_PICKLE_FILE} in {data.name}/")
    from lighttrack.pyfunc import pickle_allowed as allowed

    if not allowed(allow_pickle):
        from lighttrack.pytorch.pt2 import check_pt2_archive

        check_pt2_archive(archive)
    return torch.export.load(str(archive)).module()


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *,
               allow_pickle: bool | None = None, verify: bool = True, device: Any = None, **_: Any) -> Any:
    """The model itself: a ``torch.fx.GraphModule`` for pt2 (call it like the module), the
    ``nn.Module`` for pickle."""
    from lighttrack.models.files import flavor_conf, inside, opened_model

    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        conf = flavor_conf(meta, FLAVOR_NAME, folder)
        return _load_from_data(inside(folder, conf.get("model_data", _DATA), "MLmodel's model_data"),
                               allow_pickle, _code_adder(folder, meta), device)


class _TorchPyfunc:
    """predict(DataFrame | ndarray | tensor) -> ndarray, as MLflow's wrapper (float32 frames)."""

    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        from lighttrack.models.signature import as_array

        torch = _torch()
        if type(data).__name__ == "DataFrame":
            data = data.to_numpy(dtype=np.float32)
        elif isinstance(data, (list, dict)):
            raise InvalidArgument("the PyTorch flavour takes a DataFrame, a numpy array or a tensor, not a "
                                  f"{type(data).__name__}")
        tensor = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(data))
        with torch.no_grad():
            out = self.raw_model(tensor, **(params or {}))
        if isinstance(out, (tuple, list)):
            return [as_array(o) for o in out]
        return as_array(out)


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None, **_: Any) -> _TorchPyfunc:
    from lighttrack.models.files import flavor_conf, inside

    conf = meta.flavors.get(FLAVOR_NAME) or flavor_conf(meta, "python_function", folder)
    data = conf.get("model_data") or conf.get("data") or _DATA
    return _TorchPyfunc(_load_from_data(inside(folder, data, "MLmodel's model data"), allow_pickle,
                                        _code_adder(folder, meta)))


def autolog(*args: Any, **kwargs: Any) -> None:
    """PyTorch Lightning autologging, in lighttrack/pytorch/autologging.py where it is present;
    plain PyTorch loops log by hand."""
    try:
        from lighttrack.pytorch.autologging import autolog as _autolog
    except ImportError:
        raise ModelError("lighttrack.pytorch.autolog() covers PyTorch Lightning, which this lighttrack "
                         "does not include yet; log metrics of a plain training loop with log_metric") from None
    _autolog(*args, **kwargs)
