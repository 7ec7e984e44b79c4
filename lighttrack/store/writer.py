"""The buffered metric writer: ``log_metric`` costs an append, a thread does the SQL.

The fluent API appends (run_id, key, value, timestamp, step) tuples to a list. A daemon thread
wakes every ``FLUSH_SECONDS`` (or as soon as ``MAX_BUFFERED`` points wait) and writes all of them
in one transaction. ``flush()``, ``end_run`` and interpreter exit flush synchronously.

The crash contract is ``CRASH_LOSS_SECONDS``: a crash loses at most the last 0.5 s of metrics,
and a finished run loses nothing. It holds under contention because flushes start on a fixed
schedule ``FLUSH_SECONDS`` apart (lock waits are not added to the interval), points are
compressed before the write lock is taken (so every process holds it for milliseconds), and a
waiting writer polls for the lock every few ms. That leaves 0.1 s for a flush to commit; bench/
``crash_loss`` measures it with three other processes writing the same file.

The same thread stamps the heartbeat of this process's RUNNING runs, which is how other readers
tell a live run from one whose process died without saying so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from lighttrack.store import metrics as metric_store
from lighttrack.store import runs as run_store
from lighttrack.store.db import write_transaction

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from lighttrack.store import Store

CRASH_LOSS_SECONDS = 0.5
FLUSH_SECONDS = 0.4
MAX_BUFFERED = 100_000
HEARTBEAT_SECONDS = 10.0

log = logging.getLogger("lighttrack")


class MetricWriter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.points: list[tuple[str, str, float, int, int]] = []
        self.heartbeat_runs: set[str] = set()
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._closed = False
        self._error: BaseException | None = None
        self._run_pks: dict[str, int] = {}
        self._key_ids: dict[str, int] = {}
        self._last_heartbeat = 0.0
        self._thread = threading.Thread(target=self._loop, name="lighttrack-writer", daemon=True)
        self._thread.start()

    def add(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        """The hot path: one list append (atomic under the GIL)."""
        points = self.points
        points.append((run_id, key, value, timestamp, step))
        if len(points) >= MAX_BUFFERED:
            self._wake.set()

    def watch(self, run_id: str) -> None:
        """Keep this run's heartbeat fresh while it is RUNNING in this process. (No wake-up:
        a run is created with a fresh heartbeat, so the next regular round is soon enough.)"""
        self.heartbeat_runs.add(run_id)

    def unwatch(self, run_id: str) -> None:
        self.heartbeat_runs.discard(run_id)

    def flush(self, also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        """Write every buffered point now, in this thread; raises if they cannot be written.
        ``also`` runs in the same transaction, after the points (ending a run: its last points
        and its status commit together, one commit instead of two)."""
        self._write(also)

    def _loop(self) -> None:
        # Flushes start on a fixed schedule (every FLUSH_SECONDS from the last start), not
        # FLUSH_SECONDS after the last one ended: time spent waiting for another process's
        # write lock is taken out of the next wait instead of added to it.
        next_flush = time.monotonic() + FLUSH_SECONDS
        reported = ""
        while not self._closed:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            next_flush = max(next_flush + FLUSH_SECONDS, time.monotonic())
            try:
                self._write()
                if self.heartbeat_runs and time.monotonic() - self._last_heartbeat > HEARTBEAT_SECONDS:
                    self._last_heartbeat = time.monotonic()
                    run_store.stamp_heartbeats(self.store.conn, list(self.heartbeat_runs))
                reported = ""
            except Exception as exc:  # keep the thread alive; the error surfaces at flush()
                if str(exc) != reported:  # once per distinct error, not every round
                    reported = str(exc)
                    log.warning("lighttrack: background write failed, will retry: %s", exc)
                self._error = exc

    def _write(self, also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        with self._flush_lock:
            points = self.points
            count = len(points)
            if not count:
                if also is not None:
                    with write_transaction(self.store.conn) as conn:
                        also(conn)
                return
            batch = points[:count]
            try:
                self._write_batch(batch, also)
            except BaseException as exc:
                self._error = exc
                self._key_ids.clear()  # ids from a rolled-back transaction must not be reused
                self._run_pks.clear()
                raise
            # Only now drop them: a failed write keeps the points for the next attempt.
            del points[:count]
            self._error = None

    def _write_batch(self, batch: list[tuple[str, str, float, int, int]],
                     also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        series: dict[tuple[str, str], tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
        for run_id, key, value, timestamp, step in batch:
            steps, timestamps, values = series[run_id, key]
            steps.append(step)
            timestamps.append(timestamp)
            values.append(value)
        # Compress before taking the write lock: a big batch then holds the lock for
        # milliseconds of inserts, not for its encoding, so other processes' flushes (and
        # their crash-loss bound) do not wait behind it.
        prepared = {
            name: metric_store.prepare(steps, timestamps, values)
            for name, (steps, timestamps, values) in series.items()
        }
        conn = self.store.conn
        with write_transaction(conn):
            for (run_id, key), ready in prepared.items():
                pk = self._run_pks.get(run_id)
                if pk is None:
                    pk = self._run_pks[run_id] = run_store.run_pk(conn, run_id)
                metric_store.append(conn, pk, key, ready.steps, ready.timestamps, ready.values,
                                    self._key_ids, prepared=ready)
            if also is not None:
                also(conn)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        try:
            self._write()
        finally:
            self._thread.join(timeout=5)
