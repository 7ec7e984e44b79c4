"""``lighttrack runs``: list, show, compare, delete, restore, mark-killed (move and checkout:
runs_moves.py, runs_checkout.py)."""

from __future__ import annotations

import dataclasses
import json

import click

from lighttrack.cli.common import client_from, duration, emit, format_option, number, when
from lighttrack.entities import Run, ViewType


@click.group()
def runs() -> None:
    """List, inspect and compare runs."""


def _experiment_ids(client, names: tuple[str, ...]) -> list[str] | None:
    return [client.resolve_experiment_id(n) for n in names] or None


def _record(run: Run) -> dict:
    info = run.info
    return {
        "run_id": info.run_id, "run_name": info.run_name, "experiment_id": info.experiment_id,
        "status": info.status, "start_time": info.start_time, "end_time": info.end_time,
        "user_id": info.user_id, "lifecycle_stage": info.lifecycle_stage,
        "params": run.data.params, "metrics": run.data.metrics, "tags": run.data.tags,
    }


@runs.command("list")
@click.option("--experiment", "-x", "experiments", multiple=True, help="Experiment name or id (repeatable; default: all).")
@click.option("--filter", "filter_string", default="", help="Search filter, e.g. \"metrics.acc > 0.9 and params.lr = '0.01'\".")
@click.option("--order-by", multiple=True, help="e.g. 'metrics.acc DESC' (repeatable).")
@click.option("--max", "max_results", type=click.IntRange(min=1), default=100, show_default=True, help="At most this many runs.")
@click.option("--all", "show_all", is_flag=True, help="Include deleted runs.")
@format_option()
@click.pass_context
def list_runs(ctx, experiments, filter_string, order_by, max_results, show_all, output_format) -> None:
    """List runs, newest first, with their latest metrics and params."""
    client = client_from(ctx)
    found = client.search_runs(
        _experiment_ids(client, experiments), filter_string,
        ViewType.ALL if show_all else ViewType.ACTIVE_ONLY, max_results, list(order_by) or None,
    )
    metric_keys = sorted({k for r in found for k in r.data.metrics})
    param_keys = sorted({k for r in found for k in r.data.params})
    columns = ["run_id", "name", "status", "started", "duration",
               *_labels(metric_keys, param_keys, prefixed=output_format != "table")]
    rows = []
    for run in found:
        i = run.info
        rows.append([
            i.run_id if output_format != "table" else i.run_id[:8], i.run_name, i.status,
            when(i.start_time) if output_format != "table" else when(i.start_time, "%m-%d %H:%M"),
            duration(i.start_time, i.end_time),
            *[run.data.metrics.get(k) for k in metric_keys],
            *[run.data.params.get(k, "") for k in param_keys],
        ])
    emit(columns, rows, output_format, records=[_record(r) for r in found])
    if found.token and output_format == "table":
        click.echo(f"(more runs: raise --max, now {max_results})", err=True)


