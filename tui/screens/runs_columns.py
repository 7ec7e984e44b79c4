"""Which columns the runs table shows, how wide, and what a sort means: pure functions over
runs (no Textual), so they are tested on their own and the screen only lays them out."""

from __future__ import annotations

from dataclasses import dataclass

from lighttrack.entities import Run

from tui.format import key_ref, number

PARENT_TAG = "mlflow.parentRunId"
MAX_DEFAULT_PARAMS = 6
MAX_DEFAULT_METRICS = 4
NAME_MAX = 60  # a name column wider than this only pushes data off the screen

# Attribute columns: key -> (label, width, order_by expression)
ATTRIBUTES: dict[str, tuple[str, int, str]] = {
    "attr.status": ("status", 8, "attributes.status"),
    "attr.name": ("name", 22, "attributes.run_name"),
    "attr.start": ("start", 16, "attributes.start_time"),
    "attr.duration": ("duration", 8, "attributes.duration"),
    "attr.user": ("user", 10, "attributes.user_id"),
}
OPTIONAL_ATTRIBUTES = ["attr.start", "attr.duration", "attr.user"]
NARROW_WIDTHS = {"attr.name": 16, "attr.start": 11, "attr.duration": 8, "attr.user": 6}


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool

    def order_by(self) -> str:
        if self.column in ATTRIBUTES:
            expr = ATTRIBUTES[self.column][2]
        else:
            kind, key = self.column.split(".", 1)
            expr = key_ref(kind, key)
        return f"{expr} {'DESC' if self.descending else 'ASC'}"


def column_label(column: str) -> str:
    if column in ATTRIBUTES:
        return ATTRIBUTES[column][0]
    return column.split(".", 1)[1]


def default_columns(runs: list[Run], primary_metric: str | None = None) -> list[str]:
    """What tells the runs in view apart: params whose values vary first, then metrics that
    vary (the experiment's primary metric first). Keys only child runs have are left out
    when top-level runs are in view (they would be blank on most rows); when nothing varies
    (one run), the first few keys are shown instead of nothing."""
    if not runs:
        return []
    tops = [r for r in runs if PARENT_TAG not in r.data.tags]
    basis = tops or runs

    def keys(kind: str) -> list[str]:
        return sorted({k for run in basis for k in getattr(run.data, kind)})

    def varies(kind: str, key: str) -> bool:
        values = {repr(getattr(run.data, kind).get(key)) for run in runs}
        return len(values) > 1

    params = [k for k in keys("params") if varies("params", k)]
    metrics = [k for k in keys("metrics") if varies("metrics", k)]
    if primary_metric and any(primary_metric in r.data.metrics for r in runs):
        metrics = [primary_metric] + [k for k in metrics if k != primary_metric]
    if not params and not metrics:
        params, metrics = keys("params"), keys("metrics")
    return ([f"params.{k}" for k in params[:MAX_DEFAULT_PARAMS]]
            + [f"metrics.{k}" for k in metrics[:MAX_DEFAULT_METRICS]])


def value_text(run: Run, kind: str, name: str) -> str:
    if kind == "metrics":
        return number(run.data.metrics.get(name))
    if kind == "params":
        return run.data.params.get(name, "")
    return run.data.tags.get(name, "")


def data_widths(columns: list[str], runs: list[Run]) -> dict[str, int]:
    widths = {}
    for key in columns:
        kind, name = key.split(".", 1)
        longest = max((len(value_text(run, kind, name)) for run in runs), default=0)
        widths[key] = max(6, min(16, max(len(name) + 2, longest)))  # +2: room for a sort arrow
    return widths


def name_width(longest: int, screen_width: int, others: int, narrow: bool) -> int:
    """The room the name column gets: what the names need, up to what the terminal has once
    the other columns (``others`` cells, padding included) are placed, never less than a
    quarter of the screen (then data columns scroll) and never below the old fixed width."""
    base = NARROW_WIDTHS["attr.name"] if narrow else ATTRIBUTES["attr.name"][1]
    available = screen_width - others - 4  # cell padding and the scrollbar
    room = max(base, available, screen_width // 4)
    return max(min(base, longest), min(longest, room, NAME_MAX))
