"""Opening a lighttrack file: recognise it, refuse what is not ours, create or upgrade, connect.

A file is checked from its 100-byte header with plain file I/O *before* SQLite touches it, so a
file that is not lighttrack's (another app's database, a text file, a truncated copy) is refused
without a byte written to it. Only then is it opened, created or migrated.

Every connection to a file comes from ``connect`` following a plan from ``plan_open``: read-write
for writers; read-write with ``query_only`` for readers (they never create, migrate or rewrite a
file, and SQLite still removes its ``-wal``/``-shm`` at the last close); ``mode=ro`` or
``immutable=1`` when the media cannot be written. Errors SQLite reports about the file itself
(full disk, read-only media, damaged pages) are put in the user's words by ``translate``.
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
from dataclasses import dataclass, replace
from pathlib import Path

from lighttrack.errors import DiskFull, FileError, NotALighttrackFile, ReadOnlyFile, SchemaTooNew
from lighttrack.store.file_errors import describe, translate

#: 'LTRK' — written to the header's application_id so lighttrack knows its own files.
APPLICATION_ID = 0x4C54524B
#: Bump together with a new migration in migrations.py (a test checks they agree).
SCHEMA_VERSION = 8
SQLITE_MAGIC = b"SQLite format 3\x00"

#: How long a writer keeps retrying a busy database before giving up (seconds). Long on
#: purpose: a sweep of many processes must never surface "database is locked".
BUSY_RETRY_SECONDS = 300.0
#: Longest sleep between two tries at the write lock, and SQLite's own wait per try while
#: taking it (ms); reads and everything else keep SQLite's busy handler at BUSY_TIMEOUT_MS.
BUSY_BACKOFF_CAP = 0.005
BEGIN_BUSY_MS = 1
BUSY_TIMEOUT_MS = 30_000

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


def _wal_bytes(path: Path) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except OSError:
        return 0


def read_header(path: Path) -> Header | None:
    """Read the header without SQLite. ``None`` for a missing or empty file (a new database).

    "Truncated" is decided only when the main file is the whole database: while a ``-wal`` file
    holds frames, the main file may legitimately be shorter than its header says (a checkpoint
    writes page 1 first and the pages after it later; a ``kill -9`` or a full disk can stop it
    in between, and the WAL still holds every page). Then SQLite decides, not the header.
    """
    for attempt in range(3):
        wal_before = _wal_bytes(path)
        header, size = _header_and_size(path)
        if header is None or header.page_count is None or size >= header.page_count * header.page_size:
            return header
        if wal_before or _wal_bytes(path):
            return replace(header, page_count=None)
        # No WAL on either side of the read: either truly truncated, or a whole write,
        # checkpoint and close by another process fell between our reads. Look again.
        time.sleep(0.02 * (attempt + 1))
    raise FileError(
        f"{path} is truncated: its header says {header.page_count * header.page_size:,} bytes but "
        f"the file has {size:,} and there is no {path.name}-wal to hold the rest; it was left "
        "untouched (restore it from a backup, or copy what can be read with `lighttrack recover`)"
    )


def _header_and_size(path: Path) -> tuple[Header | None, int]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None, 0
    if path.is_dir():
        raise FileError(f"{path} is a directory: give the path of a lighttrack .db file")
    if size == 0:
        return None, 0
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
    # The file may have grown since stat(): take the size after reading the header.
    return header, max(size, path.stat().st_size)


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


class Connection(sqlite3.Connection):
    """An SQLite connection that knows its file and why it may not write.

    ``read_only`` is None for a writing connection, ``"reading"`` for one a read command opened
    (it never writes, so it never creates, migrates or rewrites a file) and ``"media"`` when the
    file or its folder cannot be written (a ``remount,ro`` mount, a CD, a snapshot). Errors are
    phrased from these (see ``translate``).
    """

    path: Path
    read_only: str | None = None


@dataclass(frozen=True)
class OpenPlan:
    """How to reach a file: the SQLite URI options and why writes are refused (if they are).

    This is the one place that decides how a file is opened; a different way of reaching files
    (a shard per process on a network filesystem, say) plugs in by returning its own plan from
    ``plan_open``.
    """

    options: dict[str, str]
    read_only: str | None
    query_only: bool = False


def media_writable(path: Path) -> bool:
    """Can this process write the file and create ``-wal``/``-shm`` beside it?

    ``os.access`` reports a read-only mount (EROFS) even to root, which is the case that matters.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        return True  # nothing to protect: creating it fails with "folder does not exist"
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def plan_open(path: Path, *, readonly: bool) -> OpenPlan:
    """Writable media: read-write (a reader adds ``query_only``, so that SQLite, not a reader,
    owns ``-wal``/``-shm`` and deletes them at the last close; a ``mode=ro`` connection would
    leave them behind). Read-only media: ``mode=ro`` when SQLite can read the WAL through an
    existing ``-shm``; ``immutable=1`` when there is no WAL to read."""
    if media_writable(path):
        if readonly:
            return OpenPlan({"mode": "rw"}, "reading", query_only=True)
        return OpenPlan({}, None)
    if not _wal_bytes(path):
        return OpenPlan({"mode": "ro", "immutable": "1"}, "media")
    if Path(f"{path}-shm").exists():
        return OpenPlan({"mode": "ro"}, "media")
    raise FileError(
        f"{path} is on read-only media and its latest changes are in {path.name}-wal, which SQLite "
        f"can only read with {path.name}-shm beside it; copy the .db and -wal files to writable "
        "storage and open the copy"
    )


