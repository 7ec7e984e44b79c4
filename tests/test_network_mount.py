"""Shard mode on a real network filesystem: an sshfs mount of this machine over SSH on loopback.

This container's kernel has no NFS or CIFS (``/proc/filesystems`` lists neither and there is no
modprobe), but it has FUSE: sshfs (Debian's ``sshfs``) mounts a folder served by an ``sshd``
(Debian's ``openssh-server``) that the fixture starts on 127.0.0.1, so every read and write
crosses a real network protocol (SFTP over TCP), and the mount is ``fuse.sshfs`` in
/proc/self/mountinfo, as on a cluster that mounts home folders over SSH. Nothing is forced:
no ``LIGHTTRACK_SHARDS`` in these tests, detection alone turns shard mode on.

Skipped (saying why) where sshfs, sshd or /dev/fuse are missing or the kernel refuses the mount.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lighttrack import LighttrackClient
from lighttrack.store import close_all, shards
from test_shards import QUIET_LIVE, TASK, _check_folded, _files

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"sshd exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@pytest.fixture(scope="module")
def mount(tmp_path_factory):
    """A folder of this machine mounted over sshfs: (the mount point, the folder it serves)."""
    missing = [tool for tool in ("sshfs", "ssh-keygen", "fusermount") if shutil.which(tool) is None]
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if missing or sshd is None or not os.path.exists("/dev/fuse"):
        pytest.skip(f"needs sshfs, openssh-server and /dev/fuse; missing: {missing + ([] if sshd else ['sshd'])}")
    home = tmp_path_factory.mktemp("sshfs")
    export, point = home / "export", home / "mnt"
    export.mkdir()
    point.mkdir()
    for key in ("id", "hostkey"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / key)], check=True)
    shutil.copy(home / "id.pub", home / "authorized_keys")
    port = _free_port()
    (home / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {home / 'hostkey'}\n"
        f"AuthorizedKeysFile {home / 'authorized_keys'}\nPasswordAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        f"PidFile {home / 'sshd.pid'}\nSubsystem sftp internal-sftp\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder, needed as root
    server = subprocess.Popen([sshd, "-D", "-f", str(home / "sshd_config"), "-E", str(home / "sshd.log")])
    try:
        _wait_listening(port, server)
        done = subprocess.run(
            ["sshfs", "-p", str(port), "-o",
             f"IdentityFile={home / 'id'},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes",
             f"{getpass.getuser()}@127.0.0.1:{export}", str(point)],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            pytest.skip(f"sshfs could not mount here: {done.stderr.strip()}")
        try:
            yield point, export
        finally:
            close_all()
            subprocess.run(["fusermount", "-u", str(point)], capture_output=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(shards.ENV, None)  # detection alone decides
    return env


@pytest.fixture(autouse=True)
def _no_switch(monkeypatch):
    monkeypatch.delenv(shards.ENV, raising=False)


def test_the_sshfs_mount_is_detected_as_a_network_filesystem(mount):
    point, _ = mount
    main = point / "team.db"
    assert shards.filesystem_type(main) == "fuse.sshfs"  # from this process's real mountinfo
    assert shards.enabled(main) is True
    assert shards.journal_mode(main) == "DELETE"
    assert shards.enabled(Path(str(mount[1])) / "team.db") is False  # the same folder, locally


def test_a_job_array_on_the_mount_writes_shards_and_folds_without_loss(mount):
    point, export = mount
    main = point / "array.db"
    tasks, steps = 8, 200
    writers = [subprocess.Popen([sys.executable, "-c", TASK, str(main), str(steps)],
                                env={**_env(), "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": str(t)})
               for t in range(tasks)]
    assert all(w.wait(timeout=300) == 0 for w in writers)
    written = sorted(p.name for p in (export / "array.db.shards").glob("*.db"))  # seen from the server side
    assert written, "the writers wrote no shard on the mount"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "merge", "--shards"],
                              env=_env(), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    with open(export / "array.db", "rb") as f:
        assert f.read(20)[18] == 1  # file format byte 18: 1 = rollback journal (2 would be WAL)
    _check_folded(main, tasks, steps)


def test_a_reader_on_the_mount_sees_a_live_run_and_writes_nothing(mount):
    point, export = mount
    main = point / "live.db"
    writer = subprocess.Popen([sys.executable, "-c", QUIET_LIVE, str(main)], env=_env(), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        word, run_id = writer.stdout.readline().split()
        assert word == "ready"
        assert list((export / "live.db.shards").glob("*.db"))  # shard mode turned itself on
        before = _files(export)
        cli = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(main), "runs", "list",
                              "--format", "json"], env=_env(), capture_output=True, text=True)
        assert cli.returncode == 0, cli.stderr
        assert run_id in cli.stdout and "RUNNING" in cli.stdout
        reader = LighttrackClient(str(main), readonly=True)
        assert len(reader.get_metric_history(run_id, "loss")) == 10
        close_all()
        assert _files(export) == before
    finally:
        writer.kill()
        writer.wait()
