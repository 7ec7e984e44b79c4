"""Dialogs that write, and stay open when the write is refused.

A dialog that closed before its write ran lost what the user typed whenever the file said no
(a name in use, alias ``latest``, a stage the version cannot take): the error came as a
notification over a screen with the dialog gone. Here the write runs in the dialog's own
worker; the dialog closes only once it succeeded, and a refusal is shown inside it, above
the input that still holds the text.
"""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.widgets import Static

from lighttrack.errors import LighttrackError


class SavesInDialog:
    """Mixin for a ModalScreen with a ``Static(classes="dialog-error")``: ``save_then(write,
    result)`` runs ``write()`` in a worker and dismisses with ``result`` when it succeeded."""

    #: the widget that gets focus back after a refusal (the input holding the text)
    refocus: str = ""

    def save_then(self, write: Callable[[], object], result: object) -> None:
        self._saving(write, result)

    @work(thread=True, exclusive=True, group="dialog-save", exit_on_error=False, description="Saving")
    def _saving(self, write: Callable[[], object], result: object) -> None:
        try:
            write()
        except LighttrackError as exc:
            self.app.call_from_thread(self.refused, exc.message)  # type: ignore[attr-defined]
            return
        self.app.call_from_thread(self.saved, result)

    def saved(self, result: object) -> None:
        self.dismiss(result)  # type: ignore[attr-defined]

    def refused(self, message: str) -> None:
        error = self.query_one(".dialog-error", Static)  # type: ignore[attr-defined]
        error.update(Text(message))
        error.add_class("-shown")
        if self.refocus:
            found = self.query(self.refocus)  # type: ignore[attr-defined]
            if found:
                found.first().focus()

    def clear_error(self) -> None:
        self.query_one(".dialog-error", Static).remove_class("-shown")  # type: ignore[attr-defined]