def connect(path: Path, *, readonly: bool = False, plan: OpenPlan | None = None) -> Connection:
    """A connection with lighttrack's pragmas. Autocommit mode: we write BEGIN ourselves.

    URI mode, so that ``ATTACH 'file:...?mode=ro'`` works on it (merge reads its source so).
    """
    plan = plan or plan_open(path, readonly=readonly)
    try:
        conn = sqlite3.connect(
            file_uri(path, **plan.options), uri=True, isolation_level=None, check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000, factory=Connection,
        )
    except sqlite3.DatabaseError as exc:
        raise FileError(f"cannot open {path}: {exc}") from None
    conn.path = path
    conn.read_only = plan.read_only
    try:
        if plan.query_only:
            conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        conn.close()  # a damaged file reported untouched keeps no -wal/-shm beside it
        raise open_error(path, exc, plan.read_only) from None
    return conn


def open_error(path: Path, exc: sqlite3.DatabaseError, read_only: str | None = None) -> FileError:
    """Why a file could not be opened: a full disk, read-only media, an I/O error, or damage."""
    error = describe(path, exc, read_only)
    if isinstance(error, (DiskFull, ReadOnlyFile)):
        return error
    if "I/O error" in str(exc):
        return FileError(f"cannot open {path}: {exc}; it was left untouched")
    return FileError(f"{path} is damaged ({exc}); it was left untouched")


def open_database(path: Path, *, readonly: bool = False, create: bool = True) -> Connection:
    """Open (creating or upgrading when needed) and return a connection to a lighttrack file.

    ``readonly``: never write, create or migrate (read commands, merge and backup sources).
    ``create=False``: a missing or empty file is an error instead of a new database.
    Files that cannot be written are opened read-only whatever was asked; writes to them fail
    with "the file is on read-only media".
    """
    if not create or readonly:
        _refuse_missing(path)
    plan = plan_open(path, readonly=readonly)
    key = str(path)
    if key not in _checked:
        with _check_lock:
            if key not in _checked:
                _prepare(path, plan)
                _checked.add(key)
    conn = connect(path, plan=plan)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise open_error(path, exc, plan.read_only) from None
    if version != SCHEMA_VERSION:
        # Another process changed the file since we checked it (e.g. a newer lighttrack).
        conn.close()
        _checked.discard(key)
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        raise FileError(f"{path} changed schema version while open ({version}); open it again")
    return conn


