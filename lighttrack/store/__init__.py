"""Everything that speaks SQL. ``Store`` is one lighttrack file as seen from this process."""

from __future__ import annotations

import atexit
import sys
import threading
from pathlib import Path

from lighttrack.store.db import open_database


class Store:
    """A file plus one SQLite connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path, *, readonly: bool = False, create: bool = True) -> None:
        self.path = path
        self.readonly = readonly
        self.create = create
        self._local = threading.local()
        self._writer = None
        self._lock = threading.Lock()
        self._connections: list = []
        # Shard mode: a reader reads the main file merged with its shards, privately (live_view).
        self.view = None
        if readonly:
            from lighttrack.store import shards

            if shards.enabled(path):
                from lighttrack.store.live_view import LiveView

                self.view = LiveView(path)
        # Open once now so a bad file fails here, where the user named it.
        try:
            self._local.conn = self._open()
        except BaseException:
            if self.view is not None:
                self.view.close()
            raise

    def _open(self):
        if self.view is not None:
            conn = self.view.connect()
        else:
            conn = open_database(self.path, readonly=self.readonly, create=self.create)
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None and self.view is not None and conn.generation != self.view.generation:
            with self._lock:  # the view moved on to a newer copy: this thread reopens
                if conn in self._connections:
                    self._connections.remove(conn)
            conn.close()
            conn = None
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def data_version(self) -> int:
        """A number that changes whenever what this Store reads changed (SQLite's ``PRAGMA
        data_version``, per thread; in shard mode also when the private view moved on)."""
        if self.view is not None:
            self.view.update()  # follows the shards without writing anything
            (version,) = self.conn.execute("PRAGMA data_version").fetchone()
            return (self.view.generation << 32) | version
        if not self.readonly:
            from lighttrack.store.shards import refresh

            refresh(self.path)  # shard mode, a writing open: fold live shards in as snapshots
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    @property
    def writer(self):
        """The buffered metric writer of this file (started on first use)."""
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    from lighttrack.store.writer import MetricWriter

                    self._writer = MetricWriter(self)
        return self._writer

    def close(self) -> None:
        """Flush, then close every connection this process opened on the file. When the last
        connection of all processes closes, SQLite checkpoints the WAL into the file and
        deletes it: a finished file is one self-contained file again."""
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self._close_connections()
            if self.view is not None:
                self.view.close()

    def _close_connections(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            try:
                conn.close()
            except Exception:  # closing at exit: nothing useful to do with an error here
                pass
        self._local = threading.local()


_stores: dict[Path, Store] = {}
_readers: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: Path, *, readonly: bool = False) -> Store:
    """The process-wide Store for a file (so every API object shares one writer per file).

    ``readonly``: a Store that never creates, migrates or writes the file (read commands); a
    writing Store already open on the file serves readers too.
    """
    store = _stores.get(path)
    if store is None and readonly:
        store = _readers.get(path)
    if store is None:
        with _stores_lock:
            store = _stores.get(path) or (_readers.get(path) if readonly else None)
            if store is None:
                if not readonly:  # a reader never writes: it sees shards through its live view
                    from lighttrack.store.shards import fold_on_open

                    fold_on_open(path)  # shard mode: fold what other processes logged first
                store = Store(path, readonly=readonly, create=not readonly)
                (_readers if readonly else _stores)[path] = store
    return store


def flush_all() -> None:
    for store in list(_stores.values()):
        if store._writer is not None:
            store._writer.flush()


def close_all() -> None:
    """Flush and close every file this process opened (tests, and interpreter exit)."""
    with _stores_lock:
        for store in [*_stores.values(), *_readers.values()]:
            store.close()
        _stores.clear()
        _readers.clear()
    from lighttrack.store.db import forget_checks

    forget_checks()


def _close_at_exit() -> None:
    """close_all at interpreter exit: a write that fails now (a full disk) is one line saying
    what is lost, not a traceback; every file is still closed."""
    with _stores_lock:
        stores = [*_stores.values(), *_readers.values()]
        _stores.clear()
        _readers.clear()
    for store in stores:
        try:
            store.close()
        except Exception as exc:
            waiting = len(store._writer.points) if store._writer is not None else 0
            message = getattr(exc, "message", str(exc))
            print(f"lighttrack: {waiting:,} buffered metric point(s) not written at exit: {message}",
                  file=sys.stderr)


# Registered at import, so it runs after the fluent API's exit handler (which ends runs).
atexit.register(_close_at_exit)
