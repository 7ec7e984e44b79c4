"""``push-mlflow``: send runs and the registry to an MLflow tracking server — for teams that
outgrow files (an MLflow server runs on Postgres and object storage).

MLflow chooses its own run ids, so what was sent is recorded in the file (``sync_state``: our
id -> the server's id, plus what was already sent). Pushing again sends only what is new: new
runs, metric points past those already sent, new params and artifacts, changed tags and status,
new registry versions, stage and alias changes. Tags keep MLflow's system names
(``mlflow.runName``, ``mlflow.user``, ``mlflow.source.*``), so the server's UI shows them natively.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.entities import Run, ViewType
from lighttrack.sync.mlflow_common import describe_failure, mlflow_client
from lighttrack.util import now_ms

Progress = Callable[[str, int, int], None]
_BATCH_METRICS = 1000  # MLflow's log_batch limits
_BATCH_PARAMS = 100
_BATCH_TAGS = 100


@dataclass
class PushReport:
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    metric_points: int = 0
    artifacts: int = 0
    models_created: int = 0
    versions_created: int = 0
    stage_changes: int = 0
    alias_changes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def push_mlflow(
    uri: str,
    source: str | None = None,
    experiments: list[str] | None = None,
    filter_string: str = "",
    progress: Progress | None = None,
) -> PushReport:
    """Send the chosen runs (default: all active) and the registry versions of them to ``uri``."""
    from lighttrack.client import LighttrackClient

    remote = mlflow_client(uri)
    local = LighttrackClient(source)
    local.flush()
    started = time.perf_counter()
    pusher = _Pusher(local, remote, uri, progress or (lambda phase, done, total: None))
    try:
        ids = [local.resolve_experiment_id(e) for e in experiments] if experiments else None
        # Oldest first, so a parent run is on the server before its children name it.
        runs = local.search_runs(ids, filter_string, ViewType.ACTIVE_ONLY, max_results=None,
                                 order_by=["attributes.start_time ASC"])
        for done, run in enumerate(runs):
            pusher.tick("runs", done, len(runs))
            pusher.push_run(run)
        pusher.push_registry({r.info.run_id for r in runs})
    except Exception as exc:
        if getattr(type(exc), "__module__", "").startswith("lighttrack"):
            raise
        raise describe_failure(uri, exc) from exc
    pusher.report.seconds = time.perf_counter() - started
    return pusher.report


class _Pusher:
    def __init__(self, local: Any, remote: Any, uri: str, tick: Progress) -> None:
        self.local = local
        self.remote = remote
        self.uri = uri
        self.tick = tick
        self.report = PushReport()
        self._experiments: dict[str, str] = {}  # checked once per push, not once per run

    # --------------------------------------------------------------------- sync_state
    def _state(self, kind: str, local_id: str) -> tuple[str, dict] | None:
        row = self.local.store.conn.execute(
            "SELECT remote_id, state FROM sync_state WHERE remote = ? AND kind = ? AND local_id = ?",
            (self.uri, kind, local_id),
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def _save(self, kind: str, local_id: str, remote_id: str, state: dict) -> None:
        from lighttrack.store.db import write_transaction

        conn = self.local.store.conn
        with write_transaction(conn):
            conn.execute(
                "INSERT OR REPLACE INTO sync_state (remote, kind, local_id, remote_id, state, synced_time)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (self.uri, kind, local_id, remote_id, json.dumps(state), now_ms()),
            )

    # ------------------------------------------------------------------------- runs
    def _experiment(self, experiment_id: str) -> str:
        if experiment_id not in self._experiments:
            self._experiments[experiment_id] = self._find_or_create_experiment(experiment_id)
        return self._experiments[experiment_id]

    def _find_or_create_experiment(self, experiment_id: str) -> str:
        known = self._state("experiment", experiment_id)
        if known is not None and self._remote_experiment_alive(known[0]):
            return known[0]
        experiment = self.local.get_experiment(experiment_id)
        found = self.remote.get_experiment_by_name(experiment.name)
        if found is not None and found.lifecycle_stage == "active":
            remote_id = found.experiment_id
        else:
            remote_id = self.remote.create_experiment(experiment.name, tags=experiment.tags or None)
        self._save("experiment", experiment_id, remote_id, {})
        return remote_id

    def _remote_experiment_alive(self, remote_id: str) -> bool:
        try:
            return self.remote.get_experiment(remote_id).lifecycle_stage == "active"
        except Exception:  # deleted for good on the server: create it again
            return False

    def push_run(self, run: Run) -> None:
        from mlflow.entities import Metric, Param, RunTag

        run_id = run.info.run_id
        known = self._state("run", run_id)
        state = known[1] if known else {"params": [], "metrics": {}, "artifacts": {}, "tags": {}}
        tags = {k: self._remote_tag(k, v) for k, v in run.data.tags.items() if state["tags"].get(k) != v}
        if known is None:
            created = self.remote.create_run(
                self._experiment(run.info.experiment_id), start_time=run.info.start_time,
                run_name=run.info.run_name, tags={**tags, "lighttrack.run_id": run_id},
            )
            remote_id = created.info.run_id
            tags = {}  # sent with the run
        else:
            remote_id = known[0]
        params = [Param(k, v) for k, v in run.data.params.items() if k not in state["params"]]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        points = []
        counts = dict(state["metrics"])
        for key in run.data.metrics:
            steps, timestamps, values = self.local.metric_history_arrays(run_id, key, numpy=False)
            already = counts.get(key, 0)
            points.extend(Metric(key, values[i], timestamps[i], steps[i]) for i in range(already, len(values)))
            counts[key] = len(values)
        # Params, tags and points share batches, within MLflow's per-request limits.
        batches = max((len(params) + _BATCH_PARAMS - 1) // _BATCH_PARAMS,
                      (len(tag_list) + _BATCH_TAGS - 1) // _BATCH_TAGS,
                      (len(points) + _BATCH_METRICS - 1) // _BATCH_METRICS)
        for i in range(batches):
            self.remote.log_batch(
                remote_id, metrics=points[i * _BATCH_METRICS:(i + 1) * _BATCH_METRICS],
                params=params[i * _BATCH_PARAMS:(i + 1) * _BATCH_PARAMS],
                tags=tag_list[i * _BATCH_TAGS:(i + 1) * _BATCH_TAGS],
            )
        sent_anything = batches > 0
        self.report.metric_points += len(points)
        artifacts = self._push_artifacts(run_id, remote_id, state["artifacts"])
        sent_anything |= artifacts != state["artifacts"]
        finished = run.info.status in ("FINISHED", "FAILED", "KILLED")
        ending = (run.info.status, run.info.end_time)
        if finished and tuple(state.get("ending") or ()) != ending:
            self.remote.set_terminated(remote_id, run.info.status, end_time=run.info.end_time)
            sent_anything = True
        self._save("run", run_id, remote_id, {
            "params": sorted(run.data.params), "tags": dict(run.data.tags), "metrics": counts,
            "artifacts": artifacts, "ending": list(ending) if finished else None,
        })
        if known is None:
            self.report.runs_created += 1
        elif sent_anything:
            self.report.runs_updated += 1
        else:
            self.report.runs_unchanged += 1

    def _remote_tag(self, key: str, value: str) -> str:
        """A parent run id names our run; on the server it must name the server's copy."""
        if key == "mlflow.parentRunId":
            parent = self._state("run", value)
            if parent is not None:
                return parent[0]
        return value

    def _push_artifacts(self, run_id: str, remote_id: str, sent: dict[str, str]) -> dict[str, str]:
        from lighttrack.store import artifacts as artifact_store
        from lighttrack.store import runs as run_store

        conn = self.local.store.conn
        pk = run_store.run_pk(conn, run_id)
        current = {path: sha for path, sha, _ in artifact_store.files(conn, pk)}
        changed = [path for path, sha in current.items() if sent.get(path) != sha]
        if not changed:
            return current
        with tempfile.TemporaryDirectory(prefix="lighttrack-push-") as tmp:
            for path in changed:
                local = Path(tmp) / path
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(artifact_store.read_bytes(conn, pk, path))
                folder = path.rpartition("/")[0] or None
                self.remote.log_artifact(remote_id, str(local), folder)
        self.report.artifacts += len(changed)
        return current

    # --------------------------------------------------------------------- registry
    def push_registry(self, pushed_runs: set[str]) -> None:
        versions = [v for v in self.local.search_model_versions(max_results=None) if v.run_id in pushed_runs]
        by_model: dict[str, list[Any]] = {}
        for version in versions:
            by_model.setdefault(version.name, []).append(version)
        for name, model_versions in by_model.items():
            model = self.local.get_registered_model(name)
            self._model(model)
            for version in sorted(model_versions, key=lambda v: int(v.version)):
                self._version(version)
            self._aliases(model)

    def _model(self, model: Any) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.remote.get_registered_model(model.name)
        except MlflowException:
            self.remote.create_registered_model(model.name, tags=model.tags or None,
                                                description=model.description or None)
            self.report.models_created += 1

    def _version(self, version: Any) -> None:
        conn = self.local.store.conn
        version_uuid = conn.execute(
            "SELECT v.uuid FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
            " WHERE m.name = ? AND v.version = ?", (version.name, int(version.version)),
        ).fetchone()[0]
        known = self._state("version", version_uuid)
        if known is None:
            remote_run = self._state("run", version.run_id)[0]
            from lighttrack.registry_client import split_runs_uri

            path = split_runs_uri(version.source)[1]
            created = self.remote.create_model_version(
                version.name, f"runs:/{remote_run}/{path}", run_id=remote_run,
                tags=version.tags or None, description=version.description or None,
            )
            remote_version, stage = created.version, "None"
            self.report.versions_created += 1
        else:
            remote_version, stage = known[0], known[1].get("stage", "None")
        if version.current_stage != stage:
            self.remote.transition_model_version_stage(version.name, remote_version, version.current_stage)
            self.report.stage_changes += 1
        self._save("version", version_uuid, str(remote_version), {"stage": version.current_stage})

    def _aliases(self, model: Any) -> None:
        remote_model = self.remote.get_registered_model(model.name)
        remote_aliases = dict(getattr(remote_model, "aliases", {}) or {})
        conn = self.local.store.conn
        for alias, version in model.aliases.items():
            uuid_row = conn.execute(
                "SELECT v.uuid FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
                " WHERE m.name = ? AND v.version = ?", (model.name, int(version)),
            ).fetchone()
            known = self._state("version", uuid_row[0]) if uuid_row else None
            if known is None:
                continue  # that version's run was not pushed
            if str(remote_aliases.get(alias)) != str(known[0]):
                self.remote.set_registered_model_alias(model.name, alias, known[0])
                self.report.alias_changes += 1
