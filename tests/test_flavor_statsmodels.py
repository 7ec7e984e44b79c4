"""lighttrack.statsmodels: statsmodels' pickle, which loads only with allow_pickle; MLflow both ways."""

from __future__ import annotations

import sys

import mlflow.pyfunc as real_pyfunc  # the real MLflow, imported once for the module
import mlflow.statsmodels as real_statsmodels
import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
import yaml

import lighttrack as mlflow
import lighttrack.pyfunc
import lighttrack.statsmodels
from lighttrack.errors import InvalidArgument, ModelError

# loading MLflow-made models (no hashes) with verify=False warns by design; that is tested in test_trust
pytestmark = pytest.mark.filterwarnings("ignore::lighttrack.models.files.UnverifiedModelWarning")

rng = np.random.RandomState(2)
X = pd.DataFrame({"a": rng.rand(20), "b": rng.rand(20)})
Y = 2 * X["a"] - X["b"] + 0.01 * rng.rand(20)


@pytest.fixture(scope="module")
def results():
    return sm.OLS(Y, X).fit()


def test_loading_needs_allow_pickle_and_the_error_says_so(tmp_path, results, monkeypatch):
    monkeypatch.delenv("LIGHTTRACK_ALLOW_PICKLE", raising=False)
    lighttrack.statsmodels.save_model(results, tmp_path / "m", input_example=X[:3])
    with pytest.raises(ModelError, match="pickle.*allow_pickle=True or LIGHTTRACK_ALLOW_PICKLE=1"):
        lighttrack.statsmodels.load_model(tmp_path / "m")
    with pytest.raises(ModelError, match="allow_pickle"):
        lighttrack.pyfunc.load_model(tmp_path / "m")
    loaded = lighttrack.statsmodels.load_model(tmp_path / "m", allow_pickle=True)
    np.testing.assert_allclose(loaded.params, results.params)


def test_log_register_and_pyfunc_predict_with_signature(results):
    with mlflow.start_run():
        lighttrack.statsmodels.log_model(results, name="ols", input_example=X[:3], registered_model_name="ols")
    model = lighttrack.pyfunc.load_model("models:/ols/1", allow_pickle=True)
    np.testing.assert_allclose(model.predict(X), results.predict(X))
    with pytest.raises(InvalidArgument, match="missing column"):
        model.predict(X[["a"]])


def test_mlmodel_keys_match_mlflow_and_real_mlflow_loads_ours(tmp_path, results, monkeypatch):
    lighttrack.statsmodels.save_model(results, tmp_path / "ours")
    real_statsmodels.save_model(results, tmp_path / "theirs", pip_requirements=["statsmodels"])
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())["flavors"]
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["flavors"]
    assert set(ours["statsmodels"]) == set(theirs["statsmodels"])
    assert set(ours["python_function"]) == set(theirs["python_function"])
    assert f"statsmodels=={statsmodels.__version__}" in (tmp_path / "ours" / "requirements.txt").read_text().split()
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    np.testing.assert_allclose(real_pyfunc.load_model(str(tmp_path / "ours")).predict(X), results.predict(X))
    np.testing.assert_allclose(real_statsmodels.load_model(str(tmp_path / "ours")).params, results.params)


def test_we_load_mlflows_model_with_equal_predictions(tmp_path, results):
    real_statsmodels.save_model(results, tmp_path / "m", pip_requirements=["statsmodels"])
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "m", allow_pickle=True, verify=False).predict(X),
                               results.predict(X))


def test_time_series_predict_takes_start_and_end(tmp_path):
    series = pd.Series(np.sin(np.arange(30) / 3.0))
    fitted = sm.tsa.AutoReg(series, lags=2).fit()
    lighttrack.statsmodels.save_model(fitted, tmp_path / "ts")
    model = lighttrack.pyfunc.load_model(tmp_path / "ts", allow_pickle=True)
    np.testing.assert_allclose(model.predict(pd.DataFrame({"start": [30], "end": [32]})),
                               fitted.predict(start=30, end=32))
    with pytest.raises(InvalidArgument, match="'start' and 'end'"):
        model.predict(pd.DataFrame({"x": [1]}))


def test_not_results_is_refused_and_missing_framework_names_the_extra(tmp_path, monkeypatch, results):
    with pytest.raises(InvalidArgument, match="fitted statsmodels results"):
        lighttrack.statsmodels.save_model(sm.OLS(Y, X), tmp_path / "a")
    assert not (tmp_path / "a").exists()
    monkeypatch.setitem(sys.modules, "statsmodels", None)
    with pytest.raises(ModelError, match=r"pip install 'lighttrack\[statsmodels\]'"):
        lighttrack.statsmodels.save_model(results, tmp_path / "b")


def test_pip_requirements_replace_and_extra_pip_requirements_add(tmp_path, results):
    lighttrack.statsmodels.save_model(results, tmp_path / "a", pip_requirements=["statsmodels==0.14.0"])
    assert (tmp_path / "a" / "requirements.txt").read_text().split() == ["statsmodels==0.14.0"]
    lighttrack.statsmodels.save_model(results, tmp_path / "b", extra_pip_requirements=["tabulate"])
    assert (tmp_path / "b" / "requirements.txt").read_text().split() == [
        f"statsmodels=={statsmodels.__version__}", "tabulate"]
    assert "-r requirements.txt" in (tmp_path / "b" / "python_env.yaml").read_text()
    with pytest.raises(InvalidArgument, match="not both"):
        lighttrack.statsmodels.save_model(results, tmp_path / "c", pip_requirements=["x"],
                                          extra_pip_requirements=["y"])
