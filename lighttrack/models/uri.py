"""Where a model's files are: ``runs:/``, ``models:/`` URIs and local folders.

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
    "runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>/<stage>, "
    "models:/<name>/latest, models:/<name>@<alias>, or a local model folder"
)


def _client(client: LighttrackClient | None) -> LighttrackClient:
    if client is not None:
        return client
    from lighttrack.client import LighttrackClient

    return LighttrackClient()


def resolve_version(uri: str, client: LighttrackClient | None = None) -> ModelVersion:
    """The registry version a ``models:/`` URI names."""
    client = _client(client)
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
    if uri.startswith("models:/"):
        return resolve_version(uri, client).source
    return uri


def download_model(uri: str | os.PathLike[str], dst: Path, client: LighttrackClient | None = None) -> Path:
    """A local folder holding the model's files: the folder itself for local paths, else a copy
    under ``dst``."""
    text = os.fspath(uri)
    if text.startswith("file://"):
        text = text[len("file://"):]
    if text.startswith("models:/"):
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
    if text.startswith("runs:/"):
        from lighttrack.registry_client import split_runs_uri

        run_id, path = split_runs_uri(text)
        local = Path(_client(client).download_artifacts(run_id, path, dst))
        if not (local / "MLmodel").exists():
            raise ModelError(f"{text} is not a model: it has no MLmodel file")
        return local
    if "://" in text or text.startswith(("runs:", "models:")):
        raise InvalidArgument(f"model URI {text!r} is not one of: {_FORMS}")
    local = Path(text)
    if not local.is_dir():
        raise NotFound(f"no model at {text!r}: give one of {_FORMS}")
    return local
