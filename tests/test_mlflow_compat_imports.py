"""MLflow's import paths and environment variables, as MLflow code uses them.

Each import runs in a fresh interpreter, so a path that only works after something else was
imported cannot pass; each must also stay light (no numpy/sklearn/pandas for a plain import)."""

from __future__ import annotations

import json

import pytest
from conftest import run_python

IMPORTS = [  # (statement, a name it must bind, modules it may NOT load)
    ("from lighttrack.exceptions import MlflowException, ExecutionException", "ExecutionException", ()),
    ("from lighttrack.exceptions import MlflowException", "MlflowException", ()),
    ("from lighttrack.artifacts import download_artifacts", "download_artifacts", ("numpy", "pandas")),
    ("import lighttrack.artifacts; f = lighttrack.artifacts.load_text", "f", ("numpy",)),
    ("from lighttrack.types import Schema, ColSpec, TensorSpec, DataType", "DataType", ("numpy", "pandas")),
    ("from lighttrack.types.schema import Schema, ColSpec, TensorSpec, DataType", "Schema", ("numpy",)),
    ("from lighttrack.entities.model_registry import ModelVersion, RegisteredModel", "RegisteredModel", ()),
    ("from lighttrack.entities import SourceType, LifecycleStage, RunStatus, ViewType", "SourceType", ()),
    ("from lighttrack.entities import Experiment, ExperimentTag, FileInfo, Metric, Param", "Param", ()),
    ("from lighttrack.entities import Run, RunData, RunInfo, RunInputs, RunTag", "RunInputs", ()),
    ("from lighttrack.entities import Dataset, DatasetInput, InputTag", "DatasetInput", ()),
    ("from lighttrack.models.model import get_model_info", "get_model_info", ("sklearn", "pandas")),
    ("from lighttrack.models import set_signature, infer_signature, ModelSignature", "set_signature",
     ("sklearn", "pandas")),
    ("from lighttrack.models.signature import ModelSignature, infer_signature", "ModelSignature", ("sklearn",)),
    ("from lighttrack.tracking import fluent; fluent.start_run", "fluent", ("sklearn", "numpy")),
    ("import lighttrack.tracking.fluent as f2; f = f2.search_runs", "f", ("numpy",)),
    ("from lighttrack.tracking import MlflowClient", "MlflowClient", ("numpy", "sklearn")),
    ("from lighttrack.sklearn import get_default_conda_env", "get_default_conda_env", ()),
    ("from lighttrack import MlflowClient", "MlflowClient", ("numpy",)),
    ("from lighttrack.projects import run", "run", ("numpy", "sklearn")),
    ("import lighttrack; f = lighttrack.search_model_versions", "f", ("numpy",)),
    ("import lighttrack; f = lighttrack.get_parent_run", "f", ("numpy",)),
    ("import lighttrack; f = lighttrack.set_registry_uri", "f", ("numpy",)),
    ("import lighttrack; f = lighttrack.flush_async_logging", "f", ("numpy",)),
]


def test_mlflow_import_paths_work_and_stay_light():
    code = (
        "import json, sys\n"
        "results = []\n"
        f"for statement, name, banned in {IMPORTS!r}:\n"
        "    before = set(sys.modules)\n"
        "    scope = {}\n"
        "    try:\n"
        "        exec(statement, scope)\n"
        "        ok = name in scope\n"
        "    except Exception as exc:\n"
        "        ok = repr(exc)\n"
        "    results.append([statement, ok, [m for m in banned if m in sys.modules and m not in before]])\n"
        "    for m in [m for m in sys.modules if m not in before]:\n"
        "        del sys.modules[m]\n"
        "print(json.dumps(results))\n"
    )
    results = json.loads(run_python(code).stdout)
    assert [r for r in results if r[1] is not True or r[2]] == []
    assert len(results) == len(IMPORTS)


def test_tracking_fluent_is_the_fluent_module_itself():
    import lighttrack.fluent
    import lighttrack.tracking.fluent

    assert lighttrack.tracking.fluent is lighttrack.fluent


def test_source_type_and_data_type_names():
    from lighttrack.entities import SourceType
    from lighttrack.types import ColSpec, DataType

    assert SourceType.to_string(SourceType.LOCAL) == "LOCAL"
    assert SourceType.from_string("PROJECT") == SourceType.PROJECT
    assert ColSpec(DataType.double, "x").to_dict() == ColSpec("double", "x").to_dict()
    assert json.dumps(ColSpec(DataType.long, "n").to_dict()) == '{"type": "long", "name": "n", "required": true}'


