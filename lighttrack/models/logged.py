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
    """What ``log_model`` returns (MLflow 3's fields: ``model_uri`` is ``models:/<model_id>``)."""

    artifact_path: str
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str | None
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    mlflow_version: str | None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    model_id: str | None = None
    logged_model: Any = None  # the LoggedModel, READY

    @property
    def name(self) -> str:
        return self.artifact_path

    @property
    def params(self) -> dict[str, str]:
        return self.logged_model.params if self.logged_model else {}

    @property
    def tags(self) -> dict[str, str]:
        return self.logged_model.tags if self.logged_model else {}

    @property
    def metrics(self) -> list:
        return self.logged_model.metrics if self.logged_model else []

    @property
    def creation_timestamp(self) -> int | None:
        return self.logged_model.creation_timestamp if self.logged_model else None


def artifact_path_of(artifact_path: str | None, name: str | None) -> str:
    """MLflow 3 says ``name=``; ``artifact_path=`` (MLflow 2's, also positional) still works with
    MLflow's deprecation warning. Both at once is refused, as MLflow refuses it."""
    if artifact_path and name:
        raise InvalidArgument(
            "both artifact_path= (deprecated) and name= were given: give only name="
        )
    if artifact_path:  # logged, not a Python warning, as MLflow 3 does it
        import logging

        logging.getLogger("lighttrack.models").warning("`artifact_path` is deprecated. Please use `name` instead.")
    chosen = artifact_path or name or "model"
    from lighttrack.store.artifacts import normalise_path

    return normalise_path(chosen, allow_empty=False)


def logged_model_keywords(given: dict[str, Any]) -> dict[str, Any]:
    """MLflow 3's log_model keywords for the LoggedModel; anything else is refused by name."""
    allowed = ("params", "tags", "model_type", "step", "model_id")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise InvalidArgument(f"log_model got unexpected keyword(s) {', '.join(unknown)}; besides the flavour's "
                              f"own, it takes {', '.join(allowed)}")
    step = given.get("step", 0)
    if type(step) is not int:
        raise InvalidArgument(f"step is an integer, not {step!r}")
    return {k: v for k, v in given.items() if v is not None}


#: The model the last ``log_model``/``initialize_logged_model`` of this process made.
_last_logged_model_id: str | None = None


def log_model_folder(
    save: Callable[[Path, str | None, str], Model],
    artifact_path: str,
    registered_model_name: str | None = None,
    *, params: dict[str, Any] | None = None, tags: dict[str, Any] | None = None,
    model_type: str | None = None, step: int = 0, model_id: str | None = None,
) -> ModelInfo:
    """``save(folder, run_id, name)`` writes the model; it becomes a LoggedModel (PENDING, then
    READY or FAILED, as in MLflow 3) of the active run's experiment, its files stored as the
    model's own and, inside a run, also under the run's ``name/`` (so ``runs:/`` URIs work).

    As MLflow 3 does: no run is started when none is active; the run's params become the
    model's params; the run's metrics at ``step`` become the model's metrics.
    """
    global _last_logged_model_id
    from lighttrack.client import folder_files
    from lighttrack.fluent import _client, _resolve_experiment_id, _stack
    from lighttrack.models.mlmodel import MLMODEL
    from lighttrack.store import logged_models as model_store
    from lighttrack.store import runs as run_store
    from lighttrack.util import user_name

    stack = _stack()
    client = stack[-1]._client if stack else _client()
    run_id = stack[-1].run_id if stack else None
    run = client.get_run(run_id) if run_id else None
    if model_id is not None:
        logged = client.get_logged_model(model_id)
    else:
        if run is None:
            model_store.check_name(artifact_path)  # inside a run a deprecated artifact_path may nest
        merged = {**(params or {}), **(run.data.params if run else {})}
        model_tags = {"mlflow.user": user_name(), **{k: v for k, v in (run.data.tags if run else {}).items()
                                                      if k.startswith("mlflow.source.")}, **(tags or {})}
        experiment_id = run.info.experiment_id if run else _resolve_experiment_id(None)
        logged = _create(client, experiment_id, artifact_path, run_id, model_tags, merged, model_type)
    _last_logged_model_id = logged.model_id
    try:
        with tempfile.TemporaryDirectory(prefix="lighttrack-model-") as tmp:
            folder = Path(tmp) / "model"
            folder.mkdir()
            model = save(folder, run_id, artifact_path)
            model.extra["model_id"] = logged.model_id  # MLflow 3 writes it into MLmodel
            model.save(folder / MLMODEL)
            also = (run_store.run_pk(client.store.conn, run_id, for_write=True), artifact_path) if run_id else None
            model_store.put_files(client.store.conn, logged.model_id, folder_files(folder), also_run=also)
        if run_id:
            _record_in_run(client, run_id, model)
            _copy_step_metrics(client, run_id, logged.model_id, step)
    except BaseException:
        model_store.finalize(client.store.conn, logged.model_id, "FAILED")
        raise
    logged = model_store.finalize(client.store.conn, logged.model_id, "READY")
    version = None
    if registered_model_name:
        uri = f"runs:/{run_id}/{artifact_path}" if run_id else f"models:/{logged.model_id}"
        version = int(register_model(uri, registered_model_name, client=client).version)
    return ModelInfo(
        artifact_path=artifact_path, flavors=model.flavors, model_uri=f"models:/{logged.model_id}",
        model_uuid=model.model_uuid, run_id=run_id, saved_input_example_info=model.saved_input_example_info,
        signature=model.signature, utc_time_created=model.utc_time_created,
        mlflow_version=model.mlflow_version, metadata=model.metadata, registered_model_version=version,
        model_id=logged.model_id, logged_model=client.get_logged_model(logged.model_id),
    )


