"""Experiments: create, find, rename, delete/restore, tags, search."""

from __future__ import annotations

import sqlite3
import uuid

from lighttrack.entities import Experiment, LifecycleStage, ViewType
from lighttrack.errors import AlreadyExists, InvalidArgument, InvalidState, NotFound
from lighttrack.store.db import write_transaction
from lighttrack.store.paging import fetch_page
from lighttrack.util import now_ms

DEFAULT_EXPERIMENT_NAME = "Default"
#: MLflow's default experiment id; accepted as a name for this file's "Default" experiment.
DEFAULT_EXPERIMENT_ID = "0"

_COLUMNS = "e.id, e.uuid, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, e.last_update_time"


def _entities(conn: sqlite3.Connection, rows: list[tuple]) -> list[Experiment]:
    if not rows:
        return []
    tags: dict[int, dict[str, str]] = {row[0]: {} for row in rows}
    marks = ",".join("?" * len(rows))
    for exp_pk, key, value in conn.execute(
        f"SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN ({marks})",
        list(tags),
    ):
        tags[exp_pk][key] = value
    return [
        Experiment(
            experiment_id=uid, name=name, artifact_location=location, lifecycle_stage=stage,
            tags=tags[pk], creation_time=created, last_update_time=updated,
        )
        for pk, uid, name, location, stage, created, updated in rows
    ]


def experiment_pk(conn: sqlite3.Connection, experiment_id: str) -> int:
    """The local key of an experiment id (its uuid; "0" means the Default experiment)."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return default_experiment_pk(conn)
    row = conn.execute("SELECT id FROM experiments WHERE uuid = ?", (str(experiment_id),)).fetchone()
    if row is None:
        raise NotFound(f"no experiment with id {experiment_id!r}")
    return row[0]


def default_experiment_pk(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'",
        (DEFAULT_EXPERIMENT_NAME,),
    ).fetchone()
    if row:
        return row[0]
    with write_transaction(conn):
        row = conn.execute(  # again, under the write lock: another process may have made it
            "SELECT id FROM experiments WHERE name = ? AND lifecycle_stage = 'active'", (DEFAULT_EXPERIMENT_NAME,),
        ).fetchone()
        return row[0] if row else create_default(conn)


def create_default(conn: sqlite3.Connection) -> int:
    """Make the Default experiment, with MLflow's id "0" while that id is free (a file whose
    Default was deleted gets a new one with a fresh id, as before)."""
    taken = conn.execute("SELECT 1 FROM experiments WHERE uuid = ?", (DEFAULT_EXPERIMENT_ID,)).fetchone()
    uid = uuid.uuid4().hex if taken else DEFAULT_EXPERIMENT_ID
    now = now_ms()
    return conn.execute(
        "INSERT INTO experiments (uuid, name, artifact_location, creation_time, last_update_time)"
        " VALUES (?, ?, ?, ?, ?)",
        (uid, DEFAULT_EXPERIMENT_NAME, f"lighttrack:/experiments/{uid}", now, now),
    ).lastrowid


def get(conn: sqlite3.Connection, experiment_id: str) -> Experiment:
    pk = experiment_pk(conn, experiment_id)
    rows = conn.execute(f"SELECT {_COLUMNS} FROM experiments e WHERE e.id = ?", (pk,)).fetchall()
    return _entities(conn, rows)[0]


def get_by_name(conn: sqlite3.Connection, name: str) -> Experiment | None:
    """The active experiment of that name, else the most recently deleted one, else None."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM experiments e WHERE e.name = ? "
        "ORDER BY e.lifecycle_stage = 'active' DESC, e.last_update_time DESC LIMIT 1",
        (name,),
    ).fetchall()
    found = _entities(conn, rows)
    return found[0] if found else None


def create(
    conn: sqlite3.Connection,
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, str] | None = None,
    experiment_id: str | None = None,
    creation_time: int | None = None,
) -> str:
    """Create an experiment and return its id (a 32-hex uuid)."""
    uid = experiment_id or uuid.uuid4().hex
    now = creation_time or now_ms()
    with write_transaction(conn):
        existing = conn.execute(
            "SELECT lifecycle_stage FROM experiments WHERE name = ? "
            "ORDER BY lifecycle_stage = 'active' DESC LIMIT 1",
            (name,),
        ).fetchone()
        if existing:
            if existing[0] == LifecycleStage.ACTIVE:
                raise AlreadyExists(f"experiment {name!r} already exists")
            raise AlreadyExists(
                f"experiment {name!r} exists in deleted state: restore it "
                f"(`lighttrack experiments restore {name!r}`) or choose another name"
            )
        location = artifact_location or f"lighttrack:/experiments/{uid}"
        cur = conn.execute(
            "INSERT INTO experiments (uuid, name, artifact_location, creation_time, last_update_time)"
            " VALUES (?, ?, ?, ?, ?)",
            (uid, name, location, now, now),
        )
        if tags:
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)",
                [(cur.lastrowid, k, v) for k, v in tags.items()],
            )
    return uid