def test_mlflow_exception_takes_an_error_code():
    from lighttrack.exceptions import MlflowException

    error = MlflowException("bad", error_code="INVALID_PARAMETER_VALUE")
    assert error.error_code == "INVALID_PARAMETER_VALUE" and error.get_error_code() == "INVALID_PARAMETER_VALUE"
    assert MlflowException.invalid_parameter_value("x").error_code == "INVALID_PARAMETER_VALUE"


def test_default_conda_env_names_the_installed_sklearn():
    import sklearn

    from lighttrack.sklearn import get_default_conda_env

    env = get_default_conda_env()
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert f"scikit-learn=={sklearn.__version__}" in pip


# ------------------------------------------------------------------------- MLflow's variables
def _where(env: dict[str, str], tmp_path) -> tuple[str, str]:
    code = (
        "import lighttrack as mlflow\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_param('p', 1)\n"
        "print(mlflow.get_tracking_uri())\n"
        "print(run.info.experiment_id, mlflow.get_experiment(run.info.experiment_id).name)\n"
    )
    result = run_python(code, env={"LIGHTTRACK_TRACKING_URI": "", **env}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


ENV_CASES = [  # MLFLOW_TRACKING_URI values and where runs go
    ("sqlite file", lambda d: f"sqlite:///{d}/m.db", lambda d: f"{d}/m.db", False),
    ("plain .db path", lambda d: f"{d}/plain.db", lambda d: f"{d}/plain.db", False),
    ("server", lambda d: "http://127.0.0.1:5000", lambda d: f"{d}/lighttrack.db", True),
    ("databricks", lambda d: "databricks", lambda d: f"{d}/lighttrack.db", True),
    ("postgres", lambda d: "postgresql://u@h/db", lambda d: f"{d}/lighttrack.db", True),
    ("file store folder", lambda d: f"file://{d}/mlruns", lambda d: f"{d}/lighttrack.db", True),
]


@pytest.mark.parametrize("what, value, expected, warns", ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_mlflow_tracking_uri_is_honoured_when_servable(tmp_path, monkeypatch, what, value, expected, warns):
    (tmp_path / "mlruns").mkdir()
    monkeypatch.chdir(tmp_path)
    out, err = _where({"MLFLOW_TRACKING_URI": value(tmp_path)}, tmp_path)
    assert out.splitlines()[0] == "sqlite:///" + expected(tmp_path)
    lines = [line for line in err.splitlines() if "MLFLOW_TRACKING_URI" in line]
    assert len(lines) == (1 if warns else 0)
    if warns:
        assert "push-mlflow" in lines[0]
        assert not (tmp_path / "mlruns" / "0").exists()


def test_an_mlflow_database_is_never_written(tmp_path, monkeypatch):
    import sqlite3

    theirs = tmp_path / "mlflow.db"
    sqlite3.connect(theirs).execute("CREATE TABLE alembic_version (v TEXT)").connection.commit()
    before = theirs.read_bytes()
    monkeypatch.chdir(tmp_path)
    out, err = _where({"MLFLOW_TRACKING_URI": f"sqlite:///{theirs}"}, tmp_path)
    assert theirs.read_bytes() == before
    assert "push-mlflow" in err and out.splitlines()[0] == f"sqlite:///{tmp_path}/lighttrack.db"


def test_lighttrack_variable_wins_over_mlflows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = _where({"LIGHTTRACK_TRACKING_URI": str(tmp_path / "ours.db"),
                     "MLFLOW_TRACKING_URI": str(tmp_path / "theirs.db")}, tmp_path)
    assert out.splitlines()[0] == f"sqlite:///{tmp_path}/ours.db"


def test_mlflow_experiment_name_and_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = _where({"MLFLOW_EXPERIMENT_NAME": "from-mlflow-env"}, tmp_path)
    assert out.splitlines()[1].endswith(" from-mlflow-env")
    out, _ = _where({"MLFLOW_EXPERIMENT_ID": "0"}, tmp_path)
    assert out.splitlines()[1] == "0 Default"


def test_mlflow_run_id_resumes_that_run(tmp_path, monkeypatch):
    import lighttrack

    monkeypatch.chdir(tmp_path)
    lighttrack.set_tracking_uri(str(tmp_path / "lighttrack.db"))
    client = lighttrack.MlflowClient()
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id)
    from lighttrack.store import close_all

    close_all()
    run_python(
        "import lighttrack as mlflow\nwith mlflow.start_run():\n    mlflow.log_param('resumed', 'yes')\n",
        env={"LIGHTTRACK_TRACKING_URI": "", "MLFLOW_RUN_ID": run_id},
    )
    assert client.get_run(run_id).data.params == {"resumed": "yes"}
