"""Reading MLflow's file store (an ``mlruns/`` folder) natively, without MLflow installed.

MLflow 3.13+ refuses to open its own file store unless ``MLFLOW_ALLOW_FILE_STORE`` is set, and
the store is only YAML and text files, so lighttrack reads it itself:

    mlruns/<experiment id>/meta.yaml               an experiment (deleted ones live in .trash/)
    mlruns/<experiment id>/tags/<key>              its tags, one file each (keys may hold '/')
    mlruns/<experiment id>/<run id>/meta.yaml      a run: name, status (1-5), times, user
    mlruns/<experiment id>/<run id>/params|tags/<key>
    mlruns/<experiment id>/<run id>/metrics/<key>  "timestamp value step" per line
    mlruns/<experiment id>/<run id>/artifacts/     the run's files
    mlruns/<experiment id>/<run id>/inputs/<id>/   a dataset input (tags), naming
    mlruns/<experiment id>/datasets/<id>/meta.yaml a dataset (name, digest, source, schema, profile)
    mlruns/<experiment id>/models/<model id>/      MLflow 3 logged models (meta.yaml, artifacts/)
    mlruns/models/<name>/meta.yaml, tags/, aliases/, version-<n>/meta.yaml, version-<n>/tags/

Everything goes into a staging file with the same ids the MLflow-client import gives, which is
then merged: importing twice (either way) adds nothing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lighttrack.store.merge import MergeReport
from lighttrack.sync.mlflow_common import MlflowStoreError

#: MLflow's RunStatus numbers, as its file store writes them.
_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


def mlruns_folder(source: str) -> Path | None:
    """The folder when ``source`` names a local MLflow file store (a path or file:// URI), else None."""
    text = str(source)
    if text.startswith("file:"):
        path = Path(unquote(urlparse(text).path))
    elif "://" in text or text.startswith("sqlite:"):
        return None
    else:
        path = Path(text)
    if not path.is_dir():
        return None
    if not any((entry / "meta.yaml").is_file() for entry in path.iterdir() if entry.is_dir()) \
            and not (path / "models").is_dir() and not (path / ".trash").is_dir():
        raise MlflowStoreError(
            f"{path} is not an MLflow file store: it holds no <experiment id>/meta.yaml "
            "(give the mlruns/ folder itself)"
        )
    return path


def check_source(source: str) -> None:
    """A missing sqlite file is an error, not an empty store: MLflow would create the file (and
    its folders) and report an import of nothing."""
    text = str(source)
    if text.startswith("sqlite:"):
        path = text[len("sqlite:"):]
        path = path[3:] if path.startswith("///") else path.lstrip("/") if path.startswith("//") else path
        if path in ("", ":memory:") or not Path(path).is_file():
            raise MlflowStoreError(
                f"{path or text} does not exist: nothing was imported "
                "(give sqlite:///path/to/an/existing/mlflow.db)"
            )
    elif text.startswith("file:") or "://" not in text:
        local = Path(unquote(urlparse(text).path)) if text.startswith("file:") else Path(text)
        if not local.exists():
            raise MlflowStoreError(f"{local} does not exist: nothing was imported")


def import_mlruns(root: Path, into: str | None = None, progress: Any = None) -> MergeReport:
    """Import the file store at ``root`` into the lighttrack file ``into``."""
    from lighttrack import sync
    from lighttrack.store import Store

    tick = progress or (lambda phase, done, total: None)
    with tempfile.TemporaryDirectory(prefix="lighttrack-import-") as tmp:
        staging_path = Path(tmp) / "staging.db"
        staging = Store(staging_path)
        try:
            _FileStoreReader(root, staging, tick).read_all()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if getattr(exc, "__module__", "").startswith("lighttrack"):
                raise
            raise MlflowStoreError(f"cannot read the MLflow file store {root}: {exc}") from None
        finally:
            staging.close()
        return sync.merge(staging_path, into, progress=progress)


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return data


def _files(folder: Path) -> dict[str, str]:
    """{key: text} of a params/ or tags/ folder; a key with '/' is a nested file."""
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[path.relative_to(folder).as_posix()] = path.read_text(encoding="utf-8")
    return out


def _dataset_inputs(run_folder: Path) -> list:
    """A run's dataset inputs: ``<run>/inputs/<id>/meta.yaml`` (source_type DATASET) naming a
    dataset in ``<experiment>/datasets/<source_id>/meta.yaml``; checked like any logged input."""
    from lighttrack.entities import Dataset, DatasetInput, InputTag
    from lighttrack.store.datasets import check_inputs

    inputs_folder = run_folder / "inputs"
    if not inputs_folder.is_dir():
        return []
    found = []
    for entry in sorted(inputs_folder.iterdir()):
        edge = _yaml(entry / "meta.yaml") if (entry / "meta.yaml").is_file() else {}
        source_id = str(edge.get("source_id", ""))
        dataset_meta = run_folder.parent / "datasets" / source_id / "meta.yaml"
        if edge.get("source_type") != "DATASET" or not source_id or "/" in source_id or not dataset_meta.is_file():
            continue
        d = _yaml(dataset_meta)
        tags = edge.get("tags") or {}
        found.append(DatasetInput(
            Dataset(d.get("name"), d.get("digest"), d.get("source_type"), d.get("source"), d.get("schema"),
                    d.get("profile")),
            [InputTag(str(k), str(v)) for k, v in (tags.items() if isinstance(tags, dict) else [])]))
    return check_inputs(found)


def _local_path(uri: str | None, fallback: Path) -> Path:
    if uri and uri.startswith("file:"):
        path = Path(unquote(urlparse(uri).path))
        if path.is_dir():
            return path
    return fallback


class _FileStoreReader:
    def __init__(self, root: Path, staging: Any, tick: Any) -> None:
        from lighttrack.client import LighttrackClient

        self.root = root
        self.staging = staging
        self.client = LighttrackClient(staging.path)
        self.tick = tick
        self.logged_models: dict[str, str] = {}  # MLflow logged model id -> runs:/ uri

    def read_all(self) -> None:
        folders = [p for p in sorted(self.root.iterdir()) if p.is_dir() and (p / "meta.yaml").is_file()
                   and p.name not in ("models", ".trash")]
        trash = self.root / ".trash"
        if trash.is_dir():
            folders += [p for p in sorted(trash.iterdir()) if (p / "meta.yaml").is_file()]
        experiments = [(folder, self._experiment(folder)) for folder in folders]
        experiments = [(folder, uid) for folder, uid in experiments if uid is not None]
        runs = [(run, uid) for folder, uid in experiments for run in sorted(folder.iterdir())
                if run.is_dir() and run.name != "models" and (run / "meta.yaml").is_file()]
        for done, (run, experiment_uid) in enumerate(runs):
            self.tick("reading runs", done, len(runs))
            self._run(run, experiment_uid)
        for folder, _ in experiments:
            self._logged_models(folder)
        self._registry()

    # ------------------------------------------------------------------------ tracking
    def _experiment(self, folder: Path) -> str | None:
        from lighttrack.errors import AlreadyExists
        from lighttrack.store import experiments as experiment_store
        from lighttrack.sync.mlflow_import import stable_id

        meta = _yaml(folder / "meta.yaml")
        experiment_id = str(meta.get("experiment_id", folder.name))
        name = str(meta.get("name") or experiment_id)
        created = meta.get("creation_time")
        tags = _files(folder / "tags") or {str(k): str(v) for k, v in (meta.get("tags") or {}).items()}
        tags["lighttrack.mlflow.experiment_id"] = experiment_id
        uid = stable_id("experiment", experiment_id, name, created)
        try:
            experiment_store.create(self.staging.conn, name, None, tags, experiment_id=uid, creation_time=created)
        except AlreadyExists:  # a deleted experiment whose name an active one took again
            return None
        if meta.get("lifecycle_stage") == "deleted":
            experiment_store.set_lifecycle(self.staging.conn, uid, "deleted")
        return uid

    def _run(self, folder: Path, experiment_uid: str) -> None:
        from lighttrack.store import datasets as dataset_store
        from lighttrack.store import metrics as metric_store
        from lighttrack.store import runs as run_store
        from lighttrack.store.db import write_transaction
        from lighttrack.validation import number_or_none

        meta = _yaml(folder / "meta.yaml")
        run_id = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
        tags = _files(folder / "tags")
        status = meta.get("status", 3)
        status = _STATUS.get(status, status) if isinstance(status, int) else str(status)
        conn = self.staging.conn
        start, end = meta.get("start_time"), meta.get("end_time")
        run_store.create(
            conn, experiment_uid, str(meta.get("run_name") or tags.get("mlflow.runName", "")),
            user_id=str(meta.get("user_id") or ""), start_time=start, tags=tags, status=status, run_id=run_id,
        )
        pk = run_store.run_pk(conn, run_id)
        with write_transaction(conn):
            conn.execute("UPDATE runs SET end_time = ?, lifecycle_stage = ?, host = '', pid = NULL,"
                         " heartbeat = ? WHERE id = ?",
                         (end, meta.get("lifecycle_stage") or "active", end or start, pk))
            conn.executemany("INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)",
                             [(pk, k, v, number_or_none(v)) for k, v in _files(folder / "params").items()])
            for key, text in _files(folder / "metrics").items():
                steps, timestamps, values = [], [], []
                for line in text.splitlines():
                    fields = line.split()
                    if not fields:
                        continue
                    timestamps.append(int(fields[0]))
                    values.append(float(fields[1]))
                    steps.append(int(fields[2]) if len(fields) > 2 else 0)
                metric_store.append(conn, pk, key, steps, timestamps, values)
            dataset_store.log_inputs(conn, pk, _dataset_inputs(folder))
        artifacts = _local_path(meta.get("artifact_uri"), folder / "artifacts")
        if artifacts.is_dir() and any(artifacts.iterdir()):
            self.client.log_artifacts(run_id, artifacts)

    def _logged_models(self, experiment_folder: Path) -> None:
        """MLflow 3 keeps logged models beside the runs: copy each into its run, at its name."""
        models = experiment_folder / "models"
        if not models.is_dir():
            return
        for folder in sorted(models.iterdir()):
            if not (folder / "meta.yaml").is_file():
                continue
            meta = _yaml(folder / "meta.yaml")
            run_id, model_id = meta.get("source_run_id"), str(meta.get("model_id") or folder.name)
            if not run_id:
                continue
            name = str(meta.get("name") or model_id)
            uri = f"runs:/{run_id}/{name}"
            self.logged_models[model_id] = uri
            if self.client.list_artifacts(run_id, name):
                continue
            local = _local_path(meta.get("artifact_location"), folder / "artifacts")
            if local.is_dir():
                self.client.log_artifacts(run_id, local, name)

    # ------------------------------------------------------------------------ registry
    def _registry(self) -> None:
        from lighttrack.store import registry as registry_store
        from lighttrack.sync.mlflow_import import stable_id

        registry = self.root / "models"
        if not registry.is_dir():
            return
        for folder in sorted(registry.iterdir()):
            if not (folder / "meta.yaml").is_file():
                continue
            meta = _yaml(folder / "meta.yaml")
            name = str(meta.get("name") or folder.name)
            created = meta.get("creation_timestamp")
            model_uuid = stable_id("model", name, created)
            aliases: dict[str, list[str]] = {}
            alias_map = {str(k): str(v) for k, v in (meta.get("aliases") or {}).items()}
            alias_map.update({k: v.strip() for k, v in _files(folder / "aliases").items()})
            for alias, version in alias_map.items():
                aliases.setdefault(version, []).append(alias)
            versions = []
            for version_folder in folder.iterdir():
                if version_folder.name.startswith("version-") and (version_folder / "meta.yaml").is_file():
                    versions.append((_yaml(version_folder / "meta.yaml"), version_folder))
            for version, version_folder in sorted(versions, key=lambda v: int(v[0]["version"])):
                number = int(version["version"])
                source = self._version_source(name, version)
                registry_store.import_version(
                    self.staging.conn, name=name, model_uuid=model_uuid,
                    model_description=meta.get("description") or "", model_created=created,
                    version_uuid=stable_id("version", name, str(number), version.get("creation_timestamp")),
                    number=number, stage=version.get("current_stage") or "None", source=source,
                    run_id=source.split("/")[1] if source.startswith("runs:/") else None,
                    description=version.get("description") or "", user=version.get("user_id") or "",
                    created=version.get("creation_timestamp"), updated=version.get("last_updated_timestamp"),
                    tags=_files(version_folder / "tags"), aliases=aliases.get(str(number), []),
                    run_link=version.get("run_link") or None,
                )
            for key, value in _files(folder / "tags").items():
                self.client.set_registered_model_tag(name, key, value)

    def _version_source(self, name: str, version: dict[str, Any]) -> str:
        """A runs:/ URI inside the staging file for a version's files."""
        source = str(version.get("source") or "")
        if source.startswith("models:/") and source[len("models:/"):] in self.logged_models:
            return self.logged_models[source[len("models:/"):]]
        if source.startswith("runs:/"):
            return source
        from lighttrack.models.logged import import_model_folder

        local = _local_path(version.get("storage_location") or source, Path(os.devnull))
        if not local.is_dir() and source and "://" not in source:
            local = Path(source)
        if not local.is_dir():
            raise MlflowStoreError(f"model {name!r} version {version.get('version')}: its files ({source}) are missing")
        return import_model_folder(local, self.client, name)
