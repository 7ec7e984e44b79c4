"""Dialogs that edit in place: a run's tags, and a model version's stage.

Both write from inside the dialog (``SavesInDialog``): a refused tag key or stage change is
shown in the dialog, and what was typed or chosen stays there to be fixed.
"""

from __future__ import annotations

from typing import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from lighttrack.errors import LighttrackError

from tui.format import ellipsize
from tui.messages import ActionDone
from tui.screens.base import ForwardWorkerErrors
from tui.screens.saving import SavesInDialog

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")


class TagEditor(SavesInDialog, ForwardWorkerErrors, ModalScreen[bool]):
    """A run's tags: set one (key and value, Enter) or delete the highlighted one (Del)."""

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="tags.close", tooltip="Close the tag editor"),
        Binding("delete", "delete_tag", "Delete tag", id="tags.delete", tooltip="Delete the highlighted tag"),
    ]

    def __init__(self, run_id: str, run_name: str, tags: dict[str, str]) -> None:
        super().__init__()
        self.run_id = run_id
        self.run_name = run_name
        self.tags = dict(tags)
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall") as box:
            box.border_title = f"Tags of {ellipsize(self.run_name, 40)}"
            yield DataTable(id="tags-table", cursor_type="row", zebra_stripes=True)
            with Horizontal(classes="tag-inputs"):
                yield Input(placeholder="key", id="tag-key")
                yield Input(placeholder="value", id="tag-value")
            yield Static(id="tags-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Set", variant="primary", id="set")
                yield Button("Delete", variant="error", id="delete")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        table = self.query_one("#tags-table", DataTable)
        table.add_column("key", key="key")
        table.add_column("value", key="value")
        self._fill()
        self.query_one("#tag-key", Input).focus()

    def _fill(self) -> None:
        table = self.query_one("#tags-table", DataTable)
        table.clear()
        for key in sorted(self.tags, key=lambda k: (k.startswith("mlflow."), k)):
            table.add_row(ellipsize(key, 30), ellipsize(self.tags[key], 40), key=key)

    @on(DataTable.RowHighlighted, "#tags-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key in self.tags and self.query_one("#tags-table").has_focus:
            self.query_one("#tag-key", Input).value = key
            self.query_one("#tag-value", Input).value = self.tags[key]

    @on(Input.Submitted, "#tag-key")
    def key_done(self) -> None:
        self.query_one("#tag-value", Input).focus()

    @on(Input.Submitted, "#tag-value")
    def value_done(self) -> None:
        self._set()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "set":
            self._set()
        elif event.button.id == "delete":
            self.action_delete_tag()
        else:
            self.dismiss(self.changed)

    def _set(self) -> None:
        key = self.query_one("#tag-key", Input).value.strip()
        value = self.query_one("#tag-value", Input).value
        if not key:
            self.notify("type a tag key first", severity="warning")
            return
        self.write_tag(key, value, delete=False)

    def action_delete_tag(self) -> None:
        key = self.query_one("#tag-key", Input).value.strip()
        table = self.query_one("#tags-table", DataTable)
        if table.has_focus and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key not in self.tags:
            self.notify(f"no tag {key!r} to delete" if key else "choose a tag to delete", severity="warning")
            return
        self.write_tag(key, "", delete=True)

    @work(thread=True, exclusive=True, group="tags", exit_on_error=False, description="Writing a tag")
    def write_tag(self, key: str, value: str, delete: bool) -> None:
        adapter = self.app.adapter  # type: ignore[attr-defined]
        try:
            if delete:
                adapter.delete_tag(self.run_id, key)
            else:
                adapter.set_tag(self.run_id, key, value)
        except LighttrackError as exc:  # shown here; the key and value typed stay
            self.app.call_from_thread(self.refused, exc.message)
            return
        tags = adapter.get_run(self.run_id).data.tags
        self.app.call_from_thread(self._written, tags, f"deleted tag {key}" if delete else f"set {key}")

    def _written(self, tags: dict[str, str], text: str) -> None:
        self.clear_error()
        self.tags = dict(tags)
        self.changed = True
        self._fill()
        self.post_message(ActionDone(text))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=2)

    def action_cancel(self) -> None:
        self.dismiss(self.changed)


