"""``lighttrack runs checkout``: rebuild the code a run started from (commit + diff + untracked)."""

from __future__ import annotations

from pathlib import Path

import click

from lighttrack.cli.common import client_from


@click.command("checkout")
@click.argument("run")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--repo", metavar="PATH_OR_URL",
              help="A git repository that has the run's commit (default: the one of the run's script, "
                   "the current directory's, or the recorded repoURL).")
@click.pass_context
def checkout(ctx, run: str, directory: Path, repo: str | None) -> None:
    """Rebuild the working tree RUN started from into DIRECTORY (new or empty).

    A clone at the run's git commit, with the uncommitted diff and the untracked files the
    run recorded (lighttrack-source/ artifacts) put back, byte for byte. What the run's
    snapshot left out (over its size limits) is listed on stderr.
    """
    from lighttrack.reproduce.rebuild import rebuild

    client = client_from(ctx)
    run_id = client.resolve_run_id(run)
    done = rebuild(client, run_id, directory, repo)
    extra = f" + diff ({done.diff_bytes:,} bytes)" if done.diff_bytes else ""
    files = f" + {done.files_written} untracked file(s)" if done.files_written else ""
    click.echo(f"checked out run {run_id} into {directory}: commit {done.commit[:12]} from {done.repository}{extra}{files}")
    for what in done.left_out:
        click.echo(f"lighttrack: not in the run's snapshot: {what}", err=True)
