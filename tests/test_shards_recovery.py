"""A shard whose writer was SIGKILLed inside a transaction (a hot rollback journal, pages of the
unfinished transaction already in the file) is rolled back before it is folded, and a plain
merge refuses it instead of reading half a transaction."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lighttrack import LighttrackClient
from lighttrack.errors import FileError
from lighttrack.store import close_all, shards
from lighttrack.store.db import open_database
from lighttrack.store.merge import merge

# Half a transaction on disk: a 1-page cache makes SQLite spill changed pages into the file
# (after journaling them) long before COMMIT; then the writer is killed.
_KILLED_MID_TRANSACTION = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 1")
conn.execute("BEGIN")
conn.execute("UPDATE runs SET name = 'half-done'")
for i in range(3000):
    conn.execute("INSERT INTO params (run_id, key, value) SELECT id, ?, ? FROM runs", (f"k{i}", "x" * 400))
os.kill(os.getpid(), signal.SIGKILL)
"""


def _shard_killed_mid_transaction(main: Path) -> tuple[Path, str]:
    shard = shards.folder(main) / "box-4242-0123456789abcdef.db"
    shard.parent.mkdir(parents=True)
    client = LighttrackClient(str(shard))
    run = client.create_run("0", run_name="whole")
    client.log_param(run.info.run_id, "lr", "0.1")
    client.set_terminated(run.info.run_id)
    close_all()
    assert sqlite3.connect(shard).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    done = subprocess.run([sys.executable, "-c", _KILLED_MID_TRANSACTION, str(shard)], timeout=300)
    assert done.returncode == -signal.SIGKILL
    assert Path(f"{shard}-journal").stat().st_size > 0, "no hot journal was left"
    # the file itself holds part of the unfinished transaction (else this test proves nothing)
    as_it_lies = sqlite3.connect(f"file:{shard}?mode=ro&immutable=1", uri=True)
    try:
        changed = as_it_lies.execute("SELECT count(*) FROM params").fetchone()[0] > 1
    except sqlite3.DatabaseError:
        changed = True  # pages of the half-written b-tree: unreadable as it lies
    finally:
        as_it_lies.close()
    assert changed
    return shard, run.info.run_id


def test_a_merge_refuses_a_file_left_mid_transaction(tmp_path):
    main = tmp_path / "team.db"
    shard, _ = _shard_killed_mid_transaction(main)
    conn = open_database(main)
    try:
        with pytest.raises(FileError, match="left mid-transaction"):
            merge(conn, main, shard)
    finally:
        conn.close()
    assert Path(f"{shard}-journal").stat().st_size > 0  # refused without touching it


def test_the_fold_rolls_back_a_dead_writers_unfinished_transaction(tmp_path):
    main = tmp_path / "team.db"
    shard, run_id = _shard_killed_mid_transaction(main)
    report = shards.fold_path(main)
    assert report.shards_folded == 1 and not report.notes
    assert not shard.exists()
    run = LighttrackClient(str(main)).get_run(run_id)
    assert run.info.run_name == "whole"
    assert run.data.params == {"lr": "0.1"}
