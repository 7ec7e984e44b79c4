"""Artifacts inside the file: content-addressed, chunked blobs and per-run path trees.

A blob is keyed by its sha256 and stored once however many runs log it, in chunks of at most
1 MiB so that a multi-GB file streams through without being held in memory. A run's artifact
is a (run, relative path) -> blob row. Paths are normalised and can never escape the run; a
download can never write outside its target folder.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

from lighttrack.entities import FileInfo
from lighttrack.errors import DamagedFile, InvalidArgument, NotFound, UnsafeArtifactPath
from lighttrack.store.db import write_transaction
from lighttrack.util import now_ms

CHUNK_BYTES = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_PATH_RULE = "artifact paths are relative, use '/' between parts, and have no '..' part"


def normalise_path(path: str | os.PathLike[str] | None, *, allow_empty: bool = True) -> str:
    """'a/./b//c' -> 'a/b/c'. Refuses absolute paths, '..', backslashes, drive letters, NUL."""
    text = "" if path is None else os.fspath(path)
    if "\\" in text or "\x00" in text:
        raise UnsafeArtifactPath(f"artifact path {text!r} is not allowed: {_PATH_RULE}")
    if text.startswith("/") or _DRIVE.match(text) or text.startswith("~"):
        raise UnsafeArtifactPath(f"artifact path {text!r} is absolute: {_PATH_RULE}")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArtifactPath(f"artifact path {text!r} leaves the run: {_PATH_RULE}")
    result = "/".join(parts)
    if not result and not allow_empty:
        raise UnsafeArtifactPath(f"artifact path {text!r} names no file: {_PATH_RULE}")
    return result


def _hash_file(local: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(local, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _link(conn: sqlite3.Connection, run_pk: int, path: str, sha: str, size: int) -> None:
    conn.execute(
        "INSERT INTO artifacts (uuid, run_id, path, sha256, size, created_time) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (run_id, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,"
        " created_time = excluded.created_time",
        (uuid.uuid4().hex, run_pk, path, sha, size, now_ms()),
    )


def check_no_conflict(conn: sqlite3.Connection, run_pk: int, path: str) -> None:
    """A path cannot be both a file and a folder: logging ``d`` and ``d/e`` would leave a run
    that no download can write out. Replacing a file with a file of the same path is fine."""
    parts = path.split("/")
    ancestors = ["/".join(parts[:i]) for i in range(1, len(parts))]
    if ancestors:
        row = conn.execute(
            f"SELECT path FROM artifacts WHERE run_id = ? AND path IN ({','.join('?' * len(ancestors))}) LIMIT 1",
            [run_pk, *ancestors],
        ).fetchone()
        if row is not None:
            raise InvalidArgument(
                f"cannot log artifact {path!r}: the run already has a file {row[0]!r}, so {row[0]!r} "
                "cannot also be a folder (log it under another path)"
            )
    row = conn.execute(
        "SELECT path FROM artifacts WHERE run_id = ? AND substr(path, 1, ?) = ? LIMIT 1",
        (run_pk, len(path) + 1, path + "/"),
    ).fetchone()
    if row is not None:
        raise InvalidArgument(
            f"cannot log artifact {path!r}: the run already has a folder {path!r} (holding {row[0]!r}), "
            "so it cannot also be a file (log it under another path)"
        )


def _has_blob(conn: sqlite3.Connection, sha: str) -> bool:
    return conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone() is not None


def _store_blob(conn: sqlite3.Connection, local: Path, sha: str, size: int) -> None:
    """Copy a local file's chunks in (inside the caller's transaction), checking it did not change."""
    seq = 0
    digest = hashlib.sha256()
    with open(local, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
            conn.execute(
                "INSERT OR REPLACE INTO blob_chunks (sha256, seq, data) VALUES (?, ?, ?)", (sha, seq, block),
            )
            seq += 1
    if digest.hexdigest() != sha:
        raise OSError(f"{local} changed while it was being logged; log it again")
    conn.execute("INSERT INTO blobs (sha256, size, chunk_count) VALUES (?, ?, ?)", (sha, size, seq))


def put_file(conn: sqlite3.Connection, run_pk: int, path: str, local: Path) -> int:
    """Store a local file as the run's artifact ``path``; returns its size."""
    return put_files(conn, run_pk, [(path, local)])


