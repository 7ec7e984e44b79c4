"""Shard mode: detection of network filesystems, one shard per process, folding that loses
nothing and doubles nothing, even when killed, and readers that see live shards.

This container's kernel has no NFS (``mount -t nfs`` answers "No such device"), so detection is
tested on mountinfo texts as a real NFS/Lustre node writes them, and the shard path end to end
with ``LIGHTTRACK_SHARDS=1`` and real processes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from lighttrack import LighttrackClient, Param
from lighttrack.errors import InvalidArgument
from lighttrack.store import close_all, shards

ROOT = Path(__file__).resolve().parent.parent

MOUNTINFO = """\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
25 22 0:23 / /proc rw,nosuid shared:12 - proc proc rw
40 22 0:41 / /home rw,relatime shared:30 - nfs4 filer:/export/home rw,vers=4.2,addr=10.0.0.5
41 40 259:3 / /home/alice/local\\040disk rw shared:31 - xfs /dev/sdb1 rw
52 22 0:50 / /lustre/scratch rw shared:40 - lustre 10.0.0.9@o2ib:/scratch rw,flock
53 22 0:51 / /gpfs rw shared:41 - gpfs gpfs0 rw
54 22 0:52 / /mnt/share rw shared:42 - cifs //nas/share rw,vers=3.0
55 22 0:53 / /mnt/remote rw shared:43 - fuse.sshfs alice@box:/data rw
56 22 0:54 / /tmp rw shared:44 - tmpfs tmpfs rw
"""


@pytest.fixture(autouse=True)
def _no_switch(monkeypatch):
    monkeypatch.delenv(shards.ENV, raising=False)


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), shards.ENV: "1", **extra}


# ------------------------------------------------------------------------------ detection
@pytest.mark.parametrize("path, fstype, network", [
    ("/home/alice/runs/team.db", "nfs4", True),
    ("/home/alice/local disk/team.db", "xfs", False),  # a local disk mounted inside the NFS home
    ("/lustre/scratch/u1/team.db", "lustre", True),
    ("/gpfs/projects/x.db", "gpfs", True),
    ("/mnt/share/x.db", "cifs", True),
    ("/mnt/remote/x.db", "fuse.sshfs", True),
    ("/tmp/x.db", "tmpfs", False),
    ("/srv/x.db", "ext4", False),
])
def test_network_filesystems_are_recognised_from_mountinfo(path, fstype, network):
    assert shards.filesystem_type(Path(path), MOUNTINFO) == fstype
    assert shards.on_network_filesystem(Path(path), MOUNTINFO) is network
    assert shards.enabled(Path(path), MOUNTINFO, environ={}) is network


def test_the_switch_beats_detection():
    nfs, local = Path("/home/alice/x.db"), Path("/srv/x.db")
    assert shards.enabled(nfs, MOUNTINFO, environ={"LIGHTTRACK_SHARDS": "0"}) is False
    assert shards.enabled(local, MOUNTINFO, environ={"LIGHTTRACK_SHARDS": "1"}) is True
    with pytest.raises(InvalidArgument, match="use 1"):
        shards.enabled(local, MOUNTINFO, environ={"LIGHTTRACK_SHARDS": "maybe"})


def test_this_machines_own_mountinfo_is_read():
    assert shards.filesystem_type(Path("/")) is not None


# --------------------------------------------------------------------------- one process
def test_a_process_in_shard_mode_writes_its_own_rollback_journal_file(tmp_path, monkeypatch):
    import socket

    import lighttrack

    monkeypatch.setenv(shards.ENV, "1")
    main = tmp_path / "team.db"
    lighttrack.set_tracking_uri(str(main))
    with lighttrack.start_run() as run:
        lighttrack.log_metric("loss", 1.0)
    (shard,) = shards.pending(main) or [shards._own[main][0]]
    assert shard.parent == tmp_path / "team.db.shards"
    host, pid, rest = shard.name.rsplit("-", 2)
    assert host == shards._safe(socket.gethostname()) and pid == str(os.getpid()) and rest.endswith(".db")
    assert sqlite3.connect(shard).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert LighttrackClient(str(shard)).get_run(run.info.run_id).info.status == "FINISHED"


def test_shard_mode_off_writes_the_main_file(tmp_path, monkeypatch):
    import lighttrack

    monkeypatch.setenv(shards.ENV, "0")
    main = tmp_path / "team.db"
    lighttrack.set_tracking_uri(str(main))
    with lighttrack.start_run():
        lighttrack.log_metric("loss", 1.0)
    assert not shards.folder(main).exists()


# ------------------------------------------------------------------- a job array at once
TASK = """
import os, sys, lighttrack
lighttrack.set_tracking_uri(sys.argv[1])
task = os.environ["SLURM_ARRAY_TASK_ID"]
lighttrack.set_experiment("sweep")
with lighttrack.start_run(run_name=f"task-{task}", tags={"slurm.task": task}):
    lighttrack.log_params({"lr": 0.001 * (int(task) + 1), "task": task})
    for s in range(int(sys.argv[2])):
        lighttrack.log_metric("loss", 1.0 / (s + 1), step=s)
        if s % 50 == 0:
            lighttrack.flush()
    lighttrack.log_text(f"task {task}", "notes.txt")
