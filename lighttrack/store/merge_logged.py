"""Merging (and exporting) MLflow 3 logged models: a union keyed by ``model_id``.

The rules, like the rest of merge: a model new here is copied whole (params, tags, metrics,
files and their blobs) into the experiment its source experiment maps to; a model on both sides
keeps this file's values and gains the source's params, tags and metric points it lacks, and a
PENDING model here takes the source's final status. Running it twice changes nothing.
"""

from __future__ import annotations

import sqlite3


def merge_logged_models(conn: sqlite3.Connection, report, only_selected: bool) -> None:
    """Inside merge's transaction, with ``src`` attached and ``temp.exp_map``/``temp.sel`` filled."""
    scope = (" AND s.source_run_id IN (SELECT uuid FROM src.runs WHERE id IN (SELECT src_id FROM temp.sel))"
             if only_selected else "")
    conn.execute("DROP TABLE IF EXISTS temp.model_map")
    conn.execute("CREATE TEMP TABLE model_map (src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL, new INTEGER)")
    rows = conn.execute(
        "SELECT s.id, s.model_id, e.dst_id, s.name, s.source_run_id, s.status, s.status_message, s.model_type,"
        " s.artifact_location, s.lifecycle_stage, s.creation_timestamp, s.last_updated_timestamp"
        f" FROM src.logged_models s JOIN temp.exp_map e ON e.src_id = s.experiment_id WHERE 1{scope} ORDER BY s.id"
    ).fetchall()
    for src_id, model_id, exp, name, run, status, message, mtype, location, stage, created, updated in rows:
        found = conn.execute("SELECT id, status FROM main.logged_models WHERE model_id = ?", (model_id,)).fetchone()
        if found is None:
            dst_id = conn.execute(
                "INSERT INTO main.logged_models (model_id, experiment_id, name, source_run_id, status, status_message,"
                " model_type, artifact_location, lifecycle_stage, creation_timestamp, last_updated_timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, exp, name, run, status, message, mtype, location, stage, created, updated),
            ).lastrowid
            conn.execute("INSERT INTO temp.model_map VALUES (?, ?, 1)", (src_id, dst_id))
            report.logged_models_added += 1
            continue
        dst_id, here = found
        if here == "PENDING" and status in ("READY", "FAILED"):
            conn.execute("UPDATE main.logged_models SET status = ?, status_message = ? WHERE id = ?",
                         (status, message, dst_id))
        conn.execute("INSERT INTO temp.model_map VALUES (?, ?, 0)", (src_id, dst_id))
    for table in ("logged_model_params", "logged_model_tags"):
        conn.execute(
            f"INSERT OR IGNORE INTO main.{table} (model_pk, key, value)"
            f" SELECT m.dst_id, t.key, t.value FROM src.{table} t JOIN temp.model_map m ON m.src_id = t.model_pk"
        )
    conn.execute(
        "INSERT OR IGNORE INTO main.logged_model_metrics (model_pk, key, value, timestamp, step, run_id, dataset_name,"
        " dataset_digest) SELECT m.dst_id, t.key, t.value, t.timestamp, t.step, t.run_id, t.dataset_name,"
        " t.dataset_digest FROM src.logged_model_metrics t JOIN temp.model_map m ON m.src_id = t.model_pk"
    )
    # files: only for models new here (a model's files never change once it is READY)
    wanted = ("FROM src.logged_model_artifacts a JOIN temp.model_map m ON m.src_id = a.model_pk AND m.new = 1")
    missing = f"SELECT DISTINCT a.sha256 {wanted} WHERE a.sha256 NOT IN (SELECT sha256 FROM main.blobs)"
    report.blob_bytes += conn.execute(
        f"SELECT coalesce(sum(size), 0) FROM src.blobs WHERE sha256 IN ({missing})").fetchone()[0]
    conn.execute(f"INSERT OR IGNORE INTO main.blob_chunks (sha256, seq, data) SELECT c.sha256, c.seq, c.data"
                 f" FROM src.blob_chunks c WHERE c.sha256 IN ({missing})")
    conn.execute(f"INSERT OR IGNORE INTO main.blobs (sha256, size, chunk_count) SELECT b.sha256, b.size,"
                 f" b.chunk_count FROM src.blobs b WHERE b.sha256 IN ({missing})")
    conn.execute(
        "INSERT OR IGNORE INTO main.logged_model_artifacts (model_pk, path, sha256, size, created_time)"
        f" SELECT m.dst_id, a.path, a.sha256, a.size, a.created_time {wanted}"
    )
    conn.execute("DROP TABLE temp.model_map")
