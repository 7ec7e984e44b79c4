"""One file, many machines: merge, export, backup; and MLflow import/push (submodules).

``merge`` and ``export`` are the same union-by-global-id engine (store/merge.py); ``backup`` is
SQLite's ``VACUUM INTO``, a consistent snapshot taken inside one read transaction, so it is
safe while other processes write.
"""

from __future__ import annotations

import os
from pathlib import Path

from lighttrack.config import path_from_uri, resolve_path
from lighttrack.entities import ViewType
from lighttrack.errors import FileError, InvalidArgument
from lighttrack.store.merge import MergeReport, Progress

__all__ = ["MergeReport", "backup", "export", "merge"]


def _existing(path: str | os.PathLike[str]) -> Path:
    resolved = path_from_uri(path).absolute()
    if not resolved.exists():
        raise FileError(f"{resolved} does not exist")
    return resolved


def _new_file(path: str | os.PathLike[str], command: str) -> Path:
    """Where backup/export write: a new file in a folder that exists (checked before any work)."""
    out_path = path_from_uri(path).absolute()
    if out_path.exists():
        raise InvalidArgument(f"{out_path} already exists: {command} writes a new file")
    if not out_path.parent.is_dir():
        raise FileError(f"cannot write {out_path}: the folder {out_path.parent} does not exist (create it first)")
    return out_path


def merge(
    source: str | os.PathLike[str], into: str | os.PathLike[str] | None = None, progress: Progress | None = None
) -> MergeReport:
    """Add everything of ``source`` (read only) to ``into`` (default: the current file)."""
    from lighttrack.client import LighttrackClient
    from lighttrack.store.merge import merge as merge_files

    source_path = _existing(source)
    client = LighttrackClient(into)
    client.flush()
    return merge_files(client.store.conn, client.path, source_path, progress=progress)


def export(
    out: str | os.PathLike[str],
    experiments: list[str] | None = None,
    filter_string: str = "",
    with_models: bool = False,
    source: str | os.PathLike[str] | None = None,
    include_deleted: bool = False,
    progress: Progress | None = None,
) -> MergeReport:
    """Write a new lighttrack file holding just the chosen runs (of ``experiments``, matching
    ``filter_string``), their artifacts, and with ``with_models`` the registry versions of them."""
    from lighttrack.client import LighttrackClient
    from lighttrack.store import Store
    from lighttrack.store.merge import merge as merge_files

    out_path = _new_file(out, "export")
    client = LighttrackClient(source)
    client.flush()
    experiment_ids = [client.resolve_experiment_id(e) for e in experiments] if experiments else None
    view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    runs = client.search_runs(experiment_ids, filter_string, view, max_results=None)
    target = Store(out_path)
    try:
        return merge_files(
            target.conn, out_path, client.path, run_ids=[r.info.run_id for r in runs],
            registry="referenced" if with_models else "none", progress=progress,
        )
    finally:
        target.close()


def backup(out: str | os.PathLike[str], source: str | os.PathLike[str] | None = None) -> Path:
    """A consistent, compact copy of the file, safe to take while other processes write."""
    from lighttrack.store import Store
    from lighttrack.store.db import forget_checks, vacuum_into

    import sqlite3

    out_path = _new_file(out, "backup")
    source_path = resolve_path(source)
    store = Store(source_path, readonly=True)
    try:
        vacuum_into(store.conn, out_path)
    except sqlite3.OperationalError as exc:  # a read-only folder, or anything vacuum_into did not name
        raise FileError(f"cannot write the backup {out_path}: {exc}") from None
    finally:
        store.close()
    forget_checks()
    copy = Store(out_path)  # checks it is a whole lighttrack file and switches it to WAL
    try:
        copy.conn.execute("PRAGMA journal_mode = WAL")
    finally:
        copy.close()
    return out_path
