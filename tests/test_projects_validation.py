"""Projects are checked before anything runs: each error names the file and the field, and no
run (nor anything else) is created."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.projects import ProjectError, load_project, run
from lighttrack.projects.params import parse_assignments, render_command, resolve

MLPROJECT = """\
name: checked
entry_points:
  main:
    parameters:
      lr: {type: float, default: 0.1}
      epochs: {type: int, default: 3}
      shuffle: {type: bool, default: true}
      data: path
      out: {type: uri, default: results}
      note: string
    command: "python -c 'open(\\"ran\\", \\"w\\")' {lr} {epochs} {shuffle} {data} {out} {note}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "data.csv").write_text("x\n1\n")
    return folder


def refused(project: Path, db_path: Path, match: str, entry_point: str = "main", **params) -> str:
    """Run must fail with ProjectError matching ``match``; nothing ran, no run exists."""
    base = {"data": str(project / "data.csv"), "note": "n"}
    base.update(params)
    with pytest.raises(ProjectError, match=match) as info:
        run(str(project), entry_point, {k: v for k, v in base.items() if v is not None}, env_manager="local",
            tracking_uri=db_path)
    assert not (project / "ran").exists()
    assert list(LighttrackClient(db_path).search_runs()) == []
    return info.value.message


def test_a_valid_project_resolves_types_paths_and_defaults(project, monkeypatch):
    monkeypatch.chdir(project)
    ep = load_project(project).entry_point("main")
    params = resolve(ep, {"data": "data.csv", "note": "two words", "more": 5}, project, cwd=project)
    assert params.declared == {"lr": "0.1", "epochs": "3", "shuffle": "True", "data": str(project / "data.csv"),
                               "out": str(project / "results"), "note": "two words"}
    assert params.extra == {"more": "5"}
    command = render_command(ep, params)
    assert command.endswith(f"0.1 3 True {project / 'data.csv'} {project / 'results'} 'two words' --more 5")


@pytest.mark.parametrize("params, match", [
    ({"lr": "fast"}, r"MLproject: entry_points\.main\.parameters\.lr \(-P lr\): 'fast' is not a float"),
    ({"epochs": "2.5"}, r"MLproject: entry_points\.main\.parameters\.epochs \(-P epochs\): '2\.5' is not an int"),
    ({"shuffle": "maybe"}, r"entry_points\.main\.parameters\.shuffle \(-P shuffle\): 'maybe' is not a bool"),
    ({"data": "missing.csv"}, r"entry_points\.main\.parameters\.data \(-P data\): path 'missing\.csv' does not exist"),
    ({"data": "s3://bucket/x"}, r"parameters\.data \(-P data\): 's3://bucket/x' is a remote URI"),
    ({"note": None}, r"MLproject: entry_points\.main\.parameters\.note: required parameter \(string, no default\) "
                     r"was not given: pass -P note=VALUE"),
])
def test_bad_parameters_are_refused_before_anything_runs(project, db_path, params, match):
    refused(project, db_path, match, **params)


def test_unknown_entry_point(project, db_path):
    message = refused(project, db_path, "entry_points has no 'train'", entry_point="train")
    assert "MLproject" in message and "entry points: main" in message
    refused(project, db_path, "entry point 'nope.py' is not a file of the project", entry_point="nope.py")
    refused(project, db_path, "must be inside the project directory", entry_point="../x.py")


