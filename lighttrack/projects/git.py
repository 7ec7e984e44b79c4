"""Git for projects: where the code came from (tags), and ``--version`` checkouts.

A local repository is checked out at the requested ref into a temporary ``git worktree`` (the
user's working tree is left alone); a git URL (``https://``, ``ssh://``, ``git@host:``,
``file://``) is cloned into a temporary folder. ``URI#sub/dir`` runs a project in a
subdirectory, as MLflow allows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lighttrack.projects.errors import ExecutionError, ProjectError
from lighttrack.projects.spec import display

_GIT_URL = re.compile(r"^(https?|ssh|git|file)://|^[\w.-]+@[\w.-]+:")


def _git(args: list[str], cwd: Path | str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _out(args: list[str], cwd: Path) -> str | None:
    try:
        result = _git(args, cwd, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def is_branch(folder: Path, name: str) -> bool:
    """Is ``name`` a branch of the repository at ``folder`` (local, or origin's in a clone)?"""
    return any(_out(["rev-parse", "--verify", "-q", ref], folder) for ref in (
        f"refs/heads/{name}", f"refs/remotes/origin/{name}"))


def repo_root(folder: Path) -> Path | None:
    top = _out(["rev-parse", "--show-toplevel"], folder)
    return Path(top) if top else None


def git_tags(folder: Path, repo_url: str | None = None) -> dict[str, str]:
    """mlflow.source.git.* tags (and lighttrack's dirty flag) for the code in ``folder``."""
    if shutil.which("git") is None or repo_root(folder) is None:
        return {}
    tags: dict[str, str] = {}
    commit = _out(["rev-parse", "HEAD"], folder)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    branch = _out(["symbolic-ref", "--short", "-q", "HEAD"], folder)
    if branch:
        tags["mlflow.source.git.branch"] = branch
    url = repo_url or _out(["remote", "get-url", "origin"], folder)
    if url:
        tags["mlflow.source.git.repoURL"] = url
        tags["mlflow.gitRepoURL"] = url  # MLflow's older spelling, still read by tools
    status = _out(["status", "--porcelain", "--untracked-files=no"], folder)
    if status is not None:
        tags["lighttrack.source.git.dirty"] = "true" if status else "false"
    return tags


def is_git_url(uri: str) -> bool:
    return bool(_GIT_URL.match(uri))


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``repo#sub/dir`` -> (``repo``, ``sub/dir``)."""
    base, _, sub = uri.partition("#")
    sub = sub.strip("/")
    if ".." in Path(sub).parts:
        raise ProjectError(f"project URI {uri!r}: the subdirectory after # may not contain '..'")
    return base, sub


@dataclass
class Checkout:
    """The project folder to run, and how to clean up after the run."""

    directory: Path
    source_name: str
    repo_url: str | None = None
    version: str | None = None
    _cleanup: list = field(default_factory=list)

    def close(self) -> None:
        while self._cleanup:
            action = self._cleanup.pop()
            try:
                action()
            except Exception:  # cleaning a temporary folder must never fail the run
                pass


def fetch_project(uri: str, version: str | None = None, client=None) -> Checkout:
    """Resolve ``uri`` (+ ``version``) to a local folder. Errors before anything runs.
    ``version`` may be a run id of ``client``'s file: the project as that run had it."""
    text = str(uri)
    base, sub = split_subdirectory(text)
    if version and client is not None and is_run_id(client, version):
        checkout = _run_tree(client, base, version, text)
    elif is_git_url(base):
        checkout = _clone(base, version, text)
    else:
        folder = Path(base).expanduser()
        if not folder.exists():
            raise ProjectError(f"project directory {display(folder)} does not exist")
        folder = folder.resolve()
        checkout = Checkout(folder, str(folder) + (f"#{sub}" if sub else ""))
        if version:
            checkout = _worktree(folder, version, checkout.source_name)
    if sub:
        target = checkout.directory / sub
        if not target.is_dir():
            checkout.close()
            raise ProjectError(f"project URI {text!r}: no directory {sub!r} in the project")
        checkout.directory = target
    return checkout


def is_run_id(client, version: str) -> bool:
    """A full run id (32 hex characters) of a run in the file; a git ref never looks like one
    (commit ids are 40 characters, and a ref of 32 hex digits that is also a run id is taken
    as the run)."""
    if len(version) != 32 or any(c not in "0123456789abcdef" for c in version):
        return False
    from lighttrack.errors import NotFound

    try:
        client.get_run(version)
    except NotFound:
        return False
    return True


def _run_tree(client, base: str, run_id: str, source_name: str) -> Checkout:
    """The project folder ``base`` as run ``run_id`` had it: its commit + diff + untracked
    files rebuilt in a temporary folder, the project at the same place inside the repository."""
    from lighttrack.reproduce.rebuild import rebuild

    if is_git_url(base):
        raise ProjectError(f"--version {run_id} (a run): give the project as a local folder of its repository")
    folder = Path(base).expanduser().resolve()
    root = repo_root(folder) if folder.is_dir() else None
    if root is None:
        raise ProjectError(f"--version {run_id}: {display(folder)} is not inside a git repository")
    rel = folder.relative_to(root.resolve())
    tmp = Path(tempfile.mkdtemp(prefix="lighttrack-run-version-"))
    try:
        rebuild(client, run_id, tmp / "tree", str(root))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    checkout = Checkout(tmp / "tree" / rel, source_name, version=run_id)
    checkout._cleanup.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    checkout.repo_url = _out(["remote", "get-url", "origin"], root)
    return checkout


def _require_git(purpose: str) -> None:
    if shutil.which("git") is None:
        raise ProjectError(f"{purpose} needs git, and git is not on PATH: install git")


def _worktree(folder: Path, version: str, source_name: str) -> Checkout:
    _require_git(f"--version {version}")
    root = repo_root(folder)
    if root is None:
        raise ProjectError(
            f"--version {version}: {display(folder)} is not inside a git repository, so it has no versions"
        )
    rel = folder.resolve().relative_to(root.resolve())
    commit = _out(["rev-parse", "--verify", "-q", f"{version}^{{commit}}"], root)
    if not commit:
        raise ProjectError(
            f"--version {version!r}: no such commit, branch or tag in the git repository {display(root)}"
        )
    tmp = Path(tempfile.mkdtemp(prefix="lighttrack-version-"))
    tree = tmp / "tree"
    result = _git(["worktree", "add", "--detach", "--quiet", str(tree), commit], root)
    if result.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExecutionError(f"git worktree add {version} failed: {result.stderr.strip()}")
    checkout = Checkout(tree / rel, source_name, version=version)

    def remove() -> None:
        _git(["worktree", "remove", "--force", str(tree)], root)
        shutil.rmtree(tmp, ignore_errors=True)
        _git(["worktree", "prune"], root)

    checkout._cleanup.append(remove)
    checkout.repo_url = _out(["remote", "get-url", "origin"], root)
    return checkout


def _clone(url: str, version: str | None, source_name: str) -> Checkout:
    _require_git(f"running {url}")
    tmp = Path(tempfile.mkdtemp(prefix="lighttrack-clone-"))
    tree = tmp / "repo"
    checkout = Checkout(tree, source_name, repo_url=url, version=version)
    checkout._cleanup.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        result = _git(["clone", "--quiet", url, str(tree)], timeout=600)
    except subprocess.TimeoutExpired:
        checkout.close()
        raise ExecutionError(f"git clone {url} did not finish in 10 minutes") from None
    if result.returncode != 0:
        checkout.close()
        raise ProjectError(f"cannot clone {url}: {result.stderr.strip() or 'git clone failed'}")
    if version:
        result = _git(["checkout", "--quiet", "--detach", version], tree)
        if result.returncode != 0:
            checkout.close()
            raise ProjectError(f"--version {version!r}: no such commit, branch or tag in {url}")
    return checkout
