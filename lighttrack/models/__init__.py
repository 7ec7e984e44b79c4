"""MLflow's model format: MLmodel files, signatures, input examples, model URIs."""

from lighttrack.models.logged import ModelInfo
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ColSpec, ModelSignature, Schema, TensorSpec, infer_signature

__all__ = ["ColSpec", "Model", "ModelInfo", "ModelSignature", "Schema", "TensorSpec", "infer_signature",
           "get_model_info", "set_signature"]


def set_signature(model_uri: str, signature: ModelSignature) -> None:
    """Replace the signature of a saved or logged model (see ``models.signature_update``)."""
    from lighttrack.models.signature_update import set_signature as update

    update(model_uri, signature)


def get_model_info(model_uri: str) -> ModelInfo:
    """The metadata of a logged model, without loading it."""
    import tempfile
    from pathlib import Path

    from lighttrack.models.uri import download_model, to_runs_uri

    with tempfile.TemporaryDirectory() as tmp:
        folder = download_model(model_uri, Path(tmp))
        model = Model.load(folder)
    uri = to_runs_uri(model_uri) if str(model_uri).startswith("models:/") else str(model_uri)
    return ModelInfo(
        artifact_path=model.artifact_path or "", flavors=model.flavors, model_uri=uri,
        model_uuid=model.model_uuid, run_id=model.run_id or "",
        saved_input_example_info=model.saved_input_example_info, signature=model.signature,
        utc_time_created=model.utc_time_created, mlflow_version=model.mlflow_version, metadata=model.metadata,
    )
