"""What the UI remembers between visits: each experiment's columns, sort and filter.

Kept in a small JSON file beside the user's own config (``$LIGHTTRACK_UI_STATE``, else
``$XDG_CONFIG_HOME/lighttrack/ui-state.json``, else ``~/.config/lighttrack/ui-state.json``),
not in the tracking file as an experiment tag, because:

- the tracking file is shared and merged: a tag would carry one person's view into everyone's
  copy, and show up in MLflow after a push;
- the file may be read-only (a copy received from someone else) and viewing must never
  write to it, nor wake every other open UI's live refresh;
- the experiment ids are global (merges keep them), so the same state applies to the same
  experiment in any copy of the file.

A broken or unreadable state file is ignored (the UI starts with defaults); it is never a
reason not to start.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

MAX_EXPERIMENTS = 500  # remembered views; the oldest are forgotten first


def state_dir() -> Path:
    explicit = os.environ.get("LIGHTTRACK_UI_STATE")
    if explicit:
        return Path(explicit).expanduser().parent
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "lighttrack"


def state_path() -> Path:
    explicit = os.environ.get("LIGHTTRACK_UI_STATE")
    return Path(explicit).expanduser() if explicit else state_dir() / "ui-state.json"


@dataclass
class RunsView:
    """How one experiment's runs table was left."""

    columns: list[str] | None = None  # data columns; None = the defaults (what varies)
    attributes: list[str] | None = None  # optional attribute columns
    sort: tuple[str, bool] | None = None  # (column, descending)
    filter_text: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _read() -> dict:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_view(experiment_ids: tuple[str, ...]) -> RunsView | None:
    entry = _read().get("runs", {}).get(",".join(experiment_ids))
    if not isinstance(entry, dict):
        return None
    try:
        sort = entry.get("sort")
        return RunsView(
            columns=[str(c) for c in entry["columns"]] if isinstance(entry.get("columns"), list) else None,
            attributes=[str(c) for c in entry["attributes"]] if isinstance(entry.get("attributes"), list) else None,
            sort=(str(sort[0]), bool(sort[1])) if isinstance(sort, list) and len(sort) == 2 else None,
            filter_text=str(entry.get("filter_text", "")),
        )
    except (TypeError, KeyError):
        return None


def save_view(experiment_ids: tuple[str, ...], view: RunsView) -> None:
    """Remember ``view``; a state file that cannot be written is not an error worth a crash."""
    data = _read()
    runs = data.get("runs") if isinstance(data.get("runs"), dict) else {}
    key = ",".join(experiment_ids)
    runs.pop(key, None)
    runs[key] = asdict(view)
    while len(runs) > MAX_EXPERIMENTS:
        runs.pop(next(iter(runs)))
    data["runs"] = runs
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass
