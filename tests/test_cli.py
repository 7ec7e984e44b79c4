"""The command line, through click's CliRunner (and once as a real subprocess)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT

from lighttrack import LighttrackClient
from lighttrack.cli import cli


@pytest.fixture
def invoke(db_path):
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def two_runs(client):
    exp = client.create_experiment("cli-exp")
    ids = []
    for lr, acc in (("0.1", 0.8), ("0.01", 0.9)):
        run = client.create_run(exp, run_name=f"lr-{lr}").info.run_id
        client.log_param(run, "lr", lr)
        client.log_param(run, "same", "x")
        for step in range(3):
            client.log_metric(run, "acc", acc - 0.1 * (2 - step), step=step)
        client.set_terminated(run)
        ids.append(run)
    return ids


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name, command in _commands(cli):
        assert command.help, f"`lighttrack {name}` has no help text"
        if not isinstance(command, click.Group):
            assert f"lighttrack {name}" in readme, f"`lighttrack {name}` is missing from the README"


def test_experiments_commands(invoke):
    exp_id = invoke("experiments", "create", "made", "--description", "hello").output.strip()
    assert len(exp_id) == 32
    out = invoke("experiments", "list", "--format", "json").output
    made = next(e for e in json.loads(out) if e["name"] == "made")  # beside the Default experiment "0"
    assert made["description"] == "hello"
    invoke("experiments", "rename", "made", "renamed")
    invoke("experiments", "delete", "renamed")
    assert "renamed" not in invoke("experiments", "list").output
    assert "renamed" in invoke("experiments", "list", "--all").output
    invoke("experiments", "restore", exp_id)
    assert "renamed" in invoke("experiments", "list", "--format", "csv").output


def test_runs_list_filter_order_and_formats(invoke, two_runs):
    out = invoke("runs", "list", "--filter", "params.lr < 0.05", "--format", "json").output
    assert [r["params"]["lr"] for r in json.loads(out)] == ["0.01"]
    out = invoke("runs", "list", "--order-by", "metrics.acc ASC", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["params.lr"] for r in rows] == ["0.1", "0.01"] and rows[0]["metrics.acc"] == "0.8"  # csv keeps prefixes
    table = invoke("runs", "list", "-x", "cli-exp").output
    assert "lr-0.1" in table and "lr-0.01" in table


def test_runs_show_compare_delete_restore(invoke, two_runs):
    first, second = two_runs
    out = invoke("runs", "show", first[:8]).output
    assert "lr = 0.1" in out and "acc = 0.8" in out and "3 points" in out
    record = json.loads(invoke("runs", "show", "lr-0.01", "--format", "json").output)
    assert record["run_id"] == second and record["metrics"]["acc"] == pytest.approx(0.9)
    out = invoke("runs", "compare", first, second, "--format", "csv").output
    rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(out))}
    assert rows["key"] == ["differs", first, second]  # scripts get a differs field and run ids
    assert rows["params.lr"] == ["True", "0.1", "0.01"] and rows["params.same"] == ["False", "x", "x"]
    diff_only = invoke("runs", "compare", first, second, "--only-diff", "--format", "csv").output
    assert "params.same" not in diff_only
    invoke("runs", "delete", first)
    assert first not in invoke("runs", "list", "--format", "json").output
    invoke("runs", "restore", first)
    assert first in invoke("runs", "list", "--format", "json").output


def test_metrics_export_csv_and_json(invoke, two_runs, tmp_path):
    out = invoke("metrics", "export", two_runs[0], "acc").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["step"]) for r in rows] == [0, 1, 2]
    target = tmp_path / "m.json"
    invoke("metrics", "export", two_runs[0], "--format", "json", "-o", str(target))
    assert [p["step"] for p in json.loads(target.read_text())] == [0, 1, 2]


def test_gc_info_and_mark_killed(invoke, two_runs):
    invoke("runs", "delete", two_runs[0])
    assert "purged 1 run(s)" in invoke("gc").output
    out = invoke("info").output
    assert "integrity: ok" in out and "runs: 1 (+0 deleted)" in out
    assert "marked 0 run(s) KILLED" in invoke("runs", "mark-killed").output
    result = invoke("gc", "--older-than", "soon", ok=False)
    assert result.exit_code == 2 and "30s, 15m, 12h or 7d" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["runs", "show", "nonexistent"], "no run matches"),
        (["runs", "list", "--filter", "metrics.acc >"], "filter"),
        (["runs", "list", "--order-by", "bogus.thing"], ""),
        (["experiments", "create", "cli-exp"], "already exists"),
        (["experiments", "delete", "no-such-experiment"], "no experiment"),
        (["metrics", "export", "lr-0.1", "nope"], "has no metric"),
    ],
)
def test_errors_are_one_line_exit_1_no_traceback(invoke, two_runs, args, message):
    result = invoke(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ") and message in result.output


def test_a_foreign_file_is_a_one_line_error_from_the_real_command(tmp_path):
    foreign = tmp_path / "notes.db"
    foreign.write_text("just text\n" * 20)
    result = subprocess.run(
        [sys.executable, "-m", "lighttrack", "--db", str(foreign), "info"],
        capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "not a lighttrack database" in result.stderr
    assert foreign.read_text() == "just text\n" * 20


def test_demo_logs_a_sweep_and_says_how_to_look(invoke, db_path):
    out = invoke("demo").output
    assert "9 runs logged to experiment 'iris-demo'" in out and "lighttrack" in out
    client = LighttrackClient(db_path)
    runs = client.search_runs(client.resolve_experiment_id("iris-demo"))
    assert len(runs) == 9
    assert all(r.data.metrics["accuracy"] > 0.8 and "cv_accuracy" in r.data.metrics for r in runs)
    assert len(client.get_metric_history(runs[0].info.run_id, "test_accuracy_by_trees")) >= 5