@pytest.mark.parametrize("text, match", [
    ("name: [unclosed\n", r"MLproject: not valid YAML at line 2, column 1: expected ',' or ']'"),
    ("entry_points:\n  main:\n    command: \"a\"\n\tbad: 1\n", r"MLproject: not valid YAML at line 4"),
    ("- a\n- b\n", r"MLproject: must be a YAML mapping"),
    ("entry_points: [main]\n", r"MLproject: entry_points must be a mapping"),
    ("entry_points:\n  main:\n    parameters: {}\n", r"MLproject: entry_points\.main\.command is missing"),
    ("entry_points:\n  main:\n    parameters: {a: complex}\n    command: x {a}\n",
     r"MLproject: entry_points\.main\.parameters\.a\.type: 'complex' is not a parameter type"),
    ("entry_points:\n  main:\n    parameters: {a: {type: float, default: abc}}\n    command: x {a}\n",
     r"MLproject: entry_points\.main\.parameters\.a\.default: 'abc' is not a float"),
    ("entry_points:\n  main:\n    command: python x.py {alpha}\n",
     r"MLproject: entry_points\.main\.command uses \{alpha\}, which is not a parameter"),
    ("python_env: nope.yaml\nentry_points: {main: {command: x}}\n",
     r"MLproject: python_env: file 'nope\.yaml' not found"),
    ("python_env: a.yaml\nconda_env: b.yaml\nentry_points: {main: {command: x}}\n",
     r"MLproject: python_env and conda_env are both given"),
    ("docker_env: {volumes: [x]}\nentry_points: {main: {command: x}}\n", r"MLproject: docker_env\.image must name"),
])
def test_malformed_mlproject_files(tmp_path, db_path, text, match):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "MLproject").write_text(text)
    with pytest.raises(ProjectError, match=match):
        run(str(folder), env_manager="local", tracking_uri=db_path)
    assert list(LighttrackClient(db_path).search_runs()) == []


def test_malformed_environment_files_name_the_file_and_field(tmp_path, db_path):
    folder = tmp_path / "envs"
    folder.mkdir()
    (folder / "MLproject").write_text("python_env: python_env.yaml\nentry_points: {main: {command: 'true'}}\n")
    (folder / "python_env.yaml").write_text("python: '3.11'\ndependencies: scikit-learn\n")
    with pytest.raises(ProjectError, match=r"python_env\.yaml: dependencies must be a list"):
        run(str(folder), env_manager="virtualenv", tracking_uri=db_path)
    (folder / "python_env.yaml").write_text("python: [3\n")
    with pytest.raises(ProjectError, match=r"python_env\.yaml: not valid YAML at line"):
        run(str(folder), env_manager="virtualenv", tracking_uri=db_path)
    # The local env manager does not read python_env.yaml at all, as in MLflow.
    assert run(str(folder), env_manager="local", tracking_uri=db_path).get_status() == "FINISHED"


def test_without_an_mlproject_the_entry_point_is_a_file(tmp_path, db_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "train.py").write_text("print('plain')\n")
    with pytest.raises(ProjectError, match=r"has no MLproject file, so the entry point must be a \.py or \.sh file"):
        run(str(folder), tracking_uri=db_path)
    submitted = run(str(folder), "train.py", tracking_uri=db_path)
    assert LighttrackClient(db_path).get_run(submitted.run_id).data.tags["mlflow.project.env"] == "local"


def test_convention_files_choose_the_environment(tmp_path):
    folder = tmp_path / "conv"
    folder.mkdir()
    assert load_project(folder).python_env is None
    (folder / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    assert load_project(folder).conda_env == folder / "conda.yaml"
    (folder / "python_env.yaml").write_text("python: '3.11'\n")
    project = load_project(folder)
    assert project.python_env == folder / "python_env.yaml" and project.conda_env is None
    (folder / "mlproject").write_text(textwrap.dedent("""\
        name: lower
        entry_points: {main: {command: "true"}}
    """))
    assert load_project(folder).name == "lower"  # MLflow finds the file in any case


def test_cli_errors_are_one_line_and_exit_1(project, db_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "run", str(project), "-P", "lr=x", "-P", "data=data.csv",
                                 "-P", "note=n", "--env-manager", "local"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: proj/MLproject: entry_points.main.parameters.lr (-P lr): 'x' is not a float"
    ]
    result = runner.invoke(cli, ["--db", str(db_path), "run", str(project), "-P", "noequals"])
    assert result.exit_code == 1 and "-P expects KEY=VALUE, not 'noequals'" in result.output
    result = runner.invoke(cli, ["--db", str(db_path), "run", str(project / "nowhere")])
    assert result.exit_code == 1 and "does not exist" in result.output
    assert list(LighttrackClient(db_path).search_runs()) == []


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ProjectError, match="-P a is given twice"):
        parse_assignments(["a=1", "a=2"])
