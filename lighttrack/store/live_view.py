"""What a reader sees of a main file in shard mode, without writing a byte of it or its shards.

Read commands never create or rewrite a file (DESIGN.md section 10), yet in shard mode the runs
being logged right now live in other processes' shard files, not in the main file. A reader
(``lighttrack runs list``, the TUI, ``LighttrackClient(readonly=True)``) therefore reads:

- the main file itself while no shard lies beside it (no cost at all);
- else a private copy of the main file, in this machine's temporary folder, into which every
  shard is merged with the very merge a fold uses. The reader sees exactly what folding would
  produce (experiments matched by name, the later run kept whole, points never twice), and
  neither the main file nor any shard is opened for writing: the main file is copied with
  SQLite's backup API from a reading connection, shards are ATTACHed ``mode=ro``.

Why a copy and not a UNION over ATTACHed files: the merge's rules (an experiment of the same
name absorbs a shard's runs, a run on both sides keeps the side that finished later, metric
keys and ids are renumbered) cannot be written as views without re-implementing the merge in
SQL for every table; a copy reuses the one tested merge, and after it every query runs at the
speed of a local file, which on a network filesystem is faster than reading the share. The
price is one sequential read of the main file when the reader opens, and again only when the
main file changes (a fold, an edit); a shard that grew is merged into the same copy again
(idempotent), so a live view follows a training run for the cost of its new points.

The copy lives in ``$TMPDIR/lighttrack-view-<pid>-*/`` and is removed when the reader closes;
one left by a killed reader is removed by the next view that finds its process gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from lighttrack.store import shards
from lighttrack.store.db import Connection, connect, open_database

log = logging.getLogger("lighttrack")

PREFIX = "lighttrack-view-"

Stamp = tuple[tuple[int, int, int] | None, ...]


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _stamp(path: Path, *suffixes: str) -> Stamp:
    """What changes when SQLite commits to the file: the file itself, its WAL or its journal."""
    return tuple(_stat(Path(f"{path}{suffix}")) for suffix in ("", *suffixes))


def shard_files(main: Path) -> list[Path]:
    """Every shard beside ``main`` (this process's own too: a reader in a logging process sees
    its own runs), oldest first, as a fold takes them."""
    folder = shards.folder(main)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.db"), key=lambda p: (shards._mtime(p), p.name))


class LiveView:
    """The file readers of ``main`` open right now: ``main`` itself or a private merged copy.

    ``generation`` changes whenever readers must open a different file; ``Store`` reopens its
    per-thread connections when it does. Thread-safe: ``update`` may run on a watcher thread
    while other threads read the current copy (WAL: readers never wait for the merge).
    """

    def __init__(self, main: Path) -> None:
        self.main = main
        self.generation = 0
        self.current: Path = main
        self.notes: list[str] = []
        self._folder: Path | None = None
        self._builder: Connection | None = None
        self._main_stamp: Stamp | None = None
        self._shard_stamps: dict[Path, Stamp] = {}
        self._lock = threading.Lock()
        self._last_update = float("-inf")
        self._followed = False
        self.update(force=True)

    # ------------------------------------------------------------------ reading
    def connect(self) -> Connection:
        """A reading connection to the current file, tagged with its generation."""
        with self._lock:  # held while opening: an update may not remove the copy meanwhile
            if self.current == self.main:
                conn = open_database(self.main, readonly=True)
            else:
                conn = connect(self.current, readonly=True)
                conn.path = self.main  # errors name the file the user opened, not the private copy
            conn.generation = self.generation  # type: ignore[attr-defined]
        return conn

    # ---------------------------------------------------------------- following
    def update(self, force: bool = False) -> bool:
        """Follow the shards and the main file; True when readers will see something new.
        At most every ``shards.REFRESH_SECONDS`` unless ``force`` (a TUI polls often)."""
        now = time.monotonic()
        if not force and now - self._last_update < shards.REFRESH_SECONDS:
            return False
        with self._lock:
            self._last_update = now
            try:
                return self._follow()
            except Exception as exc:
                if not self._followed:
                    raise  # on open: the error belongs where the user named the file
                # later (a live refresh): keep showing what was read, say why it stopped
                self._note(f"could not follow the shards: {getattr(exc, 'message', exc)}")
                return False
            finally:
                self._followed = True

    def _follow(self) -> bool:
        """One look at the shards and the main file (under the lock)."""
        found = {shard: _stamp(shard, "-journal") for shard in shard_files(self.main)}
        main_stamp = _stamp(self.main, "-wal", "-journal")
        if not found:
            if self.current == self.main:
                return False
            self._switch(self.main)  # every shard folded: read the main file itself again
            return True
        gone = set(self._shard_stamps) - set(found)
        if self.current == self.main or main_stamp != self._main_stamp or gone:
            self._rebuild(found, main_stamp)
            return True
        changed = {s: st for s, st in found.items() if self._shard_stamps.get(s) != st}
        if not changed:
            return False
        self._merge_shards(changed)
        return True

    def _rebuild(self, found: dict[Path, Stamp], main_stamp: Stamp) -> None:
        """A fresh copy of the main file with every shard merged in, as the next generation."""
        folder = self._private_folder()
        copy = folder / f"{self.generation + 1}-{self.main.name}"
        try:
            self._copy_main(copy)
        except BaseException:
            _remove_database(copy)
            raise
        old_builder = self._builder
        self._builder = connect(copy)
        self._shard_stamps = {}
        self._main_stamp = main_stamp
        self._merge_shards(found)
        self._switch(copy)
        if old_builder is not None:
            old_builder.close()

    def _copy_main(self, copy: Path) -> None:
        if self.main.exists():
            source = open_database(self.main, readonly=True)  # refuses a foreign or too-new file
            try:
                target = sqlite3.connect(copy)
                try:
                    source.backup(target)  # one consistent snapshot, page by page: fast, read-only
                    target.execute("PRAGMA journal_mode = WAL")  # readers never wait for merges
                finally:
                    target.close()
            finally:
                source.close()
        else:  # shards only (nobody folded yet): start from an empty lighttrack file
            open_database(copy).close()  # WAL already: the temporary folder is a local one

    def _merge_shards(self, stamps: dict[Path, Stamp]) -> None:
        from lighttrack.errors import LighttrackError
        from lighttrack.store.merge import merge

        assert self._builder is not None
        target = Path(self._builder.path)
        own = {path for path, _ in shards._own.values()}
        for shard, stamp in stamps.items():
            # A shard whose writer died inside a transaction holds a hot journal that only a
            # writer may roll back; reading it as it lies could show half a transaction.
            if stamp[1] is not None and shard not in own and shards._writer_gone(shard):
                self._note(f"{shard.name}: left mid-transaction by a writer that is gone; the next "
                           "fold (lighttrack merge --shards) repairs and folds it")
                continue
            try:
                merge(self._builder, target, shard)
            except (LighttrackError, sqlite3.Error) as exc:  # a damaged or half-created shard
                self._note(f"{shard.name}: {getattr(exc, 'message', exc)}")
                continue
            self._shard_stamps[shard] = stamp

    def _switch(self, path: Path) -> None:
        previous = self.current
        self.current = path
        self.generation += 1
        if path == self.main and self._builder is not None:
            self._builder.close()
            self._builder = None
            self._shard_stamps = {}
        if previous != self.main and previous != path:
            _remove_database(previous)  # open readers keep reading it (POSIX); none reopen it

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            log.warning("lighttrack: live view of %s: %s", self.main, text)

    def _private_folder(self) -> Path:
        if self._folder is None:
            _remove_abandoned()
            self._folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        return self._folder

    def close(self) -> None:
        with self._lock:
            if self._builder is not None:
                self._builder.close()
                self._builder = None
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
            self.current = self.main


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _remove_abandoned() -> None:
    """Private copies of readers that were killed (no process of that pid any more)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{PREFIX}*"):
        try:
            pid = int(folder.name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # someone else's live process
            pass
