"""Keeping a file healthy: purge what was deleted, drop unreferenced blobs, report on it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from lighttrack.store.db import SCHEMA_VERSION, write_transaction
from lighttrack.util import now_ms


@dataclass(frozen=True)
class GcReport:
    runs: int
    experiments: int
    blobs: int
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class FileReport:
    path: str
    schema_version: int
    store_uuid: str
    created_by: str
    experiments: int
    runs: int
    deleted_runs: int
    metric_series: int
    metric_points: int
    artifacts: int
    blobs: int
    blob_bytes: int
    file_bytes: int
    wal_bytes: int
    integrity: str


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def purge(conn: sqlite3.Connection, path: Path, older_than_ms: int = 0, vacuum: bool = True) -> GcReport:
    """Permanently remove deleted runs (and deleted experiments with their runs), then blobs no
    artifact uses, then VACUUM. ``older_than_ms`` keeps recently deleted things."""
    before = file_size(path)
    cutoff = now_ms() - older_than_ms
    with write_transaction(conn):
        experiments = conn.execute(
            "SELECT id FROM experiments WHERE lifecycle_stage = 'deleted' AND last_update_time <= ?", (cutoff,)
        ).fetchall()
        exp_ids = [e for (e,) in experiments]
        marks = ",".join("?" * len(exp_ids))
        runs = conn.execute(
            "SELECT id FROM runs WHERE (lifecycle_stage = 'deleted' AND coalesce(deleted_time, 0) <= ?)"
            + (f" OR experiment_id IN ({marks})" if exp_ids else ""),
            [cutoff, *exp_ids],
        ).fetchall()
        conn.executemany("DELETE FROM runs WHERE id = ?", runs)  # cascades to params, metrics...
        conn.executemany("DELETE FROM experiments WHERE id = ?", experiments)
        blobs = conn.execute(
            "SELECT sha256 FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM artifacts)"
        ).fetchall()
        conn.executemany("DELETE FROM blob_chunks WHERE sha256 = ?", blobs)
        conn.executemany("DELETE FROM blobs WHERE sha256 = ?", blobs)
        # Chunks of a blob whose write never finished (a crash mid-transaction cannot leave
        # these, but a file merged from an older tool might).
        conn.execute("DELETE FROM blob_chunks WHERE sha256 NOT IN (SELECT sha256 FROM blobs)")
    if vacuum:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return GcReport(len(runs), len(experiments), len(blobs), before, file_size(path))


def report(conn: sqlite3.Connection, path: Path, full_check: bool = False) -> FileReport:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())

    def one(sql: str) -> int:
        return conn.execute(sql).fetchone()[0] or 0

    check = conn.execute("PRAGMA integrity_check" if full_check else "PRAGMA quick_check").fetchall()
    integrity = "ok" if check == [("ok",)] else "; ".join(row[0] for row in check[:5])
    wal = Path(f"{path}-wal")
    return FileReport(
        path=str(path),
        schema_version=SCHEMA_VERSION,
        store_uuid=meta.get("store_uuid", ""),
        created_by=meta.get("created_by", ""),
        experiments=one("SELECT count(*) FROM experiments WHERE lifecycle_stage = 'active'"),
        runs=one("SELECT count(*) FROM runs WHERE lifecycle_stage = 'active'"),
        deleted_runs=one("SELECT count(*) FROM runs WHERE lifecycle_stage = 'deleted'"),
        metric_series=one("SELECT count(*) FROM latest_metrics"),
        metric_points=one("SELECT sum(count) FROM latest_metrics"),
        artifacts=one("SELECT count(*) FROM artifacts"),
        blobs=one("SELECT count(*) FROM blobs"),
        blob_bytes=one("SELECT sum(size) FROM blobs"),
        file_bytes=path.stat().st_size,
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        integrity=integrity,
    )