def _refuse_missing(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FileError(
            f"there is no lighttrack file at {path}: check the path (commands that write, such as a "
            "training script or `lighttrack demo`, create it)"
        ) from None
    if size == 0 and not path.is_dir():
        raise FileError(
            f"{path} is an empty file (0 bytes), not a lighttrack database yet; it was left "
            "untouched (commands that write turn it into one)"
        )


def forget_checks() -> None:
    """Forget which files were verified (tests replace files under the same path)."""
    _checked.clear()


def _prepare(path: Path, plan: OpenPlan) -> None:
    state = check_file(path)
    if state == "new":
        if plan.read_only == "media":
            raise ReadOnlyFile(f"cannot create {path}: the folder is on read-only media")
        if plan.read_only:
            raise FileError(f"{path} is an empty database, not a lighttrack file yet; it was left "
                            "untouched (commands that write turn it into one)")
        if not path.parent.exists():
            raise FileError(f"cannot create {path}: folder {path.parent} does not exist")
        _create(path)
        return
    conn = connect(path, plan=plan if plan.read_only else OpenPlan({"mode": "rw"}, "reading", True))
    try:
        version = _user_version(conn, path)
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        raise _too_new(path, version)
    if version < SCHEMA_VERSION:
        if plan.read_only:
            how = (
                "which cannot be done on read-only media: copy it to writable storage first"
                if plan.read_only == "media" else
                "which a read command never does: any command that writes (or opening it from "
                "Python) upgrades it, after backing it up"
            )
            raise FileError(
                f"{path} has schema version {version}; it needs upgrading to {SCHEMA_VERSION}, {how}"
            )
        _upgrade(path, version)


def _user_version(conn: sqlite3.Connection, path: Path) -> int:
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise open_error(path, exc, getattr(conn, "read_only", None)) from None
    if app_id != APPLICATION_ID:
        raise NotALighttrackFile(f"{path} is not a lighttrack database; it was left untouched")
    return int(version)


def _create(path: Path) -> None:
    conn = connect(path)
    try:
        from lighttrack.store.shards import journal_mode

        conn.execute(f"PRAGMA journal_mode = {journal_mode(path)}")  # no WAL on network filesystems
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
    # Every migration is applied now, so the file is at SCHEMA_VERSION whatever the migrations
    # stamped: a file an unreleased branch build migrated in another order (0007 before
    # 0004-0006) was left one short, and every open after that called it "changed while open".
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


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


def vacuum_into(conn: sqlite3.Connection, out: Path) -> None:
    """A consistent, compact copy of the file into ``out``. Allowed on a reading connection:
    it writes only the new file (``query_only`` would refuse it otherwise)."""
    reading = getattr(conn, "read_only", None) == "reading"
    try:
        if reading:
            conn.execute("PRAGMA query_only = OFF")
        conn.execute("VACUUM INTO ?", (str(out),))
    except sqlite3.Error as exc:
        error = translate(conn, exc)
        if isinstance(error, DiskFull):
            error = DiskFull(error.message.replace(str(conn.path), str(out), 1))
        if error is exc:
            raise
        raise error from None
    finally:
        if reading:
            conn.execute("PRAGMA query_only = ON")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open. SQLite itself rolls back on a full disk or an
    I/O error, and ROLLBACK then fails with "no transaction is active", which used to hide the
    real error."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, retrying a busy database with jittered backoff.

    IMMEDIATE takes the write lock up front, so a transaction never fails half-way because
    another process wrote first; the retry means callers never see "database is locked".
    The backoff is capped at a few ms so that a waiting writer takes the lock soon after it is
    free (the buffered writer's crash-loss bound depends on it).
    """
    delay = 0.0005
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    # SQLite's own busy handler backs off to 100 ms sleeps, so a writer could sleep through
    # many free moments of the lock; while taking the lock, poll on our shorter schedule.
    conn.execute(f"PRAGMA busy_timeout = {BEGIN_BUSY_MS}")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise translate(conn, exc) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, BUSY_BACKOFF_CAP)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        yield conn
    except sqlite3.Error as exc:
        _rollback(conn)
        error = translate(conn, exc)
        if error is exc:
            raise
        raise error from None
    except BaseException:
        _rollback(conn)
        raise
    else:
        while True:
            try:
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    _rollback(conn)
                    error = translate(conn, exc)
                    if error is exc:
                        raise
                    raise error from None
                time.sleep(delay)
