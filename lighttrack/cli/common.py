"""Shared CLI pieces: the client for the chosen file, output formats, time formatting."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from lighttrack.client import LighttrackClient

#: Commands that only read: they open the file read-only, so a mistyped path or an empty file
#: is an error instead of a new database, and nothing next to the file changes.
READ_COMMANDS = frozenset({
    "info", "experiments list", "runs list", "runs show", "runs compare", "metrics export",
    "models list", "models show", "models versions", "models history",
})


def command_name(ctx: click.Context) -> str:
    """'runs list' for ``lighttrack runs list`` (whatever the program was called)."""
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def client_from(ctx: click.Context) -> LighttrackClient:
    root = ctx.find_root()
    return LighttrackClient((root.obj or {}).get("tracking_uri"), readonly=command_name(ctx) in READ_COMMANDS)

pass_client = click.make_pass_decorator  # (kept for symmetry with click's helpers)

def format_option(choices: tuple[str, ...] = ("table", "csv", "json")) -> Callable:
    return click.option(
        "--format", "output_format", type=click.Choice(choices), default=choices[0],
        show_default=True, help="Output format.",
    )

def when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")

def duration(start: int | None, end: int | None) -> str:
    if not start or not end:
        return ""
    seconds = (end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"

def number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)

def emit(columns: list[str], rows: list[list[Any]], output_format: str, title: str | None = None,
         records: list[dict[str, Any]] | None = None, keep_columns: int = 2) -> None:
    """Print rows as a rich table, CSV, or JSON (``records`` when given, else rows as dicts)."""
    if output_format == "json":
        data = records if records is not None else [dict(zip(columns, row)) for row in rows]
        click.echo(json.dumps(data, indent=2, default=str, allow_nan=True))
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[number(v) for v in row] for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    cells = [[number(v) for v in row] for row in rows]
    full = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]
    console = Console()
    if not console.is_terminal:  # piped: every column, whole (a script or a file reads it)
        console = Console(width=max(80, sum(w + 3 for w in full) + 1))
    # the essential first columns are never cut (ids must stay copyable); others up to 24
    widths = [w if i < keep_columns or not console.is_terminal else min(w, 24) for i, w in enumerate(full)]
    # Show whole columns that fit rather than squeezing every column to an ellipsis.
    shown, used = [], 1
    for i, width in enumerate(widths):
        if i < keep_columns or not console.is_terminal or used + width + 3 <= console.width:
            shown.append(i)
            used += width + 3
    table = Table(title=title, header_style="bold")
    for i in shown:
        essential = i < keep_columns or not console.is_terminal
        table.add_column(columns[i], overflow="ellipsis", no_wrap=True,
                         min_width=widths[i] if essential else min(widths[i], 12))
    for row in cells:
        table.add_row(*[row[i] for i in shown])
    console.print(table)
    hidden = [columns[i] for i in range(len(columns)) if i not in shown]
    if hidden:
        click.echo(f"({len(hidden)} more column(s) did not fit: {', '.join(hidden[:6])}"
                   f"{'...' if len(hidden) > 6 else ''}; use --format csv or json)", err=True)
