"""``mlflow.artifacts``: download, list and read a run's artifacts by URI.

Accepts ``runs:/<run_id>/<path>``, the run's own ``artifact_uri`` (``lighttrack:/runs/<id>/
artifacts/<path>``, what ``f"{run.info.artifact_uri}/model"`` builds) and ``models:/`` URIs.
"""

from __future__ import annotations

import json
from typing import Any

from lighttrack.errors import InvalidArgument

_RUN_ARTIFACTS = "lighttrack:/runs/"


def split_artifact_uri(uri: str) -> tuple[str, str]:
    """(run_id, path) for a runs:/ URI or a run's artifact URI; InvalidArgument otherwise."""
    text = str(uri)
    if text.startswith("models:/"):
        from lighttrack.models.uri import to_runs_uri

        text = to_runs_uri(text)
    if text.startswith(_RUN_ARTIFACTS):
        run_id, _, rest = text[len(_RUN_ARTIFACTS):].partition("/")
        if rest == "artifacts" or rest.startswith("artifacts/"):
            return run_id, rest[len("artifacts"):].strip("/")
    if text.startswith("runs:/"):
        from lighttrack.registry_client import split_runs_uri

        return split_runs_uri(text)
    raise InvalidArgument(
        f"artifact URI {uri!r} is not one of runs:/<run_id>/<path>, a run's artifact_uri "
        "(lighttrack:/runs/<run_id>/artifacts/<path>) or models:/<name>/<version>"
    )


def _client(tracking_uri: str | None):
    from lighttrack import fluent
    from lighttrack.client import LighttrackClient

    return LighttrackClient(tracking_uri) if tracking_uri else fluent._client()


def download_artifacts(
    artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
    dst_path: str | None = None, tracking_uri: str | None = None,
) -> str:
    """A local copy of the artifact (file or folder); returns its path, as MLflow does."""
    if artifact_uri is not None:
        if run_id is not None or artifact_path is not None:
            raise InvalidArgument("give either artifact_uri, or run_id with artifact_path, not both")
        run_id, artifact_path = split_artifact_uri(artifact_uri)
    if run_id is None:
        raise InvalidArgument("download_artifacts needs artifact_uri, or run_id (and artifact_path)")
    client = _client(tracking_uri)
    client.flush()
    return client.download_artifacts(run_id, artifact_path or "", dst_path)


def list_artifacts(
    artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
    tracking_uri: str | None = None,
):
    """The entries directly under a path (FileInfo list), as ``mlflow.artifacts.list_artifacts``."""
    if artifact_uri is not None:
        run_id, artifact_path = split_artifact_uri(artifact_uri)
    if run_id is None:
        raise InvalidArgument("list_artifacts needs artifact_uri, or run_id (and artifact_path)")
    return _client(tracking_uri).list_artifacts(run_id, artifact_path or None)


def _read(artifact_uri: str) -> bytes:
    run_id, path = split_artifact_uri(artifact_uri)
    return _client(None).read_artifact(run_id, path)


def load_text(artifact_uri: str) -> str:
    return _read(artifact_uri).decode()


def load_dict(artifact_uri: str) -> Any:
    text = load_text(artifact_uri)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import yaml

        return yaml.safe_load(text)


def load_image(artifact_uri: str) -> Any:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(_read(artifact_uri)))


__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]
