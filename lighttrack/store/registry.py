"""The model registry: registered models, versions, stages, aliases, tags and their history.

Every stage and alias change is written to ``model_history`` in the same transaction as the
change itself, so the history can never disagree with the state.
"""

from __future__ import annotations

import re
import sqlite3
import uuid

from lighttrack.entities import ModelHistoryEvent, ModelVersion, RegisteredModel, Stage
from lighttrack.errors import AlreadyExists, InvalidArgument, InvalidState, NotFound
from lighttrack.store.db import write_transaction
from lighttrack.store.paging import fetch_page
from lighttrack.store.search import Field, Keyed, Scope, compile_filter, compile_order
from lighttrack.util import now_ms

_ALIAS = re.compile(r"^[\w\-]+$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)

MODEL_SCOPE = Scope(
    "registered models", "m.id",
    {
        "name": Field("m.name", "string"),
        "description": Field("m.description", "string"),
        "creation_timestamp": Field("m.creation_time", "number"),
        "last_updated_timestamp": Field("m.last_updated_time", "number"),
    },
    {"created": "creation_timestamp", "creation_time": "creation_timestamp",
     "last_updated_time": "last_updated_timestamp", "timestamp": "last_updated_timestamp"},
    {"tags": Keyed("FROM registered_model_tags mt WHERE mt.model_id = m.id AND mt.key = ?",
                   text="mt.value", num=None)},
    default_order="m.name ASC, m.id ASC",
    tie_order="m.name ASC",
)

VERSION_SCOPE = Scope(
    "model versions", "v.id",
    {
        "name": Field("m.name", "string"),
        "version": Field("v.version", "number"),
        "run_id": Field("coalesce(v.run_id, '')", "string"),
        "source": Field("v.source", "string"),
        "current_stage": Field("v.stage", "string", choices=Stage.ALL),
        "description": Field("v.description", "string"),
        "user_id": Field("v.user_id", "string"),
        "status": Field("v.status", "string"),
        "creation_timestamp": Field("v.creation_time", "number"),
        "last_updated_timestamp": Field("v.last_updated_time", "number"),
        "alias": Field(
            "(SELECT group_concat(a.alias, ',') FROM model_aliases a WHERE a.version_id = v.id)",
            "string", nullable=True,
        ),
    },
    {"stage": "current_stage", "version_number": "version", "run": "run_id", "source_path": "source",
     "created": "creation_timestamp", "aliases": "alias"},
    {"tags": Keyed("FROM model_version_tags vt WHERE vt.version_id = v.id AND vt.key = ?",
                   text="vt.value", num=None)},
    # MLflow's SQL store: most recently updated first; ties by name, then newest version
    default_order="v.last_updated_time DESC, m.name ASC, v.version DESC, v.id ASC",
    tie_order="m.name ASC, v.version DESC",
)


def canonical_stage(stage: str) -> str:
    for known in Stage.ALL:
        if isinstance(stage, str) and stage.strip().lower() == known.lower():
            return known
    raise InvalidArgument(f"stage must be one of {', '.join(Stage.ALL)} (any case), not {stage!r}")


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):  # fullmatch: "$" lets "a\n" through
        raise InvalidArgument(f"alias {alias!r} is not allowed: use letters, digits, '_' and '-'")
    if _RESERVED_ALIAS.match(alias):
        raise InvalidArgument(f"alias {alias!r} is reserved ('latest' and v<number> name versions already)")
    return alias


