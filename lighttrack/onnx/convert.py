"""Turning a logged scikit-learn model into an ONNX model with skl2onnx.

The sklearn model is loaded under the usual trust rules (allow-list, hashes, allow_pickle);
the result is a plain ONNX graph that runs in onnxruntime anywhere, no scikit-learn needed.
Classifiers get a probability tensor (skl2onnx's ``zipmap`` off), so outputs stay arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError


def _feature_count(estimator: Any, meta: Any) -> int:
    count = getattr(estimator, "n_features_in_", None)
    if count is None and meta.signature is not None and meta.signature.inputs is not None:
        specs = meta.signature.inputs.inputs
        count = specs[0].shape[-1] if meta.signature.inputs.is_tensor_spec() else len(specs)
    if not count or count < 1:
        raise ModelError("cannot tell how many features the model takes (no n_features_in_, no signature)")
    return int(count)


def sklearn_to_onnx(estimator: Any, n_features: int) -> Any:
    """An ``onnx.ModelProto`` computing what ``estimator.predict`` (and predict_proba) does."""
    from lighttrack.models.flavor import require

    skl2onnx = require("skl2onnx", extra="onnx", flavour="onnx")
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    try:
        return skl2onnx.convert_sklearn(estimator, initial_types=[("input", FloatTensorType([None, n_features]))],
                                        options=options)
    except Exception as exc:
        raise ModelError(f"skl2onnx cannot convert {type(estimator).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def convert(model_uri: str, output: Path | None, *, trusted_types: list[str] | None = None,
            verify: bool = True, allow_pickle: bool | None = None, client: Any = None) -> str:
    """Convert the sklearn model at ``model_uri``; write it to ``output`` (a new folder) or, for
    a model inside the file, log it next to the original as ``<path>-onnx``. Returns where."""
    import numpy as np

    import lighttrack.onnx as lt_onnx
    from lighttrack.models.files import opened_model
    from lighttrack.models.signature import ModelSignature, Schema, TensorSpec
    from lighttrack.sklearn import FLAVOR_NAME, _load_estimator

    with opened_model(model_uri, None, verify) as (folder, meta):
        if FLAVOR_NAME not in meta.flavors:
            raise InvalidArgument(f"{model_uri} is not a scikit-learn model (it has: {', '.join(meta.flavors)}); "
                                  "convert --to onnx takes sklearn models")
        estimator = _load_estimator(folder, meta, allow_pickle, trusted_types)
    n_features = _feature_count(estimator, meta)
    proto = sklearn_to_onnx(estimator, n_features)
    signature = ModelSignature(Schema([TensorSpec("float32", (-1, n_features))]))
    example = np.zeros((1, n_features), dtype=np.float32)
    metadata = {"converted_from": str(model_uri)}
    if output is not None:
        lt_onnx.save_model(proto, output, signature=signature, input_example=example, metadata=metadata)
        return str(output)
    source = str(model_uri)
    if source.startswith("models:/"):
        from lighttrack.models.uri import to_runs_uri

        source = to_runs_uri(source, client)
    if not source.startswith("runs:/"):
        raise InvalidArgument("a model folder on disk needs --output DIR for the converted model")
    from lighttrack.registry_client import split_runs_uri

    run_id, path = split_runs_uri(source)
    return _log_beside(proto, run_id, f"{path}-onnx", signature, example, metadata, client)


def _log_beside(proto: Any, run_id: str, artifact_path: str, signature: Any, example: Any,
                metadata: dict[str, Any], client: Any) -> str:
    """Log into the source run without resuming it (its status and end time stay as they are)."""
    import tempfile

    import lighttrack.onnx as lt_onnx
    from lighttrack.client import LighttrackClient
    from lighttrack.models.logged import _record_in_run

    client = client or LighttrackClient()
    with tempfile.TemporaryDirectory(prefix="lighttrack-onnx-") as tmp:
        folder = Path(tmp) / "model"
        model = lt_onnx.save_model(proto, folder, signature=signature, input_example=example, metadata=metadata,
                                   _run_id=run_id, _artifact_path=artifact_path)
        client.log_artifacts(run_id, folder, artifact_path)
    _record_in_run(client, run_id, model)
    return f"runs:/{run_id}/{artifact_path}"