def put_files(conn: sqlite3.Connection, run_pk: int, planned: list[tuple[str, Path]]) -> int:
    """Store local files as the run's artifacts, all or none; returns the bytes logged.

    Each file is read twice (hash, then store) rather than held in memory. Everything goes in
    one transaction: other writers wait (and retry) instead of ever seeing half a blob, and a
    file that fails half-way leaves none of the others behind.
    """
    hashed = [(path, local, *_hash_file(local)) for path, local in planned]
    with write_transaction(conn):
        for path, _, _, _ in hashed:
            check_no_conflict(conn, run_pk, path)
        for path, local, sha, size in hashed:
            if not _has_blob(conn, sha):
                _store_blob(conn, local, sha, size)
            _link(conn, run_pk, path, sha, size)
    return sum(size for _, _, _, size in hashed)


def put_bytes(conn: sqlite3.Connection, run_pk: int, path: str, data: bytes) -> int:
    put_known_bytes(conn, run_pk, [(path, data, hashlib.sha256(data).hexdigest())])
    return len(data)


def put_known_bytes(conn: sqlite3.Connection, run_pk: int, items: list[tuple[str, bytes, str]]) -> None:
    """(path, bytes, their sha256) as the run's artifacts, all in one transaction. The caller
    hashes once: the source snapshot links the same few blobs to every run a process starts."""
    with write_transaction(conn):
        for path, _, _ in items:
            check_no_conflict(conn, run_pk, path)
        store_known_bytes(conn, run_pk, items)


def store_known_bytes(conn: sqlite3.Connection, run_pk: int, items: list[tuple[str, bytes, str]]) -> None:
    """The inside of ``put_known_bytes``, in the caller's transaction and without the path
    checks: for a run created in that same transaction, which has no artifacts to clash with."""
    for path, data, sha in items:
        if not _has_blob(conn, sha):
            chunks = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
            conn.executemany(
                "INSERT OR REPLACE INTO blob_chunks (sha256, seq, data) VALUES (?, ?, ?)",
                [(sha, i, chunk) for i, chunk in enumerate(chunks)],
            )
            conn.execute(
                "INSERT INTO blobs (sha256, size, chunk_count) VALUES (?, ?, ?)", (sha, len(data), len(chunks))
            )
        _link(conn, run_pk, path, sha, len(data))


def files(conn: sqlite3.Connection, run_pk: int, prefix: str = "") -> list[tuple[str, str, int]]:
    """(path, sha256, size) of every file at or below ``prefix``, sorted by path."""
    if not prefix:
        rows = conn.execute(
            "SELECT path, sha256, size FROM artifacts WHERE run_id = ? ORDER BY path", (run_pk,)
        )
    else:
        rows = conn.execute(
            "SELECT path, sha256, size FROM artifacts WHERE run_id = ? AND (path = ? OR"
            " substr(path, 1, ?) = ?) ORDER BY path",
            (run_pk, prefix, len(prefix) + 1, prefix + "/"),
        )
    return rows.fetchall()


def list_dir(conn: sqlite3.Connection, run_pk: int, path: str = "") -> list[FileInfo]:
    """The direct children of a folder of the run's artifacts, like ``ls`` (MLflow's shape)."""
    entries: dict[str, FileInfo] = {}
    base = path + "/" if path else ""
    for file_path, _, size in files(conn, run_pk, path):
        if file_path == path:  # ``path`` is a file: MLflow lists nothing for it
            return []
        rest = file_path[len(base):]
        head, sep, _ = rest.partition("/")
        child = base + head
        if sep:
            entries.setdefault(child, FileInfo(path=child, is_dir=True, file_size=None))
        else:
            entries[child] = FileInfo(path=child, is_dir=False, file_size=size)
    return sorted(entries.values(), key=lambda info: info.path)


