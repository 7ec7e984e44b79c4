"""The logged-model half of ``LighttrackClient``, with MlflowClient 3's method names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lighttrack.entities import Page
from lighttrack.entities.logged_model import LoggedModel, LoggedModelStatus
from lighttrack.errors import InvalidArgument, NotFound
from lighttrack.store import logged_models as model_store
from lighttrack.validation import check_key, checked_mapping, param_value, tag_value


def _model_type(model_type: Any) -> str | None:
    if model_type is not None and not isinstance(model_type, str):
        raise InvalidArgument(f"model_type is a string, not {type(model_type).__name__}")
    return model_type


class LoggedModelsMixin:
    """Mixed into LighttrackClient; ``self._conn`` is the thread's connection."""

    _conn: Any

    def create_logged_model(
        self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
        tags: dict[str, Any] | None = None, params: dict[str, Any] | None = None, model_type: str | None = None,
    ) -> LoggedModel:
        """A new PENDING model of ``experiment_id`` (a random name when none is given, as MLflow)."""
        if name is None:
            from lighttrack.naming import generate_run_name

            name = generate_run_name()
        model_store.check_name(name)
        checked_tags = checked_mapping(tags, "tag", tag_value)
        checked_params = checked_mapping(params, "param", param_value)
        if source_run_id is not None:
            self.get_run(source_run_id)  # type: ignore[attr-defined]  # refuses an unknown run
        return model_store.create(
            self._conn, str(experiment_id), name, source_run_id=source_run_id, model_type=_model_type(model_type),
            params=checked_params, tags=checked_tags,
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return model_store.get(self._conn, model_id, allow_deleted=allow_deleted)

    def search_logged_models(
        self, experiment_ids: list[str], filter_string: str | None = None,
        datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None, page_token: str | None = None,
    ) -> Page:
        """One page (``.token`` for the next), newest first unless ``order_by`` says otherwise."""
        if isinstance(experiment_ids, (str, int)):
            raise InvalidArgument("experiment_ids is a list of experiment ids, e.g. ['0']")
        found, token = model_store.search(self._conn, [str(e) for e in experiment_ids], filter_string, datasets,
                                          max_results, order_by, page_token)
        return Page(found, token)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        model_store.set_tags(self._conn, model_id, checked_mapping(tags, "tag", tag_value))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        model_store.delete_tag(self._conn, model_id, check_key(key, "tag"))

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        model_store.log_params(self._conn, model_id, checked_mapping(params, "param", param_value))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        return model_store.finalize(self._conn, model_id, status)

    def delete_logged_model(self, model_id: str) -> None:
        model_store.delete(self._conn, model_id)

    def log_model_artifacts(self, model_id: str, local_dir: str | os.PathLike[str]) -> None:
        """Store a folder as the model's files (MLflow's name for it)."""
        from lighttrack.client import folder_files

        root = Path(local_dir)
        if not root.is_dir():
            raise NotFound(f"cannot log {root}: no such folder")
        model_store.put_files(self._conn, model_id, folder_files(root))

    def read_logged_model_artifact(self, model_id: str, path: str) -> bytes:
        """One file of the model (its MLmodel, say), checked against its sha256 as it is read."""
        from lighttrack.store.artifacts import iter_blob

        for file_path, sha, _ in model_store.files(self._conn, model_id):
            if file_path == path:
                return b"".join(iter_blob(self._conn, sha, f"file {path!r} of logged model {model_id}"))
        raise NotFound(f"logged model {model_id} has no file {path!r}")

    def download_logged_model(self, model_id: str, dst_path: str | os.PathLike[str]) -> str:
        """The model's files, written under ``dst_path``; returns that folder."""
        target = Path(dst_path)
        target.mkdir(parents=True, exist_ok=True)
        return str(model_store.download(self._conn, model_id, target))
