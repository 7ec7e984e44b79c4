"""Logging a saved model folder into a run, and registering it: shared by every flavour."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lighttrack.entities import ModelVersion
from lighttrack.errors import InvalidArgument
from lighttrack.models.mlmodel import Model
from lighttrack.models.signature import ModelSignature

IMPORT_EXPERIMENT = "imported-models"


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow's fields)."""

    artifact_path: str
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None

    @property
    def name(self) -> str:
        return self.artifact_path


def artifact_path_of(artifact_path: str | None, name: str | None) -> str:
    """MLflow 3 says ``name=``, MLflow 2 said ``artifact_path=`` (also positional): take either."""
    if artifact_path and name and artifact_path != name:
        raise InvalidArgument(f"give either name= or artifact_path=, not both ({name!r} vs {artifact_path!r})")
    chosen = artifact_path or name or "model"
    from lighttrack.store.artifacts import normalise_path

    return normalise_path(chosen, allow_empty=False)


def log_model_folder(
    save: Callable[[Path, str, str], Model],
    artifact_path: str,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """``save(folder, run_id, artifact_path)`` writes the model; it is then logged to the
    active run (started if none, as MLflow does) and optionally registered."""
    from lighttrack.fluent import _target

    client, run_id = _target(None)
    with tempfile.TemporaryDirectory(prefix="lighttrack-model-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        model = save(folder, run_id, artifact_path)
        client.log_artifacts(run_id, folder, artifact_path)
    _record_in_run(client, run_id, model)
    version = None
    if registered_model_name:
        version = int(register_model(f"runs:/{run_id}/{artifact_path}", registered_model_name, client=client).version)
    return ModelInfo(
        artifact_path=artifact_path, flavors=model.flavors, model_uri=f"runs:/{run_id}/{artifact_path}",
        model_uuid=model.model_uuid, run_id=run_id, saved_input_example_info=model.saved_input_example_info,
        signature=model.signature, utc_time_created=model.utc_time_created,
        mlflow_version=model.mlflow_version, metadata=model.metadata, registered_model_version=version,
    )


def _record_in_run(client, run_id: str, model: Model) -> None:
    """MLflow's ``mlflow.log-model.history`` tag: which models a run holds (the UI lists them)."""
    tags = client.get_run(run_id).data.tags
    history = json.loads(tags.get("mlflow.log-model.history", "[]"))
    entry = {k: v for k, v in model.to_dict().items() if k in ("artifact_path", "flavors", "model_uuid",
                                                                 "run_id", "utc_time_created")}
    history = [h for h in history if h.get("artifact_path") != model.artifact_path] + [entry]
    client.set_tag(run_id, "mlflow.log-model.history", json.dumps(history))


def register_model(
    model_uri: str, name: str, tags: dict[str, Any] | None = None, client=None, description: str | None = None,
) -> ModelVersion:
    """Add ``model_uri`` as the next version of ``name`` (creating the model when new).

    A ``runs:/`` URI is registered as is; a ``models:/`` URI registers the same source again; a
    local model folder is first stored in the file (as a run of the ``imported-models``
    experiment), because everything a lighttrack file names must live inside it.
    """
    from lighttrack.client import LighttrackClient
    from lighttrack.models.uri import to_runs_uri

    client = client or LighttrackClient()
    uri = str(model_uri)
    if uri.startswith("models:/"):
        uri = to_runs_uri(uri, client)
    elif not uri.startswith("runs:/"):
        uri = import_model_folder(Path(uri), client, name)
    return client.create_model_version(name, uri, tags=tags, description=description, _create_model=True)


def import_model_folder(folder: Path, client, name: str) -> str:
    """Store a model folder from disk in the file; returns its runs:/ URI."""
    from lighttrack.store.experiments import get_or_create

    from lighttrack.models.files import verify_model
    from lighttrack.models.mlmodel import MLMODEL, record_hashes

    model = Model.load(folder)  # refuses folders that are not models
    # Importing is the user vouching for a folder on their disk: an MLflow model (no hashes)
    # gets them now, so it is checked from here on; one that has hashes must match them.
    verify_model(model, folder, verify=True) if model.file_hashes else verify_model_paths(model, folder)
    experiment_id = get_or_create(client.store.conn, IMPORT_EXPERIMENT)
    run = client.create_run(experiment_id, run_name=f"import {name}", tags={
        "lighttrack.imported_from": str(folder.resolve()),
        "mlflow.source.type": "LOCAL",
    })
    run_id = run.info.run_id
    model.artifact_path = model.artifact_path or "model"
    if model.file_hashes:
        client.log_artifacts(run_id, folder, "model")
    else:
        with tempfile.TemporaryDirectory(prefix="lighttrack-import-") as tmp:
            copy = Path(tmp) / "model"
            shutil.copytree(folder, copy, symlinks=False)
            record_hashes(model, copy)
            model.save(copy / MLMODEL)
            client.log_artifacts(run_id, copy, "model")
    _record_in_run(client, run_id, model)
    client.set_terminated(run_id)
    return f"runs:/{run_id}/model"


def verify_model_paths(model: Model, folder: Path) -> None:
    """Only the containment half of verification (for a folder about to receive its hashes)."""
    from lighttrack.models.files import inside, referenced_paths

    for what, rel in referenced_paths(model):
        inside(folder, rel, f"MLmodel's {what}")
