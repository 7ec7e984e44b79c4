"""The model registry half of ``LighttrackClient``, with MlflowClient's method names.

Stages (None, Staging, Production, Archived) are accepted in any case and returned in MLflow's
spelling; every stage and alias change is recorded and readable with ``get_model_history``.
"""

from __future__ import annotations

from typing import Any

from lighttrack.entities import ModelHistoryEvent, ModelVersion, Page, RegisteredModel
from lighttrack.errors import InvalidArgument, NotFound
from lighttrack.store import registry as registry_store
from lighttrack.util import user_name
from lighttrack.validation import check_key, check_name, checked_mapping
from lighttrack.validation import registry_tag_value as tag_value


def split_runs_uri(uri: str) -> tuple[str, str]:
    """'runs:/<run_id>/<path>' -> (run_id, path)."""
    rest = uri[len("runs:/"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgument(f"model URI {uri!r} names no run: use runs:/<run_id>/<path>")
    return run_id, path


#: URI schemes that name this file's runs; anything else with a scheme is a remote reference.
_RUN_PREFIXES = ("runs:/", "lighttrack:/runs/")


def source_kind(source: str) -> str:
    """'run' (artifacts in this file), 'logged' (a logged model, ``models:/<model_id>``),
    'folder' (a local path) or 'remote' (recorded, never fetched)."""
    from lighttrack.models.uri import logged_model_id

    if logged_model_id(source):
        return "logged"
    if source.startswith(_RUN_PREFIXES):
        return "run"
    if source.startswith("file://") or ":/" not in source:
        return "folder"
    return "remote"


class RegistryMixin:
    """Mixed into LighttrackClient; ``self._conn`` is the thread's connection."""

    _conn: Any

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        check_name(name, "registered model")
        return registry_store.create_model(self._conn, name, checked_mapping(tags, "tag", tag_value), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return registry_store.get_model(self._conn, name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return registry_store.rename_model(self._conn, name, check_name(new_name, "registered model"))

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return registry_store.update_model(self._conn, name, description or "")

    def delete_registered_model(self, name: str, force: bool = False) -> None:
        """Delete a model and all its versions; refused while a version is in Production unless ``force``."""
        registry_store.delete_model(self._conn, name, force)

    def search_registered_models(
        self, filter_string: str | None = None, max_results: int | None = 100,
        order_by: list[str] | None = None, page_token: str | None = None,
    ) -> Page:
        found, token = registry_store.search_models(self._conn, filter_string, max_results, order_by, page_token)
        return Page(found, token)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        key = check_key(key, "tag")
        registry_store.set_model_tag(self._conn, name, key, tag_value(key, value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        registry_store.delete_model_tag(self._conn, name, key)

    # --------------------------------------------------------------------------- versions
    def create_model_version(
        self, name: str, source: str, run_id: str | None = None, tags: dict[str, Any] | None = None,
        run_link: str | None = None, description: str | None = None, await_creation_for: int | None = None,
        model_id: str | None = None, *, _create_model: bool = False,
    ) -> ModelVersion:
        """A new version of ``name`` whose files are ``source``, in MLflow's forms:

        - ``runs:/<run_id>/<path>`` or the run's artifact URI (``f"{run.info.artifact_uri}/model"``):
          checked to hold an MLmodel, recorded as given (with the logged model the run made
          there as ``model_id``);
        - ``models:/<model_id>`` (MLflow 3): a logged model of this file, recorded as given;
        - a local model folder (or ``file://`` URI): copied into the file first (as a run of the
          ``imported-models`` experiment), recorded as that run's ``runs:/`` URI;
        - any other URI (``s3://``, ``https://``, ``dbfs:/``...): recorded as a reference; it is
          never fetched, and loading it says so.
        """
        if not isinstance(source, str) or not source.strip():
            raise InvalidArgument(f"a model version's source is a URI or a model folder, not {source!r}")
        run_link = check_run_link(run_link)
        kind = source_kind(source)
        source_run = run_id
        if kind == "logged":
            from lighttrack.models.uri import logged_model_id
            from lighttrack.store import logged_models as model_store

            found = logged_model_id(source)
            if model_id is not None and model_id != found:
                raise InvalidArgument(f"model_id {model_id} does not match the source's model {found}")
            model_id = found
            logged = self.get_logged_model(found)  # type: ignore[attr-defined]
            if not any(path == "MLmodel" for path, _, _ in model_store.files(self._conn, found)):
                raise NotFound(f"{source} holds no model (no MLmodel file; its status is {logged.status})")
            source_run = source_run or logged.source_run_id
        elif kind == "run":
            from lighttrack.artifacts import split_artifact_uri
            from lighttrack.store import artifacts as artifact_store
            from lighttrack.store import runs as run_store

            source_run, path = split_artifact_uri(source)
            if run_id is not None and run_id != source_run:
                raise InvalidArgument(f"run_id {run_id} does not match the source's run {source_run}")
            pk = run_store.run_pk(self._conn, source_run)
            from lighttrack.store.logged_models import find_in_run

            in_run = find_in_run(self._conn, source_run, path) if path else None
            if artifact_store.blob_of(self._conn, pk, f"{path}/MLmodel" if path else "MLmodel") is None and (
                    in_run is None):
                raise NotFound(f"{source} holds no model (no MLmodel file there)")
            model_id = model_id or in_run
        elif kind == "folder":
            from pathlib import Path

            from lighttrack.models.logged import import_model_folder

            folder = Path(source.removeprefix("file://"))
            if not folder.is_dir():
                raise NotFound(f"no model folder at {source!r}: give a runs:/ URI, a model folder or a remote URI")
            source = import_model_folder(folder, self, name)
            source_run = split_runs_uri(source)[0]
        checked = checked_mapping(tags, "tag", tag_value)
        return registry_store.create_version(
            self._conn, name, source, source_run, user_name(), checked, description,
            create_model_if_missing=_create_model, model_id=model_id, run_link=run_link,
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return registry_store.get_version(self._conn, name, version)

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        return registry_store.update_version(self._conn, name, version, description or "")

    def delete_model_version(self, name: str, version: str | int) -> None:
        registry_store.delete_version(self._conn, name, version, user_name())

    def search_model_versions(
        self, filter_string: str | None = None, max_results: int | None = 10_000,
        order_by: list[str] | None = None, page_token: str | None = None,
    ) -> Page:
        found, token = registry_store.search_versions(self._conn, filter_string, max_results, order_by, page_token)
        return Page(found, token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (of ``stages``, or all four)."""
        return registry_store.latest_versions(self._conn, name, stages)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return registry_store.transition_stage(
            self._conn, name, version, stage, archive_existing_versions, user_name()
        )

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        key = check_key(key, "tag")
        registry_store.set_version_tag(self._conn, name, version, key, tag_value(key, value))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        registry_store.delete_version_tag(self._conn, name, version, key)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self.get_model_version(name, version).source

    # ---------------------------------------------------------------------------- aliases
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        registry_store.set_alias(self._conn, name, alias, version, user_name())

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        registry_store.delete_alias(self._conn, name, alias, user_name())

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return registry_store.version_by_alias(self._conn, name, alias)

    def get_model_history(self, name: str) -> list[ModelHistoryEvent]:
        """Every version creation/deletion, stage change and alias change of a model, oldest first."""
        return registry_store.history(self._conn, name)


#: MLflow does not check run_link (its column is VARCHAR(500), which its SQLite store does not
#: enforce and its Postgres does); lighttrack takes what a tag value may be, and says so above it.
RUN_LINK_MAX = 8000


def check_run_link(run_link: object) -> str | None:
    """MLflow's ``run_link``: a link to the run's page, kept as given. None or "" means none."""
    if run_link is None or run_link == "":
        return None
    if not isinstance(run_link, str):
        raise InvalidArgument(f"run_link is a str (a URL), not {type(run_link).__name__}")
    if len(run_link) > RUN_LINK_MAX:
        raise InvalidArgument(
            f"run_link is {len(run_link):,} characters; at most {RUN_LINK_MAX:,} are allowed (nothing was written)"
        )
    return run_link
