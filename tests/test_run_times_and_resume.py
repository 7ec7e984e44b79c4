"""Runs tell the truth: implausible times are refused, one bad row never breaks a listing, and a
run resumed by another process belongs to that process (pid, host, heartbeat)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import lighttrack
from conftest import ROOT
from lighttrack.cli import cli
from lighttrack.errors import InvalidArgument

MICROSECONDS_NOW = 1_764_585_600_000_000


def test_a_start_time_in_microseconds_is_refused_naming_the_unit(client):
    experiment = client.create_experiment("times")
    with pytest.raises(InvalidArgument, match="milliseconds.*looks like microseconds"):
        client.create_run(experiment, start_time=MICROSECONDS_NOW)
    with pytest.raises(InvalidArgument, match="milliseconds.*looks like nanoseconds"):
        client.create_run(experiment, start_time=MICROSECONDS_NOW * 1000)
    assert len(client.search_runs([experiment])) == 0
    run = client.create_run(experiment, start_time=1_700_000_000_000)
    with pytest.raises(InvalidArgument, match="end_time .* milliseconds"):
        client.set_terminated(run.info.run_id, end_time=MICROSECONDS_NOW)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    client.set_terminated(run.info.run_id, end_time=1_700_000_060_000)
    assert client.get_run(run.info.run_id).info.end_time == 1_700_000_060_000


def _bad_row_file(client, db_path: Path) -> str:
    """A file written by something else: one run's times are microseconds."""
    experiment = client.create_experiment("mixed")
    good = client.create_run(experiment, run_name="good-run")
    client.set_terminated(good.info.run_id)
    bad = client.create_run(experiment, run_name="bad-run")
    client.set_terminated(bad.info.run_id)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE runs SET start_time = ?, end_time = ? WHERE uuid = ?",
                 (MICROSECONDS_NOW, MICROSECONDS_NOW + 5_000_000, bad.info.run_id))
    conn.commit()
    conn.close()
    return bad.info.run_id


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_one_bad_row_never_breaks_runs_list_or_show(client, db_path, output_format):
    bad = _bad_row_file(client, db_path)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--db", str(db_path), "runs", "list", "--format", output_format],
                           catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert "good-run" in listed.output and "bad-run" in listed.output
    shown = runner.invoke(cli, ["--db", str(db_path), "runs", "show", bad], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "not a time in ms" in shown.output
    listed = runner.invoke(cli, ["--db", str(db_path), "experiments", "list"], catch_exceptions=False)
    assert listed.exit_code == 0 and "mixed" in listed.output


def test_one_bad_row_never_breaks_the_tuis_first_screen(client, db_path):
    pytest.importorskip("textual")
    from test_tui_helpers import settle, table_column

    from tui.app import make_app
    from tui.format import when

    assert when(MICROSECONDS_NOW) == "?"
    _bad_row_file(client, db_path)

    async def first_screen() -> list[str]:
        app = make_app(lighttrack.LighttrackClient(db_path), live=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            table = pilot.app.screen.query_one("#experiments-table")
            return table_column(table, "name"), table_column(table, "last")

    import asyncio

    names, last = asyncio.run(first_screen())
    assert "mixed" in names and last[names.index("mixed")] == "?"


# ----------------------------------------------------------------- resume from another process
_RESUME = """
import sys, time, lighttrack
from pathlib import Path
lighttrack.set_tracking_uri(sys.argv[1])
with lighttrack.start_run(run_id=sys.argv[2]):
    lighttrack.log_metric("resumed", 1.0)
    lighttrack.flush()
    Path(sys.argv[3]).write_text("logging")
    while Path(sys.argv[3]).read_text() != "stop":
        time.sleep(0.05)
"""


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_run_resumed_by_another_process_is_that_processes_run(db_path, tmp_path):
    # The run is created by a process that then exits: its pid is gone.
    created = subprocess.run(
        [sys.executable, "-c", "import sys, lighttrack; lighttrack.set_tracking_uri(sys.argv[1]);"
         " r = lighttrack.LighttrackClient().create_run('0'); print(r.info.run_id)", str(db_path)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    )
    run_id = created.stdout.strip()
    client = lighttrack.LighttrackClient(db_path)
    assert client.get_run(run_id).info.status == "KILLED"  # its creator is gone
    flag = tmp_path / "flag"
    flag.write_text("")
    resumer = subprocess.Popen([sys.executable, "-c", _RESUME, str(db_path), run_id, str(flag)],
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        _wait_for(lambda: flag.read_text() == "logging" or resumer.poll() is not None, "the resumed run")
        assert resumer.poll() is None
        assert client.get_run(run_id).info.status == "RUNNING"
        assert client.mark_dead_runs_killed() == []
        (pid,) = client.store.conn.execute("SELECT pid FROM runs WHERE uuid = ?", (run_id,)).fetchone()
        assert pid == resumer.pid
    finally:
        flag.write_text("stop")
        assert resumer.wait(timeout=60) == 0
    assert client.get_run(run_id).info.status == "FINISHED"
    assert client.get_run(run_id).data.metrics == {"resumed": 1.0}
