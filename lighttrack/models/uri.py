"""Where a model's files are: ``runs:/``, ``models:/`` URIs and local folders.

``models:/<model_id>`` (MLflow 3) names a logged model and reads its own files; a ``runs:/``
path that holds no files but names a model the run logged (an MLflow 3 import) reads that
model's files, as MLflow 3 resolves it.

``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest`` and
``models:/<name>@<alias>`` resolve through the registry to the ``runs:/`` URI a version was
created from; ``runs:/<run_id>/<path>`` is read from the run's artifacts inside the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from lighttrack.entities import ModelVersion, Stage
from lighttrack.errors import InvalidArgument, ModelError, NotFound

if TYPE_CHECKING:
    from lighttrack.client import LighttrackClient

_FORMS = (
    "runs:/<run_id>/<path>, models:/<model_id>, models:/<name>/<version>, models:/<name>/<stage>, "
    "models:/<name>/latest, models:/<name>@<alias>, or a local model folder"
)


def _client(client: LighttrackClient | None) -> LighttrackClient:
    if client is not None:
        return client
    from lighttrack.client import LighttrackClient

    return LighttrackClient()


def logged_model_id(uri: str) -> str | None:
    """The model id of a ``models:/<model_id>`` URI (no '/' or '@' after the id), else None."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        return None
    rest = uri[len("models:/"):].strip("/")
    return rest if rest and "/" not in rest and "@" not in rest else None


def resolve_version(uri: str, client: LighttrackClient | None = None) -> ModelVersion:
    """The registry version a ``models:/`` URI names."""
    client = _client(client)
    if logged_model_id(uri):
        raise InvalidArgument(f"{uri} names a logged model, not a registered model version")
    rest = uri[len("models:/"):].strip("/")
    if "@" in rest and "/" not in rest:
        name, alias = rest.split("@", 1)
        return client.get_model_version_by_alias(name, alias)
    name, _, which = rest.rpartition("/")
    if not name or not which:
        raise InvalidArgument(f"model URI {uri!r} is not one of: {_FORMS}")
    if which.isdigit():
        return client.get_model_version(name, which)
    if which.lower() == "latest":
        versions = client.search_model_versions(f"name = '{_quote(name)}'", order_by=["version DESC"], max_results=1)
        if not versions:
            raise NotFound(f"registered model {name!r} has no versions")
        return versions[0]
    stage = next((s for s in Stage.ALL if s.lower() == which.lower()), None)
    if stage is None:
        raise InvalidArgument(
            f"model URI {uri!r}: {which!r} is not a version number, a stage ({', '.join(Stage.ALL)}) or 'latest'"
        )
    found = client.get_latest_versions(name, [stage])
    if not found:
        raise NotFound(f"registered model {name!r} has no version in stage {stage}")
    return found[0]


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def to_runs_uri(uri: str, client: LighttrackClient | None = None) -> str:
    """A ``models:/`` URI -> the ``runs:/`` URI of the same files, when they are in a run's tree
    (a logged model made outside any run stays ``models:/<model_id>``)."""
    if uri.startswith("models:/") and not logged_model_id(uri):
        uri = resolve_version(uri, client).source
    model_id = logged_model_id(uri)
    if model_id is not None:
        client = _client(client)
        model = client.get_logged_model(model_id)
        if model.source_run_id:
            try:
                if client.list_artifacts(model.source_run_id, model.name):
                    return f"runs:/{model.source_run_id}/{model.name}"
            except NotFound:  # the run was purged: the model's own files remain
                pass
    return uri


def _download_logged(model_id: str, dst: Path, client: LighttrackClient | None) -> Path:
    local = Path(_client(client).download_logged_model(model_id, dst))
    if not (local / "MLmodel").exists():
        raise ModelError(f"models:/{model_id} is not a model: it has no MLmodel file")
    return local


def download_model(uri: str | os.PathLike[str], dst: Path, client: LighttrackClient | None = None) -> Path:
    """A local folder holding the model's files: the folder itself for local paths, else a copy
    under ``dst``."""
    text = os.fspath(uri)
    if text.startswith("file://"):
        text = text[len("file://"):]
    if text.startswith("models:/") and not logged_model_id(text):
        version = resolve_version(text, client)
        text = version.source
        from lighttrack.registry_client import source_kind

        if source_kind(text) == "remote":
            raise ModelError(
                f"{uri} is version {version.version} of {version.name!r}, registered as a reference to "
                f"{text}; lighttrack works offline and never fetches it: download the model folder and "
                "register that folder (lighttrack.register_model(folder, name))"
            )
    if text.startswith("lighttrack:/runs/"):
        from lighttrack.artifacts import split_artifact_uri

        run_id, path = split_artifact_uri(text)
        text = f"runs:/{run_id}/{path}"
    if (model_id := logged_model_id(text)) is not None:
        return _download_logged(model_id, dst, client)
    if text.startswith("runs:/"):
        from lighttrack.registry_client import split_runs_uri

        run_id, path = split_runs_uri(text)
        client = _client(client)
        if path and not client.list_artifacts(run_id, path):
            from lighttrack.store.logged_models import find_in_run

            found = find_in_run(client.store.conn, run_id, path)
            if found is not None:  # MLflow 3: the run's model of that name
                return _download_logged(found, dst, client)
        local = Path(client.download_artifacts(run_id, path, dst))
        if not (local / "MLmodel").exists():
            raise ModelError(f"{text} is not a model: it has no MLmodel file")
        return local
    if "://" in text or text.startswith(("runs:", "models:")):
        raise InvalidArgument(f"model URI {text!r} is not one of: {_FORMS}")
    local = Path(text)
    if not local.is_dir():
        raise NotFound(f"no model at {text!r}: give one of {_FORMS}")
    return local
