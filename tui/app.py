"""The lighttrack terminal UI: one app, built by ``make_app`` for the CLI and the tests.

Every database call runs in a thread worker (each thread gets its own SQLite connection from
the client) and comes back as a message; one handler turns worker errors into notifications.
A watcher thread polls ``client.data_version()`` and posts a coalescing ``DataChanged`` so
open screens refresh themselves while a training process writes to the same file.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from typing import Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from lighttrack.client import LighttrackClient
from lighttrack.errors import LighttrackError

from tui.adapter import JumpTarget, TrackingAdapter
from tui.commands import JumpProvider
from tui.messages import DataChanged
from tui.screens.base import DataScreen

WORKER_SWITCH_INTERVAL = 0.0002  # seconds; see LighttrackApp.on_mount

THEMES = {"dark": "textual-dark", "light": "textual-light"}


class LighttrackApp(App[None]):
    """Browse, compare and chart a lighttrack file; change model stages; watch runs live."""

    CSS_PATH = "app.tcss"
    TITLE = "lighttrack"
    COMMANDS = App.COMMANDS | {JumpProvider}
    BINDINGS = [
        Binding("question_mark", "toggle_keys", "Keys", id="app.keys",
                tooltip="Show or hide every key of this screen"),
        Binding("m", "registry", "Models", id="app.registry", tooltip="Open the model registry"),
        Binding("f2", "toggle_dark", "Theme", id="app.theme", tooltip="Switch between the dark and light theme"),
        Binding("f12", "save_svg", "Save SVG", id="app.save_svg",
                tooltip="Save this screen as an SVG picture in the current folder (to paste into a PR or chat)"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit lighttrack ui"),
    ]

    def __init__(self, client: LighttrackClient, *, experiment_ids: list[str] | None = None,
                 run_id: str | None = None, live: bool = True, poll_interval: float = 0.75,
                 theme: str = "dark") -> None:
        super().__init__()
        self.crash_log: Path | None = None
        self.crash_text = ""
        self.client = client
        self.adapter = TrackingAdapter(client)
        self.start_experiments = list(experiment_ids or [])
        self.start_run = run_id
        self.live = live
        self.poll_interval = poll_interval
        self.theme = THEMES.get(theme, theme)
        self.data_version_seen: int | None = None
        self._switch_interval = sys.getswitchinterval()

    # ------------------------------------------------------------------ screens
    def get_default_screen(self) -> Screen:
        from tui.screens.experiments import ExperimentsScreen

        return ExperimentsScreen()

    def on_mount(self) -> None:
        # Workers read the file in threads, and Python's sqlite3 lets go of the GIL at every
        # step of every query; with the default 5 ms switch interval a worker waits up to 5 ms
        # to get it back each time while this thread draws, so a 15 ms page read took 300-600
        # ms at start-up. 0.2 ms keeps that wait short (bench/tui_bench.py, first runs screen).
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, WORKER_SWITCH_INTERVAL))
        # A full garbage collection walks every object alive, and after start-up that is every
        # module, style and widget of Textual and rich: 60 ms, landing in the middle of a page
        # change now and then. Frozen, they are left out of those walks (their memory is still
        # freed by reference counting; only cycles among them would wait for the unfreeze).
        gc.freeze()
        self.title = f"lighttrack · {self.client.path.name}"
        if self.start_experiments:
            self.open_runs(self.start_experiments)
        if self.start_run:
            self.open_run(self.start_run)
        if self.live:
            self.watch_file()

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)  # the process may go on (tests, benchmarks)
        gc.unfreeze()

    def open_runs(self, experiment_ids: list[str], names: dict[str, str] | None = None) -> None:
        from tui.screens.runs import RunsScreen

        if names is None:
            default = self.screen_stack[0]
            rows = getattr(default, "rows", [])
            names = {r.experiment_id: r.experiment.name for r in rows}
        self.push_screen(RunsScreen(experiment_ids, names))

    def open_run(self, run_id: str) -> None:
        from tui.screens.run_detail import RunDetailScreen

        self.push_screen(RunDetailScreen(run_id))

    def open_compare(self, run_ids: list[str], colours: list[int] | None = None) -> None:
        from tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(run_ids, colours))

    def open_model(self, name: str) -> None:
        from tui.screens.registry import ModelScreen

        self.push_screen(ModelScreen(name))

    def jump(self, target: JumpTarget) -> None:
        """Where the command palette sends the user."""
        if target.kind == "experiment":
            self.open_runs([target.ident], {target.ident: target.label})
        elif target.kind == "run":
            self.open_run(target.ident)
        elif target.kind == "model":
            self.open_model(target.ident)

    # ------------------------------------------------------------------ actions
    def action_toggle_keys(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_registry(self) -> None:
        from tui.screens.registry import RegistryScreen

        if not self.adapter.has_registry:
            self.notify("this lighttrack has no model registry yet", severity="warning")
            return
        if not isinstance(self.screen, RegistryScreen):
            self.push_screen(RegistryScreen())

    def action_save_svg(self) -> None:
        """The screen as it is now, as SVG (Textual's export), named after the screen."""
        screen = getattr(self.screen, "screen_name", "") or type(self.screen).__name__
        slug = "".join(c if c.isalnum() else "-" for c in screen.lower()).strip("-")
        slug = "-".join(part for part in slug.split("-") if part)[:40] or "screen"
        name = f"lighttrack-{slug}-{time.strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            path = self.save_screenshot(filename=name, path=os.getcwd())
        except OSError as exc:
            self.notify(f"could not save the picture: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved {path}", title="Screen saved as SVG", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "registry" and not self.adapter.has_registry:
            return False
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key of the screen is also a palette command, so every action can be found."""
        yield from super().get_system_commands(screen)
        seen = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.system or not binding.description or binding.action in seen:
                continue
            if binding.action in ("quit", "command_palette", "toggle_keys"):
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            yield SystemCommand(binding.description, f"{binding.tooltip or binding.description} ({key})",
                                lambda node=active.node, action=binding.action: self.run_action(action, node))

    # --------------------------------------------------------------- live refresh
    @work(thread=True, group="live", exit_on_error=False, description="Watching the file")
    def watch_file(self) -> None:
        """Poll the file's data version (on this thread's own connection) and post
        DataChanged when another connection or process committed."""
        worker = get_current_worker()
        last = self.adapter.data_version()
        while not worker.is_cancelled:
            deadline = time.monotonic() + self.poll_interval
            while time.monotonic() < deadline and not worker.is_cancelled:
                time.sleep(0.05)
            if worker.is_cancelled:
                return
            version = self.adapter.data_version()
            if version != last:
                last = version
                self.post_message(DataChanged(version))

    def on_data_changed(self, message: DataChanged) -> None:
        self.data_version_seen = message.version
        current = self.screen
        for screen in self.screen_stack:
            if isinstance(screen, DataScreen):
                screen.data_changed(screen is current)

    # --------------------------------------------------------------------- errors
    def _handle_exception(self, error: Exception) -> None:
        """A bug that escaped a handler ends the app (Textual's way) with exit code 1; the
        full traceback goes to a log file, and the terminal gets one line naming it (see
        ``crash_message``) instead of a screenful of locals."""
        try:
            self.crash_log = write_crash_log(error)
        except OSError:
            self.crash_log = None
        self.crash_text = f"{type(error).__name__}: {error}"
        super()._handle_exception(error)
        if self.crash_log is not None:
            self._exit_renderables.clear()  # (the traceback is in the log)

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors go: a notification, never a crash. (StateChanged does
        not bubble, so screens and dialogs forward theirs here, see ``ForwardWorkerErrors``.)"""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        text = error.message if isinstance(error, LighttrackError) else f"{type(error).__name__}: {error}"
        self.notify(text, title=f"{event.worker.description or 'work'} failed", severity="error", timeout=8)
        node = event.worker.node
        screen = getattr(node, "screen", None)
        if isinstance(screen, Screen):
            for widget in screen.query("*"):
                if widget.loading:
                    widget.loading = False


def write_crash_log(error: BaseException) -> Path:
    """The traceback of a crash, in the UI's state folder; returns where."""
    import traceback

    from tui.state import state_dir

    folder = state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ui-crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.write_text("".join(traceback.format_exception(type(error), error, error.__traceback__)),
                    encoding="utf-8")
    return path


def crash_message(app: LighttrackApp) -> str | None:
    """One line for the terminal after the app ended, or None when it ended normally."""
    if not app.return_code:
        return None
    where = f"the traceback is in {app.crash_log}" if app.crash_log else "no log could be written"
    return f"lighttrack ui crashed ({app.crash_text or 'unknown error'}); {where}"


def run_app(app: LighttrackApp) -> int:
    """Run the app in this terminal; the exit code (1 after a crash, with one line on stderr)."""
    app.run()
    message = crash_message(app)
    if message:
        print(message, file=sys.stderr)
        return 1
    return 0


def make_app(source: str | os.PathLike[str] | LighttrackClient | None = None, *,
             experiment_ids: list[str] | None = None, run_id: str | None = None, live: bool = True,
             poll_interval: float = 0.75, theme: str = "dark") -> LighttrackApp:
    """The one way to build the app (CLI, tests, benchmarks). ``source`` is a file path, a
    client, or None for the file the API would use. Opening a file that is not lighttrack's
    raises ``LighttrackError`` here, before any screen, and leaves it untouched."""
    # Shard mode: viewing follows the shards live and writes nothing; the first edit opens a
    # writing client (TrackingAdapter.editor).
    client = source if isinstance(source, LighttrackClient) else LighttrackClient.for_viewing(source)
    return LighttrackApp(client, experiment_ids=experiment_ids, run_id=run_id, live=live,
                         poll_interval=poll_interval, theme=theme)