def _model_row(conn: sqlite3.Connection, name: str) -> tuple:
    row = conn.execute(
        "SELECT id, name, description, creation_time, last_updated_time FROM registered_models WHERE name = ?",
        (name,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no registered model named {name!r}")
    return row


def _version_pk(conn: sqlite3.Connection, name: str, version: str | int) -> tuple[int, int]:
    model_pk = _model_row(conn, name)[0]
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidArgument(f"a model version is a number, not {version!r}") from None
    row = conn.execute(
        "SELECT id FROM model_versions WHERE model_id = ? AND version = ?", (model_pk, number)
    ).fetchone()
    if row is None:
        raise NotFound(f"registered model {name!r} has no version {number}")
    return model_pk, row[0]


def _history(conn, model_pk, version, event, from_value, to_value, user, alias=None) -> None:
    conn.execute(
        "INSERT INTO model_history (model_id, version, event, alias, from_value, to_value, user_id, timestamp)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (model_pk, version, event, alias, from_value, to_value, user, now_ms()),
    )


def _touch(conn: sqlite3.Connection, model_pk: int) -> None:
    conn.execute("UPDATE registered_models SET last_updated_time = ? WHERE id = ?", (now_ms(), model_pk))


# ------------------------------------------------------------------- entities from rows
_VERSION_COLUMNS = (
    "v.id, m.name, v.version, v.creation_time, v.last_updated_time, v.stage, v.source, v.run_id,"
    " v.description, v.user_id, v.status, v.logged_model_id, v.run_link"
)


def _versions(conn: sqlite3.Connection, rows: list[tuple]) -> list[ModelVersion]:
    if not rows:
        return []
    ids = [row[0] for row in rows]
    marks = ",".join("?" * len(ids))
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    aliases: dict[int, list[str]] = {i: [] for i in ids}
    for vid, key, value in conn.execute(
        f"SELECT version_id, key, value FROM model_version_tags WHERE version_id IN ({marks})", ids
    ):
        tags[vid][key] = value
    for vid, alias in conn.execute(
        f"SELECT version_id, alias FROM model_aliases WHERE version_id IN ({marks}) ORDER BY alias", ids
    ):
        aliases[vid].append(alias)
    return [
        ModelVersion(
            name=name, version=int(version), creation_timestamp=created, last_updated_timestamp=updated,
            current_stage=stage, source=source, run_id=run_id, description=description or None,
            user_id=user, status=status, tags=tags[vid], aliases=aliases[vid], model_id=logged_model_id,
            run_link=run_link,
        )
        for vid, name, version, created, updated, stage, source, run_id, description, user, status, logged_model_id,
        run_link in rows
    ]


def _model(conn: sqlite3.Connection, row: tuple) -> RegisteredModel:
    pk, name, description, created, updated = row
    tags = dict(conn.execute("SELECT key, value FROM registered_model_tags WHERE model_id = ?", (pk,)))
    aliases = {
        alias: int(version)
        for alias, version in conn.execute(
            "SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
            " WHERE a.model_id = ? ORDER BY a.alias",
            (pk,),
        )
    }
    latest = _versions(conn, conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
        " WHERE v.model_id = ? AND v.version = (SELECT max(version) FROM model_versions w"
        " WHERE w.model_id = v.model_id AND w.stage = v.stage) ORDER BY v.version",
        (pk,),
    ).fetchall())
    return RegisteredModel(
        name=name, creation_timestamp=created, last_updated_timestamp=updated, description=description or None,
        latest_versions=latest, tags=tags, aliases=aliases,
    )


# --------------------------------------------------------------------- registered models
def create_model(
    conn: sqlite3.Connection, name: str, tags: dict[str, str] | None = None, description: str | None = None
) -> RegisteredModel:
    now = now_ms()
    with write_transaction(conn):
        if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
            raise AlreadyExists(f"registered model {name!r} already exists")
        pk = conn.execute(
            "INSERT INTO registered_models (uuid, name, description, creation_time, last_updated_time)"
            " VALUES (?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, name, description or "", now, now),
        ).lastrowid
        conn.executemany(
            "INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)",
            [(pk, k, v) for k, v in (tags or {}).items()],
        )
    return get_model(conn, name)


def get_model(conn: sqlite3.Connection, name: str) -> RegisteredModel:
    return _model(conn, _model_row(conn, name))


def rename_model(conn: sqlite3.Connection, name: str, new_name: str) -> RegisteredModel:
    with write_transaction(conn):
        pk = _model_row(conn, name)[0]
        if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)).fetchone():
            raise AlreadyExists(f"registered model {new_name!r} already exists")
        conn.execute("UPDATE registered_models SET name = ?, last_updated_time = ? WHERE id = ?",
                     (new_name, now_ms(), pk))
    return get_model(conn, new_name)


