"""``lighttrack metrics export``: a run's metric history as CSV or JSON."""

from __future__ import annotations

import csv
import json
import math
import sys

import click

from lighttrack.cli.common import client_from


@click.group()
def metrics() -> None:
    """Export metric histories."""


@metrics.command("export")
@click.argument("run")
@click.argument("key", required=False)
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here instead of stdout.")
@click.pass_context
def export(ctx, run: str, key: str | None, output_format: str, output) -> None:
    """Every point of KEY (default: all metrics) of RUN as key,step,timestamp,value rows."""
    client = client_from(ctx)
    run_id = client.resolve_run_id(run)
    keys = [key] if key else sorted(client.get_run(run_id).data.metrics)
    if key and key not in client.get_run(run_id).data.metrics:
        raise click.ClickException(f"run {run_id[:8]} has no metric {key!r}")
    if output_format == "csv":
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(["key", "step", "timestamp", "value"])
        for k in keys:
            steps, timestamps, values = client.metric_history_arrays(run_id, k, numpy=False)
            writer.writerows((k, s, t, repr(v)) for s, t, v in zip(steps, timestamps, values))
        return
    data = []
    for k in keys:
        steps, timestamps, values = client.metric_history_arrays(run_id, k, numpy=False)
        data.extend(
            {"key": k, "step": s, "timestamp": t, "value": v if math.isfinite(v) else str(v)}
            for s, t, v in zip(steps, timestamps, values)
        )
    json.dump(data, output if output is not None else sys.stdout, indent=1)
    output.write("\n")
