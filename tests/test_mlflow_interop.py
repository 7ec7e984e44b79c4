"""Models cross between lighttrack and the real MLflow package, both ways."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import lighttrack as lt
import lighttrack.pyfunc
import lighttrack.sklearn
from lighttrack.cli import cli

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402


pytestmark = pytest.mark.filterwarnings("ignore:the model at .* without checking:UserWarning")


@pytest.fixture(autouse=True)
def _mlflow_may_load_models(monkeypatch, tmp_path):
    # MLflow 3.18 refuses to deserialise any model (skops included) without this switch.
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")


@pytest.fixture(scope="module")
def data():
    return load_iris(return_X_y=True)


def test_a_model_exported_from_lighttrack_loads_in_mlflow(data, db_path, tmp_path):
    X, y = data
    forest = RandomForestClassifier(n_estimators=30, random_state=1).fit(X, y)
    with lt.start_run():
        info = lt.sklearn.log_model(forest, name="model", input_example=X[:2], registered_model_name="f")
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "models", "export", "models:/f/1", str(tmp_path / "out")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "out"))
    assert (loaded.predict(X) == forest.predict(X)).all()
    assert (mlflow.sklearn.load_model(str(tmp_path / "out")).predict(X) == forest.predict(X)).all()
    assert loaded.metadata.get_input_schema() is not None
    assert info.model_uuid == loaded.metadata.model_uuid


def test_an_mlflow_skops_model_loads_in_lighttrack(data, tmp_path):
    X, y = data
    model = LogisticRegression(max_iter=500).fit(X, y)
    mlflow.sklearn.save_model(model, tmp_path / "m", serialization_format="skops")
    with pytest.raises(lt.LighttrackError, match="no file hashes.*verify=False"):
        lighttrack.pyfunc.load_model(str(tmp_path / "m"))  # MLflow writes none: loading unchecked is a choice
    with pytest.warns(UserWarning, match="without checking"):
        loaded = lighttrack.pyfunc.load_model(str(tmp_path / "m"), verify=False)
    assert (loaded.predict(X) == model.predict(X)).all()


def test_an_mlflow_forest_with_trusted_types_loads_in_lighttrack(data, tmp_path):
    X, y = data
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    mlflow.sklearn.save_model(forest, tmp_path / "m", serialization_format="skops",
                              skops_trusted_types=["sklearn.tree._tree.Tree"])
    loaded = lighttrack.sklearn.load_model(str(tmp_path / "m"), verify=False)
    assert (loaded.predict(X) == forest.predict(X)).all()


def test_an_mlflow_cloudpickle_model_needs_the_trust_switch(data, tmp_path):
    X, y = data
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    mlflow.sklearn.save_model(forest, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.raises(lt.LighttrackError, match="allow_pickle"):
        lighttrack.pyfunc.load_model(str(tmp_path / "m"), verify=False)
    loaded = lighttrack.pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True, verify=False)
    assert np.array_equal(loaded.predict(X), forest.predict(X))


def test_an_mlflow_model_folder_imports_into_the_registry(data, db_path, tmp_path):
    X, y = data
    model = LogisticRegression(max_iter=500).fit(X, y)
    mlflow.sklearn.save_model(model, tmp_path / "m", serialization_format="skops", input_example=X[:2])
    result = CliRunner().invoke(cli, ["--db", str(db_path), "models", "import", str(tmp_path / "m"), "lr"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (lighttrack.pyfunc.load_model("models:/lr/1").predict(X) == model.predict(X)).all()