class StageDialog(SavesInDialog, ForwardWorkerErrors, ModalScreen[tuple[str, bool] | None]):
    """The confirmation of a stage change: pick the stage (↑/↓), tick "archive the versions
    already in that stage" (a), and Enter moves; Esc changes nothing.

    With ``save(stage, archive)`` the dialog makes the change itself and closes only when it
    was made; ``confirm(stage, archive)`` may return a question (moves into or out of
    Production) asked in a second dialog on top of this one before saving."""

    BINDINGS = [
        CANCEL,
        Binding("a", "toggle_archive", "Archive others", id="stage.archive",
                tooltip="Also archive the versions already in the chosen stage"),
    ]

    STAGES = ("None", "Staging", "Production", "Archived")

    def __init__(self, model: str, version: str, current: str, occupants: dict[str, list[str]], *,
                 save: Callable[[str, bool], object] | None = None,
                 confirm: Callable[[str, bool], str | None] | None = None) -> None:
        super().__init__()
        self.save = save
        self.confirm = confirm
        self.model = model
        self.version = version
        self.current = current
        self.occupants = occupants

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = f"Change the stage of {ellipsize(self.model, 30)} v{self.version}"
            yield Static(f"v{self.version} is in {self.current}. Move it to:", classes="dialog-text")
            yield OptionList(*[Option(s, id=s) for s in self.STAGES if s != self.current], id="stages")
            yield Static(id="stage-note", classes="dialog-hint")
            yield Checkbox("Archive the versions already in that stage (a)", id="archive")
            yield Static(id="stage-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Move", variant="primary", id="move")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one("#stages", OptionList)
        options.focus()
        options.highlighted = None  # nothing preselected: s then Enter must not move a version
        self.refocus = "#stages"
        self._note()

    def _stage(self) -> str | None:
        options = self.query_one("#stages", OptionList)
        if options.highlighted is None:
            return None
        return str(options.get_option_at_index(options.highlighted).id)

    def _note(self) -> None:
        stage = self._stage()
        if stage is None:
            self.query_one("#stage-note", Static).update("choose a stage with ↑/↓, then Enter")
            return
        there = [v for v in self.occupants.get(stage or "", []) if v != self.version]
        note = f"now in {stage}: v{', v'.join(there)}" if there else f"no other version is in {stage}"
        self.query_one("#stage-note", Static).update(note)

    @on(OptionList.OptionHighlighted, "#stages")
    def highlighted(self) -> None:
        self._note()

    @on(OptionList.OptionSelected, "#stages")
    def chosen(self) -> None:
        self._move()

    def action_toggle_archive(self) -> None:
        box = self.query_one("#archive", Checkbox)
        box.value = not box.value

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "move":
            self._move()
        else:
            self.dismiss(None)

    def _move(self) -> None:
        stage = self._stage()
        if stage is None:
            self.notify("choose a stage", severity="warning")
            return
        archive = self.query_one("#archive", Checkbox).value
        save = self.save
        if save is None:
            self.dismiss((stage, archive))
            return
        question = self.confirm(stage, archive) if self.confirm else None
        if question is None:
            self.save_then(lambda: save(stage, archive), (stage, archive))
            return
        from tui.screens.dialogs import ConfirmDialog

        def confirmed(yes: bool | None) -> None:
            if yes:  # the confirmation made the change
                self.dismiss((stage, archive))
        self.app.push_screen(ConfirmDialog("Production changes", question, f"Move to {stage}",
                                           save=lambda: save(stage, archive)), confirmed)

    def action_cancel(self) -> None:
        self.dismiss(None)
