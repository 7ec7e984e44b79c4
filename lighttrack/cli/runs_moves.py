"""``lighttrack runs move``: put runs (and their child runs) into another experiment."""

from __future__ import annotations

import click

from lighttrack.cli.common import client_from, when
from lighttrack.entities.run_moves import RunMove


def describe_move(move: RunMove) -> str:
    """One history line: when, from, to, who, and what carried it along."""
    carried = f"  (with its parent run {move.with_parent})" if move.with_parent else ""
    return (f"{when(move.timestamp)}  from {move.from_experiment_name!r} ({move.from_experiment_id})"
            f" to {move.to_experiment_name!r} ({move.to_experiment_id})"
            f"  by {move.user_id}@{move.host}{carried}")


@click.command("move")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN...")
@click.option("--to", "experiment", required=True, metavar="EXPERIMENT",
              help="The experiment to move them to (name or id).")
@click.option("--without-children", is_flag=True,
              help="Move only the runs given; by default their child runs move with them.")
@click.pass_context
def move(ctx, run_ids: tuple[str, ...], experiment: str, without_children: bool) -> None:
    """Move RUNS (ids, id prefixes or names) to another experiment, in one transaction.

    Child runs (mlflow.parentRunId) move with their parent unless --without-children. Each
    move is recorded in the run's history (`lighttrack runs show`); artifacts stay where they
    are. Nothing moves when any run is unknown or deleted, already in EXPERIMENT, or
    EXPERIMENT is deleted.
    """
    client = client_from(ctx)
    ids = [client.resolve_run_id(text) for text in run_ids]
    target = client.get_experiment(client.resolve_experiment_id(experiment))
    moved = client.move_run(ids, target.experiment_id, include_children=not without_children)
    children = len(moved) - len(set(ids))
    extra = f" (and {children} child run(s) with them)" if children else ""
    click.echo(f"moved {len(set(ids))} run(s) to experiment {target.name!r}{extra}")
    for run_id in moved:
        click.echo(f"  {run_id}")
