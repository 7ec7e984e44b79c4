"""A progress bar with a rate, for long commands: on stderr, and only on a terminal (a pipe or a
log file gets none of its redraws)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, unit: str, total: int | None = None,
          console: Any = None) -> Iterator[T]:
    """Yield ``items`` while a rich bar shows done/total, the rate in ``unit``/s and the time."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    items = list(items) if total is None else items
    total = len(items) if total is None else total  # type: ignore[arg-type]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"),
                  TimeElapsedColumn(), transient=True, console=console,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total, rate=f"- {unit}/s")
        for item in items:
            yield item
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.2f} {unit}/s" if speed else f"- {unit}/s")
