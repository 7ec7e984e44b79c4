"""MLflow 3's logged models in SQL: the entity, its params/tags/metrics, its files, its search.

The search reuses the one filter grammar (``search_parse``) through a ``Scope`` for logged
models, so its errors name positions exactly as run searches do.
"""

from __future__ import annotations

import math
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lighttrack.entities import LifecycleStage, Metric
from lighttrack.entities.logged_model import LoggedModel, LoggedModelStatus
from lighttrack.errors import DamagedFile, InvalidArgument, InvalidFilter, InvalidState, NotFound, UnsafeArtifactPath
from lighttrack.store import artifacts as artifact_store
from lighttrack.store.db import write_transaction
from lighttrack.store.experiments import experiment_pk
from lighttrack.store.search import NUMBER_OPS, STRING_OPS, Field, Keyed, Scope, compile_filter
from lighttrack.store.search_parse import parse_order_item
from lighttrack.util import now_ms

#: MLflow's default page size for search_logged_models.
MAX_RESULTS_DEFAULT = 100
MAX_RESULTS_LIMIT = 50_000
#: Characters MLflow refuses in a logged model's name.
BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")

_COLUMNS = (
    "m.id, m.model_id, e.uuid, m.name, m.source_run_id, m.status, m.status_message, m.model_type,"
    " m.artifact_location, m.creation_timestamp, m.last_updated_timestamp"
)

SCOPE = Scope(
    "logged models", "m.id",
    {
        "model_id": Field("m.model_id", "string"),
        "name": Field("m.name", "string"),
        "status": Field("m.status", "string", upper=True, choices=tuple(s.value for s in LoggedModelStatus)),
        "model_type": Field("m.model_type", "string", nullable=True),
        "source_run_id": Field("m.source_run_id", "string", nullable=True),
        "creation_timestamp": Field("m.creation_timestamp", "number"),
        "last_updated_timestamp": Field("m.last_updated_timestamp", "number"),
        "artifact_location": Field("m.artifact_location", "string"),
        "experiment_id": Field("(SELECT uuid FROM experiments WHERE id = m.experiment_id)", "string"),
    },
    {"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp", "id": "model_id"},
    {
        "params": Keyed("FROM logged_model_params p WHERE p.model_pk = m.id AND p.key = ?", text="p.value",
                        num=None, text_ops=STRING_OPS),
        "tags": Keyed("FROM logged_model_tags t WHERE t.model_pk = m.id AND t.key = ?", text="t.value",
                      num=None, text_ops=STRING_OPS),
        "metrics": Keyed("FROM logged_model_metrics mm WHERE mm.model_pk = m.id AND mm.key = ?", text=None,
                         num="mm.value", num_ops=NUMBER_OPS, nan_is_null=True),
    },
    default_order="m.creation_timestamp DESC, m.model_id ASC",
)


def new_model_id() -> str:
    """MLflow 3's form: 'm-' and 32 hex digits."""
    return f"m-{uuid.uuid4().hex}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in BAD_NAME_CHARS):
        raise InvalidArgument(
            f"invalid logged model name {name!r}: a model name is a non-empty string without any of "
            f"{' '.join(BAD_NAME_CHARS)}"
        )
    return name


def model_pk(conn: sqlite3.Connection, model_id: str, *, for_write: bool = False) -> int:
    row = conn.execute("SELECT id, lifecycle_stage FROM logged_models WHERE model_id = ?", (str(model_id),)).fetchone()
    if row is None or (row[1] != LifecycleStage.ACTIVE and for_write):
        raise NotFound(f"no logged model with id {model_id!r}" if row is None
                       else f"logged model {model_id} is deleted")
    return row[0]


