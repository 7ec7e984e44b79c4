"""Messages that thread workers post back to the main thread.

Workers never touch widgets: they read through the adapter and post one of these; a handler
on the screen updates the widgets. ``DataChanged`` is posted by the file watcher and
coalesces, so a training loop committing fifty times a second costs one refresh.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class DataChanged(Message):
    """Another connection or process committed to the file."""

    def __init__(self, version: int) -> None:
        super().__init__()
        self.version = version

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DataChanged)


class ExperimentsLoaded(Message):
    def __init__(self, rows: list[Any]) -> None:
        super().__init__()
        self.rows = rows


class RunsLoaded(Message):
    """A page of the runs table; ``index`` is which page of the query it is."""

    def __init__(self, page: Any, live: bool = False, index: int = 0) -> None:
        super().__init__()
        self.page = page
        self.live = live
        self.index = index


class PagePrefetched(Message):
    """The page after the one on screen, read ahead so that moving on shows it at once."""

    def __init__(self, page: Any) -> None:
        super().__init__()
        self.page = page


class FilterRejected(Message):
    """The filter box's text did not parse; ``error`` says where and what was expected."""

    def __init__(self, text: str, error: str) -> None:
        super().__init__()
        self.text = text
        self.error = error


class RunKeysLoaded(Message):
    def __init__(self, keys: dict[str, list[str]]) -> None:
        super().__init__()
        self.keys = keys


class RunDetailLoaded(Message):
    def __init__(self, detail: Any, live: bool = False) -> None:
        super().__init__()
        self.detail = detail
        self.live = live


class SeriesLoaded(Message):
    """Metric series for a chart; ``target`` names which chart asked."""

    def __init__(self, target: str, key: str, series: list[Any]) -> None:
        super().__init__()
        self.target = target
        self.key = key
        self.series = series


class ArtifactLoaded(Message):
    def __init__(self, path: str, data: bytes | None, size: int | None, note: str = "") -> None:
        super().__init__()
        self.path = path
        self.data = data
        self.size = size
        self.note = note


class CompareLoaded(Message):
    def __init__(self, data: Any) -> None:
        super().__init__()
        self.data = data


class ScatterRunsLoaded(Message):
    def __init__(self, runs: list[Any]) -> None:
        super().__init__()
        self.runs = runs


class ActionDone(Message):
    """A write finished; ``text`` is what to tell the user."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ModelsLoaded(Message):
    def __init__(self, models: list[Any]) -> None:
        super().__init__()
        self.models = models


class ModelLoaded(Message):
    def __init__(self, model: Any, versions: list[Any], history: list[Any] | None) -> None:
        super().__init__()
        self.model = model
        self.versions = versions
        self.history = history


class ExperimentNamesLoaded(Message):
    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names
