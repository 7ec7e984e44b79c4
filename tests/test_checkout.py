"""The code as it was: a run from a dirty git tree stores its diff and untracked files, and
`runs checkout` / `run --version RUN` rebuild that tree byte for byte. Real git, real repos."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.reproduce import SNAPSHOT_ARTIFACT, SNAPSHOT_TAG
from lighttrack.store import close_all

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

TRAIN = """\
import sys
import lighttrack as mlflow
mlflow.set_tracking_uri(sys.argv[1])
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
    with mlflow.start_run() as run:
        print(run.info.run_id)
    if len(sys.argv) > 3:  # edit a file between runs, in the same process, as a person would:
        import time  # more than WATCH_SECONDS apart

        time.sleep(1.1)
        open(sys.argv[3], "a").write("edited between runs\\n")
"""


def snapshot_member(client: LighttrackClient, run_id: str, name: str) -> bytes:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(client.read_artifact(run_id, SNAPSHOT_ARTIFACT))) as tar:
        return tar.extractfile(name).read()


def manifest_of(client: LighttrackClient, run_id: str) -> dict:
    return json.loads(snapshot_member(client, run_id, "manifest.json"))


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                            capture_output=True, text=True, check=True)
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with text, binary, executable and nested files committed."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    git(root, "init", "-q")
    (root / "train.py").write_text(TRAIN)
    (root / "tracked.txt").write_text("line 1\nline 2\n")
    (root / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (root / "doomed.txt").write_text("to be deleted\n")
    (root / "pkg" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "pkg" / "run.sh").chmod(0o755)
    (root / ".gitignore").write_text("*.log\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    return root


def dirty(root: Path) -> None:
    """Every kind of change: edited, deleted, binary changed, staged new file, untracked text,
    untracked binary, untracked in a new folder, an untracked symlink, an ignored file."""
    (root / "tracked.txt").write_text("line 1\nline two, changed\nline 3\n")
    (root / "doomed.txt").unlink()
    (root / "weights.bin").write_bytes(bytes(range(255, -1, -1)) * 4 + b"\x00\xff")
    (root / "staged.py").write_text("print('staged')\n")
    git(root, "add", "staged.py")
    (root / "notes.txt").write_text("untracked notes\n")
    (root / "blob.dat").write_bytes(os.urandom(3000))
    (root / "new" / "deep").mkdir(parents=True)
    (root / "new" / "deep" / "tool.sh").write_text("#!/bin/sh\n")
    (root / "new" / "deep" / "tool.sh").chmod(0o755)
    os.symlink("notes.txt", root / "link-to-notes")
    (root / "debug.log").write_text("ignored\n")


def start_runs(root: Path, db: Path, count: int = 1, edit: str | None = None, **env: str) -> list[str]:
    args = [sys.executable, "train.py", str(db), str(count)] + ([edit] if edit else [])
    result = subprocess.run(args, cwd=root, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def tree(root: Path) -> dict[str, tuple]:
    """Every file below root but .git: bytes, the executable bit, symlink targets."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_file():
            found[rel] = ("file", path.read_bytes(), bool(path.stat().st_mode & 0o111))
    return found


