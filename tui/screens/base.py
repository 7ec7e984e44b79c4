"""What every data screen shares: the adapter, Esc to go back, and live reloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

if TYPE_CHECKING:
    from tui.adapter import TrackingAdapter
    from tui.app import LighttrackApp


class ForwardWorkerErrors:
    """Send this node's worker state changes to the app's one error handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        handler = getattr(self.app, "worker_failed", None)  # type: ignore[attr-defined]
        if handler is not None:
            handler(event)


class DataScreen(ForwardWorkerErrors, Screen):
    """A screen showing data from the file. ``reload(live=True)`` is called when another
    connection commits; a screen that is not on top only notes it and reloads on return."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="screen.back", tooltip="Go back to the previous screen"),
    ]

    #: The name shown in the header after the file name.
    screen_name = ""

    def __init__(self) -> None:
        super().__init__()
        self.stale = False

    @property
    def adapter(self) -> "TrackingAdapter":
        return self.app.adapter  # type: ignore[attr-defined]

    @property
    def lt_app(self) -> "LighttrackApp":
        return self.app  # type: ignore[return-value]

    def reload(self, live: bool = False) -> None:
        """Read the data again (in a worker)."""

    def load_finished(self) -> None:
        """Call when a load finished, after clearing ``loading``: a loading widget cannot take
        focus, so the screen's default focus (AUTO_FOCUS) is given now if nothing has it."""
        if self.focused is None and isinstance(self.AUTO_FOCUS, str) and self.AUTO_FOCUS:
            found = self.query(self.AUTO_FOCUS)
            if found:
                found.first().focus()

    def data_changed(self, current: bool) -> None:
        if current:
            self.reload(live=True)
        else:
            self.stale = True

    def on_screen_resume(self) -> None:
        self.app.sub_title = self.screen_name
        if self.stale:
            self.stale = False
            self.reload(live=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back" and len(self.app.screen_stack) <= 1:
            return False
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


class ChartOptions:
    """The x-axis / smoothing / log-scale state and keys shared by screens that draw metric
    charts; the screen redraws in ``_apply_options``."""

    axis: str = "step"
    smoothing: float = 0.0
    log_y: bool = False

    def _apply_options(self) -> None:
        raise NotImplementedError

    def action_axis(self) -> None:
        from tui.series import next_axis

        self.axis = next_axis(self.axis)
        self._apply_options()

    def action_smoothing(self) -> None:
        from tui.series import next_smoothing

        self.smoothing = next_smoothing(self.smoothing)
        self._apply_options()

    def action_log(self) -> None:
        self.log_y = not self.log_y
        self._apply_options()
