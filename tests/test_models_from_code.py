"""Models from code: the model is a Python file, stored and hash-checked, run only when trusted.

Round trips both ways with real MLflow 3.17, the refusal without trust (naming the file, its
sha256 and the show-code command), a hostile file proving nothing of it runs untrusted, and the
CLI (show-code, predict --trust-code) and the scoring server passing the switch through."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import lighttrack as lt
import lighttrack.pyfunc
from lighttrack.cli import cli
from lighttrack.models.from_code import UntrustedCode

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")
import mlflow.pyfunc  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

OUR_MODEL = '''
import helper  # from code_paths: on sys.path while the (trusted) file runs; cached for predict afterwards

import lighttrack as mlflow
from lighttrack.pyfunc import PythonModel


class Scaler(PythonModel):
    def load_context(self, context):
        self.factor = float(open(context.artifacts["factor"]).read()) if "factor" in context.artifacts else 2.0

    def predict(self, context, model_input, params=None):
        return [helper.scale(x, self.factor) for x in model_input["x"]]


mlflow.models.set_model(Scaler())
'''
HELPER = "def scale(x, factor):\n    return x * factor\n"
MLFLOW_MODEL = '''
import mlflow
from mlflow.pyfunc import PythonModel


class Tripler(PythonModel):
    def predict(self, context, model_input, params=None):
        return [3 * x for x in model_input["x"]]


mlflow.models.set_model(Tripler())
'''
FUNCTION_MODEL = "import lighttrack as mlflow\nmlflow.models.set_model(lambda frame: list(frame['x'] + 1))\n"
ROWS = pd.DataFrame({"x": [1.0, 2.0]})


@pytest.fixture
def files(tmp_path):
    code = tmp_path / "src"
    code.mkdir()
    (code / "model.py").write_text(OUR_MODEL)
    (code / "lib").mkdir()
    (code / "lib" / "helper.py").write_text(HELPER)
    (code / "mlflow_model.py").write_text(MLFLOW_MODEL)
    (code / "factor.txt").write_text("10")
    return code


@pytest.fixture
def helper_not_importable():
    """``helper`` is only reachable through the model's code_paths; forget it after each test."""
    yield
    sys.modules.pop("helper", None)


def _save_ours(files, path):
    # the saver's own process runs its file (as MLflow does), with helper importable the usual way
    sys.path.insert(0, str(files / "lib"))
    try:
        return lt.pyfunc.save_model(path, python_model=str(files / "model.py"),
                                    artifacts={"factor": str(files / "factor.txt")}, code_paths=[str(files / "lib" / "helper.py")])
    finally:
        sys.path.remove(str(files / "lib"))
        sys.modules.pop("helper", None)


def test_a_logged_model_from_code_stores_the_file_and_loads_only_when_trusted(files, helper_not_importable):
    sys.path.insert(0, str(files / "lib"))
    try:
        with lt.start_run():
            info = lt.pyfunc.log_model(name="model", python_model=str(files / "model.py"),
                                       artifacts={"factor": str(files / "factor.txt")},
                                       code_paths=[str(files / "lib" / "helper.py")])
    finally:
        sys.path.remove(str(files / "lib"))
        sys.modules.pop("helper", None)
    local = Path(lt.artifacts.download_artifacts(info.model_uri))
    meta = yaml.safe_load((local / "MLmodel").read_text())
    conf = meta["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.loaders.code_model" and conf["model_code_path"] == "model.py"
    assert "python_model" not in conf and not list(local.glob("*.pkl"))  # nothing pickled
    digest = hashlib.sha256((files / "model.py").read_bytes()).hexdigest()
    assert meta["file_hashes"]["model.py"] == digest and "code/helper.py" in meta["file_hashes"]

    with pytest.raises(UntrustedCode) as refused:
        lt.pyfunc.load_model(info.model_uri)
    text = str(refused.value)
    assert "model.py" in text and digest in text and f"lighttrack models show-code {info.model_uri}" in text
    assert "trust_code=True" in text and "LIGHTTRACK_TRUST_CODE=1" in text

    sys_path_before = list(sys.path)
    model = lt.pyfunc.load_model(info.model_uri, trust_code=True)
    assert sys.path == sys_path_before  # code_paths were on sys.path only while the file ran
    assert model.predict(ROWS) == [10.0, 20.0]


def test_the_environment_switch_trusts_code_like_allow_pickle(files, monkeypatch, tmp_path, helper_not_importable):
    _save_ours(files, tmp_path / "m")
    monkeypatch.setenv("LIGHTTRACK_TRUST_CODE", "1")
    assert lt.pyfunc.load_model(tmp_path / "m").predict(ROWS) == [10.0, 20.0]
    monkeypatch.setenv("LIGHTTRACK_TRUST_CODE", "1")
    with pytest.raises(UntrustedCode):  # an explicit False wins over the environment
        lt.pyfunc.load_model(tmp_path / "m", trust_code=False)


def test_a_function_set_as_the_model(tmp_path):
    (tmp_path / "fn.py").write_text(FUNCTION_MODEL)
    lt.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "fn.py")
    assert lt.pyfunc.load_model(tmp_path / "m", trust_code=True).predict(ROWS) == [2.0, 3.0]


def test_ours_loads_in_mlflow(files, tmp_path, helper_not_importable):
    _save_ours(files, tmp_path / "m")
    model = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    assert list(model.predict(ROWS)) == [10.0, 20.0]


def test_mlflows_loads_here_with_trust(files, tmp_path):
    mlflow.pyfunc.save_model(str(tmp_path / "theirs"), python_model=str(files / "mlflow_model.py"))
    conf = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["flavors"]["python_function"]
    assert Path(conf["model_code_path"]).is_absolute()  # MLflow records where it was logged from
    with pytest.raises(UntrustedCode, match="mlflow_model.py"):
        lt.pyfunc.load_model(tmp_path / "theirs", verify=False)
    model = lt.pyfunc.load_model(tmp_path / "theirs", verify=False, trust_code=True)
    assert model.predict(ROWS) == [3.0, 6.0]


