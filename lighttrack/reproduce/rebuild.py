"""Rebuilding a run's working tree: its commit, cloned from a repository that has it, plus the
recorded diff and untracked files (``lighttrack runs checkout``, ``lighttrack run --version RUN``).

The repository is the one given, else the one holding the run's script (``mlflow.source.name``)
when it is on this machine, else the current directory's, else the recorded ``repoURL``: the
first that has the commit. The clone is a plain ``git clone`` (the user's repository gets no
worktree entry, no new object), checked out detached at the commit; the diff goes in with
``git apply --binary`` and untracked files are written from the artifacts.

The run's file is untrusted: every path from the manifest must stay inside the target folder,
symlinks are made last (so no file is written through one), and a target that is not empty is
refused. A rebuild that fails half-way removes what it made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lighttrack.errors import InvalidArgument, InvalidState, LighttrackError, NotFound
from lighttrack.reproduce import DIFF, MANIFEST, SNAPSHOT_ARTIFACT, SNAPSHOT_TAG, UNTRACKED_DIR


class CheckoutError(LighttrackError):
    """A run's tree cannot be rebuilt here (no git, the commit is in no repository at hand,
    the recorded diff does not apply)."""

    error_code = "INVALID_STATE"


@dataclass
class Rebuilt:
    """What a rebuild did, for the command to report."""

    directory: Path
    commit: str
    repository: str
    diff_bytes: int = 0
    files_written: int = 0
    left_out: list[str] = field(default_factory=list)  # what the run's snapshot did not keep


def _git(args: list[str], cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _root_with_commit(folder: Path, commit: str) -> Path | None:
    if not folder.is_dir():
        return None
    top = _git(["rev-parse", "--show-toplevel"], folder, timeout=30)
    if top.returncode != 0:
        return None
    root = Path(top.stdout.strip())
    has = _git(["cat-file", "-e", f"{commit}^{{commit}}"], root, timeout=30)
    return root if has.returncode == 0 else None


def _candidates(tags: dict[str, str], repo: str | None) -> list[str]:
    if repo is not None:
        return [repo]
    found = []
    source = tags.get("mlflow.source.name", "")
    if source and not source.startswith(("http://", "https://", "git@", "ssh://")):
        path = Path(source.split("#", 1)[0])
        found.append(str(path if path.is_dir() else path.parent))
    found.append(os.getcwd())
    url = tags.get("mlflow.source.git.repoURL") or tags.get("mlflow.gitRepoURL")
    if url:
        found.append(url)
    return found


def check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidArgument(f"{target} is not an empty folder: give a new or empty folder to check the run out into")


class _Members:
    """The snapshot tar's members, read by name only: nothing in it is ever extracted whole,
    so no name in a crafted tar decides where a file is written."""

    def __init__(self, data: bytes) -> None:
        import io
        import tarfile

        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                self.files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        except tarfile.TarError as exc:
            raise InvalidState(f"{SNAPSHOT_ARTIFACT} is not a readable tar ({exc})") from None

    def get(self, name: str, run_id: str) -> bytes:
        if name not in self.files:
            raise InvalidState(f"run {run_id}: {SNAPSHOT_ARTIFACT} has no {name}")
        return self.files[name]


def read_snapshot(client, run_id: str, tags: dict[str, str]) -> tuple[dict, _Members] | None:
    """The run's snapshot (manifest, members); None for a run from a clean tree. Refuses a dirty
    run whose changes were not recorded: rebuilding it from the commit alone would lie."""
    if SNAPSHOT_TAG not in tags:
        if tags.get("lighttrack.source.git.dirty") == "true":
            raise InvalidState(
                f"run {run_id} was started in a git tree with uncommitted changes that were not recorded "
                "(LIGHTTRACK_SOURCE_SNAPSHOT was off, or an older lighttrack): its code cannot be rebuilt exactly"
            )
        return None
    try:
        members = _Members(client.read_artifact(run_id, SNAPSHOT_ARTIFACT))
    except NotFound:
        raise InvalidState(f"run {run_id} is tagged with a source snapshot but has no {SNAPSHOT_ARTIFACT} artifact") from None
    try:
        manifest = json.loads(members.get(MANIFEST, run_id))
    except ValueError:
        raise InvalidState(f"run {run_id}: the snapshot's {MANIFEST} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise InvalidState(f"run {run_id}: the snapshot's {MANIFEST} is not one this lighttrack reads (format 1)")
    return manifest, members


def rebuild(client, run_id: str, target: Path, repo: str | None = None) -> Rebuilt:
    """Rebuild the working tree run ``run_id`` started from into ``target`` (new or empty)."""
    if shutil.which("git") is None:
        raise CheckoutError("rebuilding a run's code needs git, and git is not on PATH: install git")
    run = client.get_run(run_id)
    tags = run.data.tags
    commit = tags.get("mlflow.source.git.commit")
    if not commit:
        raise InvalidState(f"run {run_id} has no git commit recorded (it was not started inside a git repository)")
    check_target(target)
    snapshot = read_snapshot(client, run_id, tags)
    manifest, members = snapshot if snapshot is not None else (None, None)
    if manifest is not None and manifest.get("commit") != commit:
        raise InvalidState(f"run {run_id}: its snapshot is of commit {manifest.get('commit')}, its tag says {commit}")
    made = not target.exists()
    try:
        source = _clone(tags, repo, commit, target)
        done = Rebuilt(target, commit, source)
        if manifest is not None:
            _apply(run_id, manifest, members, target, done)
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() and not child.is_symlink() \
                    else child.unlink(missing_ok=True)
        raise
    return done


def _clone(tags: dict[str, str], repo: str | None, commit: str, target: Path) -> str:
    tried = []
    for candidate in _candidates(tags, repo):
        if "://" in candidate or candidate.startswith("git@"):
            result = _git(["clone", "--quiet", "--no-checkout", candidate, str(target)])
            if result.returncode == 0 and _git(["checkout", "--quiet", "--detach", commit], target).returncode == 0:
                return candidate
            shutil.rmtree(target / ".git", ignore_errors=True)
            tried.append(candidate)
            continue
        root = _root_with_commit(Path(candidate).expanduser(), commit)
        if root is None:
            tried.append(candidate)
            continue
        result = _git(["clone", "--quiet", "--no-checkout", str(root), str(target)])
        if result.returncode != 0:
            raise CheckoutError(f"git clone {root} failed: {result.stderr.strip()}")
        result = _git(["checkout", "--quiet", "--detach", commit], target)
        if result.returncode != 0:
            raise CheckoutError(f"git checkout {commit} in the clone of {root} failed: {result.stderr.strip()}")
        return str(root)
    where = ", ".join(tried)
    raise CheckoutError(
        f"commit {commit} is not in any repository at hand (tried {where}): pass --repo with a "
        "clone that has it (git fetch it there first)"
    )


def _inside(target: Path, rel: str) -> Path:
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts or not rel:
        raise CheckoutError(f"the run's snapshot names a file {rel!r} outside the tree: refused")
    local = target / path
    if not local.parent.resolve().is_relative_to(target.resolve()):
        raise CheckoutError(f"the run's snapshot names a file {rel!r} that would be written outside the tree: refused")
    return local


def _apply(run_id: str, manifest: dict, members: _Members, target: Path, done: Rebuilt) -> None:
    diff = manifest.get("diff") or {}
    if not diff.get("stored", False):
        done.left_out.append(f"the diff ({diff.get('size', 0):,} bytes): {diff.get('reason', 'not stored')}")
    elif diff.get("size"):
        patch = members.get(DIFF, run_id)
        with tempfile.NamedTemporaryFile(prefix="lighttrack-diff-", suffix=".patch", delete=False) as f:
            f.write(patch)
        try:
            result = _git(["apply", "--binary", "--whitespace=nowarn", f.name], target)
        finally:
            os.unlink(f.name)
        if result.returncode != 0:
            raise CheckoutError(f"the run's recorded diff does not apply to commit {done.commit}: {result.stderr.strip()}")
        done.diff_bytes = len(patch)
    links = []
    for entry in manifest.get("untracked") or []:
        rel = str(entry.get("path", ""))
        if not entry.get("stored"):
            done.left_out.append(f"untracked {rel} ({entry.get('size', 0):,} bytes): {entry.get('reason', 'not stored')}")
            continue
        local = _inside(target, rel)
        if "link" in entry:
            links.append((local, str(entry["link"])))
            continue
        local.parent.mkdir(parents=True, exist_ok=True)
        if not local.parent.resolve().is_relative_to(target.resolve()):
            raise CheckoutError(f"the run's snapshot names a file {rel!r} that would be written outside the tree")
        local.write_bytes(members.get(f"{UNTRACKED_DIR}/{rel}", run_id))
        if entry.get("executable"):
            local.chmod(local.stat().st_mode | 0o111)
        done.files_written += 1
    for local, link in links:  # last: nothing is ever written through a link made here
        local.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link, local)
        done.files_written += 1
    if manifest.get("untracked_not_listed"):
        done.left_out.append(f"{manifest['untracked_not_listed']} untracked file(s) not even named (over the limit)")
