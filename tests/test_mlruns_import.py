"""import-mlflow reads MLflow's file store (mlruns/) natively: plain YAML and text files, no
MLflow needed (MLflow 3.13+ refuses its own file store unless MLFLOW_ALLOW_FILE_STORE is set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from lighttrack import LighttrackClient
from lighttrack.cli import cli
from lighttrack.entities import ViewType

pytest.importorskip("mlflow")

_MAKE_STORE = r'''
import json, math, sys, mlflow, mlflow.pyfunc
root, out = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri("file://" + root)
mlflow.set_experiment("exp-one")
mlflow.set_experiment_tag("team", "vision")

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

with mlflow.start_run(run_name="first") as r:
    mlflow.log_params({"lr": 0.1, "layers/depth": 3})
    mlflow.set_tag("note", "hi")
    for i in range(3):
        mlflow.log_metric("train/loss", 1.0 / (i + 1), step=i)
    mlflow.log_metric("nan_metric", float("nan"))
    mlflow.log_text("hello", "notes/hello.txt")
    info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["pandas"])
with mlflow.start_run(run_name="second") as r2:
    mlflow.log_metric("acc", 0.5)
c = mlflow.MlflowClient()
c.delete_run(r2.info.run_id)
c.create_registered_model("echo", tags={"owner": "me"}, description="echoes")
c.create_model_version("echo", info.model_uri, run_id=r.info.run_id)
c.create_model_version("echo", f"runs:/{r.info.run_id}/model", run_id=r.info.run_id)
c.set_registered_model_alias("echo", "champion", 1)
c.transition_model_version_stage("echo", 2, "Staging")
c.set_model_version_tag("echo", "2", "checked", "yes")
c.delete_experiment(mlflow.create_experiment("gone"))

# What MLflow itself reads from the store, to compare the import with.
from mlflow.entities import ViewType
seen = {"experiments": {}, "runs": {}, "versions": {}}
for e in c.search_experiments(view_type=ViewType.ALL):
    seen["experiments"][e.name] = {"lifecycle_stage": e.lifecycle_stage, "tags": dict(e.tags)}
for run in c.search_runs([e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL)],
                         run_view_type=ViewType.ALL):
    i = run.info
    seen["runs"][i.run_id] = {
        "run_name": i.run_name, "status": i.status, "start_time": i.start_time, "end_time": i.end_time,
        "lifecycle_stage": i.lifecycle_stage, "params": run.data.params, "tags": run.data.tags,
        "history": {k: [[m.step, m.timestamp, None if math.isnan(m.value) else m.value]
                        for m in c.get_metric_history(i.run_id, k)] for k in run.data.metrics},
    }
for v in c.search_model_versions("name = 'echo'"):
    seen["versions"][v.version] = {"stage": v.current_stage, "tags": dict(v.tags)}
seen["aliases"] = dict(c.get_registered_model("echo").aliases)
json.dump(seen, open(out, "w"))
'''

# Importing must not need MLflow: this makes `import mlflow` fail in the importing process.
_NO_MLFLOW = (
    "import sys; sys.modules['mlflow'] = None; "
    "from lighttrack.cli import main; sys.argv = ['lighttrack'] + sys.argv[1:]; main()"
)


@pytest.fixture(scope="module")
def mlruns(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("mlflow-file-store")
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", _MAKE_STORE, str(base / "mlruns"), str(base / "seen.json")],
                   check=True, capture_output=True, env=env, cwd=base, timeout=300)
    return base / "mlruns", json.loads((base / "seen.json").read_text())


def _import(db: Path, source: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_ALLOW_FILE_STORE"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", _NO_MLFLOW, "--db", str(db), "import-mlflow", source],
                          capture_output=True, text=True, env=env, timeout=300)


def test_an_mlruns_folder_imports_without_mlflow_as_mlflow_reads_it(mlruns, tmp_path):
    folder, seen = mlruns
    db = tmp_path / "imported.db"
    result = _import(db, str(folder))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "2 run(s) added" in result.stdout
    client = LighttrackClient(db)
    experiments = {e.name: e for e in client.search_experiments(ViewType.ALL)}
    for name, expected in seen["experiments"].items():
        if name == "Default" and name not in experiments:
            continue
        assert experiments[name].lifecycle_stage == expected["lifecycle_stage"]
        assert {k: v for k, v in experiments[name].tags.items() if not k.startswith("lighttrack.")} == expected["tags"]
    runs = {r.info.run_id: r for r in client.search_runs(None, run_view_type=ViewType.ALL)}
    assert set(runs) == set(seen["runs"])
    for run_id, expected in seen["runs"].items():
        run = runs[run_id]
        for field in ("run_name", "status", "start_time", "end_time", "lifecycle_stage"):
            assert getattr(run.info, field) == expected[field], field
        assert run.data.params == expected["params"]
        assert run.data.tags == expected["tags"]
        for key, points in expected["history"].items():
            got = [[m.step, m.timestamp, None if m.value != m.value else m.value]
                   for m in client.get_metric_history(run_id, key)]
            # identical points come back once (README: "differs on purpose"), as MLflow's SQL store keeps them
            assert sorted(got) == sorted({tuple(p): list(p) for p in points}.values()), key
    first = next(r for r in runs.values() if r.info.run_name == "first")
    assert client.read_artifact(first.info.run_id, "notes/hello.txt") == b"hello"
    assert "model/MLmodel" in [f.path for f in client.list_artifact_files(first.info.run_id)]
    versions = {str(v.version): v for v in client.search_model_versions("name = 'echo'")}
    assert {k: v.current_stage for k, v in versions.items()} == {k: v["stage"] for k, v in seen["versions"].items()}
    assert {k: v.tags for k, v in versions.items()} == {k: v["tags"] for k, v in seen["versions"].items()}
    assert versions["1"].source == f"runs:/{first.info.run_id}/model"
    model = client.get_registered_model("echo")
    assert {k: str(v) for k, v in model.aliases.items()} == seen["aliases"]
    assert model.tags == {"owner": "me"} and model.description == "echoes"


def test_importing_the_same_mlruns_twice_adds_nothing(mlruns, tmp_path):
    folder, _ = mlruns
    db = tmp_path / "twice.db"
    assert _import(db, str(folder)).returncode == 0
    again = _import(db, "file://" + str(folder))
    assert again.returncode == 0, again.stderr
    assert "nothing new" in again.stdout


def test_a_folder_that_is_not_an_mlflow_store_is_a_one_line_error(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    result = _import(tmp_path / "t.db", str(tmp_path / "notes"))
    assert result.returncode == 1 and "not an MLflow file store" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize("uri", ["sqlite:///{tmp}/sub/missing.db", "sqlite:///{tmp}/missing.db"])
def test_a_missing_sqlite_source_is_an_error_and_creates_nothing(tmp_path, uri):
    source = uri.format(tmp=tmp_path)
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "target.db"), "import-mlflow", source],
                                catch_exceptions=False)
    assert result.exit_code == 1 and "does not exist: nothing was imported" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []
