"""``lighttrack.onnx``: ONNX models in MLflow's format, served through onnxruntime.

An ONNX file is a protobuf graph of standard operators: loading it runs no Python code from the
file, which makes it the portable way to production (``lighttrack models convert URI --to
onnx`` turns a scikit-learn model into one). Two things in it still deserve care and are
checked before onnxruntime opens it: external tensor data must live inside the model folder
(a ``location`` of ``../../etc/passwd`` would read any file) and be covered by the hashes, and
session options from MLmodel are limited to MLflow's thread/mode/optimisation settings
(``extra_session_config`` could point onnxruntime at other files, so it is not taken from it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

FLAVOR_NAME = "onnx"
_DATA = "model.onnx"
ONNX_EXECUTION_PROVIDERS = ["CUDAExecutionProvider", "CPUExecutionProvider"]
_SESSION_KEYS = ("inter_op_num_threads", "intra_op_num_threads", "execution_mode", "graph_optimization_level")


def _onnx():
    from lighttrack.models.flavor import require

    return require("onnx", extra="onnx")


def _runtime():
    from lighttrack.models.flavor import require

    return require("onnxruntime", extra="onnx")


def save_model(
    onnx_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Any = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
    *,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
    **kwargs: Any,
) -> Model:
    """Write ``onnx_model`` (an ``onnx.ModelProto``) as an MLflow model folder at ``path``."""
    from lighttrack.models.flavor import copy_code_paths, finish_model, new_model_folder, start_model

    onnx = _onnx()
    if isinstance(onnx_model, (bytes, bytearray)):
        onnx_model = onnx.load_from_string(bytes(onnx_model))
    if not isinstance(onnx_model, onnx.ModelProto):
        raise InvalidArgument(f"onnx_model must be an onnx.ModelProto, not {type(onnx_model).__name__}")
    unknown = sorted(set(onnx_session_options or {}) - set(_SESSION_KEYS) - {"extra_session_config"})
    if unknown:
        raise InvalidArgument(f"onnx_session_options keys must be among {', '.join(_SESSION_KEYS)}, "
                              f"not {', '.join(unknown)}")
    try:
        onnx.checker.check_model(onnx_model)
    except Exception as exc:
        raise InvalidArgument(f"onnx_model is not a valid ONNX model: {str(exc).splitlines()[0]}") from None
    target = Path(path)
    if target.exists() and any(target.iterdir()):
        raise InvalidArgument(f"{target} already exists and is not empty: choose a new path")
    folder = new_model_folder(target)
    onnx.save_model(onnx_model, str(folder / _DATA), save_as_external_data=save_as_external_data, **kwargs)

    def predict(example: Any) -> Any:
        session = _session(folder / _DATA, ["CPUExecutionProvider"], None)
        return next(iter(_OnnxPyfunc(session).predict(example).values()))

    import numpy as np

    example = np.asarray(input_example) if input_example is not None and not isinstance(input_example, dict) \
        and type(input_example).__name__ != "DataFrame" else input_example
    meta = start_model(folder, input_example=example, signature=signature, predict=predict,
                       run_id=_run_id, artifact_path=_artifact_path, metadata=metadata)
    code = copy_code_paths(folder, code_paths)
    return finish_model(
        meta, folder, flavor=FLAVOR_NAME,
        flavor_conf={"onnx_version": onnx.__version__, "data": _DATA,
                     "providers": list(onnx_execution_providers or ONNX_EXECUTION_PROVIDERS),
                     "onnx_session_options": onnx_session_options},
        loader_module="mlflow.onnx", model_path=None, pyfunc_conf={"data": _DATA},
        packages=["onnx", "onnxruntime", "numpy"], pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements, code=code,
    )


def log_model(
    onnx_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
    *,
    name: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Save ``onnx_model`` into the active run (started if none) and register it if asked."""
    from lighttrack.models.flavor import log_with_arguments

    return log_with_arguments(save_model, locals())


def check_external_data(model_file: Path, folder: Path, hashes: dict[str, str] | None) -> None:
    """Every external tensor file the graph names stays in the folder (and is hashed, when the
    model records hashes)."""
    from lighttrack.models.files import inside

    onnx = _onnx()
    from onnx.external_data_helper import _get_all_tensors

    try:
        proto = onnx.load(str(model_file), load_external_data=False)
    except Exception as exc:
        raise ModelError(f"{model_file.name} is not an ONNX model ({type(exc).__name__}); it was not loaded") from None
    base = model_file.parent
    for tensor in _get_all_tensors(proto):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        file = inside(folder, (base / location).relative_to(folder).as_posix() if not os.path.isabs(location)
                      else location, f"external data of tensor {tensor.name!r}")
        rel = file.resolve().relative_to(folder.resolve()).as_posix()
        if hashes is not None and rel not in hashes:
            raise ModelError(f"external data {location!r} of tensor {tensor.name!r} is not covered by "
                             "file_hashes; the model was not loaded")


def _session(model_file: Path, providers: list[Any] | None, options: dict[str, Any] | None) -> Any:
    ort = _runtime()
    sess_options = ort.SessionOptions()
    options = options or {}
    for key in ("inter_op_num_threads", "intra_op_num_threads"):
        if isinstance(options.get(key), int):
            setattr(sess_options, key, options[key])
    mode = str(options.get("execution_mode") or "").upper()
    if mode in ("SEQUENTIAL", "PARALLEL"):
        sess_options.execution_mode = getattr(ort.ExecutionMode, f"ORT_{mode}")
    if isinstance(options.get("graph_optimization_level"), int):
        sess_options.graph_optimization_level = ort.GraphOptimizationLevel(options["graph_optimization_level"])
    available = set(ort.get_available_providers())
    names = [p[0] if isinstance(p, (list, tuple)) else p for p in (providers or [])]
    usable = [p for p in names if isinstance(p, str) and p in available] or ["CPUExecutionProvider"]
    return ort.InferenceSession(str(model_file), sess_options=sess_options, providers=usable)


def _open(folder: Path, meta: Model) -> Any:
    from lighttrack.models.files import flavor_conf, inside

    conf = flavor_conf(meta, FLAVOR_NAME, folder)
    model_file = inside(folder, conf.get("data", _DATA), "MLmodel's onnx data")
    check_external_data(model_file, folder, meta.file_hashes)
    return model_file, conf


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, *, verify: bool = True,
               **_: Any) -> Any:
    """The ``onnx.ModelProto`` (external data loaded), from any model URI or folder."""
    from lighttrack.models.files import opened_model

    onnx = _onnx()
    with opened_model(model_uri, dst_path, verify) as (folder, meta):
        model_file, _conf = _open(folder, meta)
        return onnx.load(str(model_file))


class _OnnxPyfunc:
    """MLflow's contract: array -> {output: array}; DataFrame -> DataFrame; dict -> feeds."""

    def __init__(self, session: Any) -> None:
        self.rt = self.raw_model = session
        self.inputs = [(i.name, i.type) for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        from lighttrack.models.signature import as_array

        frame = type(data).__name__ == "DataFrame"
        if isinstance(data, dict):
            feeds = {k: np.asarray(v) for k, v in data.items()}
        elif frame:
            feeds = ({name: data[name].values for name, _ in self.inputs} if len(self.inputs) > 1
                     else {self.inputs[0][0]: data.values})
        else:
            if len(self.inputs) != 1:
                raise InvalidArgument(f"this ONNX model takes {len(self.inputs)} inputs "
                                      f"({', '.join(n for n, _ in self.inputs)}): pass a dict or a DataFrame")
            feeds = {self.inputs[0][0]: np.asarray(as_array(data))}
        for name, kind in self.inputs:
            if kind == "tensor(float)" and name in feeds and feeds[name].dtype == np.float64:
                feeds[name] = feeds[name].astype(np.float32)
        outputs = self.rt.run(self.output_names, feeds)
        if frame:
            import pandas as pd

            columns = {}
            for name, value in zip(self.output_names, outputs):
                value = np.asarray(value)
                columns[name] = list(value) if value.ndim > 1 and value.shape[1] > 1 else value.reshape(-1)
            return pd.DataFrame(columns)
        return dict(zip(self.output_names, outputs))


def _load_pyfunc(folder: Path, meta: Model, **_: Any) -> _OnnxPyfunc:
    model_file, conf = _open(folder, meta)
    return _OnnxPyfunc(_session(model_file, conf.get("providers"), conf.get("onnx_session_options")))