def update_model(conn: sqlite3.Connection, name: str, description: str) -> RegisteredModel:
    with write_transaction(conn):
        pk = _model_row(conn, name)[0]
        conn.execute("UPDATE registered_models SET description = ?, last_updated_time = ? WHERE id = ?",
                     (description, now_ms(), pk))
    return get_model(conn, name)


def delete_model(conn: sqlite3.Connection, name: str, force: bool = False) -> None:
    with write_transaction(conn):
        pk = _model_row(conn, name)[0]
        live = [v for (v,) in conn.execute(
            "SELECT version FROM model_versions WHERE model_id = ? AND stage = 'Production' ORDER BY version",
            (pk,),
        )]
        if live and not force:
            raise InvalidState(
                f"registered model {name!r} has Production version(s) {', '.join(map(str, live))}: "
                "archive them first, or delete with force=True (CLI: --force)"
            )
        conn.execute("DELETE FROM registered_models WHERE id = ?", (pk,))


def set_model_tag(conn: sqlite3.Connection, name: str, key: str, value: str) -> None:
    with write_transaction(conn):
        pk = _model_row(conn, name)[0]
        conn.execute(
            "INSERT INTO registered_model_tags (model_id, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
            (pk, key, value),
        )
        _touch(conn, pk)


def delete_model_tag(conn: sqlite3.Connection, name: str, key: str) -> None:
    with write_transaction(conn):
        pk = _model_row(conn, name)[0]
        conn.execute("DELETE FROM registered_model_tags WHERE model_id = ? AND key = ?", (pk, key))  # absent: no-op, as MLflow


def search_models(
    conn: sqlite3.Connection, filter_string: str | None = None, max_results: int | None = 100,
    order_by: list[str] | None = None, page_token: str | None = None,
) -> tuple[list[RegisteredModel], str | None]:
    where, params = compile_filter(filter_string, MODEL_SCOPE)
    order, order_params = compile_order(order_by, MODEL_SCOPE)
    rows, token = fetch_page(
        conn,
        "SELECT m.id, m.name, m.description, m.creation_time, m.last_updated_time FROM registered_models m"
        f" WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *order_params], max_results, page_token,
    )
    return [_model(conn, row) for row in rows], token


# ------------------------------------------------------------------------ model versions
def create_version(
    conn: sqlite3.Connection, name: str, source: str, run_id: str | None, user: str,
    tags: dict[str, str] | None = None, description: str | None = None, create_model_if_missing: bool = False,
    model_id: str | None = None,
    run_link: str | None = None,
) -> ModelVersion:
    """``model_id``: the logged model the version was registered from (MLflow 3)."""
    now = now_ms()
    with write_transaction(conn):
        row = conn.execute("SELECT id FROM registered_models WHERE name = ?", (name,)).fetchone()
        if row is None:
            if not create_model_if_missing:
                raise NotFound(f"no registered model named {name!r} (create it first, or use register_model)")
            pk = conn.execute(
                "INSERT INTO registered_models (uuid, name, creation_time, last_updated_time) VALUES (?, ?, ?, ?)",
                (uuid.uuid4().hex, name, now, now),
            ).lastrowid
        else:
            pk = row[0]
        (number,) = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE model_id = ?", (pk,)
        ).fetchone()
        vid = conn.execute(
            "INSERT INTO model_versions (uuid, model_id, version, source, run_id, description, user_id,"
            " creation_time, last_updated_time, logged_model_id, run_link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uuid.uuid4().hex, pk, number, source, run_id, description or "", user, now, now, model_id, run_link),
        ).lastrowid
        conn.executemany(
            "INSERT INTO model_version_tags (version_id, key, value) VALUES (?, ?, ?)",
            [(vid, k, v) for k, v in (tags or {}).items()],
        )
        _history(conn, pk, number, "created", None, Stage.NONE, user)
        _touch(conn, pk)
    return get_version(conn, name, number)


def get_version(conn: sqlite3.Connection, name: str, version: str | int) -> ModelVersion:
    _, vid = _version_pk(conn, name, version)
    return _versions(conn, conn.execute(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
        " WHERE v.id = ?", (vid,),
    ).fetchall())[0]


