"""``lighttrack gc`` and ``lighttrack info``."""

from __future__ import annotations

import re

import click

from lighttrack.cli.common import client_from

_AGE = re.compile(r"^(\d+)([smhd])$")


def _age_ms(text: str | None) -> int:
    if not text:
        return 0
    match = _AGE.match(text.strip())
    if not match:
        raise click.BadParameter("use a number and a unit: 30s, 15m, 12h or 7d", param_hint="--older-than")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)] * 1000


@click.command()
@click.option("--older-than", help="Only purge what was deleted at least this long ago (e.g. 7d).")
@click.pass_context
def gc(ctx, older_than: str | None) -> None:
    """Purge deleted runs and experiments and unused artifact blobs, then VACUUM."""
    report = client_from(ctx).gc(_age_ms(older_than))
    click.echo(
        f"purged {report.runs} run(s), {report.experiments} experiment(s), {report.blobs} blob(s); "
        f"file {report.bytes_before:,} -> {report.bytes_after:,} bytes"
    )


@click.command()
@click.option("--full", is_flag=True, help="Run the full integrity check (slower than the quick one).")
@click.pass_context
def info(ctx, full: bool) -> None:
    """Path, schema version, counts, size and an integrity check of the file."""
    r = client_from(ctx).file_report(full)
    lines = [
        ("path", r.path), ("schema version", r.schema_version), ("store id", r.store_uuid),
        ("created by", r.created_by), ("experiments", r.experiments),
        ("runs", f"{r.runs:,} (+{r.deleted_runs:,} deleted)"),
        ("metrics", f"{r.metric_series:,} series, {r.metric_points:,} points"),
        ("artifacts", f"{r.artifacts:,} files in {r.blobs:,} blobs, {r.blob_bytes:,} bytes"),
        ("size", f"{r.file_bytes:,} bytes" + (f" (+{r.wal_bytes:,} in WAL)" if r.wal_bytes else "")),
        ("integrity", r.integrity),
    ]
    for label, value in lines:
        click.echo(f"{label:>15}: {value}")
    if r.integrity != "ok":
        raise SystemExit(1)
