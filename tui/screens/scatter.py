"""Scatter (a param or metric against another, one dot per run) and parallel coordinates
(params -> metric, one line per run, coloured by the metric): the sweep views.

Defaults are what a sweep asks: x is a param whose values vary, y the primary metric (else a
metric that varies); a learning-rate-like x spanning decades is drawn on a log scale. A dot
can be picked (←/→ walk the dots in x order, Enter opens the run). Over a big search the
runs drawn are a random sample, and the title says so.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Select, Static
from textual.worker import get_current_worker

from lighttrack.entities import Run

from tui.widgets.footer import FittedFooter
from tui.adapter import RunQuery, ScatterSample
from tui.format import ellipsize, number
from tui.messages import ScatterRunsLoaded
from tui.screens.base import DataScreen
from tui.widgets.chart import Legend, ScatterChart
from tui.widgets.parallel import ParallelChart


def value_of(run: Run, field: str) -> object:
    """A run's value for a scatter/compare field: ``metrics.k``, ``params.k``, ``attr.duration``."""
    kind, key = field.split(".", 1)
    if kind == "metrics":
        return run.data.metrics.get(key)
    if kind == "params":
        return run.data.params.get(key)
    if kind == "tags":
        return run.data.tags.get(key)
    info = run.info
    if key == "duration":
        return (info.end_time - info.start_time) / 1000 if info.end_time and info.start_time else None
    if key == "start":
        return info.start_time / 1000 if info.start_time else None
    return None


def varies(runs: list[Run], field: str) -> bool:
    return len({repr(value_of(run, field)) for run in runs}) > 1


def field_choices(runs: list[Run]) -> list[tuple[str, str]]:
    """Every param and metric, the ones that vary between the runs first."""
    metrics = sorted({k for run in runs for k in run.data.metrics})
    params = sorted({k for run in runs for k in run.data.params})
    fields = [(f"param: {k}", f"params.{k}") for k in params] + [(f"metric: {k}", f"metrics.{k}") for k in metrics]
    moving = [f for f in fields if varies(runs, f[1])]
    still = [(f"{label} (same for all)", value) for label, value in fields if not varies(runs, value)]
    return moving + [("duration (s)", "attr.duration")] + still


def default_axes(runs: list[Run], primary: str | None = None) -> tuple[str | None, str | None]:
    """x: a param that varies (numeric ones first: lr, batch size); y: the primary metric, else
    a metric that varies."""
    params = sorted({k for run in runs for k in run.data.params})
    moving = [k for k in params if varies(runs, f"params.{k}")]

    def numeric(key: str) -> bool:
        try:
            [float(run.data.params[key]) for run in runs if key in run.data.params]
        except ValueError:
            return False
        return True
    moving.sort(key=lambda k: not numeric(k))
    metrics = sorted({k for run in runs for k in run.data.metrics})
    if primary in metrics:
        y = primary
    else:
        y = next((k for k in metrics if varies(runs, f"metrics.{k}")), metrics[0] if metrics else None)
    x = moving[0] if moving else (params[0] if params else None)
    return (f"params.{x}" if x else None), (f"metrics.{y}" if y else None)


def wants_log(values: list[object]) -> bool:
    """Positive numbers spanning two decades or more (learning rates, weight decays)."""
    try:
        numbers = [float(v) for v in values if v is not None]
    except (TypeError, ValueError):
        return False
    positive = [v for v in numbers if v > 0 and math.isfinite(v)]
    return len(positive) == len(numbers) and len(set(positive)) >= 3 and max(positive) / min(positive) >= 100


def scatter_widgets(prefix: str) -> ComposeResult:
    with Horizontal(classes="scatter-axes"):
        yield Static("x", classes="axis-label")
        yield Select([], id=f"{prefix}-x", prompt="x: param or metric", allow_blank=True)
        yield Static("y", classes="axis-label")
        yield Select([], id=f"{prefix}-y", prompt="y: param or metric", allow_blank=True)
    yield ScatterChart(id=f"{prefix}-scatter")
    yield Legend(id=f"{prefix}-scatter-legend")


def fill_scatter_selects(screen: DataScreen, prefix: str, runs: list[Run], primary: str | None = None) -> None:
    choices = field_choices(runs)
    values = [v for _, v in choices]
    x_default, y_default = default_axes(runs, primary)
    for which, default in (("x", x_default), ("y", y_default)):
        select = screen.query_one(f"#{prefix}-{which}", Select)
        current = select.value
        if getattr(select, "_lt_choices", None) == values:
            continue
        select._lt_choices = values  # type: ignore[attr-defined]
        select.set_options([(ellipsize(label, 34), value) for label, value in choices])
        if current in values:
            select.value = current
        elif default in values:
            select.value = default
        elif values:
            select.value = values[0]


