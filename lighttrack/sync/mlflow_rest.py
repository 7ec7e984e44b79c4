"""The three requests a pushed run needs, straight over MLflow's REST API.

``MlflowClient`` builds protobuf messages, re-validates, and retries for minutes; for the hot
path of a push (create, log-batch, update: three requests a run) that costs as much CPU as the
server's own work on a 2-core box. This speaks the same documented endpoints
(``/api/2.0/mlflow/runs/create|log-batch|log-inputs|update|search``) over one pooled ``requests`` session
shared by the push's threads, with MLflow's authentication variables honoured.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

from lighttrack.sync.mlflow_common import MlflowStoreError


class ServerUnavailable(MlflowStoreError):
    """The server did not answer (gone, restarting): the push can resume later."""


def _number(value: float) -> float | str:
    """Protobuf's JSON form for the floats JSON has no literal for."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


# MLflow's SQL store holds two pooled connections during one log-batch (the run's session, then
# one for params, metrics or tags), and a server process's pool is 5 + 10 by default: eight
# log-batch requests landing in one process wait on each other for the pool's 30 s timeout and
# fail. Six at a time can never fill the pool, whatever the server's process count.
LOG_BATCH_AT_ONCE = 6
# What such a server answers when its pool did fill anyway (another client, a smaller pool): the
# requests below are idempotent on MLflow's side (identical points are ignored, equal params
# accepted, an update or a search can be repeated), so they are sent again after a pause. A
# create is not: two attempts could make two runs.
_POOL_TIMEOUT = "QueuePool limit"
_REPEATABLE = frozenset({"runs/log-batch", "runs/update", "runs/search"})
_POOL_RETRIES = (1.0, 2.0, 4.0)


class RestClient:
    def __init__(self, uri: str, connections: int = 8, timeout: float = 60.0) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.base = uri.rstrip("/") + "/api/2.0/mlflow/"
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, connections))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif user and password:
            self.session.auth = (user, password)
        if os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
            self.session.verify = False
        self._lock = threading.Lock()
        self._log_batch_slots = threading.BoundedSemaphore(LOG_BATCH_AT_ONCE)
        self.requests = 0

    def call(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        for pause in _POOL_RETRIES:
            try:
                return self._call_once(endpoint, payload)
            except MlflowStoreError as exc:
                if endpoint not in _REPEATABLE or _POOL_TIMEOUT not in str(exc):
                    raise
            time.sleep(pause)
        return self._call_once(endpoint, payload)

    def _call_once(self, endpoint: str, payload: dict[str, Any]) -> dict[str, Any]:
        import requests

        try:
            response = self.session.post(self.base + endpoint, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServerUnavailable(f"the MLflow server at {self.base[:-len('api/2.0/mlflow/')]} did not answer: "
                                    f"{type(exc).__name__}") from None
        with self._lock:
            self.requests += 1
        if response.status_code >= 500 or response.status_code in (429, 502, 503, 504):
            raise ServerUnavailable(f"the MLflow server answered {response.status_code} to {endpoint}")
        if response.status_code != 200:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise MlflowStoreError(f"MLflow refused {endpoint}: {str(message)[:300]}")
        return response.json() if response.content else {}

    # --------------------------------------------------------------------------- runs
    def create_run(self, experiment_id: str, start_time: int | None, run_name: str | None,
                   tags: dict[str, str], user_id: str | None) -> str:
        payload: dict[str, Any] = {"experiment_id": experiment_id,
                                   "tags": [{"key": k, "value": v} for k, v in tags.items()]}
        if start_time is not None:
            payload["start_time"] = start_time
        if run_name:
            payload["run_name"] = run_name
        if user_id:
            payload["user_id"] = user_id
        return self.call("runs/create", payload)["run"]["info"]["run_id"]

    def log_batch(self, run_id: str, metrics: list[tuple[str, float, int, int]],
                  params: list[tuple[str, str]], tags: list[tuple[str, str]]) -> None:
        with self._log_batch_slots:
            self._log_batch(run_id, metrics, params, tags)

    def _log_batch(self, run_id: str, metrics: list[tuple[str, float, int, int]],
                   params: list[tuple[str, str]], tags: list[tuple[str, str]]) -> None:
        self.call("runs/log-batch", {
            "run_id": run_id,
            "metrics": [{"key": k, "value": _number(v), "timestamp": t, "step": s} for k, v, t, s in metrics],
            "params": [{"key": k, "value": v} for k, v in params],
            "tags": [{"key": k, "value": v} for k, v in tags],
        })

    def log_inputs(self, run_id: str, inputs: list[Any]) -> None:
        """Dataset inputs (our DatasetInput entities) in one ``runs/log-inputs`` request."""
        datasets = []
        for item in inputs:
            d = item.dataset
            dataset = {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source}
            if d.schema is not None:
                dataset["schema"] = d.schema
            if d.profile is not None:
                dataset["profile"] = d.profile
            datasets.append({"tags": [{"key": t.key, "value": t.value} for t in item.tags], "dataset": dataset})
        self.call("runs/log-inputs", {"run_id": run_id, "datasets": datasets})

    def update_run(self, run_id: str, status: str, end_time: int | None) -> None:
        payload: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time is not None:
            payload["end_time"] = end_time
        self.call("runs/update", payload)

    def find_runs_by_tag(self, experiment_ids: list[str], key: str, values: list[str]) -> dict[str, str]:
        """tag value -> server run id, for runs carrying ``key`` with one of ``values``."""
        found: dict[str, str] = {}
        for value in values:
            escaped = value.replace("'", "\\'")
            reply = self.call("runs/search", {
                "experiment_ids": experiment_ids, "filter": f"tags.`{key}` = '{escaped}'",
                "max_results": 10, "run_view_type": "ALL",
            })
            for run in reply.get("runs", []):
                found[value] = run["info"]["run_id"]
        return found
