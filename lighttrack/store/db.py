"""Opening a lighttrack file: recognise it, refuse what is not ours, create or upgrade, connect.

A file is checked from its 100-byte header with plain file I/O *before* SQLite touches it, so a
file that is not lighttrack's (another app's database, a text file, a truncated copy) is refused
without a byte written to it. Only then is it opened, created or migrated.
"""

from __future__ import annotations

import os
import random
import sqlite3
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lighttrack.errors import FileError, NotALighttrackFile, SchemaTooNew

#: 'LTRK' — written to the header's application_id so lighttrack knows its own files.
APPLICATION_ID = 0x4C54524B
#: Bump together with a new migration in migrations.py (a test checks they agree).
SCHEMA_VERSION = 3
SQLITE_MAGIC = b"SQLite format 3\x00"

#: How long a writer keeps retrying a busy database before giving up (seconds). Long on
#: purpose: a sweep of many processes must never surface "database is locked".
BUSY_RETRY_SECONDS = 300.0

_checked: set[str] = set()
_check_lock = threading.Lock()


@dataclass(frozen=True)
class Header:
    """The parts of SQLite's file header that tell whose file this is and whether it is whole."""

    page_size: int
    page_count: int | None  # None when the header's count is not trustworthy
    schema_cookie: int
    user_version: int
    application_id: int


def read_header(path: Path) -> Header | None:
    """Read the header without SQLite. ``None`` for a missing or empty file (a new database)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if path.is_dir():
        raise FileError(f"{path} is a directory: give the path of a lighttrack .db file")
    if size == 0:
        return None
    try:
        with open(path, "rb") as f:
            raw = f.read(100)
    except OSError as exc:
        raise FileError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) < 100 or not raw.startswith(SQLITE_MAGIC):
        raise NotALighttrackFile(
            f"{path} is not a lighttrack database (it is not an SQLite file); it was left untouched"
        )
    (page_size,) = struct.unpack(">H", raw[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", raw[24:32])
    (schema_cookie,) = struct.unpack(">I", raw[40:44])
    (user_version,) = struct.unpack(">I", raw[60:64])
    (application_id,) = struct.unpack(">I", raw[68:72])
    (valid_for,) = struct.unpack(">I", raw[92:96])
    header = Header(
        page_size=page_size,
        page_count=page_count if valid_for == change_counter and page_count else None,
        schema_cookie=schema_cookie,
        user_version=user_version,
        application_id=application_id,
    )
    if header.page_count is not None and size < header.page_count * page_size:
        raise FileError(
            f"{path} is truncated: its header says {header.page_count * page_size:,} bytes but "
            f"the file has {size:,}; it was left untouched (restore it from a backup)"
        )
    return header


def check_file(path: Path) -> str:
    """Classify the file: 'new', 'ours'. Raises for anything lighttrack must not open."""
    header = read_header(path)
    if header is None:
        return "new"
    if header.application_id == APPLICATION_ID:
        if header.user_version > SCHEMA_VERSION:
            raise _too_new(path, header.user_version)
        return "ours"
    if header.application_id == 0 and header.schema_cookie == 0:
        return "new"  # an empty SQLite database: nothing in it to protect
    raise NotALighttrackFile(
        f"{path} is an SQLite database but not a lighttrack file "
        f"(application_id {header.application_id:#x}); it was left untouched"
    )


def _too_new(path: Path, version: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"{path} has schema version {version}, written by a newer lighttrack; this lighttrack "
        f"reads up to schema version {SCHEMA_VERSION}. Upgrade lighttrack (pip install -U "
        "lighttrack); the file was left untouched"
    )


def file_uri(path: Path, **options: str) -> str:
    """An SQLite URI for a path (quoted, so '?', '#' and '%' in names are safe)."""
    from urllib.parse import quote

    query = "&".join(f"{k}={v}" for k, v in options.items())
    return f"file:{quote(str(path))}" + (f"?{query}" if query else "")


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with lighttrack's pragmas. Autocommit mode: we write BEGIN ourselves.

    URI mode, so that ``ATTACH 'file:...?mode=ro'`` works on it (merge reads its source so).
    """
    uri = file_uri(path, mode="ro") if readonly else file_uri(path)
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            raise FileError(f"cannot open {path}: {exc}") from None
        raise FileError(f"{path} is damaged ({exc}); it was left untouched") from None
    return conn