def create(
    conn: sqlite3.Connection, experiment_id: str, name: str, *, source_run_id: str | None = None,
    model_type: str | None = None, params: dict[str, str] | None = None, tags: dict[str, str] | None = None,
    status: str = LoggedModelStatus.PENDING.value, model_id: str | None = None,
    creation_timestamp: int | None = None, artifact_location: str | None = None, imported: bool = False,
) -> LoggedModel:
    """A new logged model, PENDING until its files are in (MLflow's life cycle)."""
    model_id = model_id or new_model_id()
    stamp = now_ms() if creation_timestamp is None else creation_timestamp
    location = artifact_location or f"lighttrack:/models/{model_id}/artifacts"
    with write_transaction(conn):
        exp_pk = experiment_pk(conn, experiment_id)
        stage = conn.execute("SELECT lifecycle_stage FROM experiments WHERE id = ?", (exp_pk,)).fetchone()[0]
        if stage != LifecycleStage.ACTIVE and not imported:  # an import keeps a deleted experiment's models
            raise InvalidState(f"experiment {experiment_id} is deleted: restore it before logging a model to it")
        cur = conn.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, source_run_id, status, model_type,"
            " artifact_location, creation_timestamp, last_updated_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (model_id, exp_pk, name, source_run_id, status, model_type, location, stamp, stamp),
        )
        pk = cur.lastrowid
        _write_pairs(conn, "logged_model_params", pk, params or {})
        _write_pairs(conn, "logged_model_tags", pk, tags or {})
    return get(conn, model_id)


def _write_pairs(conn: sqlite3.Connection, table: str, pk: int, items: dict[str, str]) -> None:
    # MLflow lets a later value win for model params and tags (unlike run params)
    conn.executemany(
        f"INSERT INTO {table} (model_pk, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (model_pk, key) DO UPDATE SET value = excluded.value",
        [(pk, k, v) for k, v in items.items()],
    )


def _touch(conn: sqlite3.Connection, pk: int) -> None:
    conn.execute("UPDATE logged_models SET last_updated_timestamp = ? WHERE id = ?", (now_ms(), pk))


def set_tags(conn: sqlite3.Connection, model_id: str, tags: dict[str, str]) -> None:
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        _write_pairs(conn, "logged_model_tags", pk, tags)
        _touch(conn, pk)


def delete_tag(conn: sqlite3.Connection, model_id: str, key: str) -> None:
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        if conn.execute("DELETE FROM logged_model_tags WHERE model_pk = ? AND key = ?", (pk, key)).rowcount == 0:
            raise NotFound(f"logged model {model_id} has no tag {key!r}")
        _touch(conn, pk)


def log_params(conn: sqlite3.Connection, model_id: str, params: dict[str, str]) -> None:
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        _write_pairs(conn, "logged_model_params", pk, params)
        _touch(conn, pk)


def finalize(conn: sqlite3.Connection, model_id: str, status: str, message: str | None = None) -> LoggedModel:
    status = str(status.value if isinstance(status, LoggedModelStatus) else status).upper()
    if status not in ("READY", "FAILED"):
        raise InvalidArgument(f"a logged model is finalized as READY or FAILED, not {status!r}")
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        conn.execute("UPDATE logged_models SET status = ?, status_message = ?, last_updated_timestamp = ?"
                     " WHERE id = ?", (status, message, now_ms(), pk))
    return get(conn, model_id)


def delete(conn: sqlite3.Connection, model_id: str) -> None:
    """Soft delete, as MLflow: the model leaves searches; ``gc`` purges it."""
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        conn.execute("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp = ? WHERE id = ?",
                     (now_ms(), pk))


def log_metrics(conn: sqlite3.Connection, rows: Sequence[Metric]) -> None:
    """Metrics linked to models (``Metric.model_id`` set), all or none."""
    with write_transaction(conn):
        insert_metrics(conn, rows)


def insert_metrics(conn: sqlite3.Connection, rows: Sequence[Metric]) -> None:
    """``log_metrics`` inside the caller's transaction (log_batch writes run and model at once)."""
    if rows:
        pks = {m.model_id: model_pk(conn, m.model_id, for_write=True) for m in rows}
        conn.executemany(
            "INSERT OR REPLACE INTO logged_model_metrics (model_pk, key, value, timestamp, step, run_id,"
            " dataset_name, dataset_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(pks[m.model_id], m.key, None if math.isnan(m.value) else m.value, m.timestamp, m.step,
              m.run_id or "", m.dataset_name or "", m.dataset_digest or "") for m in rows],
        )
        for pk in set(pks.values()):
            _touch(conn, pk)