def draw_scatter(screen: DataScreen, prefix: str, runs: list[Run], colours: list[int] | None = None) -> None:
    x = screen.query_one(f"#{prefix}-x", Select).value
    y = screen.query_one(f"#{prefix}-y", Select).value
    chart = screen.query_one(f"#{prefix}-scatter", ScatterChart)
    legend = screen.query_one(f"#{prefix}-scatter-legend", Legend)
    if not isinstance(x, str) or not isinstance(y, str):
        chart.show([], "", "")
        legend.show([], "choose x and y above")
        return
    many = len(runs) > 10
    points = [(run.info.run_name, value_of(run, x), value_of(run, y),
               0 if many else (colours[i] if colours else i)) for i, run in enumerate(runs)]
    log_x = chart.log_x_choice if chart.log_x_choice is not None else wants_log([p[1] for p in points])
    chart.show(points, x.split(".", 1)[-1], y.split(".", 1)[-1], run_ids=[r.info.run_id for r in runs], log_x=log_x)
    shown = len(chart.points)
    picked = chart.picked_text()
    hint = "←/→ pick a dot · Enter opens its run · L log x"
    if many:
        legend.show([], " · ".join(filter(None, [f"{shown} of {len(runs)} runs have both values", picked, hint])))
    else:
        legend.show([(name, c) for name, a, b, c in points if a is not None and b is not None],
                    " · ".join(filter(None, [f"{len(runs) - shown} run(s) lack a value" if shown < len(runs) else "",
                                             picked, hint])))


class ScatterScreen(DataScreen):
    """A param or metric against another over the runs the runs table's filter matches: all
    of them up to ``CAP``, else a random sample of ``CAP`` (R draws another)."""

    CAP = 2000
    AUTO_FOCUS = "#runs-scatter"
    BINDINGS = [
        Binding("R", "resample", "Resample", id="scatter.resample", tooltip="Draw another random sample of the runs"),
        Binding("P", "parallel", "Parallel", id="scatter.parallel",
                tooltip="Parallel coordinates: the varying params -> the metric, one line per run"),
    ]

    def __init__(self, query: RunQuery, *, view: str = "scatter") -> None:
        super().__init__()
        self.run_query = query
        self.runs: list[Run] = []
        self.sample: ScatterSample | None = None
        self.view = view
        self.seed = 0
        if view == "parallel":
            self.AUTO_FOCUS = None  # the scatter is hidden: its keys must not be in the footer

    @property
    def screen_name(self) -> str:  # type: ignore[override]
        return "Parallel coordinates" if self.view == "parallel" else "Scatter"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="scatter-title", classes="status-line")
        yield from scatter_widgets("runs")
        yield ParallelChart(id="runs-parallel")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self._view()
        self.query_one("#runs-scatter").loading = True
        self.reload()

    def _view(self) -> None:
        parallel = self.view == "parallel"
        for widget in self.query(".scatter-axes, #runs-scatter, #runs-scatter-legend"):
            widget.display = not parallel
        self.query_one("#runs-parallel").display = parallel
        self.app.sub_title = self.screen_name

    def reload(self, live: bool = False) -> None:
        self.load(self.seed)

    @work(thread=True, exclusive=True, group="scatter", exit_on_error=False, description="Loading runs")
    def load(self, seed: int) -> None:
        sample = self.adapter.runs_for_scatter(self.run_query, self.CAP, seed=seed)
        if not get_current_worker().is_cancelled:
            self.post_message(ScatterRunsLoaded(sample))

    def on_scatter_runs_loaded(self, message: ScatterRunsLoaded) -> None:
        sample = message.runs
        self.sample = sample
        self.runs = sample.runs
        self.query_one("#runs-scatter").loading = False
        if sample.total > len(sample.runs):
            text = f"a random sample of {len(self.runs):,} of {sample.total:,} runs ({sample.how}; R draws another)"
        else:
            text = f"{len(self.runs):,} runs"
        if self.run_query.filter_text:
            text += f" matching {self.run_query.filter_text}"
        self.query_one("#scatter-title", Static).update(Text(ellipsize(text, 240)))
        fill_scatter_selects(self, "runs", self.runs, sample.primary_metric)
        draw_scatter(self, "runs", self.runs)
        self.query_one("#runs-parallel", ParallelChart).show_runs(self.runs, sample.primary_metric)

    @on(Select.Changed)
    def axis_changed(self, event: Select.Changed) -> None:
        draw_scatter(self, "runs", self.runs)

    @on(ScatterChart.Picked)
    def picked(self, event: ScatterChart.Picked) -> None:
        draw_scatter(self, "runs", self.runs)

    @on(ScatterChart.OpenRun)
    def open_run(self, event: ScatterChart.OpenRun) -> None:
        self.lt_app.open_run(event.run_id)

    def action_resample(self) -> None:
        self.seed += 1
        self.query_one("#runs-scatter").loading = True
        self.load(self.seed)

    def action_parallel(self) -> None:
        self.view = "scatter" if self.view == "parallel" else "parallel"
        self._view()
        if self.view == "parallel":
            self.set_focus(None)
        else:
            self.query_one("#runs-scatter").focus()


def describe_point(name: str, x: object, y: object, x_label: str, y_label: str) -> str:
    def shown(value: object) -> str:
        return number(value) if isinstance(value, float) else str(value)
    return f"● {name}: {x_label}={shown(x)}, {y_label}={shown(y)}"
