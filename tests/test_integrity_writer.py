"""What keeps the crash contract under contention, checked without timing (bench/crash_loss
measures the bound itself): the buffered writer compresses points before it takes the write
lock, and a failed write keeps every point for the next try."""

from __future__ import annotations

import sqlite3

import pytest

import lighttrack as mlflow
from lighttrack.store import codec, get_store
from lighttrack.store import writer as writer_module
from lighttrack.config import resolve_path


def test_points_are_compressed_before_the_write_lock_is_taken(monkeypatch):
    with mlflow.start_run() as run:
        store = get_store(resolve_path())
        encoded_inside: list[bool] = []
        real_encode = codec.encode

        def watching_encode(*args, **kwargs):
            encoded_inside.append(store.conn.in_transaction)
            return real_encode(*args, **kwargs)

        monkeypatch.setattr(codec, "encode", watching_encode)
        for i in range(20_000):
            mlflow.log_metric("loss", 1 / (i + 1), step=i)
        mlflow.flush()
    assert encoded_inside and not any(encoded_inside)
    assert len(mlflow.LighttrackClient().get_metric_history(run.info.run_id, "loss")) == 20_000


def test_a_write_that_fails_keeps_every_point_for_the_next_flush(tmp_path):
    with mlflow.start_run() as run:
        for i in range(1000):
            mlflow.log_metric("loss", float(i), step=i)
        store = get_store(resolve_path())
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock...
        original = writer_module.write_transaction

        def impatient(conn):
            raise sqlite3.OperationalError("database is locked")

        writer_module.write_transaction = impatient  # ...and this flush gives up at once
        try:
            with pytest.raises(sqlite3.OperationalError):
                mlflow.flush()
        finally:
            writer_module.write_transaction = original
            blocker.execute("ROLLBACK")
            blocker.close()
        mlflow.flush()
    client = mlflow.LighttrackClient()
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == list(range(1000))