def get_or_create(conn: sqlite3.Connection, name: str) -> str:
    """The active experiment's id, creating it when missing; deleted ones are not revived."""
    found = get_by_name(conn, name)
    if found is not None:
        if found.lifecycle_stage == LifecycleStage.DELETED:
            raise InvalidState(
                f"experiment {name!r} is deleted: restore it (`lighttrack experiments restore "
                f"{name!r}`) before using it, or choose another name"
            )
        return found.experiment_id
    try:
        return create(conn, name)
    except AlreadyExists:  # another process created it between our read and write
        found = get_by_name(conn, name)
        assert found is not None
        return found.experiment_id


def rename(conn: sqlite3.Connection, experiment_id: str, new_name: str) -> None:
    pk = experiment_pk(conn, experiment_id)
    with write_transaction(conn):
        clash = conn.execute(
            "SELECT 1 FROM experiments WHERE name = ? AND lifecycle_stage = 'active' AND id != ?",
            (new_name, pk),
        ).fetchone()
        if clash:
            raise AlreadyExists(f"experiment {new_name!r} already exists")
        conn.execute(
            "UPDATE experiments SET name = ?, last_update_time = ? WHERE id = ?", (new_name, now_ms(), pk)
        )


def set_lifecycle(conn: sqlite3.Connection, experiment_id: str, stage: str) -> None:
    pk = experiment_pk(conn, experiment_id)
    with write_transaction(conn):
        name, current = conn.execute(
            "SELECT name, lifecycle_stage FROM experiments WHERE id = ?", (pk,)
        ).fetchone()
        if stage == LifecycleStage.ACTIVE and current != stage:
            clash = conn.execute(
                "SELECT 1 FROM experiments WHERE name = ? AND lifecycle_stage = 'active'", (name,)
            ).fetchone()
            if clash:
                raise AlreadyExists(
                    f"cannot restore experiment {name!r}: an active experiment has that name; "
                    "rename one of them first"
                )
        now = now_ms()
        conn.execute(
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE id = ?",
            (stage, now, pk),
        )
        # as MLflow's stores: the experiment's runs are deleted with it and restored with it
        conn.execute(
            "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage != ?",
            (stage, now if stage == LifecycleStage.DELETED else None, pk, stage),
        )


def set_tag(conn: sqlite3.Connection, experiment_id: str, key: str, value: str) -> None:
    pk = experiment_pk(conn, experiment_id)
    with write_transaction(conn):
        conn.execute(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
            (pk, key, value),
        )


def delete_tag(conn: sqlite3.Connection, experiment_id: str, key: str) -> None:
    pk = experiment_pk(conn, experiment_id)
    with write_transaction(conn):
        cur = conn.execute("DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (pk, key))
        if cur.rowcount == 0:
            raise NotFound(f"experiment {experiment_id} has no tag {key!r}")


def lifecycle_clause(view_type: int, column: str) -> str:
    if view_type == ViewType.ACTIVE_ONLY:
        return f"{column} = 'active'"
    if view_type == ViewType.DELETED_ONLY:
        return f"{column} = 'deleted'"
    if view_type == ViewType.ALL:
        return "1"
    raise InvalidArgument(f"view type must be 1 (active only), 2 (deleted only) or 3 (all), not {view_type!r}")


def search(
    conn: sqlite3.Connection,
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    page_token: str | None = None,
) -> tuple[list[Experiment], str | None]:
    from lighttrack.store.search import compile_experiment_filter, compile_experiment_order

    where, params = compile_experiment_filter(filter_string)
    order, order_params = compile_experiment_order(order_by)
    rows, token = fetch_page(
        conn,
        f"SELECT {_COLUMNS} FROM experiments e WHERE {lifecycle_clause(view_type, 'e.lifecycle_stage')}"
        f" AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *order_params], max_results, page_token,
    )
    return _entities(conn, rows), token
