"""Modal dialogs: confirm, prompt, choose one, choose columns and sort keys (tags and stages:
edit_dialogs.py)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, SelectionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from typing import Callable


from tui.format import ellipsize
from tui.messages import RunKeysLoaded
from tui.screens.base import ForwardWorkerErrors
from tui.screens.saving import SavesInDialog

CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")


class ConfirmDialog(SavesInDialog, ForwardWorkerErrors, ModalScreen[bool]):
    """Yes or no, with the question in words; ``y``/``n`` answer at once. With ``save``, Yes
    runs it first (see ``SavesInDialog``): a refusal is shown here and the dialog stays."""

    BINDINGS = [
        CANCEL,
        Binding("y", "answer(True)", "Yes", id="dialog.yes", tooltip="Confirm"),
        Binding("n", "answer(False)", "No", id="dialog.no", tooltip="Do not do it"),
    ]
    refocus = "#no"

    def __init__(self, title: str, question: str, yes: str = "Yes", *,
                 save: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes
        self.save = save

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(self.question, classes="dialog-text")
            yield Static(id="confirm-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error", id="yes")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        if value and self.save is not None:
            self.save_then(self.save, True)
        else:
            self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(False)


class PromptDialog(SavesInDialog, ForwardWorkerErrors, ModalScreen[str | None]):
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
        self.refocus = "#prompt-area" if self.multiline else "#prompt-input"
        self.query_one(self.refocus).focus()

    @on(Input.Submitted, "#prompt-input")
    def submitted(self, event: Input.Submitted) -> None:
        self._finish(event.value)

    def action_save(self) -> None:
        if self.multiline:
            self._finish(self.query_one("#prompt-area", TextArea).text)
        else:
            self._finish(self.query_one("#prompt-input", Input).value)

    def _finish(self, value: str) -> None:
        save = self.save
        if save is None:
            self.dismiss(value)
        else:
            self.save_then(lambda: save(value), value)

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


# Where they used to live: other screens import them from here.
from tui.screens.edit_dialogs import StageDialog, TagEditor  # noqa: E402,F401
