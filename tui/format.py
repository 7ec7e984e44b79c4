"""How values look in the UI: times, durations, numbers, statuses, and cutting with an ellipsis.

Pure functions (no Textual), so screens, tests and the command palette format alike.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

from rich.text import Text

ELLIPSIS = "…"

STATUS_STYLES = {
    "RUNNING": "bold $accent",
    "SCHEDULED": "$warning",
    "FINISHED": "$success",
    "FAILED": "bold $error",
    "KILLED": "$error",
}

#: Rich colours for statuses (Rich Text cannot use Textual's $variables).
STATUS_COLOURS = {
    "RUNNING": "bold dodger_blue1",
    "SCHEDULED": "yellow",
    "FINISHED": "green",
    "FAILED": "bold red",
    "KILLED": "magenta",
}

#: One colour per run in overlaid charts and legends (Tableau 10: readable on dark and light).
PALETTE: list[tuple[int, int, int]] = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]


def colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def rich_colour(index: int) -> str:
    r, g, b = colour(index)
    return f"rgb({r},{g},{b})"


def when(ms: int | None, with_seconds: bool = False) -> str:
    """A timestamp in local time, to the minute (the tables' resolution)."""
    if not ms:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    try:
        return datetime.fromtimestamp(ms / 1000).strftime(fmt)
    except (OverflowError, OSError, ValueError, TypeError):
        # A file from elsewhere may hold a time no calendar can show: one bad row never breaks a screen.
        return "?"


def duration(start: int | None, end: int | None, status: str = "", now_ms: int | None = None) -> str:
    """How long a run took; a RUNNING run's time so far."""
    if not start:
        return ""
    if not end:
        if status != "RUNNING":
            return ""
        end = now_ms if now_ms is not None else int(time.time() * 1000)
    return seconds_text(max(0, end - start) / 1000)


def seconds_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}h"


def number(value: object, digits: int = 4) -> str:
    """A metric value, short: 4 significant digits in tables, more where asked."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    return str(value)


def ellipsize(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` cells with an ellipsis, on one line."""
    text = " ".join(str(text).split()) if "\n" in str(text) else str(text)
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def ellipsize_middle(text: str, width: int, tail: float = 0.6) -> str:
    """Cut ``text`` to ``width`` cells in the middle, keeping its end: sweep run names differ
    at the end (``resnet18-lr0.001-bs256-seed3``), so the end is what tells them apart."""
    text = " ".join(str(text).split()) if "\n" in str(text) else str(text)
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width < 6:
        return ellipsize(text, width)
    keep_tail = max(1, int((width - 1) * tail))
    keep_head = width - 1 - keep_tail
    return text[:keep_head] + ELLIPSIS + text[len(text) - keep_tail:]


def short_labels(names: list[str], width: int) -> list[str]:
    """Labels of at most ``width`` cells that tell ``names`` apart: the common start (and
    end) the names share is dropped first, then what is left is cut in the middle."""
    if len(names) < 2:
        return [ellipsize_middle(n, width) for n in names]
    if all(len(n) <= width for n in names) and len(set(names)) == len(names):
        return list(names)
    parts = [re.split(r"([-_/: =,])", n) for n in names]
    if len({len(p) for p in parts}) == 1 and len(parts[0]) > 1:
        # Same shape (a sweep's names): keep only the words that differ between the runs.
        differ = [i for i in range(0, len(parts[0]), 2) if len({p[i] for p in parts}) > 1]
        if differ and len(differ) < (len(parts[0]) + 1) // 2:
            labels = ["…" + "-".join(p[i] for i in differ) for p in parts]
            return [ellipsize_middle(label, width) for label in labels]
    prefix = _common_prefix(names)
    suffix = _common_prefix([n[len(prefix):][::-1] for n in names])
    # keep whole words: back up to a separator so "lr0.001" does not become "001"
    cut = _back_to_separator(prefix)
    end = _back_to_separator(suffix)
    cores = [n[cut:len(n) - end] if end else n[cut:] for n in names]
    if any(not c for c in cores):
        cores = [n[cut:] for n in names]
    labels = [("…" if cut else "") + c for c in cores]
    return [ellipsize_middle(label, width) for label in labels]


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[:i]


def _back_to_separator(common: str) -> int:
    for i in range(len(common), 0, -1):
        if common[i - 1] in "-_/: =,":
            return i
    return 0


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_COLOURS.get(status, ""))


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def quote(text: str) -> str:
    """A string literal of the search grammar (quotes doubled, never pasted into SQL)."""
    return "'" + str(text).replace("'", "''") + "'"


def key_ref(kind: str, key: str) -> str:
    """``metrics.`val loss``` : a key of the search grammar, backticked so any name works."""
    return f"{kind}.`{key.replace('`', '``')}`"