def invoke(db: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_checkout_rebuilds_a_dirty_tree_byte_for_byte(repo, tmp_path):
    dirty(repo)
    db = tmp_path / "runs.db"
    (run_id,) = start_runs(repo, db)
    client = LighttrackClient(db)
    run = client.get_run(run_id)
    assert run.data.tags[SNAPSHOT_TAG] == SNAPSHOT_ARTIFACT
    assert run.data.tags["mlflow.source.git.commit"] == git(repo, "rev-parse", "HEAD").strip()
    manifest = manifest_of(client, run_id)
    assert manifest["complete"] is True
    assert [e["path"] for e in manifest["untracked"]] == [
        "blob.dat", "link-to-notes", "new/deep/tool.sh", "notes.txt"]  # the ignored debug.log is not there
    out = invoke(db, "runs", "checkout", run_id[:8], str(tmp_path / "rebuilt")).output
    assert "+ diff" in out and "+ 4 untracked file(s)" in out
    expected = tree(repo)
    del expected["debug.log"]  # ignored by git: not part of the code
    assert tree(tmp_path / "rebuilt") == expected
    assert git(tmp_path / "rebuilt", "rev-parse", "HEAD") == git(repo, "rev-parse", "HEAD")


def test_runs_from_the_same_tree_share_the_snapshot_blobs(repo, tmp_path):
    dirty(repo)
    db = tmp_path / "runs.db"
    start_runs(repo, db)
    close_all()
    blobs = sqlite3.connect(db).execute("SELECT count(*), sum(size) FROM blobs").fetchone()
    first, second = start_runs(repo, db, count=2)
    assert sqlite3.connect(db).execute("SELECT count(*), sum(size) FROM blobs").fetchone() == blobs
    client = LighttrackClient(db)
    assert [f.path for f in client.list_artifact_files(first)] == [f.path for f in client.list_artifact_files(second)]


def test_a_process_reuses_its_snapshot_until_the_recheck_interval(repo, tmp_path):
    """Within the interval the snapshot is reused, unless a file it watches changes (git's
    index and HEAD, the tracked files already changed); at 0 it is taken at every run."""
    dirty(repo)
    db = tmp_path / "runs.db"
    client = LighttrackClient(db)

    def diffs(edit: str, recheck: str) -> list[bytes]:
        runs = start_runs(repo, db, count=2, edit=edit, LIGHTTRACK_SOURCE_RECHECK_SECONDS=recheck)
        return [snapshot_member(client, run_id, "diff.patch") for run_id in runs]

    first, second = diffs("pkg/run.sh", "3600")  # a clean file's first edit: seen at the next take
    assert first == second and b"edited between runs" not in second
    first, second = diffs("tracked.txt", "3600")  # a file already changed: watched
    assert second.count(b"edited between runs") == first.count(b"edited between runs") + 1
    first, second = diffs("weights.bin", "0")
    assert first != second


def test_the_tracking_file_in_the_tree_is_never_part_of_the_snapshot(repo, tmp_path):
    dirty(repo)
    (run_id,) = start_runs(repo, repo / "lighttrack.db")
    close_all()
    paths = [e["path"] for e in manifest_of(LighttrackClient(repo / "lighttrack.db"), run_id)["untracked"]]
    assert paths and not any(p.startswith("lighttrack.db") for p in paths)


def test_a_clean_tree_records_the_commit_only_and_outside_git_nothing(repo, tmp_path):
    db = tmp_path / "runs.db"
    (run_id,) = start_runs(repo, db)
    client = LighttrackClient(db)
    tags = client.get_run(run_id).data.tags
    assert tags["lighttrack.source.git.dirty"] == "false" and SNAPSHOT_TAG not in tags
    assert client.list_artifact_files(run_id) == []
    invoke(db, "runs", "checkout", run_id, str(tmp_path / "clean"))
    assert tree(tmp_path / "clean") == tree(repo)

    outside = tmp_path / "plain"
    outside.mkdir()
    shutil.copy(repo / "train.py", outside / "train.py")
    (plain_id,) = start_runs(outside, db)
    tags = client.get_run(plain_id).data.tags
    assert "mlflow.source.git.commit" not in tags and SNAPSHOT_TAG not in tags
    out = invoke(db, "runs", "checkout", plain_id, str(tmp_path / "none"), code=1).output
    assert "has no git commit recorded" in out and not (tmp_path / "none").exists()


def test_limits_leave_files_out_loudly_and_checkout_lists_them(repo, tmp_path):
    dirty(repo)
    db = tmp_path / "runs.db"
    args = [sys.executable, "train.py", str(db)]
    result = subprocess.run(args, cwd=repo, capture_output=True, text=True, timeout=120, env={
        **os.environ, "PYTHONPATH": str(ROOT), "LIGHTTRACK_SOURCE_MAX_FILE_BYTES": "1000"})
    assert result.returncode == 0, result.stderr
    assert "leaves out 1 untracked file(s)" in result.stderr
    run_id = result.stdout.strip()
    client = LighttrackClient(db)
    manifest = manifest_of(client, run_id)
    blob = next(e for e in manifest["untracked"] if e["path"] == "blob.dat")
    assert manifest["complete"] is False and blob["stored"] is False and "1,000" in blob["reason"]
    out = CliRunner().invoke(cli, ["--db", str(db), "runs", "checkout", run_id, str(tmp_path / "partial")],
                             catch_exceptions=False)
    assert out.exit_code == 0
    assert "not in the run's snapshot: untracked blob.dat (3,000 bytes)" in out.output
    assert not (tmp_path / "partial" / "blob.dat").exists()
    assert (tmp_path / "partial" / "notes.txt").read_text() == "untracked notes\n"


def test_a_bad_limit_is_an_error_before_any_run_is_created(repo, tmp_path):
    dirty(repo)
    db = tmp_path / "runs.db"
    result = subprocess.run([sys.executable, "train.py", str(db)], cwd=repo, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT),
                                              "LIGHTTRACK_SOURCE_MAX_DIFF_BYTES": "lots"})
    assert result.returncode != 0 and "LIGHTTRACK_SOURCE_MAX_DIFF_BYTES='lots'" in result.stderr
    assert list(LighttrackClient(db).search_runs()) == []