def open_database(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open (creating or upgrading when needed) and return a connection to a lighttrack file."""
    key = str(path)
    if key not in _checked:
        with _check_lock:
            if key not in _checked:
                _prepare(path, readonly=readonly)
                _checked.add(key)
    conn = connect(path, readonly=readonly)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise FileError(f"{path} cannot be read as a database: {exc}") from None
    if version != SCHEMA_VERSION:
        # Another process changed the file since we checked it (e.g. a newer lighttrack).
        conn.close()
        _checked.discard(key)
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        raise FileError(f"{path} changed schema version while open ({version}); open it again")
    return conn


def forget_checks() -> None:
    """Forget which files were verified (tests replace files under the same path)."""
    _checked.clear()


def _prepare(path: Path, *, readonly: bool) -> None:
    state = check_file(path)
    if state == "new":
        if readonly:
            raise FileError(f"{path} does not exist")
        if not path.parent.exists():
            raise FileError(f"cannot create {path}: folder {path.parent} does not exist")
        _create(path)
        return
    conn = connect(path, readonly=True)
    try:
        version = _user_version(conn, path)
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        raise _too_new(path, version)
    if version < SCHEMA_VERSION:
        if readonly:
            raise FileError(
                f"{path} has schema version {version}; it needs upgrading to {SCHEMA_VERSION}, "
                "which cannot be done read-only"
            )
        _upgrade(path, version)


def _user_version(conn: sqlite3.Connection, path: Path) -> int:
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise FileError(f"{path} is damaged ({exc}); it was left untouched") from None
    if app_id != APPLICATION_ID:
        raise NotALighttrackFile(f"{path} is not a lighttrack database; it was left untouched")
    return int(version)


def _create(path: Path) -> None:
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        with write_transaction(conn):
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version:  # another process created it while we waited for the lock
                return
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise NotALighttrackFile(f"{path} is not a lighttrack database")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            _apply_migrations(conn)
            from lighttrack import __version__

            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("store_uuid", uuid.uuid4().hex),
                    ("created_by", f"lighttrack {__version__}"),
                    ("created_time", str(int(time.time() * 1000))),
                ],
            )
            # MLflow's every store starts with experiment "0", Default; code relies on it
            from lighttrack.store.experiments import create_default

            create_default(conn)
    finally:
        conn.close()


def _upgrade(path: Path, version: int) -> None:
    """Back the file up with VACUUM INTO, then migrate it in one transaction."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.schema{version}-{stamp}.bak")
    conn = connect(path)
    try:
        conn.execute("VACUUM INTO ?", (str(backup),))
        with write_transaction(conn):
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current < SCHEMA_VERSION:
                _apply_migrations(conn)
    finally:
        conn.close()


def _apply_migrations(conn: sqlite3.Connection) -> None:
    database = _sqlite_utils_database(conn)  # first: it decides how sqlite-utils is imported
    from lighttrack.store.migrations import migrations

    migrations.apply(database)


def _sqlite_utils_database(conn: sqlite3.Connection):
    """sqlite-utils' Database, imported without pandas and numpy.

    sqlite-utils imports both eagerly for DataFrame features lighttrack never uses; that made
    creating a file cost ~0.3 s and loaded them into training scripts that never asked. Where
    neither is loaded yet, hide them for the length of that one import (then unhide, so the
    user's own ``import pandas`` works as ever).
    """
    import sys

    if "sqlite_utils.db" not in sys.modules:
        hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
        try:
            import sqlite_utils.db  # noqa: F401
        finally:
            for name in hidden:
                del sys.modules[name]
    from sqlite_utils import Database

    return Database(conn)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, retrying a busy database with jittered backoff.

    IMMEDIATE takes the write lock up front, so a transaction never fails half-way because
    another process wrote first; the retry means callers never see "database is locked".
    """
    delay = 0.001
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        while True:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    conn.execute("ROLLBACK")
                    raise
                time.sleep(delay)
