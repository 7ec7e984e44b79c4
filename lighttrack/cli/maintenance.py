"""``lighttrack gc``, ``lighttrack info`` and ``lighttrack recover``."""

from __future__ import annotations

import re
from pathlib import Path

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
    from lighttrack.cli.sync import rate_bar

    client = client_from(ctx)
    with rate_bar("gc") as update:  # on stderr, only on a terminal
        report = client.gc(_age_ms(older_than), progress=update)
    click.echo(
        f"purged {report.runs} run(s), {report.experiments} experiment(s), {report.blobs} blob(s); "
        f"file {report.bytes_before:,} -> {report.bytes_after:,} bytes"
    )


def _count(value: int | None) -> str:
    return "unreadable" if value is None else f"{value:,}"


@click.command()
@click.option("--full", is_flag=True,
              help="Also run SQLite's full integrity check, decode every metric chunk and re-hash every artifact blob.")
@click.pass_context
def info(ctx, full: bool) -> None:
    """Path, schema version, counts, size and an integrity check of the file."""
    r = client_from(ctx).file_report(full)
    lines = [
        ("path", r.path), ("schema version", r.schema_version), ("store id", r.store_uuid),
        ("created by", r.created_by), ("experiments", _count(r.experiments)),
        ("runs", f"{_count(r.runs)} (+{_count(r.deleted_runs)} deleted)"),
        ("metrics", f"{_count(r.metric_series)} series, {_count(r.metric_points)} points"),
        ("artifacts", f"{_count(r.artifacts)} files in {_count(r.blobs)} blobs, {_count(r.blob_bytes)} bytes"),
        ("size", f"{r.file_bytes:,} bytes" + (f" (+{r.wal_bytes:,} in WAL)" if r.wal_bytes else "")),
        ("integrity", "ok" if not r.problems else f"{len(r.problems)} problem(s)"),
    ]
    for label, value in lines:
        click.echo(f"{label:>15}: {value}")
    for problem in r.problems[:50]:
        click.echo(f"{'damaged':>15}: {problem}")
    if len(r.problems) > 50:
        click.echo(f"{'':>15}  ... and {len(r.problems) - 50} more")
    if r.problems:
        click.echo(f"copy what can be read with: lighttrack recover {r.path} RECOVERED.db", err=True)
        raise SystemExit(1)


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def recover(source: Path, out: Path) -> None:
    """Copy everything that can still be read from a damaged SOURCE file into a new file OUT."""
    from lighttrack.store.recover import recover as recover_file

    report = recover_file(source.absolute(), out.absolute())
    for table in report.tables:
        if table.unreadable or table.removed:
            click.echo(
                f"{table.table}: {table.copied:,} row(s) copied"
                + (f", unreadable: {'; '.join(table.unreadable[:5])}" if table.unreadable else "")
                + (f", {table.removed:,} left out (damaged or orphaned)" if table.removed else "")
            )
    for line in report.lost[:50]:
        click.echo(f"lost: {line}")
    copied = sum(t.copied for t in report.tables)
    if report.complete:
        click.echo(f"recovered all {copied:,} rows into {report.out}; {report.source} was left untouched")
    else:
        click.echo(f"recovered {copied:,} rows into {report.out} (losses above); {report.source} was left untouched")
