"""``lighttrack models list-logged`` / ``show-logged``: MLflow 3's logged models from the shell."""

from __future__ import annotations

import click

from lighttrack.cli.common import client_from, emit, format_option, when


def _metrics(model) -> str:
    latest: dict[str, float] = {}
    for m in sorted(model.metrics, key=lambda m: (m.timestamp, m.step)):
        latest[m.key] = m.value
    return ", ".join(f"{k}={v:.4g}" for k, v in latest.items())


@click.command("list-logged")
@click.option("--experiment", "-x", "experiments", multiple=True,
              help="Experiment name or id (repeatable; default: every experiment).")
@click.option("--filter", "filter_string", help="e.g. \"metrics.accuracy > 0.9 and params.C = '1.0'\".")
@click.option("--order-by", "order_by", multiple=True, help="e.g. 'metrics.accuracy DESC' (repeatable).")
@click.option("--max-results", type=int, default=100, show_default=True, help="How many models at most.")
@format_option()
@click.pass_context
def list_logged(ctx, experiments, filter_string, order_by, max_results, output_format) -> None:
    """List logged models (MLflow 3's search_logged_models), newest first."""
    client = client_from(ctx)
    ids = [client.resolve_experiment_id(x) for x in experiments] or [
        e.experiment_id for e in client.search_experiments()]
    found = client.search_logged_models(ids, filter_string, max_results=max_results, order_by=list(order_by) or None)
    rows = [[m.model_id, m.name, str(m.status), (m.source_run_id or "")[:8], m.model_type or "", _metrics(m),
             when(m.creation_timestamp)] for m in found]
    emit(["model_id", "name", "status", "run", "type", "metrics", "created"], rows, output_format, keep_columns=2)


@click.command("show-logged")
@click.argument("model_id")
@click.pass_context
def show_logged(ctx, model_id: str) -> None:
    """Show a logged model: status, run, params, metrics (with their datasets), tags."""
    m = client_from(ctx).get_logged_model(model_id)
    click.echo(f"logged model {m.model_id}   {m.name}   {m.status}   created {when(m.creation_timestamp)}")
    click.echo(f"  experiment {m.experiment_id}   run {m.source_run_id or '-'}   uri {m.model_uri}")
    if m.model_type:
        click.echo(f"  type {m.model_type}")
    for key, value in sorted(m.params.items()):
        click.echo(f"  param {key} = {value}")
    for metric in m.metrics:
        on = f"   on {metric.dataset_name}" + (f" ({metric.dataset_digest})" if metric.dataset_digest else "") \
            if metric.dataset_name else ""
        click.echo(f"  metric {metric.key} = {metric.value:.6g}   step {metric.step}{on}")
    for key, value in sorted(m.tags.items()):
        click.echo(f"  tag {key} = {value}")


COMMANDS = (list_logged, show_logged)
