"""Compare 2+ runs: params and metrics side by side (differences highlighted, equal rows
hideable, the best value of each metric starred), overlaid metric charts with a legend, and
a grid of every metric, and a scatter of any param or metric against another (tui/screens/scatter.py)."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Input, OptionList, Select, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import get_current_worker



from tui.widgets.footer import FittedFooter
from tui.adapter import CompareData
from tui.datasets import compare_rows
from tui.format import duration, ellipsize, ellipsize_middle, number, rich_colour, short_labels, status_text, when
from tui.messages import CompareLoaded, SeriesLoaded
from tui.screens.base import ChartOptions, DataScreen
from tui.screens.scatter import ScatterScreen, draw_scatter, fill_scatter_selects, scatter_widgets  # noqa: F401
from tui.widgets.chart import GridChart, Legend, MetricChart, ScatterChart
from tui.widgets.system_metrics import PREFIX as SYSTEM_PREFIX
from tui.widgets.tables import Column, KeyTable

LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|rmse|mape|perplexity|latency|time|duration|wer|cer|regret",
                             re.IGNORECASE)
SECTION = "§"
GRID_CHARTS = 24


def is_system(key: str) -> bool:
    return key.startswith(SYSTEM_PREFIX)


def lower_is_better(key: str) -> bool:
    """Which way a metric improves, guessed from its name (b flips it in the table)."""
    return bool(LOWER_IS_BETTER.search(key))


class CompareScreen(ChartOptions, DataScreen):
    AUTO_FOCUS = "#compare-table"
    BINDINGS = [
        Binding("h", "hide_equal", "Hide equal", id="compare.hide_equal",
                tooltip="Show only the rows whose values differ between the runs"),
        Binding("b", "flip_best", "Flip best", id="compare.flip_best",
                tooltip="Flip whether lower or higher is better for the highlighted metric"),
        Binding("x", "axis", "X axis", id="compare.axis", tooltip="Cycle the x axis: step, relative time, wall time"),
        Binding("s", "smoothing", "Smooth", id="compare.smoothing", tooltip="Cycle the smoothing of the chart lines"),
        Binding("l", "log", "Log y", id="compare.log", tooltip="Toggle a log scale for the y axis"),
        Binding("n", "full_names", "Full names", id="compare.full_names",
                tooltip="Show the runs' full names in the headers (or short distinct labels)"),
        Binding("o", "outliers", "Outliers", id="compare.outliers",
                tooltip="Clip the y axis to the bulk of the points (robust quantiles), or show every point"),
        Binding("t", "next_tab", "Next tab", id="compare.next_tab",
                tooltip="Next tab: table, charts, all metrics, scatter"),
        # Digits: a tab (1 table, 2 charts, 3 all metrics, 4 scatter), except on the charts
        # tab, where digit N hides or shows run N's line (the number is in the legend).
        *[Binding(str(n), f"digit({n})", f"Tab/run {n}", id=f"compare.digit.{n}", show=False,
                  tooltip=f"Tab {n}; on the charts tab: hide or show run {n}") for n in range(1, 10)],
    ]
    TABS = ("table", "charts", "grid", "scatter")

    def __init__(self, run_ids: list[str], colours: list[int] | None = None) -> None:
        super().__init__()
        self.run_ids = list(run_ids)
        # one colour per run, the one its mark had in the runs table
        self.colours = list(colours) if colours and len(colours) == len(run_ids) else list(range(len(run_ids)))
        self.full_names = False
        self.clip: bool | None = None  # None: automatic (on when one run dwarfs the rest)
        self.data: CompareData | None = None
        self.hide_equal = False
        self.flipped: set[str] = set()
        self.metric_key: str | None = None
        self.hidden: set[str] = set()  # run ids whose chart line is hidden
        self.series_all: list = []  # the loaded series of metric_key, hidden ones included
        self.grid_keys: list[str] = []
        self.axis = "step"
        self.smoothing = 0.0
        self.log_y = False

    @property
    def screen_name(self) -> str:  # type: ignore[override]
        return f"Compare · {len(self.run_ids)} runs"

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="compare-tabs"):
            with TabPane("Table", id="tab-table"):
                yield KeyTable(id="compare-table", openable=False)
                yield Static(id="compare-status", classes="status-line")
            with TabPane("Charts", id="tab-charts"):
                with Horizontal():
                    yield OptionList(id="compare-metrics")
                    with Vertical():
                        yield MetricChart(id="compare-chart", empty_text="choose a metric on the left")
                        yield Legend(id="compare-legend")
            with TabPane("All metrics", id="tab-grid"):
                yield Input(placeholder="metric names (glob, e.g. val_* or *loss*) · Enter on a chart opens it big",
                            id="grid-filter")
                yield VerticalScroll(Grid(id="compare-grid"), id="compare-grid-scroll")
            with TabPane("Scatter", id="tab-scatter"):
                yield from scatter_widgets("compare")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self.query_one("#compare-tabs").loading = True
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False, description="Loading runs to compare")
    def load(self) -> None:
        data = self.adapter.compare(self.run_ids)
        if not get_current_worker().is_cancelled:
            self.post_message(CompareLoaded(data))

    def on_compare_loaded(self, message: CompareLoaded) -> None:
        before = self.data
        self.data = message.data
        self.query_one("#compare-tabs").loading = False
        self.load_finished()
        self._table()
        self._metric_list()
        fill_scatter_selects(self, "compare", self.data.runs)
        draw_scatter(self, "compare", self.data.runs, self.colours)
        if self.metric_key is not None:
            counts = lambda d: [d.summaries[r.info.run_id].get(self.metric_key).count  # noqa: E731
                                if d.summaries[r.info.run_id].get(self.metric_key) else 0 for r in d.runs]
            if before is None or counts(before) != counts(self.data):
                self.load_series(self.metric_key)

    # --------------------------------------------------------------------- table
    def _rows(self) -> list[tuple[str, str, list[object]]]:
        """(section, label, values per run) for every row the table can show."""
        data = self.data
        assert data is not None
        runs = data.runs
        rows: list[tuple[str, str, list[object]]] = [
            ("run", "name", [r.info.run_name for r in runs]),
            ("run", "status", [r.info.status for r in runs]),
            ("run", "experiment", [data.experiment_names.get(r.info.experiment_id, "") for r in runs]),
            ("run", "start", [when(r.info.start_time) for r in runs]),
            ("run", "duration", [duration(r.info.start_time, r.info.end_time, r.info.status) for r in runs]),
            ("run", "user", [r.info.user_id for r in runs]),
        ]
        for context, labels in compare_rows(runs):  # name@digest per dataset context: different data stands out
            rows.append(("datasets", context, labels))
        for key in sorted({k for r in runs for k in r.data.params}):
            rows.append(("params", key, [r.data.params.get(key) for r in runs]))
        keys = sorted({k for s in data.summaries.values() for k in s})
        # System metrics (CPU, memory, GPU... sampled while the run ran) get their own section
        # after the model's metrics: they are about the machine, not the model.
        for key in [k for k in keys if not is_system(k)] + [k for k in keys if is_system(k)]:
            values = []
            for r in runs:
                summary = data.summaries[r.info.run_id].get(key)
                values.append(summary.value if summary else None)
            rows.append(("system", key[len(SYSTEM_PREFIX):], values) if is_system(key) else ("metrics", key, values))
        for key in sorted({k for r in runs for k in r.data.tags if not k.startswith("mlflow.")}):
            rows.append(("tags", key, [r.data.tags.get(key) for r in runs]))
        return rows

    def _table(self) -> None:
        data = self.data
        if data is None:
            return
        table = self.query_one("#compare-table", KeyTable)
        n = len(data.runs)
        names = [r.info.run_name for r in data.runs]
        if self.full_names:
            width = max(10, min(60, max(len(name) for name in names)))
            labels = names
        else:
            width = max(10, min(20, (self.size.width - 26) // max(n, 1) - 2))
            labels = self.labels(width)
        columns = [Column("key", "", 22)] + [
            Column(f"run{i}", Text(ellipsize(label, width), style=f"bold {rich_colour(self.colours[i])}"), width)
            for i, label in enumerate(labels)]
        rows = []
        differing = 0
        section = None
        for kind, label, values in self._rows():
            distinct = {repr(v) for v in values}
            differs = len(distinct) > 1
            differing += differs
            if self.hide_equal and not differs and kind != "run":
                continue
            if kind != section:
                section = kind
                rows.append((f"{SECTION}{kind}", [Text(f"── {kind}", style="bold dim")] + [Text("")] * n))
            best = self._best(label, values) if kind == "metrics" else None
            cells: list[Text] = [Text(("≠ " if differs else "  ") + ellipsize(label, 20),
                                      style="bold" if differs else "dim")]
            for i, value in enumerate(values):
                if kind in ("metrics", "system"):
                    shown = number(value, 6) if value is not None else "–"
                else:
                    shown = "–" if value is None else str(value)
                style = "yellow" if differs else "dim"
                if kind == "run" and label == "status" and value:
                    cell = status_text(str(value))
                elif best is not None and i in best:
                    cell = Text(ellipsize("★ " + shown, width), style="bold green")
                elif kind == "run" and label == "name":
                    cell = Text(ellipsize_middle(shown, width), style=style)  # names differ at the end
                else:
                    cell = Text(ellipsize(shown, width), style=style)
                cells.append(cell)
            rows.append((f"{kind}.{label}", cells))
        table.fill(columns, rows)
        hidden = " · equal rows hidden (h)" if self.hide_equal else " · h hides equal rows"
        self.query_one("#compare-status", Static).update(Text(
            f"{n} runs · {differing} differing rows · ★ best (b flips lower/higher for the metric){hidden}"))

    def labels(self, width: int) -> list[str]:
        """Short labels that tell the runs apart (the words their names do not share)."""
        return short_labels([r.info.run_name for r in self.data.runs], width) if self.data else []

    def action_full_names(self) -> None:
        self.full_names = not self.full_names
        self._table()
        if self.metric_key:
            self._legend()

    def action_outliers(self) -> None:
        chart = self.query_one("#compare-chart", MetricChart)
        self.clip = not chart.clipping
        chart.set_options(clip=self.clip)
        self._legend()

    def _best(self, key: str, values: list[object]) -> set[int] | None:
        numbers = [(i, v) for i, v in enumerate(values) if isinstance(v, float) and v == v]
        if len(numbers) < 2:
            return None
        lower = lower_is_better(key) != (key in self.flipped)
        target = min(v for _, v in numbers) if lower else max(v for _, v in numbers)
        return {i for i, v in numbers if v == target}

    def action_hide_equal(self) -> None:
        self.hide_equal = not self.hide_equal
        self._table()

    def action_flip_best(self) -> None:
        key = self.query_one("#compare-table", KeyTable).cursor_key or ""
        if not key.startswith("metrics."):
            self.notify("move to a metric row first", severity="warning")
            return
        self.flipped ^= {key.split(".", 1)[1]}
        self._table()

    # -------------------------------------------------------------------- charts
    def _metric_list(self) -> None:
        data = self.data
        assert data is not None
        keys = sorted({k for s in data.summaries.values() for k in s})
        # The model's metrics first (the first one is charted); system metrics after them.
        keys = [k for k in keys if not is_system(k)] + [k for k in keys if is_system(k)]
        options = self.query_one("#compare-metrics", OptionList)
        if [o.id for o in options.options] == keys:
            return
        options.clear_options()
        options.add_options([Option(ellipsize(k, 22), id=k) for k in keys])
        if keys:
            options.highlighted = 0 if self.metric_key not in keys else keys.index(self.metric_key)

    @on(OptionList.OptionHighlighted, "#compare-metrics")
    def metric_chosen(self, event: OptionList.OptionHighlighted) -> None:
        key = event.option.id
        if key and key != self.metric_key:
            self.metric_key = key
            self.load_series(key)

    @work(thread=True, exclusive=True, group="series", exit_on_error=False, description="Reading the metric")
    def load_series(self, key: str) -> None:
        data = self.data
        if data is None:
            return
        series = []
        for i, run in enumerate(data.runs):
            if key in data.summaries[run.info.run_id]:
                series.append(self.adapter.metric_series(run.info.run_id, key, run.info.run_name, self.colours[i]))
            if get_current_worker().is_cancelled:
                return
        self.post_message(SeriesLoaded("compare-chart", key, series))

    def on_series_loaded(self, message: SeriesLoaded) -> None:
        if message.target == "grid":
            for chart in self.query("#compare-grid GridChart").results(GridChart):
                if chart.name == message.key:
                    chart.set_options(axis=self.axis, smoothing=self.smoothing, log_y=self.log_y)
                    chart.show(message.series)
            return
        if message.key != self.metric_key:
            return
        chart = self.query_one("#compare-chart", MetricChart)
        chart.set_options(axis=self.axis, smoothing=self.smoothing, log_y=self.log_y, clip=self.clip)
        self.series_all = list(message.series)
        chart.show([s for s in self.series_all if s.run_id not in self.hidden])
        chart.border_title = ellipsize(message.key, 40)
        self._legend()

    def _legend(self) -> None:
        chart = self.query_one("#compare-chart", MetricChart)
        chart.border_subtitle = chart.options_text
        data = self.data
        runs = data.runs if data else []
        labels = [r.info.run_name for r in runs] if self.full_names else self.labels(24)
        present = {s.run_id for s in self.series_all}
        shown = [(i, r) for i, r in enumerate(runs) if r.info.run_id in present]
        entries = [(labels[i], self.colours[i]) for i, _ in shown]
        keys = [str(i + 1) if i < 9 else "" for i, _ in shown]
        hidden = {n for n, (_, r) in enumerate(shown) if r.info.run_id in self.hidden}
        notes = []
        absent = [labels[i] for i, r in enumerate(runs) if r.info.run_id not in present]
        if absent:
            notes.append(f"no {self.metric_key}: {', '.join(absent[:3])}" + (" …" if len(absent) > 3 else ""))
        from tui.series import dropped_notes

        by_id = {r.info.run_id: labels[i] for i, r in enumerate(runs)}
        for s in chart.series:  # what the chart leaves out (NaN points), by the legend's label
            for note in dropped_notes([s], chart.log_y):
                notes.append(f"{by_id.get(s.run_id, s.label)}: {note.partition(': ')[2]}")
        if chart.clipping:
            notes.append("y clipped to the bulk of the points (an outlier run or spike): o shows every point")
        if self.hidden:
            notes.append(f"{len(self.hidden)} hidden (press its number)")
        self.query_one("#compare-legend", Legend).show(entries, " · ".join(notes), keys=keys, hidden=hidden)

    def _apply_options(self) -> None:
        chart = self.query_one("#compare-chart", MetricChart)
        chart.set_options(axis=self.axis, smoothing=self.smoothing, log_y=self.log_y)
        self._legend()  # the chart's subtitle shows the options

    def action_tab(self, tab: str) -> None:
        self.query_one("#compare-tabs", TabbedContent).active = f"tab-{tab}"
        target = {"table": "#compare-table", "charts": "#compare-metrics", "scatter": "#compare-x",
                  "grid": "#grid-filter"}[tab]
        self.query_one(target).focus()

    def _active_tab(self) -> str:
        return str(self.query_one("#compare-tabs", TabbedContent).active).removeprefix("tab-")

    def action_next_tab(self) -> None:
        tab = self._active_tab()
        self.action_tab(self.TABS[(self.TABS.index(tab) + 1) % len(self.TABS)] if tab in self.TABS else "table")

    def action_digit(self, n: int) -> None:
        if self._active_tab() == "charts":
            self.toggle_run(n - 1)
        elif n <= len(self.TABS):
            self.action_tab(self.TABS[n - 1])

    def toggle_run(self, index: int) -> None:
        """Hide or show run ``index``'s line (a diverged or finished-early run out of the way)."""
        if self.data is None or index >= len(self.data.runs):
            return
        run_id = self.data.runs[index].info.run_id
        self.hidden ^= {run_id}
        chart = self.query_one("#compare-chart", MetricChart)
        chart.show([s for s in self.series_all if s.run_id not in self.hidden])
        self._legend()

    # ------------------------------------------------------------- all metrics
    @on(TabbedContent.TabActivated, "#compare-tabs")
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-grid":
            self._build_grid()

    @on(Input.Changed, "#grid-filter")
    def grid_filter_changed(self) -> None:
        self._build_grid()

    def _build_grid(self) -> None:
        """Every metric (matching the glob) as a small chart over the compared runs."""
        from fnmatch import fnmatchcase

        if self.data is None:
            return
        pattern = self.query_one("#grid-filter", Input).value.strip()
        keys = sorted({k for s in self.data.summaries.values() for k in s})
        if "system" not in pattern:  # system metrics only when asked for (e.g. system/*)
            keys = [k for k in keys if not is_system(k)]
        if pattern:
            keys = [k for k in keys if fnmatchcase(k, pattern if any(c in pattern for c in "*?[") else f"*{pattern}*")]
        keys = keys[:GRID_CHARTS]
        if keys == self.grid_keys:
            return
        self.grid_keys = keys
        grid = self.query_one("#compare-grid", Grid)
        grid.set_class(self.size.width >= 120, "-wide")
        grid.remove_children()
        if not keys:
            grid.mount(Static(Text("no metric matches" if pattern else "no metric logged", style="dim")))
            return
        charts = []
        for key in keys:
            chart = GridChart(name=key, classes="grid-chart")
            chart.border_title = ellipsize(key, 30)
            charts.append(chart)
        grid.mount_all(charts)
        self.load_grid(keys)

    @work(thread=True, exclusive=True, group="grid", exit_on_error=False, description="Reading the metrics")
    def load_grid(self, keys: list[str]) -> None:
        data = self.data
        if data is None:
            return
        for key in keys:
            series = [self.adapter.metric_series(run.info.run_id, key, run.info.run_name, self.colours[i])
                      for i, run in enumerate(data.runs) if key in data.summaries[run.info.run_id]]
            if get_current_worker().is_cancelled:
                return
            self.post_message(SeriesLoaded("grid", key, series))

    @on(GridChart.Open)
    def open_big(self, event: GridChart.Open) -> None:
        self.action_tab("charts")
        options = self.query_one("#compare-metrics", OptionList)
        ids = [o.id for o in options.options]
        if event.key in ids:
            options.highlighted = ids.index(event.key)

    @on(Select.Changed)
    @on(ScatterChart.Picked)
    def axis_changed(self) -> None:
        if self.data is not None:
            draw_scatter(self, "compare", self.data.runs, self.colours)

    @on(ScatterChart.OpenRun)
    def open_dot(self, event: ScatterChart.OpenRun) -> None:
        self.lt_app.open_run(event.run_id)