def test_checkout_errors_are_clear_and_leave_nothing_behind(repo, tmp_path):
    dirty(repo)
    db = tmp_path / "runs.db"
    (run_id,) = start_runs(repo, db)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    out = invoke(db, "runs", "checkout", run_id, str(busy), code=1).output
    assert "is not an empty folder" in out and os.listdir(busy) == ["keep.txt"]

    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    out = invoke(db, "runs", "checkout", run_id, str(tmp_path / "x"), "--repo", str(other), code=1).output
    assert "is not in any repository at hand" in out and "--repo" in out
    assert not (tmp_path / "x").exists()

    (off_id,) = start_runs(repo, db, LIGHTTRACK_SOURCE_SNAPSHOT="0")
    out = invoke(db, "runs", "checkout", off_id, str(tmp_path / "y"), code=1).output
    assert "uncommitted changes that were not recorded" in out


def test_a_manifest_naming_a_path_outside_the_tree_is_refused(repo, tmp_path):
    """The file is untrusted: a crafted manifest cannot make checkout write outside DIR."""
    dirty(repo)
    db = tmp_path / "runs.db"
    (run_id,) = start_runs(repo, db)
    client = LighttrackClient(db)
    manifest = manifest_of(client, run_id)
    manifest["untracked"].append({"path": "../escaped.txt", "size": 1, "stored": True})
    import io
    import tarfile

    crafted = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(client.read_artifact(run_id, SNAPSHOT_ARTIFACT))) as original:
        members = [(m.name, original.extractfile(m).read()) for m in original.getmembers() if m.name != "manifest.json"]
    members += [("manifest.json", json.dumps(manifest).encode()), ("untracked/../escaped.txt", b"x")]
    with tarfile.open(fileobj=crafted, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    client.log_bytes(run_id, crafted.getvalue(), SNAPSHOT_ARTIFACT)
    out = invoke(db, "runs", "checkout", run_id, str(tmp_path / "evil"), code=1).output
    assert "outside the tree: refused" in out
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "evil").exists()


PROJECT_MAIN = """\
import lighttrack as mlflow
with mlflow.start_run():
    mlflow.log_param("value", open("value.txt").read().strip())
    mlflow.log_param("helper", open("helper.txt").read().strip())
"""


def test_run_version_run_id_reruns_the_project_exactly_as_it_was(tmp_path):
    root = tmp_path / "proj-repo"
    project = root / "proj"
    project.mkdir(parents=True)
    git(root, "init", "-q")
    (project / "MLproject").write_text(textwrap.dedent("""\
        name: rerun
        entry_points:
          main:
            command: "python main.py"
    """))
    (project / "main.py").write_text(PROJECT_MAIN)
    (project / "value.txt").write_text("committed\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    (project / "value.txt").write_text("uncommitted edit\n")
    (project / "helper.txt").write_text("untracked helper\n")
    db = tmp_path / "runs.db"
    env = {"PYTHONPATH": str(ROOT)}
    invoke_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(db), "run", str(project), "--env-manager",
                    "local"], check=True, capture_output=True, env=invoke_env, timeout=300)
    client = LighttrackClient(db)
    (first,) = client.search_runs()
    assert first.data.params == {"value": "uncommitted edit", "helper": "untracked helper"}
    assert first.data.tags[SNAPSHOT_TAG] == SNAPSHOT_ARTIFACT

    (project / "value.txt").write_text("changed again since\n")
    (project / "helper.txt").unlink()
    result = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(db), "run", str(project),
                             "--env-manager", "local", "--version", first.info.run_id],
                            capture_output=True, text=True, env=invoke_env, timeout=300)
    assert result.returncode == 0, result.stderr
    close_all()
    rerun = next(r for r in LighttrackClient(db).search_runs() if r.info.run_id != first.info.run_id)
    assert rerun.data.params == first.data.params
    assert rerun.data.tags["lighttrack.project.version"] == first.info.run_id
    assert rerun.data.tags["mlflow.source.git.commit"] == first.data.tags["mlflow.source.git.commit"]
    assert (project / "value.txt").read_text() == "changed again since\n"  # the user's tree is untouched
