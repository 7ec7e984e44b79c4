"""The merge's part for the model registry: models matched by id then name, new versions
appended (with origin tags when renumbered), aliases added where free, history copied.
Called by ``merge.merge`` inside its one transaction, after the runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from lighttrack.store.merge_moves import has_column
from lighttrack.util import now_ms


def merge_registry(conn: sqlite3.Connection, report: Any, referenced_only: bool) -> None:
    version_scope = ""
    if referenced_only:
        version_scope = " AND v.run_id IN (SELECT uuid FROM src.runs WHERE id IN (SELECT src_id FROM temp.sel))"
    store = conn.execute("SELECT value FROM src.meta WHERE key = 'store_uuid'").fetchone()
    store_uuid = store[0] if store else ""
    models = conn.execute(
        "SELECT m.id, m.uuid, m.name, m.description, m.creation_time, m.last_updated_time"
        " FROM src.registered_models m"
        + (f" WHERE EXISTS (SELECT 1 FROM src.model_versions v WHERE v.model_id = m.id{version_scope})"
           if referenced_only else "")
    ).fetchall()
    for src_model, uid, name, description, created, updated in models:
        found = conn.execute("SELECT id FROM main.registered_models WHERE uuid = ?", (uid,)).fetchone()
        renamed_origin = False
        if found is None:
            found = conn.execute("SELECT id FROM main.registered_models WHERE name = ?", (name,)).fetchone()
            if found is not None:
                renamed_origin = True
        if found is None:
            dst_model = conn.execute(
                "INSERT INTO main.registered_models (uuid, name, description, creation_time, last_updated_time)"
                " VALUES (?, ?, ?, ?, ?)", (uid, name, description, created, updated),
            ).lastrowid
            report.models_created += 1
        else:
            dst_model = found[0]
        conn.execute(
            "INSERT OR IGNORE INTO main.registered_model_tags (model_id, key, value)"
            " SELECT ?, key, value FROM src.registered_model_tags WHERE model_id = ?", (dst_model, src_model),
        )
        appended_before = report.versions_added
        version_map = _merge_versions(conn, report, src_model, dst_model, version_scope, store_uuid, renamed_origin)
        if renamed_origin and report.versions_added > appended_before:
            report.note(f"registered model {name!r} exists here with another id: its "
                        f"{report.versions_added - appended_before} new version(s) were appended")
        _merge_aliases(conn, report, name, src_model, dst_model, version_map)


def _merge_versions(conn, report, src_model, dst_model, version_scope, store_uuid, renamed_origin) -> dict[int, int]:
    """Map source version ids to target version ids, appending the new ones."""
    version_map: dict[int, int] = {}
    logged = "v.logged_model_id" if has_column(conn, "src", "model_versions", "logged_model_id") else "NULL"
    run_link = "v.run_link" if has_column(conn, "src", "model_versions", "run_link") else "NULL"
    rows = conn.execute(
        "SELECT v.id, v.uuid, v.version, v.stage, v.source, v.run_id, v.description, v.user_id, v.status,"
        f" v.creation_time, v.last_updated_time, {logged}, {run_link} FROM src.model_versions v"
        f" WHERE v.model_id = ?{version_scope} ORDER BY v.version", (src_model,),
    ).fetchall()
    for src_vid, uid, number, stage, source, run_id, description, user, status, created, updated, model_id, link in rows:
        existing = conn.execute("SELECT id FROM main.model_versions WHERE uuid = ?", (uid,)).fetchone()
        if existing is not None:
            version_map[src_vid] = existing[0]
            continue
        (new_number,) = conn.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM main.model_versions WHERE model_id = ?", (dst_model,)
        ).fetchone()
        dst_vid = conn.execute(
            "INSERT INTO main.model_versions (uuid, model_id, version, stage, source, run_id, description, user_id,"
            " status, creation_time, last_updated_time, logged_model_id, run_link)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, dst_model, new_number, stage, source, run_id, description, user, status, created, updated,
             model_id, link),
        ).lastrowid
        conn.execute(
            "INSERT INTO main.model_version_tags (version_id, key, value)"
            " SELECT ?, key, value FROM src.model_version_tags WHERE version_id = ?", (dst_vid, src_vid),
        )
        if renamed_origin or new_number != number:
            conn.executemany(
                "INSERT OR REPLACE INTO main.model_version_tags (version_id, key, value) VALUES (?, ?, ?)",
                [(dst_vid, "lighttrack.origin.store", store_uuid), (dst_vid, "lighttrack.origin.version", str(number))],
            )
        conn.execute(
            "INSERT INTO main.model_history (model_id, version, event, alias, from_value, to_value, user_id, timestamp)"
            " SELECT ?, ?, event, alias, from_value, to_value, user_id, timestamp FROM src.model_history"
            " WHERE model_id = ? AND version = ? ORDER BY id",
            (dst_model, new_number, src_model, number),
        )
        version_map[src_vid] = dst_vid
        report.versions_added += 1
    return version_map


def _merge_aliases(conn, report, name, src_model, dst_model, version_map) -> None:
    for alias, src_vid in conn.execute(
        "SELECT alias, version_id FROM src.model_aliases WHERE model_id = ?", (src_model,)
    ).fetchall():
        dst_vid = version_map.get(src_vid)
        if dst_vid is None:
            continue
        current = conn.execute(
            "SELECT version_id FROM main.model_aliases WHERE model_id = ? AND alias = ?", (dst_model, alias)
        ).fetchone()
        if current is None:
            conn.execute("INSERT INTO main.model_aliases (model_id, alias, version_id) VALUES (?, ?, ?)",
                         (dst_model, alias, dst_vid))
            (number,) = conn.execute("SELECT version FROM main.model_versions WHERE id = ?", (dst_vid,)).fetchone()
            conn.execute(
                "INSERT INTO main.model_history (model_id, version, event, alias, from_value, to_value, user_id,"
                " timestamp) VALUES (?, ?, 'alias_set', ?, NULL, ?, 'merge', ?)",
                (dst_model, number, alias, str(number), now_ms()),
            )
            report.aliases_added += 1
        elif current[0] != dst_vid:
            report.note(f"alias {name}@{alias} points to another version here: kept this file's")