"""


def _spawn_array(main: Path, tasks: int, steps: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen([sys.executable, "-c", TASK, str(main), str(steps)],
                         env=_env(SLURM_ARRAY_JOB_ID="4242", SLURM_ARRAY_TASK_ID=str(t)))
        for t in range(tasks)
    ]


def _check_folded(main: Path, tasks: int, steps: int) -> None:
    close_all()
    client = LighttrackClient(str(main))
    runs = client.search_runs(None, "", max_results=None)
    assert sorted(r.data.tags["slurm.task"] for r in runs) == sorted(str(t) for t in range(tasks))
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.params["task"] == run.data.tags["slurm.task"]
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [m.step for m in history] == list(range(steps))  # nothing lost, nothing twice
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["notes.txt"]
    assert len({r.info.experiment_id for r in runs}) == 1  # every shard's "sweep" is one experiment
    assert list(shards.folder(main).glob("*.db")) == []


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sixteen_array_tasks_fold_into_one_file_while_a_folder_is_killed(tmp_path):
    main = tmp_path / "team.db"
    tasks, steps = 16, 300
    writers = _spawn_array(main, tasks, steps)
    watcher = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(main), "watch-shards",
                                "--interval", "0.1"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    try:
        assert any(line.startswith("folded") for line in watcher.stdout)  # it folded something
    finally:
        watcher.send_signal(signal.SIGKILL)  # killed whatever it was doing
        watcher.wait()
    second = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(main), "watch-shards",
                               "--interval", "0.1"], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert all(w.wait(timeout=300) == 0 for w in writers)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    for _ in range(2):  # folding again changes nothing
        done = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "merge", "--shards"],
                              env=_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    _check_folded(main, tasks, steps)


def test_a_fold_killed_part_way_is_finished_by_the_next(tmp_path):
    main = tmp_path / "team.db"
    tasks, steps = 8, 200
    assert all(w.wait(timeout=300) == 0 for w in _spawn_array(main, tasks, steps))
    before = len(list(shards.folder(main).glob("*.db")))
    assert before >= 1
    for _ in range(3):  # kill a fold as soon as it has removed a shard, again and again
        left = len(list(shards.folder(main).glob("*.db")))
        if left == 0:
            break
        fold = subprocess.Popen([sys.executable, "-m", "lighttrack", "--db", str(main), "merge", "--shards"],
                                env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: fold.poll() is not None or len(list(shards.folder(main).glob("*.db"))) < left,
                  "the fold to make progress")
        fold.send_signal(signal.SIGKILL)
        fold.wait()
    shards.fold_path(main)
    _check_folded(main, tasks, steps)


# ------------------------------------------------------------------------ live readers
LIVE = """
import sys, lighttrack
lighttrack.set_tracking_uri(sys.argv[1])
run = lighttrack.start_run(run_name="live")
for s in range(10):
    lighttrack.log_metric("loss", float(s), step=s)
lighttrack.flush()
lighttrack.set_tag("phase", "first")
print("ready", run.info.run_id, flush=True)
sys.stdin.readline()
for s in range(10, 20):
    lighttrack.log_metric("loss", float(s), step=s)
