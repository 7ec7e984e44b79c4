"""Shard mode: one small file per writing process, for files on network filesystems.

SQLite's WAL needs shared memory between all its users, which a network filesystem (NFS,
Lustre, GPFS, CIFS...) cannot give, and its byte-range locks are unreliable there: "database is
locked" and worse on NFS home folders is every SQLite tracker's top complaint. So where the file
lives on one (or with ``LIGHTTRACK_SHARDS=1``), each process that logs runs writes its own file
``NAME.db.shards/<host>-<pid>-<uuid>.db`` (rollback journal, one writer: nothing to share), and
the main file absorbs the shards with the ordinary idempotent merge:

- on the next open of the main file by any lighttrack process (a training script, the CLI, the
  TUI), by ``lighttrack merge --shards``, or continuously by ``lighttrack watch-shards``;
- a shard whose writer is gone (it holds a lock on ``<shard>.lock`` for its lifetime; the kernel
  drops it when the process ends, however it ends) is merged and deleted; a live shard is merged
  as a snapshot and kept, so readers see running runs before they are folded for good;
- one folder at a time (a lock on ``NAME.db.shards/.fold.lock``); a fold killed half-way left the
  main file as it was (the merge is one transaction) and the shard in place, so the next fold
  simply does it again; a shard merged twice changes nothing the second time.

``LIGHTTRACK_SHARDS=0`` turns it off even on a network filesystem.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("lighttrack")

ENV = "LIGHTTRACK_SHARDS"
MOUNTINFO = "/proc/self/mountinfo"
SUFFIX = ".shards"
#: Filesystem types (as /proc/self/mountinfo names them) where WAL and locking cannot be trusted.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "ceph", "fuse.ceph", "fuse.cephfs",
    "fuse.sshfs", "sshfs", "glusterfs", "fuse.glusterfs", "beegfs", "afs", "panfs", "wekafs", "9p",
    "fuse.s3fs", "fuse.rclone", "davfs", "fuse.davfs2", "ncpfs", "orangefs", "pvfs2", "ibrix",
})
#: How often the client's live-refresh hook may fold live shards (a TUI polls often).
REFRESH_SECONDS = 2.0


# ----------------------------------------------------------------------------- detection
def _unescape(field_text: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    return (field_text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, filesystem type) for each line of a mountinfo text."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if not sep or len(parts) < 5 or not rest:
            continue
        out.append((_unescape(parts[4]), rest[0]))
    return out


#: statfs(2) magic numbers of network filesystems, for when /proc/self/mountinfo is hidden.
STATFS_MAGIC = {0x6969: "nfs", 0x517B: "smbfs", 0xFF534D42: "cifs", 0xFE534D42: "smb3", 0x0BD00BD0: "lustre",
                0x47504653: "gpfs", 0x00C36400: "ceph", 0x013111A8: "ibrix", 0x5346414F: "afs"}


def statfs_type(path: Path) -> str | None:
    """The filesystem under ``path`` by statfs(2)'s magic number (Linux), or None."""
    import ctypes
    import ctypes.util

    target = Path(os.path.realpath(path))
    while not target.exists() and target != target.parent:
        target = target.parent
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        buffer = ctypes.create_string_buffer(256)  # struct statfs: f_type is its first word
        if libc.statfs(str(target).encode(), buffer) != 0:
            return None
    except (OSError, AttributeError):
        return None
    magic = int.from_bytes(buffer.raw[:ctypes.sizeof(ctypes.c_long)], sys.byteorder) & 0xFFFFFFFF
    return STATFS_MAGIC.get(magic, f"{magic:#x}")


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The filesystem type of the mount that holds ``path``: from mountinfo (the mount in force
    for a path), else from statfs(2) when /proc is not readable."""
    if mountinfo is None:
        try:
            mountinfo = Path(MOUNTINFO).read_text()
        except OSError:  # /proc hidden (some sandboxes): ask the kernel about the path itself
            return statfs_type(path)
    text = os.path.realpath(path)  # symlinks resolved as far as they exist
    best: tuple[int, str] | None = None
    for point, fstype in mounts(mountinfo):  # the last, longest match is the mount in force
        inside = text == point or text.startswith(point.rstrip("/") + "/") or point == "/"
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), fstype)
    return best[1] if best else None


def on_network_filesystem(path: Path, mountinfo: str | None = None) -> bool:
    fstype = filesystem_type(path, mountinfo)
    return fstype is not None and fstype.lower() in NETWORK_FILESYSTEMS


def enabled(path: Path, mountinfo: str | None = None, environ: dict | None = None) -> bool:
    """Shard mode for this main file? ``LIGHTTRACK_SHARDS`` decides when set, else the filesystem."""
    if is_shard(path):
        return False
    switch = (os.environ if environ is None else environ).get(ENV, "").strip().lower()
    if switch in ("1", "true", "yes", "on"):
        return True
    if switch in ("0", "false", "no", "off"):
        return False
    if switch:
        from lighttrack.errors import InvalidArgument

        raise InvalidArgument(f"{ENV}={switch!r}: use 1 (shard mode on), 0 (off) or leave it unset (automatic)")
    return on_network_filesystem(path, mountinfo)


def is_shard(path: Path) -> bool:
    return path.parent.name.endswith(".db" + SUFFIX) or path.parent.name.endswith(SUFFIX)


def folder(main: Path) -> Path:
    return main.with_name(main.name + SUFFIX)


def journal_mode(path: Path) -> str:
    """What a new file gets: a rollback journal for shards and files on network filesystems
    (WAL's shared memory cannot work there), WAL everywhere else."""
    return "DELETE" if is_shard(path) or on_network_filesystem(path) else "WAL"


# ------------------------------------------------------------------------------- writing
_own: dict[Path, tuple[Path, int]] = {}  # main file -> (this process's shard, its lock fd)
_own_lock = threading.Lock()


def writer_path(main: Path) -> Path:
    """The file this process should log into: ``main`` itself, or in shard mode its own shard
    (created once per process, after folding the shards whose writers are gone)."""
    if not enabled(main):
        return main
    with _own_lock:
        known = _own.get(main)
        if known is not None and known[0].exists():
            return known[0]
        try:
            fold_path(main, include_live=False)
        except Exception as exc:  # folding is housekeeping: logging must go on regardless
            log.warning("lighttrack: could not fold finished shards into %s: %s", main, exc)
        shards = folder(main)
        shards.mkdir(parents=True, exist_ok=True)
        name = f"{_safe(socket.gethostname())}-{os.getpid()}-{uuid.uuid4().hex[:12]}.db"
        shard = shards / name
        # The lock first, then the file: a folder never finds a shard without a live lock.
        # The lock file appears already locked (locked under a name no folder looks at, then
        # renamed; the lock stays with the file): between creating it and locking it in place,
        # another process's fold took it for a dead writer's leftover and deleted it, and the
        # next fold then merged and deleted this live shard.
        hidden = shards / f".{name}.lock.{os.getpid()}"
        fd = os.open(str(hidden), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        os.rename(hidden, str(shard) + ".lock")
        _own[main] = (shard, fd)
        # A live shard's run replaces the main file's copy when its heartbeat is newer (the
        # merge's rule): stamp it as often as readers refresh, so they follow within seconds.
        # One UPDATE a couple of seconds in a file nobody else writes costs nothing.
        from lighttrack.store import writer

        writer.HEARTBEAT_SECONDS = min(writer.HEARTBEAT_SECONDS, REFRESH_SECONDS)
        return shard


def main_of(shard: Path) -> Path:
    """The main file a shard belongs to (``NAME.db.shards/x.db`` -> ``NAME.db``)."""
    return shard.parent.with_name(shard.parent.name[: -len(SUFFIX)])


def adopt_run(shard_conn: sqlite3.Connection, shard: Path, run_id: str) -> bool:
    """Copy a run that lives in the main file (or another shard) into this process's shard, so
    it can be resumed here (``LIGHTTRACK_RUN_ID`` from ``lighttrack run``, ``start_run(run_id=)``).
    When folded back, the shard's copy is the later one and replaces it. False: not found."""
    from lighttrack.store.merge import merge

    main = main_of(shard)
    for source in [main, *pending(main)]:
        if source == shard or not source.exists():
            continue
        try:
            found = merge(shard_conn, shard, source, run_ids=[run_id], registry="none")
        except Exception as exc:  # a damaged or half-written neighbour: look further
            log.debug("lighttrack: could not read %s: %s", source, exc)
            continue
        if found.runs_added or found.runs_unchanged or found.runs_replaced or found.runs_kept:
            return True
    return False


def _safe(host: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in host) or "host"


def _writer_gone(shard: Path) -> bool:
    """True when no process holds the shard's lock (its writer ended, cleanly or not)."""
    try:
        fd = os.open(str(shard) + ".lock", os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # releases our probe lock too
    return True


# ------------------------------------------------------------------------------- folding
@dataclass
class FoldReport:
    shards_folded: int = 0  # merged and deleted (their writers are gone)
    shards_live: int = 0  # merged as a snapshot, kept
    runs_added: int = 0
    runs_replaced: int = 0
    metric_points: int = 0
    busy: bool = False  # another process was folding: nothing done
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.shards_folded or self.runs_added or self.runs_replaced)


def pending(main: Path) -> list[Path]:
    """The shard files beside ``main``, oldest first, without this process's own."""
    shards = folder(main)
    if not shards.is_dir():
        return []
    mine = {own for own, _ in _own.values()}
    found = [p for p in shards.glob("*.db") if p not in mine]
    return sorted(found, key=lambda p: (_mtime(p), p.name))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def fold_path(main: Path, include_live: bool = True, progress=None, wait: bool = False) -> FoldReport:
    """Fold every shard of ``main`` into it (see the module docstring); safe to run anywhere,
    any number of times, by any number of processes at once. Another process folding: with
    ``wait``, wait for it and fold what is left; else return at once (``report.busy``)."""
    from lighttrack.errors import FileError
    from lighttrack.store.db import open_database
    from lighttrack.store.merge import merge

    started = time.perf_counter()
    report = FoldReport()
    shards = folder(main)
    if not shards.is_dir():
        return report
    lock_fd = os.open(str(shards / ".fold.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(lock_fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            report.busy = True
            return report
        candidates = pending(main)
        _forget_stale_locks(shards)
        if not candidates:
            return report
        conn = open_database(main)
        try:
            if on_network_filesystem(main):
                _leave_wal(conn)
            for done, shard in enumerate(candidates):
                if progress is not None:
                    progress("shards", done, len(candidates), points=report.metric_points,
                             runs=report.runs_added + report.runs_replaced)
                gone = _writer_gone(shard)
                if not gone and not include_live:
                    continue
                if gone:
                    _roll_back_unfinished(shard)
                try:
                    merged = merge(conn, main, shard)
                except FileError as exc:
                    if gone and _empty(shard):
                        _delete(shard)  # its writer died before writing anything
                    else:
                        report.notes.append(f"{shard.name}: {exc}")
                    continue
                report.runs_added += merged.runs_added
                report.runs_replaced += merged.runs_replaced
                report.metric_points += merged.metric_points
                if gone:
                    _delete(shard)  # only after the merge committed: killed here, it merges again
                    report.shards_folded += 1
                else:
                    report.shards_live += 1
        finally:
            conn.close()
    finally:
        os.close(lock_fd)
        report.seconds = time.perf_counter() - started
    return report


def _roll_back_unfinished(shard: Path) -> None:
    """A writer that died inside a transaction leaves a hot journal; the first read-write open
    rolls it back (SQLite's own recovery), so the fold merges the last committed state, never
    half a transaction. Only for shards whose writer is gone: a live one owns its journal."""
    journal = Path(f"{shard}-journal")
    if not journal.exists() or journal.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(str(shard), timeout=5)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # a damaged shard: the merge refuses it with its own message


def _empty(shard: Path) -> bool:
    try:
        with open(shard, "rb") as f:
            head = f.read(100)
        return len(head) < 100 or head[60:64] == b"\x00\x00\x00\x00"  # no schema written yet
    except FileNotFoundError:
        return True


def _delete(shard: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm", ".lock"):
        try:
            os.unlink(str(shard) + suffix)
        except FileNotFoundError:
            pass


def _forget_stale_locks(shards: Path) -> None:
    """A fold killed between deleting a shard and its lock leaves the lock: tidy it."""
    mine = {own for own, _ in _own.values()}
    for lock in shards.glob("*.db.lock"):
        shard = Path(str(lock)[: -len(".lock")])
        # Never probe our own lock: closing any descriptor of it would drop it (POSIX locks).
        if shard not in mine and not shard.exists() and _writer_gone(shard):
            try:
                lock.unlink()
            except FileNotFoundError:
                pass


def _leave_wal(conn: sqlite3.Connection) -> None:
    """A main file made in WAL mode elsewhere, now on a network filesystem: back to a rollback
    journal when nobody else has it open (SQLite refuses otherwise, and then it stays)."""
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            conn.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError:
        pass


# --------------------------------------------------------------------- hooks for readers
_last_refresh: dict[Path, float] = {}


def fold_on_open(main: Path) -> None:
    """Any open of a main file in shard mode folds what is there (finished shards for good,
    live ones as a snapshot), so the opener reads everything logged so far."""
    if not enabled(main) or not folder(main).is_dir():
        return
    try:
        fold_path(main)
    except Exception as exc:
        log.warning("lighttrack: could not fold shards into %s: %s", main, exc)
    _last_refresh[main] = time.monotonic()


def refresh(main: Path) -> None:
    """The live-view hook (called where the client reports data changes): fold again, at most
    every ``REFRESH_SECONDS``."""
    now = time.monotonic()
    if now - _last_refresh.get(main, float("-inf")) >= REFRESH_SECONDS:
        _last_refresh[main] = now
        fold_on_open(main)
