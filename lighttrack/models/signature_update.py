"""``mlflow.models.set_signature``: replace the signature in an already saved or logged model.

Only MLmodel changes (the signature is not part of the file hashes), so the model's files and
their recorded hashes stay valid. Registry URIs are refused as MLflow refuses them: a registered
version is read-only; log the model again with the signature and register that.
"""

from __future__ import annotations

import os
from pathlib import Path

from lighttrack.errors import InvalidArgument
from lighttrack.models.mlmodel import MLMODEL, Model
from lighttrack.models.signature import ModelSignature


def _yaml_text(model: Model) -> str:
    import yaml

    return yaml.safe_dump(model.to_dict(), default_flow_style=False, sort_keys=True)


def set_signature(model_uri: str | os.PathLike[str], signature: ModelSignature) -> None:
    if not isinstance(signature, ModelSignature):
        raise InvalidArgument(f"signature must be a ModelSignature, not {type(signature).__name__}")
    text = os.fspath(model_uri)
    from lighttrack.models.uri import logged_model_id

    if (model_id := logged_model_id(text)) is not None:  # MLflow 3: a logged model's MLmodel may change
        import yaml

        from lighttrack import fluent
        from lighttrack.store import logged_models as model_store

        client = fluent._client()
        rows = {path: sha for path, sha, _ in model_store.files(client.store.conn, model_id)}
        if MLMODEL not in rows:
            raise InvalidArgument(f"{text} has no MLmodel file")
        from lighttrack.store.artifacts import iter_blob

        raw = b"".join(iter_blob(client.store.conn, rows[MLMODEL], f"MLmodel of {text}"))
        model = Model.from_dict(yaml.safe_load(raw))
        model.signature = signature
        model_store.put_bytes(client.store.conn, model_id, MLMODEL, _yaml_text(model).encode())
        return
    if text.startswith("models:/"):
        raise InvalidArgument(
            f"{text}: a registered model version is read-only; load its source model, log it again "
            "with the signature and register that (as MLflow requires)"
        )
    if text.startswith(("runs:/", "lighttrack:/runs/")):
        import yaml

        from lighttrack import fluent
        from lighttrack.artifacts import split_artifact_uri

        run_id, path = split_artifact_uri(text)
        client = fluent._client()
        file = f"{path}/{MLMODEL}" if path else MLMODEL
        model = Model.from_dict(yaml.safe_load(client.read_artifact(run_id, file)))
        model.signature = signature
        client.log_bytes(run_id, _yaml_text(model).encode(), file)
        return
    folder = Path(text.removeprefix("file://"))
    model = Model.load(folder)
    model.signature = signature
    model.save(folder / MLMODEL if folder.is_dir() else folder)