def update_version(conn: sqlite3.Connection, name: str, version: str | int, description: str) -> ModelVersion:
    with write_transaction(conn):
        model_pk, vid = _version_pk(conn, name, version)
        conn.execute("UPDATE model_versions SET description = ?, last_updated_time = ? WHERE id = ?",
                     (description, now_ms(), vid))
        _touch(conn, model_pk)
    return get_version(conn, name, version)


def delete_version(conn: sqlite3.Connection, name: str, version: str | int, user: str) -> None:
    with write_transaction(conn):
        model_pk, vid = _version_pk(conn, name, version)
        (stage,) = conn.execute("SELECT stage FROM model_versions WHERE id = ?", (vid,)).fetchone()
        conn.execute("DELETE FROM model_versions WHERE id = ?", (vid,))
        _history(conn, model_pk, int(version), "deleted", stage, None, user)
        _touch(conn, model_pk)


def transition_stage(
    conn: sqlite3.Connection, name: str, version: str | int, stage: str, archive_existing: bool, user: str
) -> ModelVersion:
    """Move a version to a stage; optionally archive the other versions in that stage."""
    stage = canonical_stage(stage)
    with write_transaction(conn):
        model_pk, vid = _version_pk(conn, name, version)
        (current,) = conn.execute("SELECT stage FROM model_versions WHERE id = ?", (vid,)).fetchone()
        now = now_ms()
        if archive_existing and stage in (Stage.STAGING, Stage.PRODUCTION):
            for other_id, other_version in conn.execute(
                "SELECT id, version FROM model_versions WHERE model_id = ? AND stage = ? AND id != ?",
                (model_pk, stage, vid),
            ).fetchall():
                conn.execute("UPDATE model_versions SET stage = 'Archived', last_updated_time = ? WHERE id = ?",
                             (now, other_id))
                _history(conn, model_pk, other_version, "stage", stage, Stage.ARCHIVED, user)
        if current != stage:
            conn.execute("UPDATE model_versions SET stage = ?, last_updated_time = ? WHERE id = ?", (stage, now, vid))
            _history(conn, model_pk, int(version), "stage", current, stage, user)
        _touch(conn, model_pk)
    return get_version(conn, name, version)


