"""``push-mlflow``: send runs and the registry to an MLflow tracking server — for teams that
outgrow files (an MLflow server runs on Postgres and object storage).

Fast: runs go out from a bounded pool of threads sharing one pool of connections, each in the
fewest requests MLflow allows (create with its tags; params, tags and points together in
log-batches of at most 1,000 metrics / 100 params / 100 tags; one log-inputs for new dataset
inputs; update for the end status), and a
run that has not changed since the last push costs no request and no history read.

Resumable, each thing exactly once: what was sent is recorded in the file (``sync_state``: our
id -> the server's id and what it already has). Before runs are created, a "pending" marker is
written for each; a push killed after the server created a run but before the file recorded it
finds the server's copy by its ``lighttrack.run_id`` tag next time instead of creating a second
one. Everything else is safe to send again: MLflow keeps one copy of an identical metric point,
accepts a param logged again with the same value, and overwrites tags and artifact files.
Registry versions get the same marker treatment (found again by run and source).

``--watch`` repeats the push every few seconds, so a training box streams to the team server;
a server that goes away is retried until it comes back, and nothing is lost or doubled.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.entities import Run, ViewType
from lighttrack.sync.mlflow_common import MlflowStoreError, describe_failure, mlflow_client
from lighttrack.util import now_ms

#: progress(phase, done, total, points): runs done of total, metric points sent so far.
Progress = Callable[..., None]
BATCH_METRICS = 1000  # MLflow's log-batch limits
BATCH_PARAMS = 100
BATCH_TAGS = 100
DEFAULT_WORKERS = 8
_SAVE_EVERY = 0.5  # seconds between sync_state transactions while runs complete
_RUN_ID_TAG = "lighttrack.run_id"


@dataclass
class PushReport:
    runs_created: int = 0
    runs_updated: int = 0
    runs_unchanged: int = 0
    runs_recovered: int = 0  # created by an interrupted push, found again on the server
    metric_points: int = 0
    artifacts: int = 0
    models_created: int = 0
    versions_created: int = 0
    logged_models_created: int = 0
    stage_changes: int = 0
    alias_changes: int = 0
    requests: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def push_mlflow(
    uri: str,
    source: str | None = None,
    experiments: list[str] | None = None,
    filter_string: str = "",
    progress: Progress | None = None,
    workers: int = DEFAULT_WORKERS,
) -> PushReport:
    """Send the chosen runs (default: all active) and the registry versions of them to ``uri``."""
    from lighttrack.client import LighttrackClient
    from lighttrack.errors import InvalidArgument

    if not 1 <= int(workers) <= 64:
        raise InvalidArgument(f"workers must be between 1 and 64, not {workers}")
    remote = mlflow_client(uri)
    local = LighttrackClient(source)
    local.flush()
    started = time.perf_counter()
    pusher = _Pusher(local, remote, uri, progress, int(workers))
    try:
        ids = [local.resolve_experiment_id(e) for e in experiments] if experiments else None
        # Oldest first, so a parent run is on the server before its children name it.
        runs = local.search_runs(ids, filter_string, ViewType.ACTIVE_ONLY, max_results=None,
                                 order_by=["attributes.start_time ASC"])
        pusher.push_runs(runs)
        from lighttrack.sync.mlflow_push_models import push_logged_models

        pusher.logged_models = push_logged_models(pusher, runs, ids)
        pusher.push_registry({r.info.run_id for r in runs})
    except Exception as exc:
        if getattr(type(exc), "__module__", "").startswith("lighttrack"):
            raise
        raise describe_failure(uri, exc) from exc
    finally:
        pusher.close()
    pusher.report.seconds = time.perf_counter() - started
    pusher.report.requests = pusher.rest_requests()
    return pusher.report


def watch_mlflow(
    uri: str,
    source: str | None = None,
    experiments: list[str] | None = None,
    filter_string: str = "",
    interval: float = 2.0,
    on_round: Callable[[PushReport | None, Exception | None], None] | None = None,
    stop: threading.Event | None = None,
    workers: int = DEFAULT_WORKERS,
) -> None:
    """Push, wait ``interval`` seconds, push what is new, ... until ``stop`` is set. A server that
    does not answer is reported through ``on_round`` and tried again next round."""
    # MLflow's client would retry a dead server for minutes inside one round; one retry is
    # enough when the next round comes in seconds anyway.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    stop = stop or threading.Event()
    report_round = on_round or (lambda report, error: None)
    while not stop.is_set():
        try:
            report = push_mlflow(uri, source, experiments, filter_string, workers=workers)
        except MlflowStoreError as exc:
            report_round(None, exc)
        else:
            report_round(report, None)
        stop.wait(interval)


def batches(points: list, params: list, tags: list):
    """The fewest log-batch requests within MLflow's limits: at most 100 params, 100 tags and
    1,000 metrics each, and at most 1,000 items of all three together."""
    p = t = m = 0
    while p < len(params) or t < len(tags) or m < len(points):
        batch_params = params[p:p + BATCH_PARAMS]
        batch_tags = tags[t:t + BATCH_TAGS]
        room = BATCH_METRICS - len(batch_params) - len(batch_tags)
        batch_points = points[m:m + room]
        p, t, m = p + len(batch_params), t + len(batch_tags), m + len(batch_points)
        yield batch_points, batch_params, batch_tags


class _ClientCalls:
    """The REST client's three calls through MlflowClient, for non-HTTP stores (sqlite:///, mlruns)."""

    requests = 0

    def __init__(self, client: Any) -> None:
        self.client = client

    def create_run(self, experiment_id, start_time, run_name, tags, user_id) -> str:
        return self.client.create_run(experiment_id, start_time=start_time, run_name=run_name, tags=tags).info.run_id

    def log_batch(self, run_id, metrics, params, tags) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(run_id, metrics=[Metric(k, v, t, s) for k, v, t, s in metrics],
                              params=[Param(k, v) for k, v in params], tags=[RunTag(k, v) for k, v in tags])

    def log_inputs(self, run_id, inputs) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        self.client.log_inputs(run_id, [
            DatasetInput(Dataset(i.dataset.name, i.dataset.digest, i.dataset.source_type, i.dataset.source,
                                 i.dataset.schema, i.dataset.profile), [InputTag(t.key, t.value) for t in i.tags])
            for i in inputs])

    def update_run(self, run_id, status, end_time) -> None:
        self.client.set_terminated(run_id, status, end_time=end_time)

    def find_runs_by_tag(self, experiment_ids, key, values) -> dict[str, str]:
        found = {}
        for value in values:
            for run in self.client.search_runs(experiment_ids, f"tags.`{key}` = '{value}'", max_results=10):
                found[value] = run.info.run_id
        return found