# ------------------------------------------------------------------------------- reading
def get(conn: sqlite3.Connection, model_id: str, allow_deleted: bool = True) -> LoggedModel:
    row = conn.execute(
        f"SELECT {_COLUMNS}, m.lifecycle_stage FROM logged_models m JOIN experiments e ON e.id = m.experiment_id"
        " WHERE m.model_id = ?", (str(model_id),),
    ).fetchone()
    if row is None or (not allow_deleted and row[-1] != LifecycleStage.ACTIVE):
        raise NotFound(f"no logged model with id {model_id!r}")
    return _entities(conn, [row[:-1]])[0]


def _entities(conn: sqlite3.Connection, rows: list[tuple]) -> list[LoggedModel]:
    if not rows:
        return []
    pks = [r[0] for r in rows]
    marks = ",".join("?" * len(pks))
    params: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    tags: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    metrics: dict[int, list[Metric]] = {pk: [] for pk in pks}
    for pk, k, v in conn.execute(f"SELECT model_pk, key, value FROM logged_model_params WHERE model_pk IN ({marks})", pks):
        params[pk][k] = v
    for pk, k, v in conn.execute(f"SELECT model_pk, key, value FROM logged_model_tags WHERE model_pk IN ({marks})", pks):
        tags[pk][k] = v
    ids = {r[0]: r[1] for r in rows}
    for pk, k, v, ts, step, run, dname, digest in conn.execute(
        "SELECT model_pk, key, value, timestamp, step, run_id, dataset_name, dataset_digest FROM logged_model_metrics"
        f" WHERE model_pk IN ({marks}) ORDER BY key, timestamp, step", pks,
    ):
        metrics[pk].append(Metric(k, math.nan if v is None else v, ts, step, run or None, ids[pk],
                                  dname or None, digest or None))
    return [
        LoggedModel(
            experiment_id=exp, model_id=mid, name=name, artifact_location=loc, creation_timestamp=created,
            last_updated_timestamp=updated, model_type=mtype, source_run_id=run, status=LoggedModelStatus(status),
            status_message=message, tags=tags[pk], params=params[pk], metrics=metrics[pk],
        )
        for pk, mid, exp, name, run, status, message, mtype, loc, created, updated in rows
    ]