def latest_versions(conn: sqlite3.Connection, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
    wanted = [canonical_stage(s) for s in stages] if stages else list(Stage.ALL)
    found = get_model(conn, name).latest_versions
    return [v for v in found if v.current_stage in wanted]


def set_version_tag(conn: sqlite3.Connection, name: str, version: str | int, key: str, value: str) -> None:
    with write_transaction(conn):
        _, vid = _version_pk(conn, name, version)
        conn.execute(
            "INSERT INTO model_version_tags (version_id, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (version_id, key) DO UPDATE SET value = excluded.value",
            (vid, key, value),
        )


def delete_version_tag(conn: sqlite3.Connection, name: str, version: str | int, key: str) -> None:
    with write_transaction(conn):
        _, vid = _version_pk(conn, name, version)
        conn.execute("DELETE FROM model_version_tags WHERE version_id = ? AND key = ?", (vid, key))  # absent: no-op


def search_versions(
    conn: sqlite3.Connection, filter_string: str | None = None, max_results: int | None = 10_000,
    order_by: list[str] | None = None, page_token: str | None = None,
) -> tuple[list[ModelVersion], str | None]:
    where, params = compile_filter(filter_string, VERSION_SCOPE)
    order, order_params = compile_order(order_by, VERSION_SCOPE)
    rows, token = fetch_page(
        conn,
        f"SELECT {_VERSION_COLUMNS} FROM model_versions v JOIN registered_models m ON m.id = v.model_id"
        f" WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, *order_params], max_results, page_token,
    )
    return _versions(conn, rows), token


# -------------------------------------------------------------------------------- aliases
def set_alias(conn: sqlite3.Connection, name: str, alias: str, version: str | int, user: str) -> None:
    check_alias(alias)
    with write_transaction(conn):
        model_pk, vid = _version_pk(conn, name, version)
        old = conn.execute(
            "SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
            " WHERE a.model_id = ? AND a.alias = ?", (model_pk, alias),
        ).fetchone()
        conn.execute(
            "INSERT INTO model_aliases (model_id, alias, version_id) VALUES (?, ?, ?)"
            " ON CONFLICT (model_id, alias) DO UPDATE SET version_id = excluded.version_id",
            (model_pk, alias, vid),
        )
        _history(conn, model_pk, int(version), "alias_set", str(old[0]) if old else None, str(version), user, alias)
        _touch(conn, model_pk)


def delete_alias(conn: sqlite3.Connection, name: str, alias: str, user: str) -> None:
    with write_transaction(conn):
        model_pk = _model_row(conn, name)[0]
        old = conn.execute(
            "SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
            " WHERE a.model_id = ? AND a.alias = ?", (model_pk, alias),
        ).fetchone()
        if old is None:
            raise NotFound(f"registered model {name!r} has no alias {alias!r}")
        conn.execute("DELETE FROM model_aliases WHERE model_id = ? AND alias = ?", (model_pk, alias))
        _history(conn, model_pk, old[0], "alias_removed", str(old[0]), None, user, alias)
        _touch(conn, model_pk)


def version_by_alias(conn: sqlite3.Connection, name: str, alias: str) -> ModelVersion:
    model_pk = _model_row(conn, name)[0]
    row = conn.execute(
        "SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id"
        " WHERE a.model_id = ? AND a.alias = ?", (model_pk, alias),
    ).fetchone()
    if row is None:
        raise NotFound(f"registered model {name!r} has no alias {alias!r}")
    return get_version(conn, name, row[0])


def history(conn: sqlite3.Connection, name: str) -> list[ModelHistoryEvent]:
    model_pk = _model_row(conn, name)[0]
    return [
        ModelHistoryEvent(
            name=name, version=None if version is None else str(version), event=event,
            from_value=from_value, to_value=to_value, alias=alias, user_id=user, timestamp=ts,
        )
        for version, event, alias, from_value, to_value, user, ts in conn.execute(
            "SELECT version, event, alias, from_value, to_value, user_id, timestamp FROM model_history"
            " WHERE model_id = ? ORDER BY id", (model_pk,),
        )
    ]


def import_version(
    conn: sqlite3.Connection, *, name: str, model_uuid: str, model_description: str, model_created: int,
    version_uuid: str, number: int, stage: str, source: str, run_id: str | None, description: str, user: str,
    created: int, updated: int, tags: dict[str, str], aliases: list[str], model_id: str | None = None,
    run_link: str | None = None,
) -> None:
    """Write a version exactly as another store had it (ids, number, stage, times): used to build
    the file an import then merges, so importing twice finds the same ids and adds nothing."""
    with write_transaction(conn):
        row = conn.execute("SELECT id FROM registered_models WHERE name = ?", (name,)).fetchone()
        model_pk = row[0] if row else conn.execute(
            "INSERT INTO registered_models (uuid, name, description, creation_time, last_updated_time)"
            " VALUES (?, ?, ?, ?, ?)", (model_uuid, name, model_description, model_created, model_created),
        ).lastrowid
        vid = conn.execute(
            "INSERT INTO model_versions (uuid, model_id, version, stage, source, run_id, description, user_id,"
            " creation_time, last_updated_time, logged_model_id, run_link)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (version_uuid, model_pk, number, canonical_stage(stage), source, run_id, description, user, created,
             updated, model_id, run_link or None),
        ).lastrowid
        conn.executemany("INSERT INTO model_version_tags (version_id, key, value) VALUES (?, ?, ?)",
                         [(vid, k, v) for k, v in tags.items()])
        conn.executemany("INSERT INTO model_aliases (model_id, alias, version_id) VALUES (?, ?, ?)",
                         [(model_pk, a, vid) for a in aliases])
        _history(conn, model_pk, number, "created", None, Stage.NONE, user)
        if canonical_stage(stage) != Stage.NONE:
            _history(conn, model_pk, number, "stage", Stage.NONE, canonical_stage(stage), user)
