"""``lighttrack merge|export|backup|import-mlflow|push-mlflow``: moving runs between files and stores."""

from __future__ import annotations

from contextlib import contextmanager

import click

from lighttrack.store.merge import MergeReport


@contextmanager
def progress_bar(description: str):
    """A rich progress display fed by (phase, done, total) callbacks; quiet when not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)

        def update(phase: str, done: int, total: int) -> None:
            bar.update(task, description=f"{description}: {phase}", completed=done, total=total or None)

        yield update


def _summary(report: MergeReport, verb: str) -> None:
    click.echo(
        f"{verb}: {report.runs_added} run(s) added, {report.runs_replaced} replaced, "
        f"{report.runs_combined} combined, {report.runs_kept} kept, "
        f"{report.runs_unchanged} already here; {report.metric_points:,} metric points, "
        f"{report.artifacts} artifact(s) ({report.blob_bytes:,} new bytes); {report.experiments_created} "
        f"experiment(s) created, {report.experiments_matched} matched; {report.models_created} model(s), "
        f"{report.versions_added} version(s), {report.aliases_added} alias(es) added "
        f"in {report.seconds:.2f}s"
    )
    for note in report.notes:
        click.echo(f"  note: {note}")
    if not report.changed:
        click.echo("nothing new: the file already held everything")


@click.command()
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--into", "target", type=click.Path(dir_okay=False), help="Merge into this file (default: --db).")
@click.pass_context
def merge(ctx, source: str, target: str | None) -> None:
    """Add SOURCE's experiments, runs, artifacts and registry to this file (SOURCE is only read)."""
    from lighttrack import sync

    with progress_bar("merging") as update:
        report = sync.merge(source, target or (ctx.obj or {}).get("tracking_uri"), progress=update)
    _summary(report, "merged")


@click.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The new file to write.")
@click.option("--experiment", "-x", "experiments", multiple=True, help="Only this experiment (name or id; repeatable).")
@click.option("--filter", "filter_string", default="", help="Only runs matching this search filter.")
@click.option("--with-models", is_flag=True, help="Also carry the registered model versions of those runs.")
@click.option("--include-deleted", is_flag=True, help="Also carry deleted runs.")
@click.pass_context
def export(ctx, output: str, experiments, filter_string: str, with_models: bool, include_deleted: bool) -> None:
    """Write a new, smaller lighttrack file with just the chosen runs, to carry elsewhere."""
    from lighttrack import sync

    with progress_bar("exporting") as update:
        report = sync.export(output, list(experiments) or None, filter_string, with_models,
                             source=(ctx.obj or {}).get("tracking_uri"), include_deleted=include_deleted,
                             progress=update)
    _summary(report, f"exported to {output}")


@click.command()
@click.argument("output", type=click.Path(dir_okay=False))
@click.pass_context
def backup(ctx, output: str) -> None:
    """Write a consistent copy of the file to OUTPUT, safe while other processes write."""
    from lighttrack import sync

    path = sync.backup(output, (ctx.obj or {}).get("tracking_uri"))
    click.echo(f"backed up to {path}")


@click.command("import-mlflow")
@click.argument("source")
@click.pass_context
def import_mlflow(ctx, source: str) -> None:
    """Read an MLflow store (http://server, sqlite:///mlflow.db or an mlruns/ folder) into this file."""
    from lighttrack.sync.mlflow_import import import_mlflow as run_import

    with progress_bar("importing") as update:
        report = run_import(source, (ctx.obj or {}).get("tracking_uri"), progress=update)
    _summary(report, f"imported from {source}")


@click.command("push-mlflow")
@click.argument("uri")
@click.option("--experiment", "-x", "experiments", multiple=True, help="Only this experiment (name or id; repeatable).")
@click.option("--filter", "filter_string", default="", help="Only runs matching this search filter.")
@click.pass_context
def push_mlflow(ctx, uri: str, experiments, filter_string: str) -> None:
    """Send runs, artifacts, models and the registry to the MLflow tracking server at URI."""
    from lighttrack.sync.mlflow_push import push_mlflow as run_push

    with progress_bar("pushing") as update:
        r = run_push(uri, (ctx.obj or {}).get("tracking_uri"), list(experiments) or None, filter_string, update)
    click.echo(
        f"pushed to {uri}: {r.runs_created} new run(s), {r.runs_updated} updated, {r.runs_unchanged} unchanged; "
        f"{r.metric_points:,} metric points, {r.artifacts} artifact file(s); {r.models_created} model(s), "
        f"{r.versions_created} version(s), {r.stage_changes} stage and {r.alias_changes} alias change(s) "
        f"in {r.seconds:.2f}s"
    )
