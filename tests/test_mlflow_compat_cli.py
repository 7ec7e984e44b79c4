"""MLflow's CLI spellings on lighttrack's commands, and tables that scripts can read."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import lighttrack as mlflow
from lighttrack.cli import cli


@pytest.fixture
def cmd(db_path):
    def go(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return go


def _two_runs():
    ids = []
    for i in range(2):
        with mlflow.start_run() as run:
            mlflow.log_param("loss", i)
            mlflow.log_metric("loss", 0.5)
            mlflow.log_param("same", "x")
            mlflow.log_metric("C", 1.0)
            mlflow.log_metric("c", 2.0)
        ids.append(run.info.run_id)
    return ids


def test_experiments_mlflow_spellings(cmd):
    created = cmd("experiments", "create", "-n", "one").strip()
    assert cmd("experiments", "create", "--experiment-name", "two").strip() != created
    listed = json.loads(cmd("experiments", "search", "--format", "json"))
    assert {e["name"] for e in listed} == {"Default", "one", "two"}
    cmd("experiments", "delete", "--experiment-id", created)
    assert mlflow.get_experiment(created).lifecycle_stage == "deleted"
    cmd("experiments", "restore", "--experiment-id", created)
    assert "give NAME" in cmd("experiments", "create", code=2)


def test_runs_mlflow_spellings(cmd):
    ids = _two_runs()
    rows = list(csv.DictReader(io.StringIO(cmd("runs", "list", "--experiment-id", "0", "--format", "csv"))))
    assert {r["run_id"] for r in rows} == set(ids)
    described = json.loads(cmd("runs", "describe", "--run-id", ids[0]))
    assert described["run_id"] == ids[0]
    cmd("runs", "delete", "--run-id", ids[1])
    assert mlflow.get_run(ids[1]).info.lifecycle_stage == "deleted"


def test_run_list_keeps_prefixes_when_names_collide_and_always_in_csv(cmd):
    _two_runs()
    header = cmd("runs", "list", "--format", "csv").splitlines()[0].split(",")
    assert header[5:] == ["metrics.C", "metrics.c", "metrics.loss", "params.loss", "params.same"]
    table = cmd("runs", "list")
    assert "params.loss" in table and "metrics.loss" in table


def test_compare_gives_scripts_a_differs_field_and_run_ids(cmd):
    ids = _two_runs()
    records = json.loads(cmd("runs", "compare", *ids, "--format", "json"))
    by_key = {r["key"]: r for r in records}
    assert by_key["params.loss"]["differs"] is True and by_key["params.same"]["differs"] is False
    assert by_key["params.loss"][ids[0]] == "0" and by_key["params.loss"][ids[1]] == "1"
    rows = list(csv.DictReader(io.StringIO(cmd("runs", "compare", *ids, "--format", "csv"))))
    assert set(rows[0]) == {"key", "differs", *ids}


def test_piped_tables_never_drop_a_column(cmd):
    with mlflow.start_run():
        mlflow.log_params({f"a_rather_long_parameter_name_{i}": "v" * 20 for i in range(12)})
    output = cmd("runs", "list")  # CliRunner output is not a terminal
    assert "did not fit" not in output
    assert all(f"a_rather_long_parameter_name_{i}" in output for i in range(12))


def test_experiment_ids_are_whole_in_a_table(cmd):
    experiment_id = mlflow.create_experiment("an-experiment-with-a-long-id")
    assert experiment_id in cmd("experiments", "list")


def test_models_predict_mlflow_options(cmd, tmp_path):
    from sklearn.linear_model import LinearRegression

    with mlflow.start_run():
        info = mlflow.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), name="m")
    rows = tmp_path / "rows.txt"  # no .csv suffix: -t csv says what it is
    rows.write_text("x\n3.0\n")
    out = tmp_path / "out.json"
    cmd("models", "predict", "-m", info.model_uri, "-t", "csv", "--input-path", str(rows), "--output-path", str(out))
    assert json.loads(out.read_text())["predictions"] == pytest.approx([6.0])


def test_help_maps_mlflow_commands(cmd):
    text = cmd("--help")
    assert "MLflow commands and where they are here" in text
    assert "mlflow runs describe --run-id ID" in text and "lighttrack runs show ID" in text
    assert "-v, --version" in cmd("run", "--help")


def test_progress_bar_shows_a_rate_on_a_terminal_and_nothing_when_piped():
    from rich.console import Console

    from lighttrack.cli.progress import track

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    assert list(track(range(5), "working", "runs", console=terminal)) == [0, 1, 2, 3, 4]
    assert "runs/s" in screen.getvalue() and "working" in screen.getvalue()
    piped = io.StringIO()
    assert list(track(range(5), "working", "runs", console=Console(file=piped))) == [0, 1, 2, 3, 4]
    assert piped.getvalue() == ""
