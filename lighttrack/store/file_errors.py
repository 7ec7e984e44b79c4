"""What SQLite says about the file itself, in the user's words.

SQLite reports a full disk, read-only media and damaged pages as error codes on whatever
statement met them. Every write transaction, every open and the CLI's last line of defence pass
them through here, so that the user reads one line naming the file and what was kept, never
"cannot rollback - no transaction is active" or a traceback.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from lighttrack.errors import DamagedFile, DiskFull, ReadOnlyFile


def free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path.parent if str(path.parent) else ".").free
    except OSError:
        return None


def translate(conn: sqlite3.Connection, exc: sqlite3.Error) -> Exception:
    """The user's words for what SQLite reports about the file itself (full disk, read-only
    media, damaged pages). Anything else is returned unchanged."""
    return describe(getattr(conn, "path", None), exc, getattr(conn, "read_only", None))


def describe(path: Path | None, exc: sqlite3.Error, read_only: str | None = None) -> Exception:
    """``translate`` for when only the file's path is known (the CLI's last line of defence)."""
    where = path or "the lighttrack file"
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    full = name.startswith("SQLITE_FULL") or "database or disk is full" in text
    if not full and (name.startswith("SQLITE_IOERR") or "disk I/O error" in text) and path:
        # Creating -wal/-shm on a full disk fails as an I/O error, not as "disk is full".
        free = free_bytes(Path(path))
        full = free is not None and free < 1 << 20
    if full:
        free = free_bytes(path) if path else None
        room = f"{free:,} bytes free" if free is not None else "free space unknown"
        return DiskFull(
            f"{where}: the disk is full ({room} on its filesystem); this write was rolled back and "
            "nothing written before it was lost: free some space and try again (buffered metrics "
            "are kept until then: call flush() or end the run)"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        if read_only == "reading":
            return ReadOnlyFile(f"{where} was opened for reading only (a read command never writes)")
        return ReadOnlyFile(
            f"{where} is on read-only media: it can be read but not written (copy it to writable "
            "storage to add to it)"
        )
    if (name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text
            or "Could not decode to UTF-8" in text or isinstance(exc, sqlite3.DatabaseError)
            and type(exc) is sqlite3.DatabaseError):
        return DamagedFile(
            f"{where} is damaged ({text}); it was left untouched: copy what can be read with "
            f"`lighttrack recover {where} RECOVERED.db`"
        )
    return exc
