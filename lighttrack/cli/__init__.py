"""The ``lighttrack`` command. Thin: parse, call the client, print.

Errors a user can fix are one line on stderr and exit code 1 — never a traceback.
"""

from __future__ import annotations

import sqlite3
import sys

import click

from lighttrack.errors import LighttrackError


class LighttrackGroup(click.Group):
    """Turns LighttrackError (and a few OS errors) into one-line messages."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LighttrackError as exc:
            raise click.ClickException(exc.message) from None
        except OSError as exc:  # a missing folder, a full disk, no permission: the user's to fix
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise click.ClickException(_sqlite_message(ctx, exc)) from None
        except KeyboardInterrupt:
            # Ctrl-C: one line and the shell's 130, as `lighttrack run` does (click would
            # print "Aborted!" and exit 1). Runs in progress were already marked KILLED.
            click.echo("lighttrack: interrupted", err=True)
            raise click.exceptions.Exit(130) from None


def _sqlite_message(ctx: click.Context, exc: sqlite3.Error) -> str:
    """A damaged page found mid-command: name the file, never print a traceback."""
    from lighttrack.config import resolve_path
    from lighttrack.store.db import describe

    path = resolve_path((ctx.obj or {}).get("tracking_uri"))
    error = describe(path, exc)
    return error.message if isinstance(error, LighttrackError) else f"{path}: {exc}"


@click.group(cls=LighttrackGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", "tracking_uri", envvar="LIGHTTRACK_TRACKING_URI", metavar="FILE",
    help="The lighttrack file (default: $LIGHTTRACK_TRACKING_URI or ./lighttrack.db).",
)
@click.version_option(package_name="lighttrack")
@click.pass_context
def cli(ctx: click.Context, tracking_uri: str | None) -> None:
    """Experiment tracking, models and registry in one SQLite file."""
    ctx.obj = {"tracking_uri": tracking_uri}


def _register() -> None:
    from lighttrack.cli import demo, experiments, maintenance, metrics, models, runs, sync

    cli.add_command(experiments.experiments)
    cli.add_command(runs.runs)
    from lighttrack.cli import runs_checkout, runs_moves

    runs.runs.add_command(runs_moves.move)
    runs.runs.add_command(runs_checkout.checkout)
    cli.add_command(metrics.metrics)
    cli.add_command(models.models)
    cli.add_command(maintenance.gc)
    cli.add_command(maintenance.info)
    cli.add_command(maintenance.recover)
    cli.add_command(demo.demo)
    from lighttrack.cli import projects

    cli.add_command(projects.run)
    cli.add_command(sync.merge)
    cli.add_command(sync.watch_shards)
    cli.add_command(sync.export)
    cli.add_command(sync.backup)
    cli.add_command(sync.import_mlflow)
    cli.add_command(sync.push_mlflow)
    from lighttrack.cli import ui

    cli.add_command(ui.ui)
    from lighttrack.cli import plot, serve

    cli.add_command(plot.plot)
    for command in serve.COMMANDS:
        models.models.add_command(command)
    from lighttrack.cli import logged_models

    for command in logged_models.COMMANDS:
        models.models.add_command(command)

    from lighttrack.cli import mlflow_names
    from lighttrack.cli.common import with_db_everywhere

    mlflow_names.install(cli)  # MLflow's spellings, after every command is in place
    with_db_everywhere(cli)  # last: every command above (and MLflow's spellings) gets --db too


_register()


def main() -> None:
    try:
        cli(prog_name="lighttrack")
    except KeyboardInterrupt:
        click.echo("lighttrack: interrupted", err=True)
        sys.exit(130)
