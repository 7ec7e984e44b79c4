"""``lighttrack experiments``: list, create, rename, delete, restore."""

from __future__ import annotations

import click

from lighttrack.cli.common import client_from, emit, format_option, when
from lighttrack.entities import ViewType


@click.group()
def experiments() -> None:
    """List and manage experiments."""


@experiments.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deleted experiments.")
@click.option("--filter", "filter_string", help="Search filter, e.g. \"name LIKE 'iris%'\".")
@format_option()
@click.pass_context
def list_experiments(ctx: click.Context, show_all: bool, filter_string: str | None, output_format: str) -> None:
    """List experiments with their run counts."""
    client = client_from(ctx)
    found = client.search_experiments(
        ViewType.ALL if show_all else ViewType.ACTIVE_ONLY, filter_string=filter_string,
        order_by=["name ASC"],
    )
    from lighttrack.store.runs import count

    rows = [
        [e.experiment_id, e.name, count(client.store.conn, e.experiment_id), e.lifecycle_stage,
         when(e.last_update_time), e.description or ""]
        for e in found
    ]
    emit(["id", "name", "runs", "stage", "updated", "description"], rows, output_format)


@experiments.command("create")
@click.argument("name")
@click.option("--description", help="A description (stored as MLflow's mlflow.note.content tag).")
@click.pass_context
def create(ctx: click.Context, name: str, description: str | None) -> None:
    """Create an experiment and print its id."""
    tags = {"mlflow.note.content": description} if description else None
    click.echo(client_from(ctx).create_experiment(name, tags=tags))


@experiments.command("rename")
@click.argument("experiment")
@click.argument("new_name")
@click.pass_context
def rename(ctx: click.Context, experiment: str, new_name: str) -> None:
    """Rename EXPERIMENT (a name or id) to NEW_NAME."""
    client = client_from(ctx)
    client.rename_experiment(client.resolve_experiment_id(experiment), new_name)
    click.echo(f"renamed {experiment!r} to {new_name!r}")


@experiments.command("delete")
@click.argument("experiment")
@click.pass_context
def delete(ctx: click.Context, experiment: str) -> None:
    """Mark EXPERIMENT (a name or id) deleted; `lighttrack gc` removes it for good."""
    client = client_from(ctx)
    client.delete_experiment(client.resolve_experiment_id(experiment))
    click.echo(f"deleted experiment {experiment!r} (restore with `lighttrack experiments restore`)")


@experiments.command("restore")
@click.argument("experiment")
@click.pass_context
def restore(ctx: click.Context, experiment: str) -> None:
    """Restore a deleted EXPERIMENT (a name or id)."""
    client = client_from(ctx)
    client.restore_experiment(client.resolve_experiment_id(experiment))
    click.echo(f"restored experiment {experiment!r}")