def iter_blob(conn: sqlite3.Connection, sha: str, what: str | None = None) -> Iterator[bytes]:
    """A blob's bytes, chunk by chunk, checked as they stream: the sha256 of what came out, the
    size and the chunk count must match the blob's row, or DamagedFile is raised after the last
    chunk (so a flipped bit is an error, never silent data). ``what`` names it in the error."""
    row = conn.execute("SELECT size, chunk_count FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
    digest = hashlib.sha256()
    size = chunks = 0
    for (data,) in conn.execute("SELECT data FROM blob_chunks WHERE sha256 = ? ORDER BY seq", (sha,)):
        digest.update(data)
        size += len(data)
        chunks += 1
        yield data
    problem = _blob_problem(sha, row, digest.hexdigest(), size, chunks)
    if problem:
        raise _damaged_blob(conn, what or f"blob {sha[:12]}", problem)


def _blob_problem(sha: str, row, actual_sha: str, size: int, chunks: int) -> str | None:
    if row is None:
        return "its blob is missing"
    if chunks != row[1]:
        return f"{chunks} of its {row[1]} chunks are in the file"
    if size != row[0]:
        return f"{size:,} bytes read back, {row[0]:,} were stored"
    if actual_sha != sha:
        return f"its bytes no longer match their sha256 {sha[:12]}..."
    return None


def _damaged_blob(conn: sqlite3.Connection, what: str, problem: str) -> DamagedFile:
    return DamagedFile(f"{getattr(conn, 'path', 'the file')}: {what} is damaged ({problem})")


def verify_blob(conn: sqlite3.Connection, sha: str) -> str | None:
    """Why the blob is damaged, or None: what ``info --full`` checks for every blob."""
    row = conn.execute("SELECT size, chunk_count FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
    digest = hashlib.sha256()
    size = chunks = 0
    for (data,) in conn.execute("SELECT data FROM blob_chunks WHERE sha256 = ? ORDER BY seq", (sha,)):
        digest.update(data)
        size += len(data)
        chunks += 1
    return _blob_problem(sha, row, digest.hexdigest(), size, chunks)


def read_bytes(conn: sqlite3.Connection, run_pk: int, path: str) -> bytes:
    row = conn.execute("SELECT sha256 FROM artifacts WHERE run_id = ? AND path = ?", (run_pk, path)).fetchone()
    if row is None:
        raise NotFound(f"the run has no artifact file {path!r}")
    return b"".join(iter_blob(conn, row[0], _artifact_name(conn, run_pk, path)))


def _artifact_name(conn: sqlite3.Connection, run_pk: int, path: str) -> str:
    row = conn.execute("SELECT uuid FROM runs WHERE id = ?", (run_pk,)).fetchone()
    return f"artifact {path!r} of run {row[0] if row else run_pk}"


def download(conn: sqlite3.Connection, run_pk: int, path: str, target: Path) -> Path:
    """Write the file or folder ``path`` under ``target`` and return the local path.

    A file whose bytes fail their sha256 check is removed again before the error is raised:
    what is left on disk is only what verified."""
    found = files(conn, run_pk, path)
    if not found:
        raise NotFound(f"the run has no artifact {path!r}" if path else "the run has no artifacts")
    root = target.resolve()
    for file_path, sha, _ in found:
        local = (root / file_path).resolve()
        if not local.is_relative_to(root):  # defence in depth: stored paths are normalised
            raise UnsafeArtifactPath(f"artifact {file_path!r} would be written outside {root}")
        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(local, "wb") as f:
                for block in iter_blob(conn, sha, _artifact_name(conn, run_pk, file_path)):
                    f.write(block)
        except DamagedFile:
            local.unlink(missing_ok=True)
            raise
    return root / path if path else root


def blob_of(conn: sqlite3.Connection, run_pk: int, path: str) -> tuple[str, int] | None:
    row = conn.execute("SELECT sha256, size FROM artifacts WHERE run_id = ? AND path = ?", (run_pk, path)).fetchone()
    return (row[0], row[1]) if row else None


def posix_join(*parts: str) -> str:
    return posixpath.join(*[p for p in parts if p])