@runs.command("show")
@click.argument("run")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_context
def show(ctx, run: str, output_format: str) -> None:
    """Show one RUN (id, id prefix or name): info, params, metrics, tags, artifacts, datasets."""
    client = client_from(ctx)
    found = client.get_run(client.resolve_run_id(run))
    summaries = client.get_metric_summaries(found.info.run_id)
    artifacts = client.list_artifact_files(found.info.run_id)
    moves = client.get_run_moves(found.info.run_id)
    if output_format == "json":
        record = _record(found)
        record["artifacts"] = [{"path": a.path, "size": a.file_size} for a in artifacts]
        record["inputs"] = found.inputs.to_dictionary()["dataset_inputs"]
        record["moves"] = [dataclasses.asdict(m) for m in moves]
        click.echo(json.dumps(record, indent=2, allow_nan=True))
        return
    i = found.info
    click.echo(f"run {i.run_id}  {i.run_name}")
    click.echo(f"  status {i.status}   experiment {i.experiment_id}   user {i.user_id}")
    click.echo(f"  started {when(i.start_time)}   ended {when(i.end_time)}   duration {duration(i.start_time, i.end_time)}")
    if found.info.lifecycle_stage != "active":
        click.echo(f"  ({found.info.lifecycle_stage})")
    click.echo("params:")
    for k, v in sorted(found.data.params.items()):
        click.echo(f"  {k} = {v}")
    click.echo("metrics (last / min / max @ steps):")
    for m in summaries:
        click.echo(f"  {m.key} = {number(m.value)}  [{number(m.min)} .. {number(m.max)}]  step {m.step}, {m.count} points")
    click.echo("tags:")
    for k, v in sorted(found.data.tags.items()):
        click.echo(f"  {k} = {v}")
    click.echo("artifacts:")
    for a in artifacts:
        click.echo(f"  {a.path}  ({a.file_size:,} bytes)")
    if found.inputs.dataset_inputs:
        click.echo("datasets (context  name@digest  source):")
        for item in found.inputs.dataset_inputs:
            context = next((t.value for t in item.tags if t.key == "mlflow.data.context"), "-")
            d = item.dataset
            click.echo(f"  {context}  {d.name}@{d.digest}  {d.source_type} {d.source}")
    if moves:
        from lighttrack.cli.runs_moves import describe_move

        click.echo("moves:")
        for move in moves:
            click.echo(f"  {describe_move(move)}")


def _labels(metric_keys: list[str], param_keys: list[str], prefixed: bool) -> list[str]:
    """Column labels: bare names in a table unless two would read alike (a param and a metric
    both called loss, or c and C); always metrics./params. for csv and json."""
    bare = [*metric_keys, *param_keys]
    if prefixed or len({k.lower() for k in bare} | {"run_id", "name", "status", "started", "duration"}) < len(bare) + 5:
        return [f"metrics.{k}" for k in metric_keys] + [f"params.{k}" for k in param_keys]
    return bare


@runs.command("compare")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--only-diff", is_flag=True, help="Hide rows where every run has the same value.")
@format_option()
@click.pass_context
def compare(ctx, run_ids, only_diff: bool, output_format: str) -> None:
    """Compare RUNS side by side: params and metrics, differing rows marked with *."""
    client = client_from(ctx)
    found = [client.get_run(client.resolve_run_id(r)) for r in run_ids]
    rows = []
    for kind, getter in (("param", lambda r: r.data.params), ("metric", lambda r: r.data.metrics)):
        for key in sorted({k for r in found for k in getter(r)}):
            values = [getter(r).get(key) for r in found]
            differs = len({json.dumps(v) for v in values}) > 1
            if only_diff and not differs:
                continue
            rows.append([f"{kind}s.{key}", differs, *values])
    if output_format == "table":  # people read a marker; scripts get a differs field and run ids
        columns = ["key", *[f"{r.info.run_name} ({r.info.run_id[:8]})" for r in found]]
        emit(columns, [[("* " if d else "  ") + key, *values] for key, d, *values in rows], output_format)
        return
    emit(["key", "differs", *[r.info.run_id for r in found]], rows, output_format)


def _lifecycle(ctx, run_ids, deleting: bool) -> None:
    client = client_from(ctx)
    for text in run_ids:
        run_id = client.resolve_run_id(text)
        (client.delete_run if deleting else client.restore_run)(run_id)
        click.echo(f"{'deleted' if deleting else 'restored'} run {run_id}")


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True)
@click.pass_context
def delete(ctx, run_ids) -> None:
    """Mark RUNS deleted (`lighttrack gc` removes them for good)."""
    _lifecycle(ctx, run_ids, True)


@runs.command("restore")
@click.argument("run_ids", nargs=-1, required=True)
@click.pass_context
def restore(ctx, run_ids) -> None:
    """Restore deleted RUNS."""
    _lifecycle(ctx, run_ids, False)


@runs.command("mark-killed")
@click.pass_context
def mark_killed(ctx) -> None:
    """Write KILLED on RUNNING runs whose process died (they already read as KILLED)."""
    killed = client_from(ctx).mark_dead_runs_killed()
    click.echo(f"marked {len(killed)} run(s) KILLED" + (": " + ", ".join(k[:8] for k in killed) if killed else ""))