lighttrack.flush()
print("more", flush=True)
sys.stdin.readline()
lighttrack.end_run()
print("done", flush=True)
"""


def test_readers_see_a_running_shard_before_it_is_folded(tmp_path, monkeypatch):
    main = tmp_path / "team.db"
    writer = subprocess.Popen([sys.executable, "-c", LIVE, str(main)], env=_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        word, run_id = writer.stdout.readline().split()
        assert word == "ready"
        cli = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "runs", "list"],
                             env=_env(), capture_output=True, text=True)
        assert cli.returncode == 0 and run_id[:8] in cli.stdout and "RUNNING" in cli.stdout
        monkeypatch.setenv(shards.ENV, "1")
        client = LighttrackClient(str(main))
        assert client.get_run(run_id).info.status == "RUNNING"
        assert len(client.get_metric_history(run_id, "loss")) == 10
        assert list(shards.folder(main).glob("*.db"))  # still a shard: its writer is alive
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "more"

        def grown() -> bool:  # still running: the reader follows it, refresh after refresh
            shards._last_refresh.clear()
            client.data_version()
            return len(client.get_metric_history(run_id, "loss")) == 20

        _wait_for(grown, "the live shard's new points to reach the reader")
        assert client.get_run(run_id).info.status == "RUNNING"
        writer.stdin.write("end\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "done"
        assert writer.wait(timeout=60) == 0
        shards._last_refresh.clear()
        client.data_version()  # the live-view hook folds again
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(20))
        assert list(shards.folder(main).glob("*.db")) == []
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def test_a_run_created_in_the_main_file_is_resumed_in_a_shard(tmp_path):
    """``lighttrack run`` creates the run, then the child resumes it by LIGHTTRACK_RUN_ID."""
    main = tmp_path / "team.db"
    parent = LighttrackClient(str(main))
    run_id = parent.create_run(parent.create_experiment("projects"), run_name="from-cli").info.run_id
    parent.log_batch(run_id, params=[Param("alpha", "0.5")])
    close_all()
    child = subprocess.run(
        [sys.executable, "-c", "import lighttrack, sys\nlighttrack.set_tracking_uri(sys.argv[1])\n"
         "with lighttrack.start_run():\n    lighttrack.log_metric('rmse', 0.25)\n", str(main)],
        env=_env(LIGHTTRACK_RUN_ID=run_id), capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    shards.fold_path(main)
    close_all()
    run = LighttrackClient(str(main)).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"rmse": 0.25}
    assert run.data.params == {"alpha": "0.5"}
    assert len(LighttrackClient(str(main)).search_runs(None, "", max_results=None)) == 1


def test_statfs_names_this_machines_filesystems():
    """The fallback for hidden /proc: statfs(2) on a tmpfs-or-disk path is not a network one."""
    fstype = shards.statfs_type(Path("/tmp"))
    assert fstype is not None and fstype not in shards.NETWORK_FILESYSTEMS
    assert shards.STATFS_MAGIC[0x6969] in shards.NETWORK_FILESYSTEMS  # NFS by its magic number


# ------------------------------------------------------------- readers that write nothing
QUIET_LIVE = """
import sys, lighttrack
from lighttrack import fluent
from lighttrack.store import writer
from lighttrack.store.runs import stamp_heartbeats
lighttrack.set_tracking_uri(sys.argv[1])
fluent._client()  # this process's shard
writer.HEARTBEAT_SECONDS = 10 ** 9  # no heartbeat stamps: the files hold still while readers look
run = lighttrack.start_run(run_name="live")
lighttrack.log_param("lr", "0.1")
for s in range(10):
    lighttrack.log_metric("loss", float(s), step=s)
lighttrack.flush()
print("ready", run.info.run_id, flush=True)
sys.stdin.readline()
for s in range(10, 25):
    lighttrack.log_metric("loss", float(s), step=s)
