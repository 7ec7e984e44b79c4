"""System tags a run is stamped with: who, from which file, and which git commit.

Git is read from the ``.git`` folder directly (HEAD, refs, packed-refs) — no subprocess — and
only the dirty check asks ``git`` itself. The answer is cached per process, so starting a
thousand runs costs one look.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cache
from pathlib import Path

from lighttrack.util import hostname, user_name


def _source_file() -> Path | None:
    main = sys.modules.get("__main__")
    name = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not name or name == "-c":
        return None
    return Path(name).absolute()


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # worktrees and submodules: "gitdir: <path>"
            text = candidate.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text.split(":", 1)[1].strip()).resolve()
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    for base in (git_dir, _common_dir(git_dir)):
        loose = base / ref
        if loose.is_file():
            return loose.read_text().strip()
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(errors="replace").splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    return None


def _common_dir(git_dir: Path) -> Path:
    common = git_dir / "commondir"
    return (git_dir / common.read_text().strip()).resolve() if common.is_file() else git_dir


@cache
def git_info(folder: str) -> dict[str, str]:
    """commit, branch, repo URL and dirty state of the repository holding ``folder``."""
    git_dir = _git_dir(Path(folder))
    if git_dir is None:
        return {}
    info: dict[str, str] = {}
    try:
        head = (git_dir / "HEAD").read_text().strip()
        if head.startswith("ref:"):
            ref = head.split(":", 1)[1].strip()
            info["mlflow.source.git.branch"] = ref.removeprefix("refs/heads/")
            commit = _resolve_ref(git_dir, ref)
        else:
            commit = head
        if commit:
            info["mlflow.source.git.commit"] = commit
        config = _common_dir(git_dir) / "config"
        if config.is_file():
            lines = config.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if line.strip() == '[remote "origin"]':
                    for follow in lines[i + 1:]:
                        if follow.strip().startswith("["):
                            break
                        if follow.strip().startswith("url"):
                            info["mlflow.source.git.repoURL"] = follow.split("=", 1)[1].strip()
                            break
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
            capture_output=True, text=True, timeout=5,
        )
        if dirty.returncode == 0:
            info["lighttrack.source.git.dirty"] = "true" if dirty.stdout.strip() else "false"
    except (OSError, subprocess.SubprocessError):
        pass  # git facts are a courtesy; a run must start without them
    return info


def system_tags() -> dict[str, str]:
    tags = {
        "mlflow.user": user_name(),
        "mlflow.source.type": "LOCAL",
        "lighttrack.host": hostname(),
        "lighttrack.pid": str(os.getpid()),
    }
    source = _source_file()
    if source is not None:
        tags["mlflow.source.name"] = str(source)
    folder = code_folder()
    if folder:
        tags.update(git_info(folder))
    return tags


def code_folder() -> str | None:
    """Where the code of this process lives: the running script's folder, else the working
    directory (a notebook, ``python -c``). Its git repository is the one a run records."""
    source = _source_file()
    if source is not None:
        return str(source.parent)
    return os.getcwd() or None
