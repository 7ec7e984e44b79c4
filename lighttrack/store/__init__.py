"""Everything that speaks SQL. ``Store`` is one lighttrack file as seen from this process."""

from __future__ import annotations

import threading
from pathlib import Path

from lighttrack.store.db import open_database


class Store:
    """A file plus one SQLite connection per thread (sqlite3 connections are not shared)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._local = threading.local()
        self._writer = None
        self._lock = threading.Lock()
        # Open once now so a bad file fails here, where the user named it.
        self._local.conn = open_database(path, readonly=readonly)

    @property
    def conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_database(self.path, readonly=self.readonly)
            self._local.conn = conn
        return conn

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
        if self._writer is not None:
            self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def get_store(path: Path) -> Store:
    """The process-wide Store for a file (so every API object shares one writer per file)."""
    store = _stores.get(path)
    if store is None:
        with _stores_lock:
            store = _stores.get(path)
            if store is None:
                store = Store(path)
                _stores[path] = store
    return store


def flush_all() -> None:
    for store in list(_stores.values()):
        if store._writer is not None:
            store._writer.flush()


def close_all() -> None:
    """Flush and close every file this process opened (tests, and interpreter exit)."""
    with _stores_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
    from lighttrack.store.db import forget_checks

    forget_checks()
