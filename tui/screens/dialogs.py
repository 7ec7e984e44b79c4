"""Modal dialogs: confirm, prompt, choose one, choose columns, edit tags."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, OptionList, SelectionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from typing import Callable

from rich.text import Text

from tui.format import ellipsize
from tui.messages import ActionDone, RunKeysLoaded
from tui.screens.base import ForwardWorkerErrors

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no, with the question in words; ``y``/``n`` answer at once."""

    BINDINGS = [
        CANCEL,
        Binding("y", "answer(True)", "Yes", id="dialog.yes", tooltip="Confirm"),
        Binding("n", "answer(False)", "No", id="dialog.no", tooltip="Do not do it"),
    ]

    def __init__(self, title: str, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(self.question, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)


class PromptDialog(ForwardWorkerErrors, ModalScreen[str | None]):
    """One line of text (or several, for descriptions); Enter (Ctrl+S when multi-line) saves.

    With ``save``, the dialog itself does the write (in a worker) and closes only when it
    succeeded: a refused value (alias ``latest``, a name in use) is shown in the dialog with
    what is allowed, and what was typed stays to be fixed."""

    BINDINGS = [
        CANCEL,
        Binding("ctrl+s", "save", "Save", id="dialog.save", tooltip="Save and close"),
    ]

    def __init__(self, title: str, label: str, value: str = "", *, placeholder: str = "",
                 multiline: bool = False, save: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.save = save
        self.title_text = title
        self.label = label
        self.value = value
        self.placeholder = placeholder
        self.multiline = multiline

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Label(self.label, classes="dialog-text")
            if self.multiline:
                yield TextArea(self.value, id="prompt-area", soft_wrap=True)
            else:
                yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static(id="prompt-error", classes="dialog-error")
            yield Static("Enter saves · Esc cancels" if not self.multiline else "Ctrl+S saves · Esc cancels",
                         classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-area" if self.multiline else "#prompt-input").focus()

    @on(Input.Submitted, "#prompt-input")
    def submitted(self, event: Input.Submitted) -> None:
        self._finish(event.value)

    def action_save(self) -> None:
        if self.multiline:
            self._finish(self.query_one("#prompt-area", TextArea).text)
        else:
            self._finish(self.query_one("#prompt-input", Input).value)

    def _finish(self, value: str) -> None:
        if self.save is None:
            self.dismiss(value)
        else:
            self.saving(value)

    @work(thread=True, exclusive=True, group="prompt", exit_on_error=False, description="Saving")
    def saving(self, value: str) -> None:
        from lighttrack.errors import LighttrackError

        try:
            self.save(value)  # type: ignore[misc]
        except LighttrackError as exc:
            self.app.call_from_thread(self._refused, exc.message)
            return
        self.app.call_from_thread(self.dismiss, value)

    def _refused(self, message: str) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(Text(message))
        error.add_class("-shown")
        self.query_one("#prompt-area" if self.multiline else "#prompt-input").focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen[str | None]):
    """Pick one of a few choices (sort column, stage...)."""

    BINDINGS = [CANCEL]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None,
                 note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            if self.note:
                yield Static(self.note, classes="dialog-text")
            yield OptionList(*[Option(ellipsize(label, 60), id=value) for value, label in self.choices],
                             id="choices")

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.focus()
        for i, (value, _) in enumerate(self.choices):
            if value == self.current:
                options.highlighted = i

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ColumnChooser(ForwardWorkerErrors, ModalScreen[list[str] | None]):
    """Which params, metrics, tags and attributes the runs table shows. Space toggles, the box
    narrows the list, Enter applies. The keys come from ``client.run_keys`` (in a worker)."""

    BINDINGS = [
        CANCEL,
        Binding("enter", "apply", "Apply", id="columns.apply", tooltip="Show the ticked columns", priority=True),
        Binding("ctrl+a", "all(True)", "All", id="columns.all", tooltip="Tick every shown entry"),
        Binding("ctrl+n", "all(False)", "None", id="columns.none", tooltip="Untick every shown entry"),
    ]

    def __init__(self, experiment_ids: tuple[str, ...], chosen: list[str], fixed: list[tuple[str, str]]) -> None:
        super().__init__()
        self.experiment_ids = experiment_ids
        self.chosen = set(chosen)
        self.fixed = fixed  # attribute columns: (key, label)
        self.entries: list[tuple[str, str]] = list(fixed)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall") as box:
            box.border_title = "Columns"
            yield Input(placeholder="type to narrow the list", id="columns-filter")
            yield SelectionList[str](id="columns-list")
            yield Static("type to narrow · ↓/↑ list/box · Space ticks · Enter applies · Esc cancels",
                         classes="dialog-hint wrap")

    def on_mount(self) -> None:
        self._show("")
        self.query_one("#columns-list").loading = True
        self.query_one("#columns-filter").focus()
        self.load_keys()

    def on_key(self, event) -> None:
        """Down from the box goes to the list; typing in the list narrows it."""
        box = self.query_one("#columns-filter", Input)
        listing = self.query_one("#columns-list", SelectionList)
        if box.has_focus and event.key == "down":
            listing.focus()
            event.stop()
        elif listing.has_focus and event.key == "up" and (listing.highlighted or 0) == 0:
            box.focus()
            event.stop()
        elif listing.has_focus and event.character and event.character.isprintable() and event.key != "space":
            box.focus()
            box.insert_text_at_cursor(event.character)
            event.stop()

    @work(thread=True, exclusive=True, group="columns", exit_on_error=False, description="Reading column names")
    def load_keys(self) -> None:
        keys = self.app.adapter.run_keys(self.experiment_ids)  # type: ignore[attr-defined]
        if not get_current_worker().is_cancelled:
            self.post_message(RunKeysLoaded(keys))

    def on_run_keys_loaded(self, message: RunKeysLoaded) -> None:
        entries = list(self.fixed)
        for kind, prefix in (("metrics", "metric"), ("params", "param"), ("tags", "tag")):
            for key in message.keys.get(kind, []):
                entries.append((f"{kind}.{key}", f"{prefix}: {key}"))
        self.entries = entries
        listing = self.query_one("#columns-list", SelectionList)
        listing.loading = False
        self._show(self.query_one("#columns-filter", Input).value)

    def _remember(self) -> None:
        listing = self.query_one("#columns-list", SelectionList)
        shown = {str(listing.get_option_at_index(i).value) for i in range(listing.option_count)}
        self.chosen = (self.chosen - shown) | set(listing.selected)

    def _show(self, text: str) -> None:
        listing = self.query_one("#columns-list", SelectionList)
        text = text.lower().strip()
        listing.clear_options()
        listing.add_options([
            Selection(("[x] " if key in self.chosen else "[ ] ") + ellipsize(label, 52), key, key in self.chosen)
            for key, label in self.entries if not text or text in label.lower()
        ])
        self._marks()

    @on(SelectionList.SelectionToggled, "#columns-list")
    @on(SelectionList.SelectedChanged, "#columns-list")
    def _marks(self) -> None:
        """[x] and [ ] in the text itself: the toggle box alone reads the same ticked or not in
        a plain terminal (and in a pasted screen)."""
        listing = self.query_one("#columns-list", SelectionList)
        selected = set(listing.selected)
        for i in range(listing.option_count):
            option = listing.get_option_at_index(i)
            label = str(option.prompt)
            bare = label[4:] if label.startswith(("[x] ", "[ ] ")) else label
            want = ("[x] " if option.value in selected else "[ ] ") + bare
            if want != label:
                listing.replace_option_prompt_at_index(i, want)

    @on(Input.Changed, "#columns-filter")
    def narrowed(self, event: Input.Changed) -> None:
        self._remember()
        self._show(event.value)

    def action_all(self, value: bool) -> None:
        listing = self.query_one("#columns-list", SelectionList)
        listing.select_all() if value else listing.deselect_all()

    def action_apply(self) -> None:
        self._remember()
        order = [key for key, _ in self.entries if key in self.chosen]
        self.dismiss(order + sorted(self.chosen - set(order)))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SortDialog(ForwardWorkerErrors, ModalScreen[str | None]):
    """Sort by any key the runs have: every metric, param and tag (read with
    ``client.run_keys`` in a worker) and the attributes, marked by kind; typing narrows."""

    BINDINGS = [CANCEL]

    def __init__(self, experiment_ids: tuple[str, ...], attributes: list[tuple[str, str]],
                 current: str | None, note: str = "") -> None:
        super().__init__()
        self.experiment_ids = experiment_ids
        self.entries: list[tuple[str, str]] = [(key, f"attr    {label}") for key, label in attributes]
        self.current = current
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tall") as box:
            box.border_title = "Sort by"
            yield Input(placeholder="type to search every metric, param, tag and attribute", id="sort-filter")
            yield OptionList(id="sort-keys")
            yield Static(self.note or "Enter sorts · ↓/↑ list/box · Esc cancels", classes="dialog-hint wrap")

    def on_mount(self) -> None:
        self._show("")
        self.query_one("#sort-keys").loading = True
        self.query_one("#sort-filter").focus()
        self.load_keys()

    @work(thread=True, exclusive=True, group="sort-keys", exit_on_error=False, description="Reading key names")
    def load_keys(self) -> None:
        keys = self.app.adapter.run_keys(self.experiment_ids)  # type: ignore[attr-defined]
        if not get_current_worker().is_cancelled:
            self.post_message(RunKeysLoaded(keys))

    def on_run_keys_loaded(self, message: RunKeysLoaded) -> None:
        for kind, mark in (("metrics", "metric"), ("params", "param "), ("tags", "tag   ")):
            for key in message.keys.get(kind, []):
                self.entries.append((f"{kind}.{key}", f"{mark}  {key}"))
        self.query_one("#sort-keys").loading = False
        self._show(self.query_one("#sort-filter", Input).value)

    def _show(self, text: str) -> None:
        options = self.query_one("#sort-keys", OptionList)
        words = text.lower().split()
        shown = [(key, label) for key, label in self.entries if all(w in label.lower() for w in words)]
        options.clear_options()
        options.add_options([Option(ellipsize(label, 64), id=key) for key, label in shown])
        keys = [key for key, _ in shown]
        if keys:
            options.highlighted = keys.index(self.current) if self.current in keys else 0

    @on(Input.Changed, "#sort-filter")
    def narrowed(self, event: Input.Changed) -> None:
        self._show(event.value)

    @on(Input.Submitted, "#sort-filter")
    def submitted(self) -> None:
        options = self.query_one("#sort-keys", OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_key(self, event) -> None:
        box = self.query_one("#sort-filter", Input)
        options = self.query_one("#sort-keys", OptionList)
        if box.has_focus and event.key == "down":
            options.focus()
            event.stop()
        elif options.has_focus and event.key == "up" and (options.highlighted or 0) == 0:
            box.focus()
            event.stop()
        elif options.has_focus and event.character and event.character.isprintable() and event.key != "space":
            box.focus()
            box.insert_text_at_cursor(event.character)
            event.stop()

    @on(OptionList.OptionSelected, "#sort-keys")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TagEditor(ForwardWorkerErrors, ModalScreen[bool]):
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
        if delete:
            adapter.delete_tag(self.run_id, key)
        else:
            adapter.set_tag(self.run_id, key, value)
        tags = adapter.get_run(self.run_id).data.tags
        self.app.call_from_thread(self._written, tags, f"deleted tag {key}" if delete else f"set {key}")

    def _written(self, tags: dict[str, str], text: str) -> None:
        self.tags = dict(tags)
        self.changed = True
        self._fill()
        self.post_message(ActionDone(text))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=2)

    def action_cancel(self) -> None:
        self.dismiss(self.changed)


class StageDialog(ModalScreen[tuple[str, bool] | None]):
    """The confirmation of a stage change: pick the stage (↑/↓), tick "archive the versions
    already in that stage" (a), and Enter moves; Esc changes nothing."""

    BINDINGS = [
        CANCEL,
        Binding("a", "toggle_archive", "Archive others", id="stage.archive",
                tooltip="Also archive the versions already in the chosen stage"),
    ]

    STAGES = ("None", "Staging", "Production", "Archived")

    def __init__(self, model: str, version: str, current: str, occupants: dict[str, list[str]]) -> None:
        super().__init__()
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
            with Horizontal(classes="dialog-buttons"):
                yield Button("Move", variant="primary", id="move")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one("#stages", OptionList)
        options.focus()
        options.highlighted = None  # nothing preselected: s then Enter must not move a version
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
        self.dismiss((stage, self.query_one("#archive", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
