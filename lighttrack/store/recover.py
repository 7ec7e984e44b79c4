"""``lighttrack recover``: copy what can still be read from a damaged file into a new one.

Why not SQLite's own tools: ``VACUUM INTO`` and ``Connection.iterdump`` both stop at the first
unreadable page (one damaged page loses the whole copy, or every table after it), and the
sqlite3 shell's ``.recover`` is not available everywhere lighttrack runs. So recovery walks each
table itself, through SQLite's normal reads, and steps around what it cannot read:

- tables with rowids are read in rowid ranges; a range that fails is split in halves until the
  unreadable part is a single rowid (or a probe budget runs out), so one bad page loses only
  the rows on it;
- tables without rowids are read forwards in key order until the first failure, then backwards
  from the end until the first failure: everything before and after the damage survives;
- text that is no longer valid UTF-8 is kept with replacement characters, not dropped.

The copy goes into a fresh file made by lighttrack's own migrations (so it is a current, whole
lighttrack file); rows whose parent row was lost are removed, artifact blobs and metric chunks
that fail their checks are left out, and every loss is listed in the report. The source is
read through a reading connection and left untouched.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from lighttrack.errors import FileError, InvalidArgument, NotALighttrackFile, SchemaTooNew
from lighttrack.store import codec
from lighttrack.store.artifacts import verify_blob
from lighttrack.store.db import (
    APPLICATION_ID, SCHEMA_VERSION, SQLITE_MAGIC, _create, connect, plan_open,
)

#: Failed single-row probes allowed per table before the rest of a damaged range is given up
#: (a damaged interior page can hide a huge, sparse rowid span).
PROBE_BUDGET = 20_000
_MIN_ROWID, _MAX_ROWID = -(2**63), 2**63 - 1


@dataclass
class TableRecovery:
    table: str
    copied: int = 0
    unreadable: list[str] = field(default_factory=list)  # "rowids 120-135", "keys after ('a',)"
    removed: int = 0  # rows left out afterwards (orphans, damaged blobs or chunks)


@dataclass
class RecoverReport:
    source: str
    out: str
    tables: list[TableRecovery]
    lost: list[str]  # one line per artifact or metric series left out

    @property
    def complete(self) -> bool:
        return not self.lost and all(not t.unreadable and not t.removed for t in self.tables)


def recover(source: Path, out: Path) -> RecoverReport:
    """Copy every readable row of ``source`` into the new lighttrack file ``out``."""
    if out.exists():
        raise InvalidArgument(f"{out} already exists: recover writes a new file")
    if not out.parent.exists():
        raise InvalidArgument(f"cannot write {out}: folder {out.parent} does not exist")
    _check_source(source)
    src = connect(source, plan=plan_open(source, readonly=True))
    src.text_factory = lambda raw: raw.decode("utf-8", "replace")
    try:
        _create(out)
        dst = connect(out)
        try:
            dst.execute("PRAGMA foreign_keys = OFF")
            tables = [_copy_table(src, dst, name) for name in _tables(dst)]
            by_name = {t.table: t for t in tables}
            lost = _drop_damaged(dst, by_name)
            _drop_orphans(dst, by_name)
            dst.execute("PRAGMA journal_mode = WAL")
        finally:
            dst.close()
    finally:
        src.close()
    return RecoverReport(str(source), str(out), tables, lost)


def _check_source(source: Path) -> None:
    """Recover reads truncated and damaged lighttrack files, but never another app's file or
    one from a newer lighttrack (its tables may mean something else)."""
    try:
        with open(source, "rb") as f:
            raw = f.read(100)
    except FileNotFoundError:
        raise FileError(f"there is no file at {source}") from None
    except OSError as exc:
        raise FileError(f"cannot read {source}: {exc.strerror}") from None
    if len(raw) < 100 or not raw.startswith(SQLITE_MAGIC):
        raise NotALighttrackFile(f"{source} is not an SQLite file: there is nothing to recover")
    if int.from_bytes(raw[68:72], "big") != APPLICATION_ID:
        raise NotALighttrackFile(f"{source} is not a lighttrack file; it was left untouched")
    version = int.from_bytes(raw[60:64], "big")
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{source} has schema version {version}, newer than this lighttrack's {SCHEMA_VERSION}: "
            "recover it with the lighttrack that wrote it"
        )


def _tables(dst: sqlite3.Connection) -> list[str]:
    return [
        name for (name,) in dst.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            " AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY rowid"
        )
    ]


def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[tuple[str, int]]:
    """(name, position in the primary key or 0) of a table's columns."""
    return [(row[1], row[5]) for row in conn.execute(f"PRAGMA {schema}.table_info({_quote(table)})")]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> TableRecovery:
    result = TableRecovery(table)
    try:
        src_columns = {name for name, _ in _columns(src, table)}
    except sqlite3.DatabaseError as exc:
        result.unreadable.append(f"the whole table (its definition cannot be read: {exc})")
        return result
    if not src_columns:
        return result  # an older file without this table
    columns = [(name, pk) for name, pk in _columns(dst, table) if name in src_columns]
    names = ", ".join(_quote(name) for name, _ in columns)
    insert = (
        f"INSERT OR REPLACE INTO {_quote(table)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    )
    without_rowid = dst.execute(
        "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", (table,)
    ).fetchone()[0]
    try:
        check = src.execute(f"PRAGMA integrity_check({_quote(table)})").fetchall()
        if check != [("ok",)]:
            result.unreadable.append("SQLite's check found damaged pages (rows on them are lost)")
    except sqlite3.DatabaseError:
        result.unreadable.append("SQLite's check cannot read it all (rows on damaged pages are lost)")
    dst.execute("BEGIN")
    try:
        if without_rowid:
            key = [name for name, pk in sorted(columns, key=lambda c: c[1]) if pk]
            _copy_by_key(src, dst, table, names, key, insert, result)
        else:
            _copy_by_rowid(src, dst, table, names, insert, result)
        dst.execute("COMMIT")
    except BaseException:
        if dst.in_transaction:
            dst.execute("ROLLBACK")
        raise
    return result


def _copy_by_rowid(src, dst, table: str, names: str, insert: str, result: TableRecovery) -> None:
    try:
        low, high = src.execute(f"SELECT min(rowid), max(rowid) FROM {_quote(table)}").fetchone()
        if low is None:
            return
    except sqlite3.DatabaseError:
        low, high = _MIN_ROWID, _MAX_ROWID
    select = f"SELECT rowid, {names} FROM {_quote(table)} WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
    probe = f"SELECT max(rowid) FROM {_quote(table)} WHERE rowid BETWEEN ? AND ?"
    ranges = [(low, high)]
    probes = 0
    while ranges:
        start, end = ranges.pop()
        last, failed = None, False
        try:
            for row in src.execute(select, (start, end)):
                dst.execute(insert, row[1:])
                last = row[0]
                result.copied += 1
        except sqlite3.DatabaseError:
            failed = True
        start = start if last is None else last + 1
        if start > end:
            continue
        if not failed:
            # A scan walks from leaf to leaf and can stop early at a damaged one without an
            # error; a seek from the root tells whether rows lie beyond it.
            try:
                if src.execute(probe, (start, end)).fetchone()[0] is None:
                    continue
            except sqlite3.DatabaseError:
                pass
        if start == end or probes >= PROBE_BUDGET:
            _note_range(result, start, end)
            continue
        probes += 1
        middle = start + (end - start) // 2
        ranges.append((middle + 1, end))
        ranges.append((start, middle))


def _note_range(result: TableRecovery, start: int, end: int) -> None:
    """Merge adjacent unreadable rowids into one "rowids a-b" entry."""
    if result.unreadable and result.unreadable[-1].startswith("rowids "):
        first, _, last = result.unreadable[-1][7:].partition("-")
        if int(last) + 1 == start:
            result.unreadable[-1] = f"rowids {first}-{end}"
            return
    result.unreadable.append(f"rowids {start}-{end}")


def _copy_by_key(src, dst, table: str, names: str, key: list[str], insert: str, result) -> None:
    order = ", ".join(_quote(k) for k in key)
    positions = [names.split(", ").index(_quote(k)) for k in key]
    forward_last = None
    try:
        for row in src.execute(f"SELECT {names} FROM {_quote(table)} ORDER BY {order}"):
            dst.execute(insert, row)
            forward_last = tuple(row[i] for i in positions)
            result.copied += 1
        return
    except sqlite3.DatabaseError:
        pass
    backward_last = None
    descending = ", ".join(f"{_quote(k)} DESC" for k in key)
    try:
        for row in src.execute(f"SELECT {names} FROM {_quote(table)} ORDER BY {descending}"):
            here = tuple(row[i] for i in positions)
            if forward_last is not None and here <= forward_last:
                break
            dst.execute(insert, row)
            backward_last = here
            result.copied += 1
    except sqlite3.DatabaseError:
        pass
    result.unreadable.append(f"rows with keys between {forward_last} and {backward_last}")


def _drop_damaged(dst: sqlite3.Connection, tables: dict[str, TableRecovery]) -> list[str]:
    """Leave out blobs that fail their sha256 and metric chunks that do not decode, so that the
    recovered file passes ``info --full``; name every artifact and series that lost data."""
    lost: list[str] = []
    dst.execute("BEGIN")
    for (sha,) in dst.execute("SELECT sha256 FROM blobs").fetchall():
        problem = verify_blob(dst, sha)
        if problem is None:
            continue
        users = dst.execute(
            "SELECT r.uuid, a.path FROM artifacts a LEFT JOIN runs r ON r.id = a.run_id WHERE a.sha256 = ?",
            (sha,),
        ).fetchall()
        lost.extend(f"artifact {path!r} of run {run}: {problem}" for run, path in users)
        for table, sql in (
            ("artifacts", "DELETE FROM artifacts WHERE sha256 = ?"),
            ("logged_model_artifacts", "DELETE FROM logged_model_artifacts WHERE sha256 = ?"),
            ("blob_chunks", "DELETE FROM blob_chunks WHERE sha256 = ?"),
            ("blobs", "DELETE FROM blobs WHERE sha256 = ?"),
        ):
            removed = dst.execute(sql, (sha,)).rowcount
            if table in tables:
                tables[table].removed += removed
    bad_chunks = []
    for chunk_id, run, key, data in dst.execute(
        "SELECT c.id, r.uuid, k.key, c.data FROM metric_chunks c LEFT JOIN runs r ON r.id = c.run_id"
        " LEFT JOIN metric_keys k ON k.id = c.key_id"
    ).fetchall():
        try:
            codec.decode(data)
        except codec.DamagedChunk as exc:
            bad_chunks.append((chunk_id,))
            lost.append(f"metric {key!r} of run {run}: a chunk of points is damaged ({exc})")
    if bad_chunks:
        series = dst.execute(
            f"SELECT DISTINCT run_id, key_id FROM metric_chunks WHERE id IN ({','.join('?' * len(bad_chunks))})",
            [c for (c,) in bad_chunks],
        ).fetchall()
        dst.executemany("DELETE FROM metric_chunks WHERE id = ?", bad_chunks)
        tables["metric_chunks"].removed += len(bad_chunks)
        for run_pk, key_id in series:
            _resummarise(dst, run_pk, key_id)
    dst.execute("COMMIT")
    return lost


def _resummarise(dst: sqlite3.Connection, run_pk: int, key_id: int) -> None:
    """Rebuild a series' summary (latest, min, max, count) from the chunks that survived."""
    from lighttrack.store.metrics import prepare

    steps, timestamps, values = [], [], []
    for (data,) in dst.execute(
        "SELECT data FROM metric_chunks WHERE run_id = ? AND key_id = ? ORDER BY seq", (run_pk, key_id)
    ):
        s, t, v = codec.decode(data)
        steps.extend(s)
        timestamps.extend(t)
        values.extend(v)
    dst.execute("DELETE FROM latest_metrics WHERE run_id = ? AND key_id = ?", (run_pk, key_id))
    if not values:
        return
    ready = prepare(steps, timestamps, values, encode=False)
    step, ts, value = ready.last
    low, high = ready.finite_range
    dst.execute(
        "INSERT INTO latest_metrics (run_id, key_id, step, timestamp, value, min, max, count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run_pk, key_id, step, ts, None if value != value else value, low, high, len(values)),
    )


def _drop_orphans(dst: sqlite3.Connection, tables: dict[str, TableRecovery]) -> None:
    """Remove rows whose parent was unreadable (a tag of a lost run...), repeating until none is
    left, since removing one row can orphan another."""
    dst.execute("BEGIN")
    changed = True
    while changed:
        changed = False
        for table in tables:
            for fk in dst.execute(f"PRAGMA foreign_key_list({_quote(table)})").fetchall():
                parent, child_col, parent_col = fk[2], fk[3], fk[4]
                if parent_col is None:
                    parent_col = "rowid"
                removed = dst.execute(
                    f"DELETE FROM {_quote(table)} WHERE {_quote(child_col)} IS NOT NULL AND "
                    f"{_quote(child_col)} NOT IN (SELECT {_quote(parent_col)} FROM {_quote(parent)})"
                ).rowcount
                if removed:
                    tables[table].removed += removed
                    changed = True
    dst.execute("COMMIT")
    dst.execute("PRAGMA foreign_keys = ON")
