"""Experiments: name, run count, last activity, description; create, rename, describe,
delete and restore. Enter opens the runs of the highlighted (or every marked) experiment."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static
from textual.worker import get_current_worker

from lighttrack.entities import ViewType

from tui.widgets.footer import FittedFooter
from tui.adapter import ExperimentRow
from tui.format import ellipsize, when
from tui.messages import ActionDone, ExperimentsLoaded
from tui.screens.base import DataScreen
from tui.screens.dialogs import ConfirmDialog, PromptDialog
from tui.widgets.tables import Column, KeyTable

VIEW_NAMES = {ViewType.ACTIVE_ONLY: "active", ViewType.DELETED_ONLY: "deleted", ViewType.ALL: "all"}
NEXT_VIEW = {ViewType.ACTIVE_ONLY: ViewType.DELETED_ONLY, ViewType.DELETED_ONLY: ViewType.ALL,
             ViewType.ALL: ViewType.ACTIVE_ONLY}


class ExperimentsScreen(DataScreen):
    screen_name = "Experiments"
    AUTO_FOCUS = "#experiments-table"

    BINDINGS = [
        Binding("space", "mark", "Mark", id="experiments.mark",
                tooltip="Mark or unmark the experiment; Enter opens the runs of all marked ones"),
        Binding("n", "create", "New", id="experiments.create", tooltip="Create an experiment"),
        Binding("r", "rename", "Rename", id="experiments.rename", tooltip="Rename the experiment"),
        Binding("e", "describe", "Describe", id="experiments.describe",
                tooltip="Edit the experiment's description"),
        Binding("d", "delete", "Delete", id="experiments.delete",
                tooltip="Delete the experiment (and hide its runs); restorable"),
        Binding("u", "restore", "Restore", id="experiments.restore", tooltip="Restore a deleted experiment"),
        Binding("v", "view", "Active/deleted", id="experiments.view",
                tooltip="Cycle between active, deleted and all experiments"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ExperimentRow] = []
        self.marked: set[str] = set()
        self.view_type = ViewType.ACTIVE_ONLY
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield KeyTable(id="experiments-table")
        yield Static(id="experiments-status", classes="status-line")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        table = self.query_one(KeyTable)
        table.loading = True
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load(self.view_type)

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False,
          description="Loading experiments")
    def load(self, view_type: int) -> None:
        rows = self.adapter.experiments(view_type)
        if not get_current_worker().is_cancelled:
            self.post_message(ExperimentsLoaded(rows))

    def on_experiments_loaded(self, message: ExperimentsLoaded) -> None:
        self.rows = message.rows
        self.loaded = True
        ids = {row.experiment_id for row in self.rows}
        self.marked &= ids
        self._show()

    def _show(self) -> None:
        table = self.query_one(KeyTable)
        table.loading = False
        self.load_finished()
        desc_width = max(12, self.size.width - 64)
        columns = [Column("mark", " ", 1), Column("name", "name", 28), Column("runs", "runs", 7),
                   Column("last", "last activity", 16), Column("description", "description", desc_width)]
        if self.view_type != ViewType.ACTIVE_ONLY:
            columns.append(Column("stage", "stage", 7))
        rows = []
        for row in self.rows:
            experiment = row.experiment
            deleted = experiment.lifecycle_stage == "deleted"
            cells = [
                Text("●", style="bold dark_orange") if row.experiment_id in self.marked else Text(" "),
                Text(ellipsize(experiment.name, 28), style="strike dim" if deleted else "bold"),
                Text(f"{row.run_count:,}", justify="right"),
                Text(when(row.last_activity)),
                Text(ellipsize(experiment.description or "", desc_width), style="italic"),
            ]
            if self.view_type != ViewType.ACTIVE_ONLY:
                cells.append(Text(experiment.lifecycle_stage))
            rows.append((row.experiment_id, cells))
        table.fill(columns, rows)
        self._status()

    def _status(self) -> None:
        total_runs = sum(r.run_count for r in self.rows)
        parts = [f"{len(self.rows)} {VIEW_NAMES[self.view_type]} experiment(s), {total_runs:,} runs"]
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        parts.append(str(self.adapter.path.name))
        self.query_one("#experiments-status", Static).update(" · ".join(parts))

    # ---------------------------------------------------------------------- actions
    def _current(self) -> ExperimentRow | None:
        key = self.query_one(KeyTable).cursor_key
        return next((r for r in self.rows if r.experiment_id == key), None)

    @on(KeyTable.RowSelected, "#experiments-table")
    def open_runs(self, event: KeyTable.RowSelected) -> None:
        ids = [r.experiment_id for r in self.rows if r.experiment_id in self.marked]
        if not ids:
            ids = [event.row_key.value]
        self.lt_app.open_runs(ids)

    def action_mark(self) -> None:
        row = self._current()
        if row is None:
            return
        self.marked ^= {row.experiment_id}
        self._show()

    def action_view(self) -> None:
        self.view_type = NEXT_VIEW[self.view_type]
        self.query_one("#experiments-status", Static).update(Text("loading…", style="italic"))
        self.reload()

    def action_create(self) -> None:
        adapter = self.adapter

        def save(name: str) -> None:  # in the dialog: a name in use keeps it open with the text
            if name.strip():
                adapter.create_experiment(name.strip())

        def done(name: str | None) -> None:
            if name and name.strip():
                self.post_message(ActionDone(f"created experiment {name.strip()}"))
        self.app.push_screen(PromptDialog("New experiment", "Name:", placeholder="e.g. iris-forest", save=save), done)

    def action_rename(self) -> None:
        row = self._current()
        if row is None:
            return

        adapter = self.adapter

        def save(name: str) -> None:
            if name.strip() and name.strip() != row.experiment.name:
                adapter.rename_experiment(row.experiment_id, name.strip())

        def done(name: str | None) -> None:
            if name and name.strip() and name.strip() != row.experiment.name:
                self.post_message(ActionDone(f"renamed to {name.strip()}"))
        self.app.push_screen(PromptDialog("Rename experiment", "New name:", row.experiment.name, save=save), done)

    def action_describe(self) -> None:
        row = self._current()
        if row is None:
            return

        adapter = self.adapter

        def done(text: str | None) -> None:
            if text is not None:
                self.post_message(ActionDone("description saved"))
        self.app.push_screen(PromptDialog(f"Description of {row.experiment.name}", "Description:",
                                          row.experiment.description or "", multiline=True,
                                          save=lambda text: adapter.describe_experiment(row.experiment_id, text)),
                             done)

    def _targets(self) -> list[ExperimentRow]:
        marked = [r for r in self.rows if r.experiment_id in self.marked]
        current = self._current()
        return marked or ([current] if current else [])

    def action_delete(self) -> None:
        targets = [r for r in self._targets() if r.experiment.lifecycle_stage == "active"]
        if not targets:
            self.notify("nothing to delete here", severity="warning")
            return
        names = ", ".join(r.experiment.name for r in targets[:5]) + (" ..." if len(targets) > 5 else "")

        adapter, ids = self.adapter, [r.experiment_id for r in targets]

        def done(yes: bool | None) -> None:
            if yes:
                self.post_message(ActionDone(f"deleted {len(ids)} experiment(s)"))
        self.app.push_screen(ConfirmDialog(
            "Delete experiments", f"Delete {len(targets)} experiment(s): {names}?\n"
            "Their runs are hidden with them. Restore with u (press v to see deleted ones).", "Delete",
            save=lambda: adapter.delete_experiments(ids)), done)

    def action_restore(self) -> None:
        targets = [r for r in self._targets() if r.experiment.lifecycle_stage == "deleted"]
        if not targets:
            self.notify("no deleted experiment here: press v to show deleted ones", severity="warning")
            return
        self.write("restore", [r.experiment_id for r in targets])

    @work(thread=True, group="write", exit_on_error=False, description="Saving")
    def write(self, what: str, *args) -> None:
        adapter = self.adapter
        if what == "create":
            adapter.create_experiment(args[0])
            text = f"created experiment {args[0]}"
        elif what == "rename":
            adapter.rename_experiment(args[0], args[1])
            text = f"renamed to {args[1]}"
        elif what == "describe":
            adapter.describe_experiment(args[0], args[1])
            text = "description saved"
        elif what == "delete":
            adapter.delete_experiments(args[0])
            text = f"deleted {len(args[0])} experiment(s)"
        else:
            adapter.restore_experiments(args[0])
            text = f"restored {len(args[0])} experiment(s)"
        self.post_message(ActionDone(text))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3)
        self.marked.clear()
        self.reload()
