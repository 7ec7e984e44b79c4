"""Dataset inputs of runs: what data a run was trained or evaluated on.

MLflow's model, kept: a dataset is stored once per (experiment, name, digest) — the first one
logged wins, as in MLflow's SQL store — and a run points at it with one small input row
carrying its ``mlflow.data.context`` tag in a column (the tag search and the TUI read); any
other input tags go to ``input_tags``. Logging the same dataset to a run again changes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from lighttrack.entities import Dataset, DatasetInput, InputTag
from lighttrack.errors import InvalidArgument

CONTEXT_TAG = "mlflow.data.context"

# MLflow's limits (mlflow/utils/validation.py); longer values are refused, never cut.
MAX_NAME = 500
MAX_DIGEST = 36
MAX_SOURCE = 65_535
MAX_SCHEMA = 1_048_575
MAX_PROFILE = 16_777_215
MAX_TAG_KEY = 255
MAX_TAG_VALUE = 500
MAX_PER_BATCH = 1000


def _text(value: Any, what: str, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"dataset {what} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidArgument(f"dataset {what} has {len(value):,} characters; at most {limit:,} are allowed")
    return value


def check_inputs(inputs: Any) -> list[DatasetInput]:
    """Our DatasetInput entities from what the caller gave (ours or MLflow's, read by attribute),
    every field checked against MLflow's limits before anything is written."""
    if inputs is None:
        return []
    if not isinstance(inputs, (list, tuple)):
        raise InvalidArgument(f"datasets must be a list of DatasetInput, not {type(inputs).__name__}")
    if len(inputs) > MAX_PER_BATCH:
        raise InvalidArgument(f"at most {MAX_PER_BATCH} dataset inputs can be logged at once, got {len(inputs)}")
    checked = []
    for item in inputs:
        dataset = getattr(item, "dataset", None)
        if dataset is None:
            raise InvalidArgument(
                f"each dataset input must be a DatasetInput with a dataset, not {type(item).__name__}")
        if not hasattr(dataset, "source_type") or not isinstance(getattr(dataset, "source", None), (str, type(None))):
            # a mlflow.data-style Dataset (source is an object): its entity form is what is stored
            to_entity = getattr(dataset, "_to_mlflow_entity", None)
            if to_entity is None:
                raise InvalidArgument(f"dataset must be a Dataset entity, not {type(dataset).__name__}")
            dataset = to_entity()
        checked_fields = (
            _text(dataset.name, "name", MAX_NAME),
            _text(dataset.digest, "digest", MAX_DIGEST),
            _text(dataset.source_type, "source_type", MAX_SOURCE),
            _text(dataset.source, "source", MAX_SOURCE),
            _text(getattr(dataset, "schema", None), "schema", MAX_SCHEMA, optional=True),
            _text(getattr(dataset, "profile", None), "profile", MAX_PROFILE, optional=True),
        )
        # ours (frozen) is kept as it is: log_input of one dataset object per run stays cheap
        entity = dataset if type(dataset) is Dataset else Dataset(*checked_fields)
        tags = []
        seen: set[str] = set()
        for tag in getattr(item, "tags", None) or []:
            key = getattr(tag, "key", None)
            value = getattr(tag, "value", None)
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidArgument(f"input tag keys and values must be strings, got {key!r}: {value!r}")
            if not key or len(key) > MAX_TAG_KEY:
                raise InvalidArgument(f"input tag key {key[:60]!r} must have 1-{MAX_TAG_KEY} characters")
            if len(value) > MAX_TAG_VALUE:
                raise InvalidArgument(
                    f"input tag {key!r} has a {len(value):,}-character value; at most {MAX_TAG_VALUE} are allowed")
            if key in seen:
                raise InvalidArgument(f"input tag {key!r} is given twice for dataset {entity.name!r}")
            seen.add(key)
            tags.append(InputTag(key, value))
        checked.append(DatasetInput(entity, tags))
    return checked


_LINK = ("INSERT OR IGNORE INTO dataset_inputs (run_id, dataset_id, context) SELECT r.id, d.id, ? FROM runs r"
         " JOIN datasets d ON d.experiment_id = r.experiment_id AND d.name = ? AND d.digest = ? WHERE r.id = ?")
_LINKED = ("SELECT 1 FROM runs r JOIN datasets d ON d.experiment_id = r.experiment_id AND d.name = ? AND d.digest = ?"
           " JOIN dataset_inputs i ON i.run_id = r.id AND i.dataset_id = d.id WHERE r.id = ?")


def log_inputs(conn: sqlite3.Connection, run_pk: int, inputs: Sequence[DatasetInput]) -> int:
    """Write checked inputs of one run (inside the caller's transaction); returns how many
    inputs were new. Within a batch the first of the same (name, digest) wins, as in MLflow."""
    first: dict[tuple[str, str], DatasetInput] = {}
    for item in inputs:
        first.setdefault((item.dataset.name, item.dataset.digest), item)
    if not first:
        return 0
    added = 0
    for (name, digest), item in first.items():
        d = item.dataset
        context = next((t.value for t in item.tags if t.key == CONTEXT_TAG), None)
        # The common case (the dataset is here already: the 2nd..500th run on the same data)
        # is this one statement; only a new dataset costs two more.
        cur = conn.execute(_LINK, (context, name, digest, run_pk))
        if not cur.rowcount and not conn.execute(_LINKED, (name, digest, run_pk)).fetchone():
            conn.execute(
                "INSERT OR IGNORE INTO datasets (experiment_id, name, digest, source_type, source, schema, profile)"
                " SELECT experiment_id, ?, ?, ?, ?, ?, ? FROM runs WHERE id = ?",
                (name, digest, d.source_type, d.source, d.schema, d.profile, run_pk))
            cur = conn.execute(_LINK, (context, name, digest, run_pk))
        if cur.rowcount:
            added += 1
            others = [(cur.lastrowid, t.key, t.value) for t in item.tags if t.key != CONTEXT_TAG]
            if others:
                conn.executemany("INSERT INTO input_tags (input_id, key, value) VALUES (?, ?, ?)", others)
    return added


def inputs_of(conn: sqlite3.Connection, run_pks: Iterable[int]) -> dict[int, list[DatasetInput]]:
    """run pk -> its dataset inputs, in logged order, for many runs in a few queries. A dataset
    shared by many runs is read (and built) once."""
    pks = list(run_pks)
    out: dict[int, list[DatasetInput]] = {}
    rows: list[tuple[int, int, int, str | None]] = []
    for start in range(0, len(pks), 900):  # SQLite's bound-parameter limit
        part = pks[start:start + 900]
        rows.extend(conn.execute(
            f"SELECT id, run_id, dataset_id, context FROM dataset_inputs WHERE run_id IN ({','.join('?' * len(part))})"
            " ORDER BY id", part))
    if not rows:
        return out
    dataset_ids = sorted({row[2] for row in rows})
    datasets: dict[int, Dataset] = {}
    for start in range(0, len(dataset_ids), 900):
        part = dataset_ids[start:start + 900]
        for pk, name, digest, source_type, source, schema, profile in conn.execute(
            "SELECT id, name, digest, source_type, source, schema, profile FROM datasets"
            f" WHERE id IN ({','.join('?' * len(part))})", part):
            datasets[pk] = Dataset(name, digest, source_type, source, schema, profile)
    extra: dict[int, list[InputTag]] = {}
    if conn.execute("SELECT EXISTS (SELECT 1 FROM input_tags)").fetchone()[0]:
        input_ids = [row[0] for row in rows]
        for start in range(0, len(input_ids), 900):
            part = input_ids[start:start + 900]
            for input_id, key, value in conn.execute(
                f"SELECT input_id, key, value FROM input_tags WHERE input_id IN ({','.join('?' * len(part))})", part):
                extra.setdefault(input_id, []).append(InputTag(key, value))
    for input_id, run_pk, dataset_pk, context in rows:
        tags = list(extra.get(input_id, ()))
        if context is not None:
            tags.append(InputTag(CONTEXT_TAG, context))  # last, where MLflow's log_input puts it
        out.setdefault(run_pk, []).append(DatasetInput(datasets[dataset_pk], tags))
    return out