def for_run(conn: sqlite3.Connection, run_id: str) -> list[LoggedModel]:
    """The active models a run logged, oldest first (the run detail page lists them)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM logged_models m JOIN experiments e ON e.id = m.experiment_id"
        " WHERE m.source_run_id = ? AND m.lifecycle_stage = 'active' ORDER BY m.creation_timestamp, m.id",
        (str(run_id),),
    ).fetchall()
    return _entities(conn, rows)


def find_in_run(conn: sqlite3.Connection, run_id: str, name: str) -> str | None:
    """The newest READY model a run logged under ``name``: what ``runs:/<run>/<name>`` means in MLflow 3."""
    row = conn.execute(
        "SELECT model_id FROM logged_models WHERE source_run_id = ? AND name = ? AND lifecycle_stage = 'active'"
        " AND status = 'READY' ORDER BY creation_timestamp DESC, id DESC LIMIT 1", (str(run_id), name),
    ).fetchone()
    return row[0] if row else None


def _order_terms(order_by: Sequence[Any] | None) -> tuple[str, list]:
    """MLflow's order_by: dicts ``{"field_name", "ascending", "dataset_name", "dataset_digest"}``;
    strings such as ``"metrics.acc DESC"`` are taken too. Metrics sort by their latest value."""
    if not order_by:
        return SCOPE.default_order + ", m.id ASC", []
    if isinstance(order_by, (str, dict)):
        order_by = [order_by]
    parts: list[str] = []
    params: list[Any] = []
    names: set[str] = set()
    for item in order_by:
        dataset_name = dataset_digest = None
        if isinstance(item, dict):
            unknown = set(item) - {"field_name", "ascending", "dataset_name", "dataset_digest"}
            if unknown or not isinstance(item.get("field_name"), str):
                raise InvalidFilter("order_by: each item is a dict with field_name (and optionally ascending, "
                                    f"dataset_name, dataset_digest) or a string like 'metrics.acc DESC', got {item!r}")
            ascending = item.get("ascending", True)
            if ascending not in (True, False):
                raise InvalidFilter(f"order_by: ascending is True or False, got {ascending!r}")
            dataset_name, dataset_digest = item.get("dataset_name"), item.get("dataset_digest")
            if dataset_digest and not dataset_name:
                raise InvalidFilter("order_by: dataset_digest can only be given together with dataset_name")
            parsed = parse_order_item(item["field_name"])
            descending = not ascending
        elif isinstance(item, str):
            parsed = parse_order_item(item)
            descending = parsed.descending
        else:
            raise InvalidFilter(f"order_by: expected a dict or a string per item, got {item!r}")
        direction = "DESC" if descending else "ASC"
        if parsed.entity == "metrics":
            cond, extra = "", []
            if dataset_name:
                cond, extra = " AND mm.dataset_name = ?", [dataset_name]
                if dataset_digest:
                    cond, extra = cond + " AND mm.dataset_digest = ?", extra + [dataset_digest]
            latest = (f"(SELECT mm.value FROM logged_model_metrics mm WHERE mm.model_pk = m.id AND mm.key = ?{cond}"
                      " ORDER BY mm.timestamp DESC, mm.step DESC LIMIT 1)")
            parts += [f"{latest} IS NULL", f"{latest} {direction}"]
            params += [parsed.key, *extra, parsed.key, *extra]
            continue
        if parsed.entity != "attributes" or dataset_name:
            raise InvalidFilter(
                f"order_by: logged models sort by metrics.<key> or an attribute ({SCOPE.allowed_attributes()}), "
                f"got {parsed.field_text!r}" + (" (dataset_name is only for metrics)" if dataset_name else ""))
        name = SCOPE.resolve(parsed.key)
        if name is None:
            raise InvalidFilter(f"order_by: unknown attribute {parsed.key!r} of logged models; allowed: "
                                f"{SCOPE.allowed_attributes()}")
        names.add(name)
        parts.append(f"{SCOPE.attributes[name].sql} {direction}")
    # MLflow's tie-breakers: newest first, then model_id
    if "creation_timestamp" not in names:
        parts.append("m.creation_timestamp DESC")
    if "model_id" not in names:
        parts.append("m.model_id ASC")
    return ", ".join(parts), params


def search(
    conn: sqlite3.Connection, experiment_ids: Iterable[str], filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
    order_by: Sequence[Any] | None = None, page_token: str | None = None,
) -> tuple[list[LoggedModel], str | None]:
    """One page of active logged models of the experiments; the token is the next offset."""
    limit = MAX_RESULTS_DEFAULT if max_results is None else max_results
    if type(limit) is not int or not 1 <= limit <= MAX_RESULTS_LIMIT:
        raise InvalidArgument(f"max_results is an integer from 1 to {MAX_RESULTS_LIMIT}, got {max_results!r}")
    try:
        offset = int(page_token) if page_token else 0
    except ValueError:
        raise InvalidArgument(f"page_token {page_token!r} is not one this search returned") from None
    exp_pks = [experiment_pk(conn, str(e)) for e in experiment_ids]
    where, params = compile_filter(filter_string, SCOPE)
    if datasets:  # metric conditions must then hold on one of these datasets (MLflow's datasets=)
        where, params = _on_datasets(where, params, datasets)
    order, order_params = _order_terms(order_by)
    marks = ",".join("?" * len(exp_pks)) or "NULL"
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM logged_models m JOIN experiments e ON e.id = m.experiment_id"
        f" WHERE m.experiment_id IN ({marks}) AND m.lifecycle_stage = 'active' AND ({where})"
        f" ORDER BY {order} LIMIT ? OFFSET ?",
        [*exp_pks, *params, *order_params, limit + 1, offset],
    ).fetchall()
    token = str(offset + limit) if len(rows) > limit else None
    return _entities(conn, rows[:limit]), token


def _on_datasets(where: str, params: list, datasets: list[dict[str, str]]) -> tuple[str, list]:
    """Restrict to models with a metric on one of ``datasets``; MLflow's other half (metric
    comparisons only counting those datasets) is left out: see the README."""
    conds, extra = [], []
    for d in datasets:
        if not isinstance(d, dict) or not d.get("dataset_name"):
            raise InvalidArgument("datasets: each item is a dict with dataset_name (and optionally dataset_digest)")
        cond = "d.dataset_name = ?"
        extra.append(d["dataset_name"])
        if d.get("dataset_digest"):
            cond += " AND d.dataset_digest = ?"
            extra.append(d["dataset_digest"])
        conds.append(f"({cond})")
    exists = f"EXISTS (SELECT 1 FROM logged_model_metrics d WHERE d.model_pk = m.id AND ({' OR '.join(conds)}))"
    return f"({where}) AND {exists}", [*params, *extra]


# --------------------------------------------------------------------------------- files
def put_files(conn: sqlite3.Connection, model_id: str, planned: list[tuple[str, Path]],
              also_run: tuple[int, str] | None = None) -> int:
    """Store a model's files (and, for a model logged in a run, link the same blobs into the
    run's tree at ``also_run = (run_pk, prefix)`` so ``runs:/`` URIs keep working)."""
    hashed = [(path, local, *artifact_store._hash_file(local)) for path, local in planned]
    with write_transaction(conn):
        pk = model_pk(conn, model_id, for_write=True)
        if also_run:
            for path, _, _, _ in hashed:
                artifact_store.check_no_conflict(conn, also_run[0], artifact_store.posix_join(also_run[1], path))
        for path, local, sha, size in hashed:
            if not artifact_store._has_blob(conn, sha):
                artifact_store._store_blob(conn, local, sha, size)
            link(conn, pk, path, sha, size)
            if also_run:
                artifact_store._link(conn, also_run[0], artifact_store.posix_join(also_run[1], path), sha, size)
    return sum(size for _, _, _, size in hashed)