class _Pusher:
    def __init__(self, local: Any, remote: Any, uri: str, progress: Progress | None, workers: int) -> None:
        from lighttrack.sync.mlflow_rest import RestClient

        self.local = local
        self.remote = remote
        self.uri = uri
        self.workers = workers
        self.tick = progress or (lambda *args, **kwargs: None)
        self.report = PushReport()
        self.rest = (RestClient(uri, connections=workers) if uri.startswith(("http://", "https://"))
                     else _ClientCalls(remote))
        self._experiments: dict[str, str] = {}  # checked once per push, not once per run
        self.logged_models: dict[str, str] = {}  # our logged model id -> the server's
        self._states: dict[tuple[str, str], tuple[str, dict]] = self._load_states()
        self._lock = threading.Lock()
        self._unsaved: list[tuple[str, str, str, dict]] = []

    def rest_requests(self) -> int:
        return self.rest.requests

    def close(self) -> None:
        self._flush_states()
        session = getattr(self.rest, "session", None)
        if session is not None:
            session.close()

    # --------------------------------------------------------------------- sync_state
    def _load_states(self) -> dict[tuple[str, str], tuple[str, dict]]:
        rows = self.local.store.conn.execute(
            "SELECT kind, local_id, remote_id, state FROM sync_state WHERE remote = ?", (self.uri,)
        ).fetchall()
        return {(kind, local_id): (remote_id, json.loads(state)) for kind, local_id, remote_id, state in rows}

    def _state(self, kind: str, local_id: str) -> tuple[str, dict] | None:
        return self._states.get((kind, local_id))

    def _save(self, kind: str, local_id: str, remote_id: str, state: dict) -> None:
        self._save_many([(kind, local_id, remote_id, state)])

    def _save_many(self, rows: list[tuple[str, str, str, dict]], clear_pending: bool = True) -> None:
        """One transaction for many rows; a saved run's pending marker goes in the same one."""
        from lighttrack.store.db import write_transaction

        if not rows:
            return
        conn = self.local.store.conn
        stamp = now_ms()
        with write_transaction(conn):
            conn.executemany(
                "INSERT OR REPLACE INTO sync_state (remote, kind, local_id, remote_id, state, synced_time)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(self.uri, kind, local_id, remote_id, json.dumps(state), stamp)
                 for kind, local_id, remote_id, state in rows],
            )
            if clear_pending:
                conn.executemany(
                    "DELETE FROM sync_state WHERE remote = ? AND kind = ? AND local_id = ?",
                    [(self.uri, kind + "-pending", local_id) for kind, local_id, _, _ in rows],
                )
        for kind, local_id, remote_id, state in rows:
            self._states[kind, local_id] = (remote_id, state)
            self._states.pop((kind + "-pending", local_id), None)

    def _queue_save(self, row: tuple[str, str, str, dict]) -> None:
        with self._lock:
            self._unsaved.append(row)

    def _flush_states(self) -> None:
        with self._lock:
            rows, self._unsaved = self._unsaved, []
        self._save_many(rows)

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

    def _local_facts(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, str]]]:
        """Every run's point count per metric and artifact files, in two queries."""
        conn = self.local.store.conn
        counts: dict[str, dict[str, int]] = {}
        for run_id, key, count in conn.execute(
            "SELECT r.uuid, k.key, lm.count FROM latest_metrics lm JOIN runs r ON r.id = lm.run_id"
            " JOIN metric_keys k ON k.id = lm.key_id"
        ):
            counts.setdefault(run_id, {})[key] = count
        files: dict[str, dict[str, str]] = {}
        for run_id, path, sha in conn.execute("SELECT r.uuid, a.path, a.sha256 FROM artifacts a JOIN runs r ON r.id = a.run_id"):
            files.setdefault(run_id, {})[path] = sha
        return counts, files

    def push_runs(self, runs: list[Run]) -> None:
        counts, files = self._local_facts()
        total = len(runs)
        self.tick("runs", 0, total, points=0)
        self._recover(runs)
        ids = {r.info.run_id for r in runs}
        waves: list[list[Run]] = []
        placed: dict[str, int] = {}
        for run in runs:  # a child goes in a wave after its parent's (its tag names the server's id)
            parent = run.data.tags.get("mlflow.parentRunId")
            wave = placed[parent] + 1 if parent in ids and parent in placed else 0
            placed[run.info.run_id] = wave
            while len(waves) <= wave:
                waves.append([])
            waves[wave].append(run)
        done = 0
        last_save = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lighttrack-push") as pool:
            for wave in waves:
                self._mark_pending([r for r in wave if self._state("run", r.info.run_id) is None])
                for run in wave:  # experiments looked up here, once, not from many threads at once
                    self._experiment(run.info.experiment_id)
                futures = {pool.submit(self._push_run, run, counts.get(run.info.run_id, {}),
                                       files.get(run.info.run_id, {})) for run in wave}
                try:
                    while futures:
                        finished, futures = wait(futures, timeout=_SAVE_EVERY, return_when=FIRST_COMPLETED)
                        for future in finished:
                            future.result()
                            done += 1
                        if time.monotonic() - last_save >= _SAVE_EVERY:
                            self._flush_states()
                            last_save = time.monotonic()
                        self.tick("runs", done, total, points=self.report.metric_points)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
                finally:
                    self._flush_states()

    def _mark_pending(self, runs: list[Run]) -> None:
        """Before creating runs on the server: remember that we are about to (one transaction)."""
        rows = [("run-pending", r.info.run_id, "", {"experiment": r.info.experiment_id}) for r in runs]
        self._save_many(rows, clear_pending=False)

    def _recover(self, runs: list[Run]) -> None:
        """Runs an interrupted push may have created on the server without recording it."""
        pending = [r for r in runs if self._state("run-pending", r.info.run_id) is not None
                   and self._state("run", r.info.run_id) is None]
        by_experiment: dict[str, list[str]] = {}
        for run in pending:
            by_experiment.setdefault(run.info.experiment_id, []).append(run.info.run_id)
        for experiment_id, run_ids in by_experiment.items():
            found = self.rest.find_runs_by_tag([self._experiment(experiment_id)], _RUN_ID_TAG, run_ids)
            self._save_many([("run", local_id, remote_id, {"params": [], "metrics": {}, "artifacts": {}, "tags": {}})
                             for local_id, remote_id in found.items()])
            self.report.runs_recovered += len(found)

    def _push_run(self, run: Run, counts: dict[str, int], files: dict[str, str]) -> None:
        run_id = run.info.run_id
        known = self._state("run", run_id)
        state = known[1] if known else {"params": [], "metrics": {}, "artifacts": {}, "tags": {}}
        finished = run.info.status in ("FINISHED", "FAILED", "KILLED")
        ending = [run.info.status, run.info.end_time] if finished else None
        inputs = {f"{i.dataset.name}@{i.dataset.digest}": i for i in run.inputs.dataset_inputs}
        if (known is not None and state.get("metrics") == counts and state.get("artifacts") == files
                and state.get("tags") == dict(run.data.tags) and state.get("params") == sorted(run.data.params)
                and state.get("ending") == ending and state.get("inputs", []) == sorted(inputs)):
            with self._lock:
                self.report.runs_unchanged += 1
            return  # nothing new: no request, no history read
        tags = {k: self._remote_tag(k, v) for k, v in run.data.tags.items() if state["tags"].get(k) != v}
        if known is None:
            remote_id = self.rest.create_run(
                self._experiments[run.info.experiment_id], run.info.start_time, run.info.run_name,
                {**tags, _RUN_ID_TAG: run_id}, run.data.tags.get("mlflow.user"),
            )
            tags = {}  # sent with the run
        else:
            remote_id = known[0]
        params = [(k, v) for k, v in run.data.params.items() if k not in state["params"]]
        tag_list = list(tags.items())
        points: list[tuple[str, float, int, int]] = []
        sent_counts = dict(state["metrics"])
        for key, count in counts.items():
            already = sent_counts.get(key, 0)
            if count <= already:
                continue
            steps, timestamps, values = self.local.metric_history_arrays(run_id, key, numpy=False)
            points.extend((key, values[i], timestamps[i], steps[i]) for i in range(already, len(values)))
            sent_counts[key] = len(values)
        for batch_points, batch_params, batch_tags in batches(points, params, tag_list):
            self.rest.log_batch(remote_id, batch_points, batch_params, batch_tags)
        new_inputs = [item for key, item in inputs.items() if key not in state.get("inputs", [])]
        for start in range(0, len(new_inputs), 1000):  # MLflow's datasets-per-request limit
            self.rest.log_inputs(remote_id, new_inputs[start:start + 1000])
        artifacts = self._push_artifacts(run_id, remote_id, state["artifacts"], files)
        if finished and state.get("ending") != ending:
            self.rest.update_run(remote_id, run.info.status, run.info.end_time)
        self._queue_save(("run", run_id, remote_id, {
            "params": sorted(run.data.params), "tags": dict(run.data.tags), "metrics": sent_counts,
            "artifacts": artifacts, "ending": ending, "inputs": sorted(inputs),
        }))
        with self._lock:
            self.report.metric_points += len(points)
            if known is None:
                self.report.runs_created += 1
            else:
                self.report.runs_updated += 1

    def _remote_tag(self, key: str, value: str) -> str:
        """A parent run id names our run; on the server it must name the server's copy."""
        if key == "mlflow.parentRunId":
            parent = self._state("run", value)
            if parent is not None:
                return parent[0]
        return value

    def _push_artifacts(self, run_id: str, remote_id: str, sent: dict[str, str], current: dict[str, str]) -> dict[str, str]:
        from lighttrack.store import artifacts as artifact_store
        from lighttrack.store import runs as run_store

        changed = [path for path, sha in current.items() if sent.get(path) != sha]
        if not changed:
            return current
        conn = self.local.store.conn
        pk = run_store.run_pk(conn, run_id)
        with tempfile.TemporaryDirectory(prefix="lighttrack-push-") as tmp:
            for path in changed:
                local = Path(tmp) / path
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(artifact_store.read_bytes(conn, pk, path))
                folder = path.rpartition("/")[0] or None
                self.remote.log_artifact(remote_id, str(local), folder)
        with self._lock:
            self.report.artifacts += len(changed)
        return current

    # --------------------------------------------------------------------- registry
    def push_registry(self, pushed_runs: set[str]) -> None:
        versions = [v for v in self.local.search_model_versions(max_results=None)
                    if v.run_id in pushed_runs or (v.model_id and v.model_id in self.logged_models)]
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

    def _version_uuid(self, name: str, version: int) -> str | None:
        row = self.local.store.conn.execute(
            "SELECT v.uuid FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
            " WHERE m.name = ? AND v.version = ?", (name, int(version)),
        ).fetchone()
        return row[0] if row else None

    def _version(self, version: Any) -> None:
        version_uuid = self._version_uuid(version.name, version.version)
        known = self._state("version", version_uuid)
        if known is None:
            remote_run = self._state("run", version.run_id)[0] if version.run_id else None
            from lighttrack.registry_client import split_runs_uri

            remote_model = self.logged_models.get(version.model_id) if version.model_id else None
            if remote_model:  # MLflow 3's form (it refuses a runs:/ source with a model_id)
                source = f"models:/{remote_model}"
            else:
                source = f"runs:/{remote_run}/{split_runs_uri(version.source)[1]}"
            remote_version = self._created_before(version, remote_run, source)
            if remote_version is None:
                self._save_many([("version-pending", version_uuid, "", {})], clear_pending=False)
                created = self.remote.create_model_version(
                    version.name, source, run_id=remote_run,
                    tags=version.tags or None, description=version.description or None,
                    model_id=remote_model,
                    run_link=version.run_link or None,
                )
                remote_version = created.version
                self.report.versions_created += 1
            stage = "None"
        else:
            remote_version, stage = known[0], known[1].get("stage", "None")
        if version.current_stage != stage:
            self.remote.transition_model_version_stage(version.name, remote_version, version.current_stage)
            self.report.stage_changes += 1
        self._save("version", version_uuid, str(remote_version), {"stage": version.current_stage})

    def _created_before(self, version: Any, remote_run: str, source: str) -> str | None:
        """An interrupted push may have created this version without recording it: find it."""
        version_uuid = self._version_uuid(version.name, version.version)
        if self._state("version-pending", version_uuid) is None:
            return None
        for candidate in self.remote.search_model_versions(f"name = '{version.name}'"):
            if candidate.run_id == remote_run and candidate.source == source:
                return str(candidate.version)
        return None

    def _aliases(self, model: Any) -> None:
        remote_model = self.remote.get_registered_model(model.name)
        remote_aliases = dict(getattr(remote_model, "aliases", {}) or {})
        for alias, version in model.aliases.items():
            version_uuid = self._version_uuid(model.name, version)
            known = self._state("version", version_uuid) if version_uuid else None
            if known is None:
                continue  # that version's run was not pushed
            if str(remote_aliases.get(alias)) != str(known[0]):
                self.remote.set_registered_model_alias(model.name, alias, known[0])
                self.report.alias_changes += 1
