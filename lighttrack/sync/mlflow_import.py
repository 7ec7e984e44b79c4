"""``import-mlflow``: read an MLflow store (server, sqlite:/// file or mlruns/ folder) into a file.

Everything read is first written into a temporary lighttrack file — runs keep MLflow's run ids,
and experiments, registered models and versions get ids derived from their MLflow identity —
which is then merged into the target. So importing twice adds nothing, and a run that changed
in MLflow since the last import follows the merge's rule (the side that finished later wins).

Read: experiments (with tags), runs (params, tags, every metric's full history, dataset inputs,
artifacts), MLflow 3 logged models (with their model_id, params, tags, metrics with their
datasets and status; their files are the model's own and, for a model of a run, also the run's
``<name>/``, so ``runs:/<run>/<name>`` works too), and registered models with their versions,
stages, aliases, tags and descriptions.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.store.merge import MergeReport
from lighttrack.sync.mlflow_common import describe_failure, mlflow_client, normalise_uri

_NAMESPACE = uuid.UUID("5d7c0a3e-8a52-4b8e-9a4c-6c1f0e7d2b91")
Progress = Callable[..., None]  # (phase, done, total[, points=...])


def stable_id(*parts: Any) -> str:
    """The same 32-hex id for the same MLflow object, on every import."""
    return uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))).hex


def _pages(fetch: Callable[[str | None], Any]) -> list[Any]:
    items, token = [], None
    while True:
        page = fetch(token)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items


def import_mlflow(source: str, into: str | None = None, progress: Progress | None = None,
                  workers: int = 8) -> MergeReport:
    """Import everything from the MLflow store ``source`` into the lighttrack file ``into``."""
    from lighttrack import sync
    from lighttrack.store import Store
    from lighttrack.sync.mlruns_reader import check_source, import_mlruns, mlruns_folder

    folder = mlruns_folder(source)  # MLflow's file store is read natively, without MLflow
    if folder is not None:
        return import_mlruns(folder, into, progress)
    check_source(source)  # before MLflow runs: it would create a missing sqlite file
    uri = normalise_uri(source)
    remote = mlflow_client(uri)
    tick = progress or (lambda phase, done, total, points=0: None)
    with tempfile.TemporaryDirectory(prefix="lighttrack-import-") as tmp:
        staging_path = Path(tmp) / "staging.db"
        staging = Store(staging_path)
        try:
            reader = _Reader(remote, uri, staging, Path(tmp), tick, workers)
            reader.read_all()
        except Exception as exc:
            if getattr(exc, "__module__", "").startswith("lighttrack"):
                raise
            raise describe_failure(uri, exc) from exc
        finally:
            staging.close()
        return sync.merge(staging_path, into, progress=progress)


class _Reader:
    def __init__(self, remote: Any, uri: str, staging: Any, tmp: Path, tick: Progress, workers: int = 8) -> None:
        from lighttrack.client import LighttrackClient

        self.remote = remote
        self.uri = uri
        self.staging = staging
        self.client = LighttrackClient(staging.path)
        self.tmp = tmp
        self.tick = tick
        self.experiments: dict[str, str] = {}  # mlflow experiment id -> staging experiment id
        self.logged_models: dict[str, str] = {}  # mlflow logged model id -> runs:/ uri
        self.workers = workers
        self.points = 0  # metric points read so far (for the progress bar's points/s)

    def read_all(self) -> None:
        from mlflow.entities import ViewType as MlflowViewType

        experiments = _pages(lambda token: self.remote.search_experiments(
            view_type=MlflowViewType.ALL, max_results=1000, page_token=token))
        for experiment in experiments:
            self._experiment(experiment)
        runs = []
        for experiment in experiments:
            runs.extend(_pages(lambda token, e=experiment: self.remote.search_runs(
                [e.experiment_id], run_view_type=MlflowViewType.ALL, max_results=1000, page_token=token)))
        self._read_runs(runs)
        for experiment in experiments:
            self._logged_models(experiment.experiment_id)
        self._registry()

    def _read_runs(self, runs: list[Any]) -> None:
        """Runs are read by a bounded pool: each needs a request per metric and its artifacts,
        and waiting on one server answer at a time left both machines idle."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        done = 0
        self.tick("reading runs", 0, len(runs), points=0)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lighttrack-import") as pool:
            pending = {pool.submit(self._run, run) for run in runs}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done += 1
                    self.tick("reading runs", done, len(runs), points=self.points)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise

    # ------------------------------------------------------------------------ tracking
    def _experiment(self, experiment: Any) -> None:
        from lighttrack.store import experiments as experiment_store

        tags = {k: v for k, v in (experiment.tags or {}).items()}
        tags["lighttrack.mlflow.experiment_id"] = str(experiment.experiment_id)
        uid = stable_id("experiment", experiment.experiment_id, experiment.name, experiment.creation_time)
        conn = self.staging.conn
        from lighttrack.store.db import write_transaction

        with write_transaction(conn):  # the new staging file's own empty Default gives way to MLflow's
            conn.execute("DELETE FROM experiments WHERE name = ? AND uuid != ? AND NOT EXISTS "
                         "(SELECT 1 FROM runs WHERE runs.experiment_id = experiments.id)", (experiment.name, uid))
        experiment_store.create(conn, experiment.name, None, tags, experiment_id=uid,
                                creation_time=experiment.creation_time)
        if experiment.lifecycle_stage == "deleted":
            experiment_store.set_lifecycle(conn, uid, "deleted")
        self.experiments[str(experiment.experiment_id)] = uid

    def _run(self, run: Any) -> None:
        from lighttrack.store import datasets as dataset_store
        from lighttrack.store import metrics as metric_store
        from lighttrack.store import runs as run_store
        from lighttrack.store.db import write_transaction
        from lighttrack.validation import number_or_none

        info, data = run.info, run.data
        inputs = dataset_store.check_inputs(list(getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []))
        conn = self.staging.conn
        experiment_id = self.experiments[str(info.experiment_id)]
        created = run_store.create(
            conn, experiment_id, info.run_name or data.tags.get("mlflow.runName", ""), user_id=info.user_id or "",
            start_time=info.start_time, tags=dict(data.tags), status=info.status, run_id=info.run_id,
        )
        pk = run_store.run_pk(conn, created.run_id)
        with write_transaction(conn):
            conn.execute("UPDATE runs SET end_time = ?, lifecycle_stage = ?, host = '', pid = NULL,"
                         " heartbeat = ? WHERE id = ?",
                         (info.end_time, info.lifecycle_stage, info.end_time or info.start_time, pk))
            conn.executemany("INSERT INTO params (run_id, key, value, num) VALUES (?, ?, ?, ?)",
                             [(pk, k, v, number_or_none(v)) for k, v in data.params.items()])
            for key in data.metrics:
                history = self.remote.get_metric_history(info.run_id, key)
                self.points += len(history)
                metric_store.append(conn, pk, key, [m.step for m in history], [m.timestamp for m in history],
                                    [float(m.value) for m in history])
            dataset_store.log_inputs(conn, pk, inputs)
        self._artifacts(info.run_id)

    def _artifacts(self, run_id: str) -> None:
        if not self.remote.list_artifacts(run_id):
            return
        target = self.tmp / "artifacts" / run_id
        local = self.remote.download_artifacts(run_id, "", str(target))
        self.client.log_artifacts(run_id, local)

    def _logged_models(self, experiment_id: str) -> None:
        """MLflow 3's logged models, as entities with their own ids and files."""
        search = getattr(self.remote, "search_logged_models", None)
        if search is None:
            return
        try:
            models = _pages(lambda token: search(experiment_ids=[experiment_id], max_results=100, page_token=token))
        except Exception:  # a store without logged-model support (file stores, older servers)
            return
        for model in models:
            self._logged_model(model)

    def _logged_model(self, model: Any) -> None:
        from mlflow.artifacts import download_artifacts

        from lighttrack.client import folder_files
        from lighttrack.entities import Metric
        from lighttrack.store import logged_models as model_store
        from lighttrack.store import runs as run_store
        from lighttrack.store.db import write_transaction

        conn = self.staging.conn
        run_id = getattr(model, "source_run_id", None) or None
        name = model.name or model.model_id
        status = str(getattr(model.status, "value", model.status) or "READY").upper()
        model_store.create(
            conn, self.experiments[str(model.experiment_id)], name, source_run_id=run_id,
            model_type=model.model_type or None, params=dict(model.params or {}), tags=dict(model.tags or {}),
            status=status if status in ("PENDING", "READY", "FAILED", "UNSPECIFIED") else "READY",
            model_id=model.model_id, creation_timestamp=model.creation_timestamp, imported=True,
        )
        metrics = [Metric(m.key, float(m.value), m.timestamp, m.step or 0, m.run_id or run_id, model.model_id,
                          m.dataset_name or None, m.dataset_digest or None) for m in (model.metrics or [])]
        if metrics:
            model_store.log_metrics(conn, metrics)
        try:
            local = download_artifacts(artifact_uri=model.artifact_location,
                                       dst_path=str(self.tmp / model.model_id), tracking_uri=self.uri)
        except Exception:  # a PENDING or FAILED model may have no files: the entity still comes
            local = None
        if local is not None and Path(local).is_dir():
            if (Path(local) / "MLmodel").exists():
                from lighttrack.models.logged import vouch_for_folder

                vouch_for_folder(Path(local))  # importing is the user vouching for the store
            also = None
            if run_id:
                try:
                    pk = run_store.run_pk(conn, run_id)
                    if not self.client.list_artifacts(run_id, name):
                        also = (pk, name)
                except Exception:  # its run is not in this store
                    also = None
            model_store.put_files(conn, model.model_id, folder_files(Path(local)), also_run=also)
        with write_transaction(conn):  # MLflow's times, not the import's
            conn.execute("UPDATE logged_models SET last_updated_timestamp = ?, status_message = ? WHERE model_id = ?",
                         (model.last_updated_timestamp, getattr(model, "status_message", None), model.model_id))
        self.logged_models[model.model_id] = f"models:/{model.model_id}"

    # ------------------------------------------------------------------------ registry
    def _registry(self) -> None:
        from lighttrack.models.uri import logged_model_id
        from lighttrack.store import registry as registry_store

        models = _pages(lambda token: self.remote.search_registered_models(max_results=100, page_token=token))
        for model in models:
            model_uuid = stable_id("model", model.name, model.creation_timestamp)
            aliases: dict[str, list[str]] = {}
            for alias, version in (getattr(model, "aliases", None) or {}).items():
                aliases.setdefault(str(version), []).append(alias)
            versions = _pages(lambda token, m=model: self.remote.search_model_versions(
                f"name = '{_quote(m.name)}'", max_results=1000, page_token=token))
            for version in sorted(versions, key=lambda v: int(v.version)):
                source = self._version_source(version)
                registry_store.import_version(
                    self.staging.conn, name=model.name, model_uuid=model_uuid,
                    model_description=model.description or "", model_created=model.creation_timestamp,
                    version_uuid=stable_id("version", model.name, version.version, version.creation_timestamp),
                    number=int(version.version), stage=version.current_stage or "None", source=source,
                    run_id=source.split("/")[1] if source.startswith("runs:/") else (version.run_id or None),
                    description=version.description or "", user=version.user_id or "",
                    created=version.creation_timestamp, updated=version.last_updated_timestamp,
                    tags=dict(version.tags or {}), aliases=aliases.get(str(version.version), []),
                    model_id=getattr(version, "model_id", None) or logged_model_id(source),
                    run_link=getattr(version, "run_link", None) or None,
                )
            for key, value in (model.tags or {}).items():
                self.client.set_registered_model_tag(model.name, key, value)

    def _version_source(self, version: Any) -> str:
        """A runs:/ URI inside the staging file for a version's files."""
        source = version.source or ""
        if source.startswith("models:/m-") and source[len("models:/"):] in self.logged_models:
            return self.logged_models[source[len("models:/"):]]
        if source.startswith("runs:/"):
            return source
        from mlflow.artifacts import download_artifacts

        from lighttrack.models.logged import import_model_folder

        local = download_artifacts(artifact_uri=source, dst_path=str(self.tmp / f"v-{version.name}-{version.version}"),
                                   tracking_uri=self.uri)
        return import_model_folder(Path(local), self.client, version.name)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
