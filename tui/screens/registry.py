"""The model registry: models with their latest version per stage and aliases; a model's
versions (stage, aliases, source run, description, tags) with stage changes (confirmed, with
"archive existing versions"), aliases, descriptions, and the stage/alias history."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tui.widgets.footer import FittedFooter
from tui.adapter import ModelDetail
from tui.format import ellipsize, when
from tui.messages import ActionDone, ModelLoaded, ModelsLoaded
from tui.screens.base import DataScreen
from tui.screens.dialogs import ChoiceDialog, PromptDialog, StageDialog
from tui.widgets.tables import Column, KeyTable

STAGE_COLOURS = {"Production": "bold green", "Staging": "yellow", "Archived": "dim", "None": ""}
STAGE_ORDER = ("Production", "Staging", "None", "Archived")


def stage_text(stage: str) -> Text:
    return Text(stage or "None", style=STAGE_COLOURS.get(stage or "None", ""))


def latest_text(model) -> Text:
    """``Production v3 · Staging v4``: the newest version in each stage, best stage first."""
    text = Text()
    by_stage = {v.current_stage: v for v in model.latest_versions}
    for stage in STAGE_ORDER:
        version = by_stage.get(stage)
        if version is None:
            continue
        if text:
            text.append(" · ", style="dim")
        text.append(f"{stage} ", style=STAGE_COLOURS.get(stage, ""))
        text.append(f"v{version.version}")
    text.truncate(26, overflow="ellipsis")
    return text


class RegistryScreen(DataScreen):
    AUTO_FOCUS = "#models-table"
    screen_name = "Models"

    BINDINGS = [
        Binding("e", "describe", "Describe", id="registry.describe", tooltip="Edit the model's description"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.models: list = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield KeyTable(id="models-table")
        yield Static(id="models-status", classes="status-line")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self.query_one("#models-table").loading = True
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="models", exit_on_error=False, description="Loading models")
    def load(self) -> None:
        models = self.adapter.models()
        if not get_current_worker().is_cancelled:
            self.post_message(ModelsLoaded(models))

    def on_models_loaded(self, message: ModelsLoaded) -> None:
        self.models = message.models
        table = self.query_one("#models-table", KeyTable)
        table.loading = False
        self.load_finished()
        columns = [Column("name", "model", 22), Column("latest", "latest versions", 26),
                   Column("aliases", "aliases", 14), Column("updated", "updated", 16)]
        used = sum(c.width or 0 for c in columns) + 2 * (len(columns) + 1) + 2
        width = max(12, self.size.width - used)
        columns.append(Column("description", "description", width))
        rows = []
        for model in self.models:
            aliases = ", ".join(f"@{a}→v{v}" for a, v in sorted(model.aliases.items()))
            rows.append((model.name, [
                Text(ellipsize(model.name, 22), style="bold"), latest_text(model),
                Text(ellipsize(aliases, 14)), Text(when(model.last_updated_timestamp)),
                Text(ellipsize(model.description or "", width), style="italic")]))
        table.fill(columns, rows)
        self.query_one("#models-status", Static).update(Text(
            f"{len(self.models)} registered model(s) · Enter shows versions and history"
            if self.models else "no registered model yet: register one with lighttrack.register_model"))

    @on(KeyTable.RowSelected, "#models-table")
    def open_model(self, event: KeyTable.RowSelected) -> None:
        self.lt_app.open_model(event.row_key.value)

    def action_describe(self) -> None:
        name = self.query_one("#models-table", KeyTable).cursor_key
        model = next((m for m in self.models if m.name == name), None)
        if model is None:
            return

        adapter = self.adapter

        def done(text: str | None) -> None:
            if text is not None:
                self.post_message(ActionDone("description saved"))
        self.app.push_screen(PromptDialog(f"Description of {model.name}", "Description:",
                                          model.description or "", multiline=True,
                                          save=lambda text: adapter.describe_model(model.name, text)), done)

    @work(thread=True, group="write", exit_on_error=False, description="Saving")
    def write(self, name: str, text: str) -> None:
        self.adapter.describe_model(name, text)
        self.post_message(ActionDone("description saved"))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3)
        self.reload()


class ModelScreen(DataScreen):
    AUTO_FOCUS = "#versions-table"

    BINDINGS = [
        Binding("s", "stage", "Stage", id="model.stage",
                tooltip="Move the version to another stage (asks first; can archive the versions there)"),
        Binding("a", "set_alias", "Set alias", id="model.set_alias", tooltip="Point an alias at this version"),
        Binding("A", "remove_alias", "Remove alias", id="model.remove_alias", tooltip="Remove one of the model's aliases"),
        Binding("e", "describe_version", "Describe", id="model.describe_version",
                tooltip="Edit the version's description"),
        Binding("E", "describe_model", "Describe model", id="model.describe_model",
                tooltip="Edit the model's description"),
        Binding("h", "history", "History", id="model.history", tooltip="Show the stage and alias history"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.model_name = name
        self.detail: ModelDetail | None = None

    @property
    def screen_name(self) -> str:  # type: ignore[override]
        return f"Model · {ellipsize(self.model_name, 40)}"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="model-info")
        with TabbedContent(id="model-tabs"):
            with TabPane("Versions", id="tab-versions"):
                yield KeyTable(id="versions-table")
            with TabPane("History", id="tab-history"):
                yield KeyTable(id="history-table", cursor_type="row", openable=False)
        yield FittedFooter()

    def on_mount(self) -> None:
        self.app.sub_title = self.screen_name
        self.query_one("#model-tabs").loading = True
        self.reload()

    def reload(self, live: bool = False) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="model", exit_on_error=False, description="Loading the model")
    def load(self) -> None:
        detail = self.adapter.model_detail(self.model_name)
        if not get_current_worker().is_cancelled:
            self.post_message(ModelLoaded(detail, detail.versions, detail.history))

    def on_model_loaded(self, message: ModelLoaded) -> None:
        detail = self.detail = message.model
        self.query_one("#model-tabs").loading = False
        self.load_finished()
        model = detail.model
        info = Text()
        info.append(model.name, style="bold")
        info.append(f"  {len(detail.versions)} version(s)", style="dim")
        if model.aliases:
            info.append("  " + ", ".join(f"@{a}→v{v}" for a, v in sorted(model.aliases.items())))
        info.append("\n")
        info.append(model.description or "no description: press E to write one",
                    style="" if model.description else "dim italic")
        if model.tags:
            info.append("\ntags: " + ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())), style="dim")
        self.query_one("#model-info", Static).update(info)
        self._versions(detail)
        self._history(detail)

    def _versions(self, detail: ModelDetail) -> None:
        total = self.size.width
        columns = [Column("version", "ver", 4), Column("stage", "stage", 10), Column("aliases", "aliases", 12),
                   Column("run", "source run", 14 if total < 100 else 18)]
        if total >= 100:
            columns.append(Column("created", "created", 16))
        if total >= 120:
            columns.append(Column("tags", "tags", 16))
        used = sum(c.width or 0 for c in columns) + 2 * (len(columns) + 1) + 2
        width = max(10, total - used)
        columns.insert(4, Column("description", "description", width))
        rows = []
        for v in detail.versions:
            values = {
                "version": Text(f"v{v.version}", style="bold"),
                "stage": stage_text(v.current_stage),
                "aliases": Text(ellipsize(", ".join(f"@{a}" for a in v.aliases), 12)),
                "run": Text(ellipsize(detail.run_names.get(v.run_id or "", ""), 18), style="underline"),
                "description": Text(ellipsize(v.description or "", width), style="italic"),
                "created": Text(when(v.creation_timestamp)),
                "tags": Text(ellipsize(", ".join(f"{k}={val}" for k, val in sorted(v.tags.items())), 16)),
            }
            rows.append((str(v.version), [values[c.key] for c in columns]))
        self.query_one("#versions-table", KeyTable).fill(columns, rows)

    def _history(self, detail: ModelDetail) -> None:
        columns = [Column("when", "when", 19), Column("who", "who", 10), Column("version", "ver", 4),
                   Column("change", "change", max(20, self.size.width - 45))]
        rows = []
        for i, event in enumerate(reversed(detail.history)):  # newest first
            if event.event == "stage":
                change = f"stage {event.from_value or 'None'} → {event.to_value}"
            elif event.event == "alias_set":
                change = f"alias @{event.alias} → v{event.to_value}"
            elif event.event == "alias_removed":
                change = f"alias @{event.alias} removed" + (f" (was v{event.from_value})" if event.from_value else "")
            elif event.event == "created":
                change = "version created"
            elif event.event == "deleted":
                change = "version deleted"
            else:
                change = event.event
            rows.append((f"h{i}", [Text(when(event.timestamp, True)), Text(ellipsize(event.user_id or "", 10)),
                                   Text(f"v{event.version}" if event.version else ""), Text(change)]))
        self.query_one("#history-table", KeyTable).fill(columns, rows)

    # -------------------------------------------------------------------- actions
    def _version(self):
        key = self.query_one("#versions-table", KeyTable).cursor_key
        if self.detail is None or key is None:
            return None
        return next((v for v in self.detail.versions if str(v.version) == key), None)

    @on(KeyTable.RowSelected, "#versions-table")
    def open_source_run(self, event: KeyTable.RowSelected) -> None:
        version = self._version()
        if version is not None and version.run_id:
            self.lt_app.open_run(version.run_id)

    def action_stage(self) -> None:
        version = self._version()
        if version is None or self.detail is None:
            return
        occupants: dict[str, list[str]] = {}
        for v in self.detail.versions:
            occupants.setdefault(v.current_stage or "None", []).append(str(v.version))

        current = version.current_stage or "None"
        adapter, name, number = self.adapter, self.model_name, str(version.version)

        def question(stage: str, archive: bool) -> str | None:
            if "Production" not in (stage, current):
                return None
            # Into or out of Production: a second step that names both sides.
            others = [v for v in occupants.get("Production", []) if v != number]
            if stage == "Production":
                now = f"v{', v'.join(others)} {'is' if len(others) == 1 else 'are'} in Production now" if others \
                    else "no other version is in Production"
                fate = (" and will be archived" if archive else " and will stay there") if others else ""
                return f"Move v{number} of {name} INTO Production?\n{now}{fate}."
            left = f"v{', v'.join(others)} will still serve Production" if others else \
                "no version will be in Production after this"
            return f"Take v{number} of {name} OUT of Production (to {stage})?\n{left}."

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                stage, archive = answer
                self.post_message(ActionDone(f"v{number} is now {stage}" + (" (others archived)" if archive else "")))
        self.app.push_screen(StageDialog(name, number, current, occupants, confirm=question,
                                         save=lambda stage, archive: adapter.transition_stage(name, number, stage,
                                                                                              archive)), done)

    def action_set_alias(self) -> None:
        version = self._version()
        if version is None:
            return

        adapter, name = self.adapter, self.model_name

        def save(alias: str) -> None:  # in the dialog's worker: a refusal keeps the dialog open
            adapter.set_alias(name, alias.strip().lstrip("@"), str(version.version))

        def done(alias: str | None) -> None:
            if alias is not None:
                self.post_message(ActionDone(f"@{alias.strip().lstrip('@')} → v{version.version}"))
        self.app.push_screen(PromptDialog("Set alias", f"Alias for v{version.version} (moves it if it exists):",
                                          placeholder="e.g. champion", save=save), done)

    def action_remove_alias(self) -> None:
        if self.detail is None or not self.detail.model.aliases:
            self.notify("this model has no alias", severity="warning")
            return
        choices = [(a, f"@{a} → v{v}") for a, v in sorted(self.detail.model.aliases.items())]
        self.app.push_screen(ChoiceDialog("Remove alias", choices),
                             lambda alias: self.write("unalias", "", alias) if alias else None)

    def action_describe_version(self) -> None:
        version = self._version()
        if version is None:
            return
        adapter, name = self.adapter, self.model_name
        self.app.push_screen(
            PromptDialog(f"Description of v{version.version}", "Description:", version.description or "",
                         multiline=True, save=lambda text: adapter.describe_version(name, version.version, text)),
            lambda text: self.post_message(ActionDone("description saved")) if text is not None else None)

    def action_describe_model(self) -> None:
        if self.detail is None:
            return
        adapter, name = self.adapter, self.model_name
        self.app.push_screen(
            PromptDialog(f"Description of {self.model_name}", "Description:", self.detail.model.description or "",
                         multiline=True, save=lambda text: adapter.describe_model(name, text)),
            lambda text: self.post_message(ActionDone("description saved")) if text is not None else None)

    def action_history(self) -> None:
        tabs = self.query_one("#model-tabs", TabbedContent)
        tabs.active = "tab-history" if tabs.active == "tab-versions" else "tab-versions"

    @work(thread=True, group="write", exit_on_error=False, description="Saving")
    def write(self, what: str, version: str, value: str, archive: bool = False) -> None:
        adapter, name = self.adapter, self.model_name
        if what == "stage":
            adapter.transition_stage(name, version, value, archive)
            text = f"v{version} is now {value}" + (" (others archived)" if archive else "")
        elif what == "alias":
            adapter.set_alias(name, value, version)
            text = f"@{value} → v{version}"
        elif what == "unalias":
            adapter.delete_alias(name, value)
            text = f"alias @{value} removed"
        elif what == "describe":
            adapter.describe_version(name, version, value)
            text = "description saved"
        else:
            adapter.describe_model(name, value)
            text = "description saved"
        self.post_message(ActionDone(text))

    def on_action_done(self, message: ActionDone) -> None:
        self.notify(message.text, timeout=3)
        self.reload()