def _create(client, experiment_id, name, run_id, tags, params, model_type):
    from lighttrack.store import logged_models as model_store
    from lighttrack.validation import checked_mapping, param_value, tag_value

    return model_store.create(
        client.store.conn, experiment_id, name, source_run_id=run_id, model_type=model_type,
        params=checked_mapping(params, "param", param_value), tags=checked_mapping(tags, "tag", tag_value),
    )


def _copy_step_metrics(client, run_id: str, model_id: str, step: int) -> None:
    """MLflow 3's log_model links the run's metrics at ``step`` to the new model."""
    from lighttrack.entities import Metric
    from lighttrack.store.logged_models import log_metrics

    linked = []
    for summary in client.get_metric_summaries(run_id):
        for point in client.get_metric_history(run_id, summary.key):
            if point.step == step:
                linked.append(Metric(point.key, point.value, point.timestamp, point.step, run_id, model_id))
    if linked:
        log_metrics(client.store.conn, linked)


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

    A ``runs:/`` or ``models:/<model_id>`` URI is registered as is (recording the logged model
    as the version's ``model_id``); a registry ``models:/`` URI registers the same source again; a
    local model folder is first stored in the file (as a run of the ``imported-models``
    experiment), because everything a lighttrack file names must live inside it.
    """
    from lighttrack.client import LighttrackClient
    from lighttrack.models.uri import logged_model_id, resolve_version

    client = client or LighttrackClient()
    uri = str(model_uri)
    model_id = None
    if uri.startswith("models:/") and not logged_model_id(uri):
        version = resolve_version(uri, client)
        uri, model_id = version.source, version.model_id
    elif not uri.startswith(("runs:/", "models:/")):
        uri = import_model_folder(Path(uri), client, name)
    return client.create_model_version(name, uri, tags=tags, description=description, model_id=model_id,
                                       _create_model=True)


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


def vouch_for_folder(folder: Path) -> None:
    """An imported model folder gets file hashes now (MLflow writes none), so it is checked from
    here on; one that has hashes must match them. Done in place, on a temporary copy."""
    from lighttrack.models.files import verify_model
    from lighttrack.models.mlmodel import MLMODEL, record_hashes

    model = Model.load(folder)
    if model.file_hashes:
        verify_model(model, folder, verify=True)
        return
    verify_model_paths(model, folder)
    record_hashes(model, folder)
    model.save(folder / MLMODEL)


def verify_model_paths(model: Model, folder: Path) -> None:
    """Only the containment half of verification (for a folder about to receive its hashes)."""
    from lighttrack.models.files import inside, referenced_paths

    for what, rel in referenced_paths(model):
        inside(folder, rel, f"MLmodel's {what}")