def put_bytes(conn: sqlite3.Connection, model_id: str, path: str, data: bytes) -> None:
    """Replace one file of a model (MLmodel, by set_signature) and its copy in the source run."""
    import hashlib
    import tempfile

    sha = hashlib.sha256(data).hexdigest()
    with tempfile.NamedTemporaryFile(prefix="lighttrack-model-") as tmp:
        tmp.write(data)
        tmp.flush()
        model = get(conn, model_id)
        with write_transaction(conn):
            pk = model_pk(conn, model_id, for_write=True)
            if not artifact_store._has_blob(conn, sha):
                artifact_store._store_blob(conn, Path(tmp.name), sha, len(data))
            link(conn, pk, path, sha, len(data))
            if model.source_run_id:
                row = conn.execute("SELECT a.run_id FROM artifacts a JOIN runs r ON r.id = a.run_id"
                                   " WHERE r.uuid = ? AND a.path = ?",
                                   (model.source_run_id, artifact_store.posix_join(model.name, path))).fetchone()
                if row is not None:
                    artifact_store._link(conn, row[0], artifact_store.posix_join(model.name, path), sha, len(data))


def link(conn: sqlite3.Connection, pk: int, path: str, sha: str, size: int, created: int | None = None) -> None:
    conn.execute(
        "INSERT INTO logged_model_artifacts (model_pk, path, sha256, size, created_time) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (model_pk, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size",
        (pk, artifact_store.normalise_path(path, allow_empty=False), sha, size, now_ms() if created is None else created),
    )


def files(conn: sqlite3.Connection, model_id: str) -> list[tuple[str, str, int]]:
    pk = model_pk(conn, model_id)
    return conn.execute("SELECT path, sha256, size FROM logged_model_artifacts WHERE model_pk = ? ORDER BY path",
                        (pk,)).fetchall()


def download(conn: sqlite3.Connection, model_id: str, target: Path) -> Path:
    """Write the model's files under ``target``; only verified bytes stay on disk."""
    found = files(conn, model_id)
    if not found:
        raise NotFound(f"logged model {model_id} has no files (its status is {get(conn, model_id).status})")
    root = target.resolve()
    for path, sha, _ in found:
        local = (root / path).resolve()
        if not local.is_relative_to(root):
            raise UnsafeArtifactPath(f"file {path!r} of logged model {model_id} would be written outside {root}")
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(local, "wb") as f:
                for block in artifact_store.iter_blob(conn, sha, f"file {path!r} of logged model {model_id}"):
                    f.write(block)
        except DamagedFile:
            local.unlink(missing_ok=True)
            raise
    return root
