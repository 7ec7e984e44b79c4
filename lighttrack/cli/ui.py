"""``lighttrack ui [FILE]``: the terminal UI (Textual), loaded only when this command runs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from lighttrack.client import LighttrackClient
from lighttrack.config import resolve_path


@click.command()
@click.argument("file", required=False, metavar="[FILE]")
@click.option("-x", "--experiment", "experiments", multiple=True, metavar="EXP",
              help="Open the runs of this experiment (name or id) first; repeatable.")
@click.option("--run", "run", metavar="RUN", help="Open this run (id, id prefix or name) first.")
@click.option("--theme", type=click.Choice(["dark", "light"]), default="dark", show_default=True,
              help="Colour theme (F2 switches inside the UI).")
@click.option("--no-live", is_flag=True, help="Do not refresh screens when the file changes.")
@click.pass_context
def ui(ctx: click.Context, file: str | None, experiments: tuple[str, ...], run: str | None,
       theme: str, no_live: bool) -> None:
    """Browse, compare and chart runs in a terminal UI (no server needed)."""
    path = resolve_path(file if file is not None else (ctx.obj or {}).get("tracking_uri"))
    if not path.exists():
        raise click.ClickException(
            f"{path}: no such file (log a run first, e.g. `lighttrack demo`, or name a lighttrack file)")
    if Path(path).is_dir():
        raise click.ClickException(f"{path}: is a folder, not a lighttrack file")
    client = LighttrackClient(path)  # a file that is not lighttrack's fails here, untouched
    if not sys.stdin.isatty():
        click.echo("lighttrack ui needs a terminal: stdin is not a TTY "
                   "(in scripts, use `lighttrack runs list` or the Python API)", err=True)
        sys.exit(1)
    experiment_ids = [client.resolve_experiment_id(e) for e in experiments]
    run_id = client.resolve_run_id(run) if run else None
    # importlib keeps the core free of any import of the UI package (checked by a test).
    ui_app = importlib.import_module("tui.app")
    app = ui_app.make_app(client, experiment_ids=experiment_ids, run_id=run_id, live=not no_live, theme=theme)
    code = ui_app.run_app(app)  # a crash: one line naming the log, exit code 1
    if code:
        sys.exit(code)
