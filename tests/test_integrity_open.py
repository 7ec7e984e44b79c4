"""An intact file is never refused, and read commands never create or rewrite a file."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.cli.common import READ_COMMANDS
from lighttrack.errors import FileError, ReadOnlyFile
from lighttrack.store import close_all
from lighttrack.store.db import forget_checks

ROOT = Path(__file__).resolve().parent.parent


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def header_outruns_file(path: Path) -> bool:
    """The state a checkpoint is in between writing page 1 and the pages after it."""
    with open(path, "rb") as f:
        raw = f.read(100)
    (page_size,) = struct.unpack(">H", raw[16:18])
    (page_count,) = struct.unpack(">I", raw[28:32])
    return page_count * page_size > path.stat().st_size


CHECKPOINTER = r"""
import os, sys, time, lighttrack
from lighttrack import LighttrackClient
client = LighttrackClient(sys.argv[1])
conn = client.store.conn
conn.execute("PRAGMA wal_autocheckpoint = 0")  # let the WAL grow, then checkpoint it at once
run = client.create_run(client.create_experiment("e"))
for i in range(8):
    client.log_text(run.info.run_id, str(i) * (4 << 20), f"part{i}.txt")
print(run.info.run_id, flush=True)
sys.stdin.readline()
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print("checkpointed", flush=True)
time.sleep(600)
"""


def test_a_process_killed_during_a_wal_checkpoint_leaves_a_file_that_opens(tmp_path):
    """kill -9 while a checkpoint has written page 1 (the new page count) but not the pages
    after it: the -wal still holds them all, SQLite reads the file whole, so it is not refused."""
    for attempt in range(20):
        path = tmp_path / f"killed{attempt}.db"
        LighttrackClient(path).create_experiment("warm")
        close_all()
        child = subprocess.Popen([sys.executable, "-c", CHECKPOINTER, str(path)], env=env(),
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        run_id = child.stdout.readline().strip()
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not header_outruns_file(path):
            if select.select([child.stdout], [], [], 0)[0]:
                break  # the checkpoint finished before we looked: try again
        child.send_signal(signal.SIGKILL)
        child.wait()
        wal = Path(f"{path}-wal")
        if header_outruns_file(path) and wal.exists() and wal.stat().st_size:
            break  # caught it mid-checkpoint: the state that used to be refused
    else:
        pytest.fail("never caught the checkpoint between page 1 and the rest in 20 tries")
    forget_checks()
    client = LighttrackClient(path)
    assert client.file_report(full_check=True).integrity == "ok"
    assert client.read_artifact(run_id, "part7.txt") == b"7" * (4 << 20)
    result = CliRunner().invoke(cli, ["--db", str(path), "info"])
    assert result.exit_code == 0, result.output
    assert "truncated" not in result.output


ARTIFACT_WRITER = r"""
import os, sys, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run():
    for i in range(int(sys.argv[3])):
        local = os.path.join(sys.argv[2], f"{os.getpid()}-{i}.bin")
        with open(local, "wb") as f:
            f.write(os.urandom(10 * 1024 * 1024))
        mlflow.log_artifact(local, f"part{i}")
        os.remove(local)
"""


def test_readers_opening_while_others_log_10mb_artifacts_are_never_refused(tmp_path):
    path = tmp_path / "busy.db"
    LighttrackClient(path).create_experiment("warm")
    close_all()
    writers = [
        subprocess.Popen([sys.executable, "-c", ARTIFACT_WRITER, str(path), str(tmp_path), "6"], env=env())
        for _ in range(2)
    ]
    opens, refusals = 0, []
    while any(w.poll() is None for w in writers) or opens == 0:
        try:
            LighttrackClient(path, readonly=True).search_runs(max_results=5)
        except FileError as exc:
            refusals.append(exc.message)
        opens += 1
        close_all()  # the next open runs the header check again
    assert [w.returncode for w in writers] == [0, 0]
    assert refusals == [], f"{len(refusals)} of {opens} opens refused: {refusals[0]}"


def test_a_truncated_copy_beside_an_empty_wal_is_still_refused_untouched(tmp_path):
    path = tmp_path / "whole.db"
    client = LighttrackClient(path)
    run = client.create_run(client.create_experiment("e"))
    client.log_text(run.info.run_id, "x" * 300_000, "big.txt")
    close_all()
    cut = tmp_path / "cut.db"
    cut.write_bytes(path.read_bytes()[:50_000])
    Path(f"{cut}-wal").write_bytes(b"")
    before = digest(cut)
    with pytest.raises(FileError, match="truncated"):
        LighttrackClient(cut)
    assert digest(cut) == before


# ------------------------------------------------------------- read commands never write
READ_ARGS = {
    "runs show": ["0" * 32], "runs compare": ["0" * 32, "1" * 32], "metrics export": ["0" * 32],
    "models show": ["m"], "models versions": ["m"], "models history": ["m"],
    "runs checkout": ["0" * 32, "checkout-dir"],
}


def read_command(name: str, path: Path) -> list[str]:
    return ["--db", str(path), *name.split(), *READ_ARGS.get(name, [])]


def test_every_read_command_is_a_real_command():
    for name in READ_COMMANDS:
        group = cli
        for part in name.split():
            group = group.commands[part]  # KeyError: a renamed command left the list stale


@pytest.mark.parametrize("name", sorted(READ_COMMANDS))
def test_a_read_command_on_a_mistyped_path_creates_nothing(tmp_path, name):
    folder = tmp_path / "work"
    folder.mkdir()
    result = CliRunner().invoke(cli, read_command(name, folder / "typo.db"))
    assert result.exit_code == 1
    assert "there is no lighttrack file" in result.output and "Traceback" not in result.output
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name", sorted(READ_COMMANDS))
def test_a_read_command_on_an_empty_file_leaves_it_empty(tmp_path, name):
    folder = tmp_path / "work"
    folder.mkdir()
    empty = folder / "empty.db"
    empty.write_bytes(b"")
    result = CliRunner().invoke(cli, read_command(name, empty))
    assert result.exit_code == 1 and "empty file" in result.output
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in folder.iterdir()) == ["empty.db"]


def test_read_commands_leave_an_existing_file_and_its_folder_as_they_were(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    path = folder / "runs.db"
    client = LighttrackClient(path)
    run = client.create_run(client.create_experiment("e"))
    client.log_metric(run.info.run_id, "loss", 0.5)
    close_all()
    before = digest(path)
    for name in ["info", "runs list", "experiments list", "models list"]:
        result = CliRunner().invoke(cli, read_command(name, path))
        assert result.exit_code == 0, result.output
        close_all()
        assert sorted(p.name for p in folder.iterdir()) == ["runs.db"], name
        assert digest(path) == before, name


def test_a_writing_command_still_creates_the_file(tmp_path):
    path = tmp_path / "new.db"
    result = CliRunner().invoke(cli, ["--db", str(path), "experiments", "create", "first"])
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_a_reading_client_refuses_writes_in_words(tmp_path):
    path = tmp_path / "runs.db"
    LighttrackClient(path).create_experiment("e")
    close_all()
    reader = LighttrackClient(path, readonly=True)
    assert "e" in [e.name for e in reader.search_experiments()]
    close_all()
    reader = LighttrackClient(path, readonly=True)
    with pytest.raises(ReadOnlyFile, match="opened for reading only"):
        reader.create_experiment("f")