lighttrack.flush()
# the stamp the heartbeat thread would make: a live run's newer heartbeat is what tells a merge
# that its shard copy replaces the older one
stamp_heartbeats(fluent._client().store.conn, [run.info.run_id])
print("more", flush=True)
sys.stdin.readline()
lighttrack.end_run()
print("done", flush=True)
"""


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and mtime (what a reader must leave as it was)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _start_quiet_writer(main: Path) -> tuple[subprocess.Popen, str]:
    writer = subprocess.Popen([sys.executable, "-c", QUIET_LIVE, str(main)], env=_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    word, run_id = writer.stdout.readline().split()
    assert word == "ready"
    return writer, run_id


@contextmanager
def _quiet_writer(main: Path):
    """The live writer (see QUIET_LIVE) for the length of a test, killed when it ends."""
    writer, run_id = _start_quiet_writer(main)
    try:
        yield writer, run_id
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()


def _tell(writer: subprocess.Popen, expect: str) -> None:
    writer.stdin.write("go\n")
    writer.stdin.flush()
    assert writer.stdout.readline().strip() == expect


def test_a_reader_sees_live_shards_and_writes_nothing(tmp_path, monkeypatch):
    main = tmp_path / "team.db"
    LighttrackClient(str(main)).create_experiment("already here")  # a main file folded before
    close_all()
    with _quiet_writer(main) as (writer, run_id):
        before = _files(tmp_path)
        assert any(name.startswith("team.db.shards/") and name.endswith(".db") for name in before)
        cli = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "runs", "list",
                              "--format", "json"], env=_env(), capture_output=True, text=True)
        assert cli.returncode == 0, cli.stderr
        assert run_id in cli.stdout and "RUNNING" in cli.stdout
        shown = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "metrics", "export",
                                run_id, "loss", "--format", "csv"], env=_env(), capture_output=True, text=True)
        assert shown.returncode == 0, shown.stderr
        assert len(shown.stdout.strip().splitlines()) == 1 + 10
        monkeypatch.setenv(shards.ENV, "1")
        reader = LighttrackClient(str(main), readonly=True)
        assert reader.get_run(run_id).info.status == "RUNNING"
        assert reader.get_run(run_id).data.params == {"lr": "0.1"}
        assert len(reader.get_metric_history(run_id, "loss")) == 10
        assert {e.name for e in reader.search_experiments()} >= {"already here", "Default"}
        version = reader.data_version()
        assert _files(tmp_path) == before  # main file and shard: same bytes, same mtimes

        _tell(writer, "more")
        reader.store.view.update(force=True)
        assert reader.data_version() != version  # a live view learns something changed
        assert [m.step for m in reader.get_metric_history(run_id, "loss")] == list(range(25))
        during = _files(tmp_path)
        reader.store.view.update(force=True)  # nothing new: nothing read, nothing written
        assert reader.get_run(run_id).info.status == "RUNNING"
        assert _files(tmp_path) == during
        view_folder = reader.store.view._folder
        assert view_folder is not None and view_folder.is_dir()
        close_all()
        assert not view_folder.exists()  # the private copy goes with the reader
        assert _files(tmp_path) == during


def test_a_reader_of_shards_alone_needs_no_main_file(tmp_path, monkeypatch):
    """Nobody has folded yet (the training jobs are the only writers): the runs show anyway,
    and reading does not create the main file."""
    main = tmp_path / "team.db"
    with _quiet_writer(main) as (writer, run_id):
        assert not main.exists()
        monkeypatch.setenv(shards.ENV, "1")
        reader = LighttrackClient(str(main), readonly=True)
        assert [r.info.run_id for r in reader.search_runs(None, "", max_results=None)] == [run_id]
        assert not main.exists()


def test_folding_still_works_after_live_reads(tmp_path, monkeypatch):
    main = tmp_path / "team.db"
    with _quiet_writer(main) as (writer, run_id):
        monkeypatch.setenv(shards.ENV, "1")
        reader = LighttrackClient(str(main), readonly=True)
        assert len(reader.get_metric_history(run_id, "loss")) == 10
        _tell(writer, "more")
        _tell(writer, "done")
        assert writer.wait(timeout=60) == 0
        reader.store.view.update(force=True)
        assert reader.get_run(run_id).info.status == "FINISHED"
        assert not main.exists()  # still nothing written by reading
        done = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "merge", "--shards"],
                              env=_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert list(shards.folder(main).glob("*.db")) == []
        reader.store.view.update(force=True)  # every shard folded: the reader reads the main file
        assert reader.store.view.current == main
        assert [m.step for m in reader.get_metric_history(run_id, "loss")] == list(range(25))
        close_all()
        run = LighttrackClient(str(main)).get_run(run_id)
        assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.1"}


def test_the_tui_shows_live_shards_without_writing_and_edits_reach_the_main_file(tmp_path, monkeypatch):
    pytest.importorskip("textual")
    import asyncio

    from test_tui_helpers import settle, table_column

    from tui.app import make_app

    main = tmp_path / "team.db"
    LighttrackClient(str(main)).create_experiment("already here")
    close_all()
    with _quiet_writer(main) as (writer, run_id):
        monkeypatch.setenv(shards.ENV, "1")

        async def view() -> None:
            app = make_app(str(main), live=False)
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot)
                assert app.client.store.readonly and app.client.store.view is not None
                table = pilot.app.screen.query_one("#experiments-table")
                names, counts = table_column(table, "name"), table_column(table, "runs")
                assert dict(zip(names, counts))["Default"] == "1"  # the live run, from its shard
                assert _files(tmp_path) == before  # viewing wrote nothing
                app.adapter.describe_experiment("0", "written on purpose")  # an edit is a write

        before = _files(tmp_path)
        asyncio.run(view())
        close_all()
        assert LighttrackClient(str(main)).get_experiment("0").tags["mlflow.note.content"] == "written on purpose"


def test_a_damaged_shard_is_left_out_of_the_view_and_said_so(tmp_path, monkeypatch):
    main = tmp_path / "team.db"
    with _quiet_writer(main) as (writer, run_id):
        junk = shards.folder(main) / "other-1-abc.db"
        junk.write_bytes(b"not a database at all" * 10)
        before = _files(tmp_path)
        monkeypatch.setenv(shards.ENV, "1")
        reader = LighttrackClient(str(main), readonly=True)
        assert [r.info.run_id for r in reader.search_runs(None, "", max_results=None)] == [run_id]
        assert any(note.startswith("other-1-abc.db") for note in reader.store.view.notes)
        close_all()
        assert _files(tmp_path) == before


def test_a_killed_readers_private_copy_is_removed_by_the_next_reader(tmp_path, monkeypatch):
    import tempfile

    from lighttrack.store import live_view

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = Path(tempfile.gettempdir()) / f"{live_view.PREFIX}{int(gone.stdout)}-leftover"
    left.mkdir()
    (left / "1-team.db").write_bytes(b"x")
    main = tmp_path / "team.db"
    with _quiet_writer(main) as (writer, _):
        monkeypatch.setenv(shards.ENV, "1")
        LighttrackClient(str(main), readonly=True)
        assert not left.exists()


def test_the_next_writing_open_still_folds_after_live_reads(tmp_path, monkeypatch):
    main = tmp_path / "team.db"
    with _quiet_writer(main) as (writer, run_id):
        monkeypatch.setenv(shards.ENV, "1")
        assert len(LighttrackClient(str(main), readonly=True).get_metric_history(run_id, "loss")) == 10
        close_all()
        _tell(writer, "more")
        _tell(writer, "done")
        assert writer.wait(timeout=60) == 0
        assert not main.exists() and list(shards.folder(main).glob("*.db"))  # reading folded nothing
        writing = LighttrackClient(str(main))  # any writing open folds finished shards first
        assert list(shards.folder(main).glob("*.db")) == []
        assert [m.step for m in writing.get_metric_history(run_id, "loss")] == list(range(25))


# A fold in another process runs exactly while this one is between creating its shard's lock
# file and locking it (the window the lock creation must not have).
RACING_FOLD = """
import os, subprocess, sys
from pathlib import Path
from lighttrack.store import shards

main = Path(sys.argv[1])
real = shards.fcntl.lockf
def lockf(fd, how):
    locking = os.readlink(f"/proc/self/fd/{fd}")
    if not locking.endswith(".fold.lock") and not getattr(lockf, "done", False):
        lockf.done = True
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from lighttrack.store import shards; shards._forget_stale_locks(Path(sys.argv[1]))",
                        str(shards.folder(main))], check=True)
    return real(fd, how)
shards.fcntl.lockf = lockf
shard = shards.writer_path(main)
shards.fcntl.lockf = real
print(shard, flush=True)
sys.stdin.readline()
"""


def test_a_new_shards_lock_survives_a_fold_that_runs_while_it_is_made(tmp_path):
    main = tmp_path / "team.db"
    shards.folder(main).mkdir()
    child = subprocess.Popen([sys.executable, "-c", RACING_FOLD, str(main)], env=_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        shard = Path(child.stdout.readline().strip())
        assert Path(f"{shard}.lock").exists()
        assert not shards._writer_gone(shard)  # still held: no fold may take the shard for a dead one
    finally:
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(timeout=60)
