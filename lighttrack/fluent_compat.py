"""The rest of MLflow's fluent surface: registry searches, parent runs, tables, async logging.

Kept apart from ``fluent`` (the hot logging path) so each stays one job. Everything works on the
file the fluent API uses.
"""

from __future__ import annotations

import json
from typing import Any

from lighttrack.errors import InvalidArgument, NotFound

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"


class RunOperations:
    """What ``synchronous=False`` returns, as MLflow's: ``wait()`` returns once the data is in
    the file. lighttrack's writes are already local, so waiting is a flush."""

    def wait(self) -> None:
        from lighttrack.fluent import flush

        flush()


def _client():
    from lighttrack import fluent

    return fluent._client()


def flush_async_logging() -> None:
    """MLflow's name for "write everything buffered now"."""
    from lighttrack.fluent import flush

    flush()


def get_parent_run(run_id: str):
    """The run named by ``run_id``'s ``mlflow.parentRunId`` tag, or None."""
    return _client().get_parent_run(run_id)


def search_registered_models(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None,
) -> list:
    """Every matching registered model (all pages), as ``mlflow.search_registered_models``."""
    return _all_pages(_client().search_registered_models, filter_string, max_results, order_by)


def search_model_versions(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None,
) -> list:
    """Every matching model version (all pages), as ``mlflow.search_model_versions``."""
    return _all_pages(_client().search_model_versions, filter_string, max_results, order_by)


def _all_pages(search, filter_string, max_results, order_by) -> list:
    found: list = []
    token = None
    while True:
        want = 1000 if max_results is None else min(1000, max_results - len(found))
        page = search(filter_string=filter_string, max_results=want, order_by=order_by, page_token=token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            return found


# ------------------------------------------------------------------------------------ tables
def _table_of(data: Any) -> tuple[list[str], list[list[Any]]]:
    from lighttrack.artifact_formats import table_bytes

    table = json.loads(table_bytes(data, "table.json"))
    return table["columns"], table["data"]


def log_table(client, run_id: str, data: Any, artifact_file: str) -> None:
    """Write (or append to) a JSON table and list it in the ``mlflow.loggedArtifacts`` tag, as
    MLflow does: logging to the same file again adds rows, columns are united."""
    from lighttrack.artifact_formats import table_bytes

    table_bytes(data, artifact_file)  # check the data and the name before anything is read or written
    columns, rows = _table_of(data)
    existing = _existing_table(client, run_id, artifact_file)
    if existing is not None:
        old_columns, old_rows = existing
        united = old_columns + [c for c in columns if c not in old_columns]
        rows = [_reorder(old_columns, row, united) for row in old_rows] + [_reorder(columns, row, united) for row in rows]
        columns = united
    payload = json.dumps({"columns": columns, "data": rows}, default=str).encode()
    client.log_bytes(run_id, payload, artifact_file)
    listed = json.loads(client.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in listed:
        listed.append(entry)
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(listed))


def _reorder(columns: list[str], row: list[Any], united: list[str]) -> list[Any]:
    by_name = dict(zip(columns, row))
    return [by_name.get(c) for c in united]


def _existing_table(client, run_id: str, artifact_file: str) -> tuple[list[str], list[list[Any]]] | None:
    try:
        raw = client.read_artifact(run_id, artifact_file)
    except NotFound:
        return None
    try:
        table = json.loads(raw)
        return list(table["columns"]), [list(r) for r in table["data"]]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(
            f"{artifact_file} in run {run_id} is not a table lighttrack can append to: log to a new file"
        ) from None


def load_table(artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None):
    """One DataFrame of the table ``artifact_file`` from every run of the active experiment that
    logged it (or of ``run_ids``); ``extra_columns=["run_id"]`` adds the run id to each row."""
    import pandas as pd

    from lighttrack import fluent

    client = fluent._client()
    fluent.flush()
    experiment_id = fluent._resolve_experiment_id(None)
    runs = client.search_runs([experiment_id], max_results=100_000)
    frames = []
    for run in runs:
        if run_ids and run.info.run_id not in run_ids:
            continue
        listed = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
        if {"path": artifact_file, "type": "table"} not in listed:
            continue
        table = _existing_table(client, run.info.run_id, artifact_file)
        if table is None:
            continue
        frame = pd.DataFrame(table[1], columns=table[0])
        for column in extra_columns or []:
            if column != "run_id":
                raise InvalidArgument(f"extra_columns can hold 'run_id', not {column!r}")
            frame[column] = run.info.run_id
        frames.append(frame)
    if not frames:
        raise NotFound(f"no run of experiment {experiment_id} logged a table {artifact_file!r}")
    return pd.concat(frames, ignore_index=True)
