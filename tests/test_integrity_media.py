"""A full disk and read-only media, on real filesystems: a size-limited tmpfs, remounted ro.

Mounting needs root (or CAP_SYS_ADMIN); where it is not allowed these tests are skipped and say
so. Nothing here simulates the error: SQLite meets a real ENOSPC and a real EROFS.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import lighttrack as mlflow
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.errors import DiskFull, ReadOnlyFile
from lighttrack.store import close_all
from lighttrack.store.db import forget_checks


@pytest.fixture
def mount(tmp_path):
    """A 4 MiB tmpfs at tmp_path/mnt; ``remount_ro()`` makes it read-only."""
    point = tmp_path / "mnt"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root")

    class Mount:
        path = point

        @staticmethod
        def remount_ro() -> None:
            subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)

    yield Mount
    close_all()
    subprocess.run(["umount", "-l", str(point)], check=False)


def fill(folder: Path) -> Path:
    ballast = folder / "ballast"
    # Unbuffered: a buffered file kept the part of the last block that did not fit and raised
    # ENOSPC again when closed, depending on how the free space happened to line up with 64 KiB.
    with open(ballast, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return ballast


def test_a_full_disk_is_one_clear_error_and_the_run_can_end_after_space_is_freed(mount):
    path = mount.path / "full.db"
    mlflow.set_tracking_uri(str(path))
    run = mlflow.start_run()
    mlflow.log_param("lr", "0.1")
    ballast = fill(mount.path)
    for i in range(100_000):
        mlflow.log_metric("loss", i * 0.5, step=i)
    with pytest.raises(DiskFull) as flushed:
        mlflow.flush()
    assert str(path) in flushed.value.message and "bytes free" in flushed.value.message
    assert "rollback" not in flushed.value.message
    with pytest.raises(DiskFull):
        mlflow.end_run()
    ballast.unlink()
    mlflow.flush()
    mlflow.end_run()
    close_all()
    forget_checks()
    client = LighttrackClient(path)
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [i * 0.5 for i in range(100_000)]
    assert client.file_report(full_check=True).integrity == "ok"


def test_a_full_disk_on_the_cli_is_one_line(mount):
    path = mount.path / "full.db"
    LighttrackClient(path).create_experiment("e")
    close_all()
    fill(mount.path)
    result = CliRunner().invoke(cli, ["--db", str(path), "experiments", "create", "x" * 1000])
    assert result.exit_code == 1
    assert "the disk is full" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def build(path: Path, tmp_path: Path) -> str:
    client = LighttrackClient(path)
    run = client.create_run(client.create_experiment("on-cd"))
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_metric(run_id, "acc", 0.9)
    client.log_text(run_id, "hello", "notes/readme.txt")
    client.set_terminated(run_id)
    close_all()
    forget_checks()
    return run_id


def test_read_only_media_is_read_by_the_client_and_read_commands(mount, tmp_path):
    path = mount.path / "runs.db"
    run_id = build(path, tmp_path)
    mount.remount_ro()
    client = LighttrackClient(path)  # a writing client: it finds out the media is read-only
    assert client.get_run(run_id).data.params == {"lr": "0.1"}
    assert client.get_metric_history(run_id, "acc")[0].value == 0.9
    assert client.read_artifact(run_id, "notes/readme.txt") == b"hello"
    out = client.download_artifacts(run_id, "notes", str(tmp_path / "dl"))
    assert Path(out, "readme.txt").read_text() == "hello"
    with pytest.raises(ReadOnlyFile, match="is on read-only media"):
        client.create_experiment("new")
    close_all()
    for args in (["info"], ["runs", "list"], ["experiments", "list"], ["runs", "show", run_id]):
        result = CliRunner().invoke(cli, ["--db", str(path), *args])
        assert result.exit_code == 0, (args, result.output)
        close_all()
    result = CliRunner().invoke(cli, ["--db", str(path), "experiments", "create", "new"])
    assert result.exit_code == 1
    assert "read-only media" in result.output and "unable to open" not in result.output


def test_the_terminal_ui_reads_a_file_on_read_only_media(mount, tmp_path):
    pytest.importorskip("textual")
    from tui.adapter import TrackingAdapter

    path = mount.path / "runs.db"
    run_id = build(path, tmp_path)
    mount.remount_ro()
    adapter = TrackingAdapter(LighttrackClient(path))
    adapter.data_version()  # what live refresh polls
    assert "on-cd" in [row.experiment.name for row in adapter.experiments()]
    assert adapter.get_run(run_id).data.params == {"lr": "0.1"}


EXITS_ON_A_FULL_DISK = r"""
import sys, lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.start_run()
with open(sys.argv[2], "wb") as f:
    try:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    except OSError:
        pass
for i in range(50_000):
    mlflow.log_metric("loss", float(i), step=i)
"""


def test_exiting_on_a_full_disk_says_what_was_lost_without_a_traceback(mount):
    import os
    import sys

    path = mount.path / "exit.db"
    ballast = mount.path / "ballast"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", EXITS_ON_A_FULL_DISK, str(path), str(ballast)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root)})
    assert "Traceback" not in done.stderr, done.stderr
    assert "the disk is full" in done.stderr and "not written at exit" in done.stderr
    ballast.unlink()
    forget_checks()
    client = LighttrackClient(path)
    assert client.file_report().integrity == "ok"
    assert len(client.search_runs(max_results=10)) == 1


def test_read_only_media_with_a_live_wal_reads_its_latest_changes(mount, tmp_path):
    """A snapshot taken while a writer was open: the newest rows are only in -wal. With -shm
    beside it SQLite reads them (mode=ro); without it, the error says what to copy."""
    import shutil
    import sqlite3

    source = tmp_path / "live.db"
    client = LighttrackClient(source)
    client.create_experiment("checkpointed")
    close_all()
    holder = sqlite3.connect(source)  # keeps the WAL from being folded into the file
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    forget_checks()
    LighttrackClient(source).store.conn.execute("PRAGMA wal_autocheckpoint = 0")
    LighttrackClient(source).create_experiment("only-in-wal")
    with_shm, without_shm = mount.path / "a", mount.path / "b"
    with_shm.mkdir()
    without_shm.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(f"{source}{suffix}", f"{with_shm / 'live.db'}{suffix}")
    for suffix in ("", "-wal"):
        shutil.copy(f"{source}{suffix}", f"{without_shm / 'live.db'}{suffix}")
    close_all()
    holder.close()
    main_only = sqlite3.connect(f"file:{with_shm / 'live.db'}?mode=ro&immutable=1", uri=True)
    assert ("only-in-wal",) not in main_only.execute("SELECT name FROM experiments").fetchall()
    main_only.close()
    mount.remount_ro()
    forget_checks()
    names = [e.name for e in LighttrackClient(with_shm / "live.db").search_experiments()]
    assert "only-in-wal" in names
    result = CliRunner().invoke(cli, ["--db", str(without_shm / "live.db"), "experiments", "list"])
    assert result.exit_code == 1 and "live.db-shm" in result.output and "copy" in result.output
