"""Keeping a file healthy: purge what was deleted, drop unreferenced blobs, report on it."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from lighttrack.store import codec
from lighttrack.store.artifacts import verify_blob
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
    """What ``lighttrack info`` prints. A count is None when the pages holding it are damaged."""

    path: str
    schema_version: int
    store_uuid: str
    created_by: str
    experiments: int | None
    runs: int | None
    deleted_runs: int | None
    metric_series: int | None
    metric_points: int | None
    artifacts: int | None
    blobs: int | None
    blob_bytes: int | None
    file_bytes: int
    wal_bytes: int
    integrity: str
    #: Every damaged part found, one line each (file structure, metric series, artifact blobs).
    problems: tuple[str, ...] = ()


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


#: Runs deleted per statement batch in ``purge``: small enough for the progress bar to move.
PURGE_BATCH = 500


def purge(conn: sqlite3.Connection, path: Path, older_than_ms: int = 0, vacuum: bool = True,
          progress=None) -> GcReport:
    """Permanently remove deleted runs (and deleted experiments with their runs), then blobs no
    artifact uses, then VACUUM. ``older_than_ms`` keeps recently deleted things. ``progress``:
    called as (phase, runs purged, runs to purge, points=metric points purged) for a bar.
    Still one transaction: interrupted, the file is as it was."""
    tick = progress or (lambda phase, done, total, points=0: None)
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
        points = 0
        tick("runs", 0, len(runs), points=0)
        for start in range(0, len(runs), PURGE_BATCH):
            batch = runs[start:start + PURGE_BATCH]
            points += conn.execute(
                f"SELECT coalesce(sum(count), 0) FROM latest_metrics WHERE run_id IN ({','.join('?' * len(batch))})",
                [r for (r,) in batch],
            ).fetchone()[0]
            conn.executemany("DELETE FROM runs WHERE id = ?", batch)  # cascades to params, metrics...
            tick("runs", start + len(batch), len(runs), points=points)
        conn.executemany("DELETE FROM experiments WHERE id = ?", experiments)
        # deleted logged models go too (MLflow's delete_logged_model is soft; gc makes it final)
        conn.execute("DELETE FROM logged_models WHERE lifecycle_stage = 'deleted' AND last_updated_timestamp <= ?",
                     (cutoff,))
        tick("unused blobs", len(runs), len(runs), points=points)
        blobs = conn.execute(
            "SELECT sha256 FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM artifacts)"
            " AND sha256 NOT IN (SELECT sha256 FROM logged_model_artifacts)"  # a model's own files
        ).fetchall()
        conn.executemany("DELETE FROM blob_chunks WHERE sha256 = ?", blobs)
        conn.executemany("DELETE FROM blobs WHERE sha256 = ?", blobs)
        # Chunks of a blob whose write never finished (a crash mid-transaction cannot leave
        # these, but a file merged from an older tool might).
        conn.execute("DELETE FROM blob_chunks WHERE sha256 NOT IN (SELECT sha256 FROM blobs)")
    if vacuum:
        tick("VACUUM", len(runs), len(runs), points=points)
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tick("done", len(runs), len(runs), points=points)
    return GcReport(len(runs), len(experiments), len(blobs), before, file_size(path))


def report(conn: sqlite3.Connection, path: Path, full_check: bool = False) -> FileReport:
    """Counts and an integrity check. The quick check looks at the file's structure; the full
    one adds SQLite's ``integrity_check``, decodes every metric chunk and re-hashes every blob.
    A damaged file still gets a report: what cannot be counted is None, and ``problems`` says
    what is damaged."""
    problems: list[str] = []
    try:
        check = conn.execute("PRAGMA integrity_check" if full_check else "PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            problems.extend(
                f"file structure: {line}" for (text,) in check for line in str(text).splitlines()
                if line and not line.startswith("***")
            )
    except sqlite3.DatabaseError as exc:
        problems.append(f"file structure: {exc}")

    def one(sql: str) -> int | None:
        try:
            return conn.execute(sql).fetchone()[0] or 0
        except sqlite3.DatabaseError as exc:
            problems.append(f"cannot count ({exc}): {sql}")
            return None

    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        meta = {}
    if full_check:
        problems.extend(_damaged_series(conn))
        problems.extend(_damaged_blobs(conn))
    wal = Path(f"{path}-wal")
    return FileReport(
        path=str(path),
        schema_version=SCHEMA_VERSION,
        store_uuid=meta.get("store_uuid", ""),
        created_by=meta.get("created_by", ""),
        experiments=one("SELECT count(*) FROM experiments WHERE lifecycle_stage = 'active'"),
        # NOT INDEXED: count the table's own rows, so a damaged runs table reads as unreadable
        # (the runs_in_scope index could answer these counts without touching it).
        runs=one("SELECT count(*) FROM runs NOT INDEXED WHERE lifecycle_stage = 'active'"),
        deleted_runs=one("SELECT count(*) FROM runs NOT INDEXED WHERE lifecycle_stage = 'deleted'"),
        metric_series=one("SELECT count(*) FROM latest_metrics"),
        metric_points=one("SELECT sum(count) FROM latest_metrics"),
        artifacts=one("SELECT count(*) FROM artifacts"),
        blobs=one("SELECT count(*) FROM blobs"),
        blob_bytes=one("SELECT sum(size) FROM blobs"),
        file_bytes=path.stat().st_size,
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        integrity="ok" if not problems else f"{len(problems)} problem(s): {problems[0]}",
        problems=tuple(problems),
    )


def _damaged_series(conn: sqlite3.Connection) -> list[str]:
    """Decode every metric chunk; one line per damaged series (run and metric named)."""
    found: list[str] = []
    try:
        rows = conn.execute(
            "SELECT r.uuid, k.key, c.seq, c.count, c.data FROM metric_chunks c"
            " JOIN runs r ON r.id = c.run_id JOIN metric_keys k ON k.id = c.key_id"
            " ORDER BY c.run_id, c.key_id, c.seq"
        )
        reported = set()
        for run, key, seq, count, data in rows:
            try:
                steps, _, _ = codec.decode(data)
                if len(steps) != count:
                    raise codec.DamagedChunk(f"{len(steps)} points where {count} were written")
            except codec.DamagedChunk as exc:
                if (run, key) not in reported:
                    reported.add((run, key))
                    found.append(f"metric {key!r} of run {run}: chunk {seq} is damaged ({exc})")
    except sqlite3.DatabaseError as exc:
        found.append(f"metric chunks cannot all be read ({exc})")
    return found


def _damaged_blobs(conn: sqlite3.Connection) -> list[str]:
    """Re-hash every blob; one line per damaged blob, naming the artifacts that use it."""
    found: list[str] = []
    try:
        shas = [sha for (sha,) in conn.execute("SELECT sha256 FROM blobs ORDER BY sha256")]
        for sha in shas:
            problem = verify_blob(conn, sha)
            if problem:
                users = conn.execute(
                    "SELECT r.uuid, a.path FROM artifacts a JOIN runs r ON r.id = a.run_id"
                    " WHERE a.sha256 = ? ORDER BY r.uuid, a.path LIMIT 4", (sha,)
                ).fetchall()
                named = ", ".join(f"{path!r} of run {run}" for run, path in users) or "no artifact"
                found.append(f"artifact blob {sha[:12]} ({named}): {problem}")
    except sqlite3.DatabaseError as exc:
        found.append(f"artifact blobs cannot all be read ({exc})")
    return found
