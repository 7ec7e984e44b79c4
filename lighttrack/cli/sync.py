"""``lighttrack merge|export|backup|import-mlflow|push-mlflow``: moving runs between files and stores."""

from __future__ import annotations

from contextlib import contextmanager

import click

from lighttrack.store.merge import MergeReport


@contextmanager
def rate_bar(description: str, unit: str = "runs", console=None):
    """A progress bar fed by (phase, done, total, points=..., runs=...) with runs/s and points/s;
    on stderr, and off when stderr is not a terminal (pipes and CI get only the summary).
    ``runs`` is given when the bar counts something else (shards folded)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rates]}"), TimeElapsedColumn(),
                  transient=True, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None, rates="")

        def update(phase: str, done: int, total: int, points: int = 0, runs: int | None = None) -> None:
            seconds = max(time.perf_counter() - started, 1e-9)
            bar.update(task, description=f"{description}: {phase}", completed=done, total=total or None,
                       rates=f"{(done if runs is None else runs) / seconds:,.1f} {unit}/s, "
                             f"{points / seconds:,.0f} points/s")

        yield update


def _summary(report: MergeReport, verb: str) -> None:
    click.echo(
        f"{verb}: {report.runs_added} run(s) added, {report.runs_replaced} replaced, "
        f"{report.runs_combined} combined, {report.runs_kept} kept, {report.runs_moved} moved, "
        f"{report.runs_unchanged} already here; {report.metric_points:,} metric points, "
        f"{report.artifacts} artifact(s) ({report.blob_bytes:,} new bytes); {report.experiments_created} "
        f"experiment(s) created, {report.experiments_matched} matched; {report.models_created} model(s), "
        f"{report.versions_added} version(s), {report.aliases_added} alias(es) added; "
        f"{report.logged_models_added} logged model(s) added in {report.seconds:.2f}s"
    )
    if report.inputs_added:
        click.echo(f"  {report.inputs_added} dataset input(s) added, {report.datasets_added} dataset(s) new here")
    for note in report.notes:
        click.echo(f"  note: {note}")
    if not report.changed:
        click.echo("nothing new: the file already held everything")


@click.command()
@click.argument("source", type=click.Path(dir_okay=False), required=False)
@click.option("--into", "target", type=click.Path(dir_okay=False), help="Merge into this file (default: --db).")
@click.option("--shards", "fold_shards", is_flag=True,
              help="Instead of SOURCE, fold this file's shards (NAME.db.shards/) into it.")
@click.pass_context
def merge(ctx, source: str | None, target: str | None, fold_shards: bool) -> None:
    """Add SOURCE's experiments, runs, artifacts and registry to this file (SOURCE is only read)."""
    from lighttrack import sync

    if fold_shards == (source is not None):
        raise click.UsageError("give either SOURCE or --shards")
    if fold_shards:
        _fold_once(target or (ctx.obj or {}).get("tracking_uri"), echo_nothing=True)
        return

    with rate_bar("merging") as update:
        report = sync.merge(source, target or (ctx.obj or {}).get("tracking_uri"), progress=update)
    _summary(report, "merged")


def _fold_once(uri: str | None, echo_nothing: bool) -> None:
    """One fold. ``echo_nothing`` (merge --shards): wait for any other folder, always report."""
    from lighttrack.config import resolve_path
    from lighttrack.store.shards import fold_path

    path = resolve_path(uri)
    with rate_bar("folding shards") as update:
        report = fold_path(path, progress=update, wait=echo_nothing)
    if report.busy:
        return  # watching: another process is folding right now; the next round will see
    if report.changed or report.shards_live or echo_nothing:
        click.echo(
            f"folded {report.shards_folded} finished shard(s) into {path.name} and {report.shards_live} live one(s) "
            f"as a snapshot: {report.runs_added} run(s) added, {report.runs_replaced} updated, "
            f"{report.metric_points:,} metric points in {report.seconds:.2f}s", nl=True,
        )
    for note in report.notes:
        click.echo(f"  note: {note}")


@click.command("watch-shards")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between folds.")
@click.pass_context
def watch_shards(ctx, interval: float) -> None:
    """Keep folding this file's shards (NAME.db.shards/) into it until Ctrl-C."""
    import time

    uri = (ctx.obj or {}).get("tracking_uri")
    click.echo(f"folding shards every {interval:g}s; Ctrl-C stops", err=True)
    while True:
        _fold_once(uri, echo_nothing=False)
        time.sleep(interval)


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

    with rate_bar("exporting") as update:
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
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Runs read at once.")
@click.pass_context
def import_mlflow(ctx, source: str, workers: int) -> None:
    """Read an MLflow store (http://server, sqlite:///mlflow.db or an mlruns/ folder) into this file."""
    from lighttrack.sync.mlflow_import import import_mlflow as run_import

    with rate_bar("importing") as update:
        report = run_import(source, (ctx.obj or {}).get("tracking_uri"), progress=update, workers=workers)
    _summary(report, f"imported from {source}")


def _push_line(uri: str, r) -> str:
    recovered = f", {r.runs_recovered} found again after an interrupted push" if r.runs_recovered else ""
    rate = f" ({r.runs_created / r.seconds:,.1f} new runs/s)" if r.seconds and r.runs_created else ""
    return (
        f"pushed to {uri}: {r.runs_created} new run(s), {r.runs_updated} updated, {r.runs_unchanged} unchanged"
        f"{recovered}; {r.metric_points:,} metric points, {r.artifacts} artifact file(s); {r.models_created} model(s), "
        f"{r.versions_created} version(s), {r.stage_changes} stage and {r.alias_changes} alias change(s) "
        f"in {r.seconds:.2f}s{rate}"
    )


@click.command("push-mlflow")
@click.argument("uri")
@click.option("--experiment", "-x", "experiments", multiple=True, help="Only this experiment (name or id; repeatable).")
@click.option("--filter", "filter_string", default="", help="Only runs matching this search filter.")
@click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Runs sent at once (each its own connection).")
@click.option("--watch", is_flag=True, help="Keep pushing new points and runs as they are logged, until Ctrl-C.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="With --watch: seconds between pushes.")
@click.pass_context
def push_mlflow(ctx, uri: str, experiments, filter_string: str, workers: int, watch: bool, interval: float) -> None:
    """Send runs, artifacts, models and the registry to the MLflow tracking server at URI."""
    from lighttrack.sync.mlflow_push import push_mlflow as run_push
    from lighttrack.sync.mlflow_push import watch_mlflow

    source = (ctx.obj or {}).get("tracking_uri")
    if watch:
        def on_round(report, error) -> None:
            if error is not None:
                click.echo(f"server not reachable, retrying in {interval:g}s: {error}", err=True)
            elif report.runs_created or report.runs_updated or report.runs_recovered:
                click.echo(_push_line(uri, report))

        click.echo(f"pushing to {uri} every {interval:g}s; Ctrl-C stops", err=True)
        watch_mlflow(uri, source, list(experiments) or None, filter_string, interval, on_round, workers=workers)
        return
    with rate_bar("pushing") as update:
        r = run_push(uri, source, list(experiments) or None, filter_string, update, workers=workers)
    click.echo(_push_line(uri, r))
