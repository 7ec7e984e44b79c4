"""An experiment's logged models (MLflow 3): a search box using the filter grammar, the table
newest first, the highlighted model's params, metrics (with their datasets) and tags, and
"register" to make it the next version of a registered model."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Header, Input, Static
from textual.worker import get_current_worker

from tui.format import ellipsize, when
from tui.messages import ActionDone
from tui.screens.base import DataScreen
from tui.screens.dialogs import PromptDialog
from tui.widgets.footer import FittedFooter
from tui.widgets.tables import Column, KeyTable


class LoggedModelsLoaded(Message):
    def __init__(self, models: list[Any], filter_text: str) -> None:
        super().__init__()
        self.models = models
        self.filter_text = filter_text


class LoggedModelsFailed(Message):
    """A filter the grammar refuses: shown under the box, the table stays as it was."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


def _latest_metrics(model: Any) -> str:
    latest: dict[str, float] = {}
    for metric in sorted(model.metrics, key=lambda m: (m.timestamp, m.step)):
        latest[metric.key] = metric.value
    return ", ".join(f"{k}={v:.4g}" for k, v in latest.items())


def model_panel(model: Any) -> Group:
    """What one logged model holds, in the words of MLflow's model page."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("model", Text(f"{model.name}  {model.model_id}", style="bold"))
    table.add_row("status", str(model.status))
    table.add_row("run", model.source_run_id or "– (logged outside a run)")
    table.add_row("type", model.model_type or "–")
    table.add_row("created", when(model.creation_timestamp))
    for key, value in sorted(model.params.items()):
        table.add_row(f"param {key}", value)
    for metric in model.metrics:
        on_data = f"  on {metric.dataset_name}" if metric.dataset_name else ""
        table.add_row(f"metric {metric.key}", f"{metric.value:.6g}  (step {metric.step}){on_data}")
    for key, value in sorted(model.tags.items()):
        table.add_row(f"tag {key}", value)
    return Group(table)


class LoggedModelsScreen(DataScreen):
    AUTO_FOCUS = "#logged-table"
    screen_name = "Logged models"

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="logged.filter",
                tooltip="Search, e.g. metrics.accuracy > 0.9 and params.C = '1.0' (the runs' grammar)"),
        Binding("g", "register", "Register", id="logged.register",
                tooltip="Register the highlighted model as the next version of a registered model"),
        Binding("o", "open_run", "Open run", id="logged.open_run", tooltip="Open the run that logged the model"),
    ]

    def __init__(self, experiment_ids: list[str]) -> None:
        super().__init__()
        self.experiment_ids = list(experiment_ids)
        self.filter_text = ""
        self.models: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: name LIKE 'clf%' and metrics.accuracy > 0.9", id="logged-filter")
        yield Static(id="logged-error", classes="status-line")
        yield KeyTable(id="logged-table")
        yield Static(id="logged-detail")
        yield Static(id="logged-status", classes="status-line")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self.query_one("#logged-table").loading = True
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load(self.filter_text)

    @work(thread=True, exclusive=True, group="logged", exit_on_error=False, description="Loading logged models")
    def load(self, filter_text: str) -> None:
        from lighttrack.errors import InvalidFilter

        try:
            models = self.adapter.experiment_logged_models(self.experiment_ids, filter_text)
        except InvalidFilter as exc:
            self.post_message(LoggedModelsFailed(str(exc).splitlines()[0]))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(LoggedModelsLoaded(models, filter_text))

    def on_logged_models_failed(self, message: LoggedModelsFailed) -> None:
        self.query_one("#logged-table").loading = False
        self.query_one("#logged-error", Static).update(Text(message.text, style="bold red"))

    def on_logged_models_loaded(self, message: LoggedModelsLoaded) -> None:
        self.models = message.models
        self.query_one("#logged-error", Static).update("")
        table = self.query_one("#logged-table", KeyTable)
        table.loading = False
        self.load_finished()
        columns = [Column("name", "name", 20), Column("status", "status", 8), Column("run", "run", 9),
                   Column("type", "type", 12), Column("created", "created", 16), Column("metrics", "metrics", 40)]
        rows = [(m.model_id, [Text(ellipsize(m.name, 20), style="bold"), Text(str(m.status)),
                              Text((m.source_run_id or "–")[:8]), Text(ellipsize(m.model_type or "", 12)),
                              Text(when(m.creation_timestamp)), Text(ellipsize(_latest_metrics(m), 40))])
                for m in self.models]
        table.fill(columns, rows)
        self._show(table.cursor_key)
        where = f" matching {message.filter_text}" if message.filter_text else ""
        self.query_one("#logged-status", Static).update(Text(
            f"{len(self.models)} logged model(s){where} · / search · g register · o open run"
            if self.models else f"no logged model{where}: log one with mlflow.<flavor>.log_model(..., name=...)"))

    def _current(self) -> Any | None:
        key = self.query_one("#logged-table", KeyTable).cursor_key
        return next((m for m in self.models if m.model_id == key), None)

    def _show(self, model_id: str | None) -> None:
        model = next((m for m in self.models if m.model_id == model_id), None)
        self.query_one("#logged-detail", Static).update(model_panel(model) if model else "")

    @on(KeyTable.RowHighlighted, "#logged-table")
    def highlighted(self, event: KeyTable.RowHighlighted) -> None:
        self._show(event.row_key.value if event.row_key else None)

    @on(KeyTable.RowSelected, "#logged-table")
    def opened(self, event: KeyTable.RowSelected) -> None:
        self._show(event.row_key.value)

    def action_filter(self) -> None:
        self.query_one("#logged-filter", Input).focus()

    @on(Input.Submitted, "#logged-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.filter_text = event.value.strip()
        self.query_one("#logged-table", KeyTable).focus()
        self.reload()

    def action_open_run(self) -> None:
        model = self._current()
        if model is not None and model.source_run_id:
            self.lt_app.open_run(model.source_run_id)

    def action_register(self) -> None:
        model = self._current()
        if model is None:
            return

        def save(name: str) -> object:
            return self.adapter.register_logged_model(model.model_id, name.strip())

        def done(name: str | None) -> None:
            if name is not None:
                self.post_message(ActionDone(f"registered {model.name} as a version of {name.strip()}"))
        self.app.push_screen(PromptDialog(f"Register {model.name}", "Registered model name:", model.name,
                                          save=save), done)

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3)
        self.reload()