HOSTILE = '''
from pathlib import Path
Path({marker!r}).write_text("ran")
import lighttrack as mlflow
mlflow.models.set_model(lambda frame: frame)
'''


def test_a_hostile_code_file_never_runs_untrusted(tmp_path, client):
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil.py").write_text(HOSTILE.format(marker=str(marker)))
    lt.pyfunc.save_model(tmp_path / "m", python_model=tmp_path / "evil.py")  # the saver's own run
    marker.unlink()
    with lt.start_run():
        lt.log_artifacts(str(tmp_path / "m"), "m")
        run_id = lt.active_run().info.run_id
    uri = f"runs:/{run_id}/m"
    for attempt in (
        lambda: lt.pyfunc.load_model(uri),
        lambda: lt.pyfunc.load_model(tmp_path / "m"),
        lambda: lt.models.evaluate(uri, pd.DataFrame({"x": [1], "y": [1]}), targets="y", model_type="regressor"),
    ):
        with pytest.raises(UntrustedCode):
            attempt()
    result = CliRunner().invoke(cli, ["--db", str(client.path), "models", "show-code", uri])
    assert result.exit_code == 0 and "Path(" in result.stdout and "ran.txt" in result.stdout
    assert not marker.exists()  # reading, refusing and showing ran none of it


def test_a_changed_or_escaping_code_file_is_refused_even_when_trusted(files, tmp_path):
    _save_ours(files, tmp_path / "m")
    (tmp_path / "m" / "model.py").write_text("raise SystemExit('swapped in')\n")
    with pytest.raises(lt.MlflowException, match="model.py has changed"):
        lt.pyfunc.load_model(tmp_path / "m", trust_code=True)
    _save_ours(files, tmp_path / "n")
    mlmodel = tmp_path / "n" / "MLmodel"
    meta = yaml.safe_load(mlmodel.read_text())
    meta["flavors"]["python_function"]["code"] = "../../"
    mlmodel.write_text(yaml.safe_dump(meta))
    with pytest.raises(lt.MlflowException, match="outside the model folder"):
        lt.pyfunc.load_model(tmp_path / "n", trust_code=True)


@pytest.mark.parametrize("source, message", [
    ("missing.py", "does not exist"),
    ("notes.txt", "must be a Python file"),
    ("empty.py", "defined no model"),
    ("broken.py", "Failed to run user code"),
])
def test_bad_code_files_are_refused_before_the_model_folder_is_written(tmp_path, source, message):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "broken.py").write_text("1 / 0\n")
    with pytest.raises(lt.MlflowException, match=message):
        lt.pyfunc.save_model(tmp_path / "m", python_model=str(tmp_path / source))
    assert not (tmp_path / "m").exists()


def test_cli_show_code_and_predict_with_trust_code(files, tmp_path, client, helper_not_importable):
    _save_ours(files, tmp_path / "m")
    (tmp_path / "rows.json").write_text(json.dumps({"dataframe_records": [{"x": 1.0}, {"x": 2.0}]}))
    runner = CliRunner()
    shown = runner.invoke(cli, ["--db", str(client.path), "models", "show-code", str(tmp_path / "m")])
    assert shown.exit_code == 0 and shown.stdout.startswith(OUR_MODEL) and "code/helper.py" in shown.stdout
    args = ["--db", str(client.path), "models", "predict", "-m", str(tmp_path / "m"), "-i", str(tmp_path / "rows.json")]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and "show-code" in refused.output and "Traceback" not in refused.output
    trusted = runner.invoke(cli, [*args, "--trust-code"])
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.stdout) == {"predictions": [10.0, 20.0]}
    pickled = runner.invoke(cli, ["--db", str(client.path), "models", "show-code", str(tmp_path / "m" / "code")])
    assert pickled.exit_code == 1


def test_serving_passes_the_trust_switch(files, tmp_path, client, helper_not_importable):
    from lighttrack.serving.follow import load

    _save_ours(files, tmp_path / "m")
    with pytest.raises(UntrustedCode):
        load(str(tmp_path / "m"), client)
    served = load(str(tmp_path / "m"), client, trust_code=True)
    assert served.model.predict(ROWS) == [10.0, 20.0]


def test_the_server_refuses_without_trust_code_and_serves_with_it(tmp_path, client):
    pytest.importorskip("uvicorn", reason="the serve extra installs uvicorn and starlette")
    import subprocess

    from serving_support import env_for_children, free_port, lighttrack_server

    (tmp_path / "plain.py").write_text(FUNCTION_MODEL)
    lt.pyfunc.save_model(tmp_path / "plain", python_model=tmp_path / "plain.py")
    refused = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(client.path), "models", "serve", "-m",
                              str(tmp_path / "plain"), "--port", str(free_port())],
                             capture_output=True, text=True, env=env_for_children(), timeout=300)
    assert refused.returncode == 1 and "--trust-code" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    logs = tmp_path / "logs"
    logs.mkdir()
    server = lighttrack_server(client.path, str(tmp_path / "plain"), logs, "--trust-code").wait_ready()
    try:
        assert json.loads(server.post({"dataframe_records": [{"x": 1}, {"x": 5}]})[2])["predictions"] == [2, 6]
    finally:
        server.stop()


def test_readme_recommends_models_from_code():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "show-code" in readme and "--trust-code" in readme and "LIGHTTRACK_TRUST_CODE" in readme
    assert textwrap.dedent("python_model=\"model.py\"") in readme
