"""Run detail: overview, params, metrics (last/min/max/steps) with a chart of each, tags,
artifacts with a preview, and logged models with their signature and registered versions."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Header, Static, TabbedContent, TabPane, Tree
from textual.worker import get_current_worker

from tui.widgets.footer import FittedFooter
from tui.adapter import NOTE_TAG, PARENT_TAG, RunDetail
from tui.datasets import inputs_renderable
from tui.format import duration, ellipsize, ellipsize_middle, number, size_text, status_text, when
from tui.messages import ActionDone, ArtifactLoaded, RunDetailLoaded, SeriesLoaded
from tui.screens.base import ChartOptions, DataScreen
from tui.screens.dialogs import PromptDialog, TagEditor
from tui.widgets.chart import MetricChart
from tui.widgets.preview import PREVIEW_LIMIT, ArtifactPreview
from tui.widgets.system_metrics import SystemMetricsPanel, system_summaries
from tui.widgets.tables import Column, KeyTable

TABS = ("overview", "params", "metrics", "charts", "tags", "artifacts", "models", "system")
GRID_CHARTS = 24


class RunDetailScreen(ChartOptions, DataScreen):
    AUTO_FOCUS = "#metrics-table"
    BINDINGS = [
        Binding("x", "axis", "X axis", id="run.axis", tooltip="Cycle the chart's x axis: step, relative time, wall time"),
        Binding("s", "smoothing", "Smooth", id="run.smoothing", tooltip="Cycle the chart smoothing (moving average)"),
        Binding("l", "log", "Log y", id="run.log", tooltip="Toggle a log scale for the chart's y axis"),
        Binding("e", "describe", "Describe", id="run.describe", tooltip="Edit the run's description"),
        Binding("t", "tags", "Tags", id="run.tags", tooltip="Edit the run's tags"),
        Binding("r", "rename", "Rename", id="run.rename", tooltip="Rename the run"),
        Binding("P", "parent", "Parent", id="run.parent", tooltip="Open the parent run"),
        Binding("D", "save_artifact", "Save artifact", id="run.save_artifact",
                tooltip="Save the highlighted artifact (file or folder) into a folder you choose"),
        *[Binding(str(i + 1), f"tab('{tab}')", tab.title(), id=f"run.tab.{tab}", show=False,
                  tooltip=f"Show the {tab} tab") for i, tab in enumerate(TABS)],
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.detail: RunDetail | None = None
        self.metric_key: str | None = None
        self.artifact_paths: list[str] | None = None
        self.grid_keys: list[str] = []
        self.axis = "step"
        self.smoothing = 0.0
        self.log_y = False
        self.preview_path: str | None = None
        self.system_key: str | None = None  # the system metric charted on the System tab

    @property
    def screen_name(self) -> str:  # type: ignore[override]
        name = self.detail.run.info.run_name if self.detail else self.run_id[:8]
        return f"Run · {ellipsize(name, 40)}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="run-title")
        with TabbedContent(id="run-tabs", initial="tab-metrics"):
            with TabPane("Overview", id="tab-overview"):
                with VerticalScroll():
                    yield Static(id="run-info")
                    yield Static(id="run-description")
                    yield Static(id="run-inputs")  # the datasets the run used (tui/datasets.py)
                    yield Static(id="children-title")
                    yield KeyTable(id="children-table")
            with TabPane("Params", id="tab-params"):
                yield KeyTable(id="params-table", openable=False)
            with TabPane("Metrics", id="tab-metrics"):
                with Vertical():
                    yield KeyTable(id="metrics-table", openable=False)
                    yield MetricChart(id="metric-chart", empty_text="no metric logged")
            with TabPane("Charts", id="tab-charts"):
                yield VerticalScroll(Grid(id="charts-grid"), id="charts-scroll")
            with TabPane("Tags", id="tab-tags"):
                yield KeyTable(id="tags-table", openable=False)
            with TabPane("Artifacts", id="tab-artifacts"):
                with Horizontal():
                    yield Tree("artifacts", id="artifact-tree")
                    yield ArtifactPreview(id="artifact-preview")
            with TabPane("Models", id="tab-models"):
                with VerticalScroll():
                    yield Static(id="models-text")
            with TabPane("System", id="tab-system"):  # shown only for runs with system metrics
                yield SystemMetricsPanel(id="system-panel")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self.query_one("#run-tabs").loading = True
        self.query_one("#metric-chart", MetricChart).border_title = "metric"
        self.query_one("#artifact-tree", Tree).show_root = False
        self.query_one("#run-tabs", TabbedContent).hide_tab("tab-system")
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load(live)

    @work(thread=True, exclusive=True, group="run", exit_on_error=False, description="Loading the run")
    def load(self, live: bool) -> None:
        detail = self.adapter.run_detail(self.run_id)
        if not get_current_worker().is_cancelled:
            self.post_message(RunDetailLoaded(detail, live))

    def on_run_detail_loaded(self, message: RunDetailLoaded) -> None:
        before = self.detail
        detail = self.detail = message.detail
        self.query_one("#run-tabs").loading = False
        self.load_finished()
        if self.app.screen is self:
            self.app.sub_title = self.screen_name
        self._title(detail)
        self._overview(detail)
        self.query_one("#run-inputs", Static).update(inputs_renderable(detail.inputs, self.size.width))
        self._children(detail)
        self._params(detail)
        self._metrics(detail)
        self._tags(detail)
        self._artifacts(detail)
        self._models(detail)
        self._system(detail, before)
        # Live: a series that grew is read again, so a RUNNING run's chart grows.
        if self.metric_key and before is not None:
            old = {s.key: s.count for s in before.summaries}
            new = {s.key: s.count for s in detail.summaries}
            if old.get(self.metric_key) != new.get(self.metric_key):
                self.load_series("metric-chart", [self.metric_key])
            if self.grid_keys and any(old.get(k) != new.get(k) for k in self.grid_keys):
                self.load_series("grid", self.grid_keys)

    # ----------------------------------------------------------------- the parts
    def _title(self, detail: RunDetail) -> None:
        info = detail.run.info
        text = Text()
        text.append(ellipsize(info.run_name, 40), style="bold")
        text.append("  ")
        text.append_text(status_text(info.status))
        text.append(f"  {ellipsize(detail.experiment_name, 24)} · {when(info.start_time)}"
                    f" · {duration(info.start_time, info.end_time, info.status) or '–'}", style="dim")
        if info.lifecycle_stage == "deleted":
            text.append("  deleted", style="bold red")
        self.query_one("#run-title", Static).update(text)

    def _overview(self, detail: RunDetail) -> None:
        run, info = detail.run, detail.run.info
        tags = run.data.tags
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        rows = [
            ("name", info.run_name), ("run id", Text(info.run_id, style="")), ("experiment", detail.experiment_name),
            ("status", status_text(info.status)), ("start", when(info.start_time, True)),
            ("end", when(info.end_time, True)), ("duration", duration(info.start_time, info.end_time, info.status)),
            ("user", info.user_id), ("parent", detail.parent.info.run_name if detail.parent else ""),
            ("source", tags.get("mlflow.source.name", "")), ("git commit", tags.get("mlflow.source.git.commit", "")),
            ("git branch", tags.get("mlflow.source.git.branch", "")), ("lifecycle", info.lifecycle_stage),
            ("artifacts", info.artifact_uri),
            ("counts", f"{len(run.data.params)} params · {len(detail.summaries)} metrics · "
                       f"{len(tags)} tags · {len(detail.artifacts)} artifact files"),
        ]
        for label, value in rows:
            if value:
                table.add_row(label, value if isinstance(value, Text) else Text(str(value)))
        self.query_one("#run-info", Static).update(table)
        note = tags.get(NOTE_TAG, "")
        self.query_one("#run-description", Static).update(
            Group(Text("\ndescription", style="bold"),
                  Text(note) if note else Text("none yet: press e to write one", style="dim italic")))

    def _children(self, detail: RunDetail) -> None:
        """A parent run lists its nested runs; Enter on one opens it."""
        title = self.query_one("#children-title", Static)
        table = self.query_one("#children-table", KeyTable)
        table.display = bool(detail.children)
        if not detail.children:
            title.update("")
            return
        title.update(Text(f"\nchild runs ({len(detail.children)}) · Enter opens one", style="bold"))
        width = max(20, min(60, self.size.width - 40))
        table.fill(
            [Column("name", "name", width), Column("status", "status", 8), Column("start", "start", 16),
             Column("duration", "duration", 8)],
            [(child.info.run_id, [Text(ellipsize_middle(child.info.run_name, width)), status_text(child.info.status),
                                  Text(when(child.info.start_time)),
                                  Text(duration(child.info.start_time, child.info.end_time, child.info.status))])
             for child in detail.children])

    @on(KeyTable.RowSelected, "#children-table")
    def open_child(self, event: KeyTable.RowSelected) -> None:
        self.lt_app.open_run(event.row_key.value)

    def _params(self, detail: RunDetail) -> None:
        params = detail.run.data.params
        width = max(20, self.size.width - 34)
        self.query_one("#params-table", KeyTable).fill(
            [Column("key", "param", 28), Column("value", "value", width)],
            [(key, [Text(ellipsize(key, 28)), Text(ellipsize(params[key], width))]) for key in sorted(params)])

    def _metrics(self, detail: RunDetail) -> None:
        table = self.query_one("#metrics-table", KeyTable)
        columns = [Column("key", "metric", 20), Column("last", "last", 9), Column("min", "min", 9),
                   Column("max", "max", 9), Column("step", "step", 7), Column("points", "points", 8)]
        rows = [(s.key, [Text(ellipsize(s.key, 20)), Text(number(s.value), justify="right"),
                         Text(number(s.min), justify="right"), Text(number(s.max), justify="right"),
                         Text(f"{s.step:,}", justify="right"), Text(f"{s.count:,}", justify="right")])
                for s in detail.summaries]
        table.fill(columns, rows)
        if self.metric_key is None and detail.summaries:
            self.metric_key = detail.summaries[0].key
            self.load_series("metric-chart", [self.metric_key])
        elif not detail.summaries:
            self.query_one("#metric-chart", MetricChart).show([])

    def _tags(self, detail: RunDetail) -> None:
        tags = detail.run.data.tags
        width = max(20, self.size.width - 38)
        keys = sorted(tags, key=lambda k: (k.startswith("mlflow."), k))
        self.query_one("#tags-table", KeyTable).fill(
            [Column("key", "tag", 32), Column("value", "value", width)],
            [(k, [Text(ellipsize(k, 32), style="dim" if k.startswith("mlflow.") else ""),
                  Text(ellipsize(tags[k], width))]) for k in keys])

    def _artifacts(self, detail: RunDetail) -> None:
        paths = [f.path for f in detail.artifacts]
        if paths == self.artifact_paths:
            return
        self.artifact_paths = paths
        tree = self.query_one("#artifact-tree", Tree)
        tree.clear()
        folders: dict[str, object] = {"": tree.root}
        for info in sorted(detail.artifacts, key=lambda f: f.path):
            parts = info.path.split("/")
            for depth in range(1, len(parts)):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    parent = folders["/".join(parts[: depth - 1])]
                    folders[folder] = parent.add(parts[depth - 1] + "/", data=None, expand=True)  # type: ignore[attr-defined]
            parent = folders["/".join(parts[:-1])]
            parent.add_leaf(f"{parts[-1]}  [dim]{size_text(info.file_size)}[/dim]", data=(info.path, info.file_size))  # type: ignore[attr-defined]
        tree.root.expand()
        preview = self.query_one("#artifact-preview", ArtifactPreview)
        if not paths:
            preview.message("this run has no artifacts")
            return
        # the first file is shown at once (and highlighted), not after a key press
        first = self._first_file(tree.root)
        if first is not None and self.preview_path is None:
            tree.move_cursor(first)
            self.preview_path = first.data[0]
            preview.loading = True
            self.load_artifact(*first.data)

    @staticmethod
    def _first_file(node):
        for child in node.children:
            if child.data:
                return child
            found = RunDetailScreen._first_file(child)
            if found is not None:
                return found
        return None

    def _models(self, detail: RunDetail) -> None:
        parts: list[object] = []
        if not detail.models:
            parts.append(Text("no model logged in this run", style="dim"))
        for model in detail.models:
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", no_wrap=True)
            table.add_column(overflow="fold")
            table.add_row("model", Text(model.path, style="bold"))
            if model.entity is not None:  # MLflow 3's LoggedModel
                table.add_row("model id", f"{model.entity.model_id}  ({model.entity.status})")
            table.add_row("flavors", ", ".join(model.flavors) or "–")
            table.add_row("inputs", model.inputs or "–")
            table.add_row("outputs", model.outputs or "–")
            if model.created:
                table.add_row("created", model.created)
            versions = ", ".join(
                f"{v.name} v{v.version} ({getattr(v, 'current_stage', None) or 'None'})" for v in model.versions)
            table.add_row("registered", versions or ("not registered" if self.adapter.has_registry else
                                                     "the registry is not available"))
            parts.extend([table, Text("")])
        self.query_one("#models-text", Static).update(Group(*parts))

    def _system(self, detail: RunDetail, before: RunDetail | None) -> None:
        """The System tab: there only when the run has system metrics; live like the others."""
        tabs = self.query_one("#run-tabs", TabbedContent)
        if not system_summaries(detail.summaries):
            tabs.hide_tab("tab-system")
            return
        tabs.show_tab("tab-system")
        keys = self.query_one("#system-panel", SystemMetricsPanel).fill(detail.summaries)
        if self.system_key not in keys:
            self.system_key = keys[0]
            self.load_series("system-chart", [self.system_key])
        elif before is not None:
            old = {s.key: s.count for s in before.summaries}
            new = {s.key: s.count for s in detail.summaries}
            if old.get(self.system_key) != new.get(self.system_key):
                self.load_series("system-chart", [self.system_key])

    @on(KeyTable.RowHighlighted, "#system-table")
    def system_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key and key != self.system_key:
            self.system_key = key
            self.load_series("system-chart", [key])

    # -------------------------------------------------------------------- charts
    @on(KeyTable.RowHighlighted, "#metrics-table")
    def metric_highlighted(self, event: KeyTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key and key != self.metric_key:
            self.metric_key = key
            self.load_series("metric-chart", [key])

    @work(thread=True, exclusive=True, group="series", exit_on_error=False, description="Reading the metric")
    def load_series(self, target: str, keys: list[str]) -> None:
        worker = get_current_worker()
        for key in keys:
            series = self.adapter.metric_series(self.run_id, key)
            if worker.is_cancelled:
                return
            self.post_message(SeriesLoaded(target, key, [series]))

    def on_series_loaded(self, message: SeriesLoaded) -> None:
        if message.target == "metric-chart":
            if message.key != self.metric_key:
                return
            chart = self.query_one("#metric-chart", MetricChart)
        elif message.target == "system-chart":
            if message.key != self.system_key:
                return
            chart = self.query_one("#system-chart", MetricChart)
        else:
            charts = [c for c in self.query("#charts-grid MetricChart").results(MetricChart) if c.name == message.key]
            if not charts:
                return
            chart = charts[0]
        chart.set_options(axis=self.axis, smoothing=self.smoothing, log_y=self.log_y)
        chart.show(message.series)
        chart.border_title = ellipsize(message.key, 40)
        chart.border_subtitle = self._chart_subtitle(chart)

    def _chart_subtitle(self, chart: MetricChart) -> str:
        points = sum(len(s) for s in chart.series)
        notes = chart.prepared.notes if chart.prepared else []
        return f"{points:,} points · {chart.options_text}" + (f" · {len(notes)} note(s)" if notes else "")

    @on(TabbedContent.TabActivated, "#run-tabs")
    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-charts" and self.detail is not None:
            self._build_grid()

    def _build_grid(self) -> None:
        keys = [s.key for s in self.detail.summaries][:GRID_CHARTS] if self.detail else []
        if keys == self.grid_keys:
            return
        self.grid_keys = keys
        grid = self.query_one("#charts-grid", Grid)
        grid.set_class(self.size.width >= 120, "-wide")
        grid.remove_children()
        if not keys:
            grid.mount(Static(Text("no metric logged", style="dim")))
            return
        grid.mount_all([self._grid_chart(key) for key in keys])
        self.load_series("grid", keys)

    def on_resize(self) -> None:
        self.query_one("#charts-grid", Grid).set_class(self.size.width >= 120, "-wide")

    def _grid_chart(self, key: str) -> MetricChart:
        chart = MetricChart(name=key, classes="grid-chart")
        chart.border_title = ellipsize(key, 30)
        return chart

    def _charts(self) -> list[MetricChart]:
        return [self.query_one("#metric-chart", MetricChart), self.query_one("#system-chart", MetricChart),
                *self.query("#charts-grid MetricChart").results(MetricChart)]

    def _apply_options(self) -> None:
        for chart in self._charts():
            chart.set_options(axis=self.axis, smoothing=self.smoothing, log_y=self.log_y)
            chart.border_subtitle = self._chart_subtitle(chart)  # shows the options

    def action_tab(self, tab: str) -> None:
        self.query_one("#run-tabs", TabbedContent).active = f"tab-{tab}"
        target = {"params": "#params-table", "metrics": "#metrics-table", "tags": "#tags-table",
                  "artifacts": "#artifact-tree", "charts": "#charts-scroll", "system": "#system-table"}.get(tab)
        if target:
            self.query_one(target).focus()

    # ----------------------------------------------------------------- artifacts
    @on(Tree.NodeHighlighted, "#artifact-tree")
    @on(Tree.NodeSelected, "#artifact-tree")
    def artifact_chosen(self, event: Tree.NodeHighlighted) -> None:
        data = event.node.data
        if not data or data[0] == self.preview_path:
            return
        self.preview_path = data[0]
        self.query_one("#artifact-preview", ArtifactPreview).loading = True
        self.load_artifact(data[0], data[1])

    @work(thread=True, exclusive=True, group="artifact", exit_on_error=False, description="Reading the artifact")
    def load_artifact(self, path: str, size: int | None) -> None:
        if size is not None and size > PREVIEW_LIMIT:
            message = ArtifactLoaded(path, None, size, f"{path}: {size_text(size)}, too big to preview "
                                     "(download it with lighttrack's download_artifacts)")
        else:
            message = ArtifactLoaded(path, self.adapter.read_artifact(self.run_id, path), size)
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def on_artifact_loaded(self, message: ArtifactLoaded) -> None:
        preview = self.query_one("#artifact-preview", ArtifactPreview)
        preview.loading = False
        if message.path == self.preview_path:
            preview.show(message.path, message.data, message.size, message.note)

    def action_save_artifact(self) -> None:
        tree = self.query_one("#artifact-tree", Tree)
        node = tree.cursor_node
        if node is None or node is tree.root:
            self.notify("highlight an artifact in the Artifacts tab (6) first", severity="warning")
            return
        path = node.data[0] if node.data else self._folder_path(node)
        import os

        def done(folder: str | None) -> None:
            if folder and folder.strip():
                self.save(path, os.path.expanduser(folder.strip()))
        self.app.push_screen(PromptDialog("Save artifact", f"Save {path} into the folder:", os.getcwd()), done)

    @staticmethod
    def _folder_path(node) -> str:
        parts = []
        while node is not None and node.parent is not None:
            parts.append(str(node.label).rstrip("/"))
            node = node.parent
        return "/".join(reversed(parts))

    @work(thread=True, group="write", exit_on_error=False, description="Saving the artifact")
    def save(self, path: str, folder: str) -> None:
        where = self.adapter.save_artifact(self.run_id, path, folder)
        self.post_message(ActionDone(f"saved {where}"))

    # ------------------------------------------------------------------- editing
    def action_describe(self) -> None:
        if self.detail is None:
            return
        current = self.detail.run.data.tags.get(NOTE_TAG, "")

        adapter, run_id = self.adapter, self.run_id

        def done(text: str | None) -> None:
            if text is not None:
                self.post_message(ActionDone("description saved"))
        self.app.push_screen(PromptDialog("Description", f"Description of {self.detail.run.info.run_name}:",
                                          current, multiline=True,
                                          save=lambda text: adapter.describe_run(run_id, text)), done)

    def action_rename(self) -> None:
        if self.detail is None:
            return

        adapter, run_id = self.adapter, self.run_id

        def save(name: str) -> None:  # in the dialog: a refused name keeps it open with the text
            if name.strip():
                adapter.rename_run(run_id, name.strip())

        def done(name: str | None) -> None:
            if name and name.strip():
                self.post_message(ActionDone(f"renamed to {name.strip()}"))
        self.app.push_screen(PromptDialog("Rename run", "New name:", self.detail.run.info.run_name, save=save), done)

    def action_tags(self) -> None:
        if self.detail is None:
            return
        run = self.detail.run
        self.app.push_screen(TagEditor(self.run_id, run.info.run_name, run.data.tags),
                             lambda changed: self.reload(live=True) if changed else None)

    def action_parent(self) -> None:
        if self.detail is None or not self.detail.run.data.tags.get(PARENT_TAG):
            self.notify("this run has no parent run", severity="warning")
            return
        self.lt_app.open_run(self.detail.run.data.tags[PARENT_TAG])

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3 if not message.text.startswith("saved ") else 8)
        if not message.text.startswith("saved "):
            self.reload(live=True)
