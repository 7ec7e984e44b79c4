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
    "runs checkout",
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


def _remember_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:  # given after the subcommand: it wins over one given before it
        ctx.ensure_object(dict)["tracking_uri"] = value


def db_option(command: click.Command) -> click.Command:
    """``--db FILE`` on a (sub)command, so ``lighttrack runs list --db x.db`` works as well as
    ``lighttrack --db x.db runs list``. Every command gets it at registration (cli/__init__);
    applying it twice is harmless. No envvar here: the top level already reads
    $LIGHTTRACK_TRACKING_URI, and an envvar at this level would override an explicit top-level --db."""
    if any(p.name == "db" for p in command.params):
        return command
    command.params.append(click.Option(
        ["--db"], metavar="FILE", expose_value=False, is_eager=True, callback=_remember_db,
        help="The lighttrack file (default: $LIGHTTRACK_TRACKING_URI or ./lighttrack.db).",
    ))
    return command


def with_db_everywhere(group: click.Group) -> None:
    """Give every command below ``group`` the ``--db`` option (the README promises it)."""
    for command in group.commands.values():
        db_option(command)
        if isinstance(command, click.Group):
            with_db_everywhere(command)


def format_option(choices: tuple[str, ...] = ("table", "csv", "json")) -> Callable:
    return click.option(
        "--format", "output_format", type=click.Choice(choices), default=choices[0],
        show_default=True, help="Output format.",
    )

def when(ms: int | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time in milliseconds as local time; one that no calendar can show (a file written by
    something else may hold microseconds) is shown raw, so one bad row never breaks a listing."""
    if not ms:
        return ""
    try:
        return datetime.fromtimestamp(ms / 1000).strftime(fmt)
    except (OverflowError, OSError, ValueError, TypeError):
        return f"{ms} (not a time in ms)"

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
