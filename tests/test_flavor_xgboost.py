"""lighttrack.xgboost: native booster files, sklearn estimators rebuilt from them, MLflow both ways."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
import yaml

import lighttrack as mlflow
import lighttrack.pyfunc
import lighttrack.xgboost
from lighttrack.errors import InvalidArgument, ModelError

# loading MLflow-made models (no hashes) with verify=False warns by design; that is tested in test_trust
pytestmark = pytest.mark.filterwarnings("ignore::lighttrack.models.files.UnverifiedModelWarning")

import mlflow.pyfunc as real_pyfunc  # the real MLflow, imported once for the module
import mlflow.xgboost as real_xgboost

X = np.random.RandomState(0).rand(30, 4).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 1).astype(int)


@pytest.fixture(scope="module")
def classifier():
    return xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)


@pytest.fixture(scope="module")
def booster():
    return xgb.train({"max_depth": 2, "objective": "binary:logistic"}, xgb.DMatrix(X, label=y), num_boost_round=3)


def test_sklearn_estimator_round_trips_as_itself_with_equal_predictions(tmp_path, classifier):
    lighttrack.xgboost.save_model(classifier, tmp_path / "m", input_example=X[:3])
    loaded = lighttrack.xgboost.load_model(tmp_path / "m")
    assert type(loaded) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), classifier.predict_proba(X))
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert "model.ubj" in files and not any(f.endswith((".pkl", ".pickle")) for f in files)


def test_log_model_to_a_run_registers_and_loads_through_pyfunc(booster):
    with mlflow.start_run():
        info = lighttrack.xgboost.log_model(booster, name="model", input_example=X[:2],
                                            registered_model_name="xgb")
    assert info.registered_model_version == 1
    model = lighttrack.pyfunc.load_model("models:/xgb/1")
    np.testing.assert_allclose(model.predict(X), booster.predict(xgb.DMatrix(X)))
    np.testing.assert_allclose(model.predict(pd.DataFrame(X)), booster.predict(xgb.DMatrix(X)))
    assert model.metadata.signature.inputs.to_json() == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]'
    )


def test_signature_is_enforced_on_predict(tmp_path, classifier):
    lighttrack.xgboost.save_model(classifier, tmp_path / "m", input_example=X[:3])
    model = lighttrack.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(InvalidArgument, match="dimension 1 must be 4"):
        model.predict(X[:, :3])
    with pytest.raises(InvalidArgument, match="expects float32"):
        model.predict(np.array([["a", "b", "c", "d"]]))


def test_mlmodel_block_has_mlflows_keys_and_requirements_name_the_installed_version(tmp_path, classifier):
    lighttrack.xgboost.save_model(classifier, tmp_path / "ours", code_paths=[__file__])
    real_xgboost.save_model(classifier, tmp_path / "theirs", pip_requirements=["xgboost"], code_paths=[__file__])
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())["flavors"]
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["flavors"]
    assert set(ours["xgboost"]) == set(theirs["xgboost"])
    assert set(ours["python_function"]) == set(theirs["python_function"])
    assert ours["xgboost"]["code"] == "code" and (tmp_path / "ours" / "code" / "test_flavor_xgboost.py").exists()
    assert f"xgboost=={xgb.__version__}" in (tmp_path / "ours" / "requirements.txt").read_text().split()


def test_real_mlflow_loads_ours_with_equal_predictions(tmp_path, classifier):
    lighttrack.xgboost.save_model(classifier, tmp_path / "m", input_example=X[:3])
    theirs = real_xgboost.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(theirs.predict(X), classifier.predict(X))
    np.testing.assert_array_equal(real_pyfunc.load_model(str(tmp_path / "m")).predict(X), classifier.predict(X))


def test_we_load_mlflows_model_with_equal_predictions(tmp_path, classifier, booster):
    real_xgboost.save_model(classifier, tmp_path / "c", pip_requirements=["xgboost"])
    real_xgboost.save_model(booster, tmp_path / "b", model_format="json", pip_requirements=["xgboost"])
    np.testing.assert_array_equal(lighttrack.xgboost.load_model(tmp_path / "c", verify=False).predict(X), classifier.predict(X))
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "b", verify=False).predict(X),
                               booster.predict(xgb.DMatrix(X)))


def test_a_file_cannot_choose_the_class_that_is_built(tmp_path, classifier):
    real_xgboost.save_model(classifier, tmp_path / "m", pip_requirements=["xgboost"])
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("xgboost.sklearn.XGBClassifier", "os.system"))
    with pytest.raises(ModelError, match="asks for class 'os.system'"):
        lighttrack.xgboost.load_model(tmp_path / "m", verify=False)


def test_a_changed_model_file_is_refused(tmp_path, booster):
    lighttrack.xgboost.save_model(booster, tmp_path / "m")
    with open(tmp_path / "m" / "model.ubj", "ab") as f:
        f.write(b"x")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        lighttrack.xgboost.load_model(tmp_path / "m")


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, booster):
    with pytest.raises(InvalidArgument, match="model_format must be one of ubj, json"):
        lighttrack.xgboost.save_model(booster, tmp_path / "a", model_format="pickle")
    with pytest.raises(InvalidArgument, match="must be an xgboost Booster"):
        lighttrack.xgboost.save_model(object(), tmp_path / "b")
    with pytest.raises(InvalidArgument, match="do not exist"):
        lighttrack.xgboost.save_model(booster, tmp_path / "c", code_paths=["nope.py"])
    assert not any((tmp_path / d).exists() for d in "abc")


def test_missing_framework_is_one_line_naming_the_extra(monkeypatch, tmp_path, booster):
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(ModelError, match=r"pip install 'lighttrack\[xgboost\]'"):
        lighttrack.xgboost.save_model(booster, tmp_path / "m")


# --- autolog -----------------------------------------------------------------------------------

@pytest.fixture
def autolog():
    yield lighttrack.xgboost.autolog
    lighttrack.xgboost.autolog(disable=True)


def _only_run():
    (run,) = mlflow.MlflowClient().search_runs()
    return run


def test_autolog_train_logs_params_metrics_per_iteration_importance_and_model(autolog):
    autolog()
    dtrain, dval = xgb.DMatrix(X[:20], label=y[:20]), xgb.DMatrix(X[20:], label=y[20:])
    booster = xgb.train({"max_depth": 2, "objective": "binary:logistic", "eval_metric": "logloss"}, dtrain,
                        num_boost_round=3, evals=[(dtrain, "train"), (dval, "val")], verbose_eval=False)
    run = _only_run()
    client = mlflow.MlflowClient()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "xgboost"
    assert run.data.params["max_depth"] == "2" and run.data.params["num_boost_round"] == "3"
    history = client.get_metric_history(run.info.run_id, "val-logloss")
    assert [m.step for m in history] == [0, 1, 2]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"feature_importance_weight.json", "model"}
    model = lighttrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(model.predict(X), booster.predict(xgb.DMatrix(X)))


def test_autolog_sklearn_fit_is_one_run_with_the_estimator_as_model(autolog):
    autolog()
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y, eval_set=[(X, y)], verbose=False)
    run = _only_run()
    assert run.data.params["n_estimators"] == "3"
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(run.info.run_id, "validation_0-logloss")]
    assert steps == [0, 1, 2]
    loaded = lighttrack.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_autolog_switches_log_models_exclusive_and_disable(autolog):
    autolog(log_models=False)
    xgb.train({"max_depth": 1}, xgb.DMatrix(X, label=y), num_boost_round=1)
    run = _only_run()
    assert "model" not in {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    autolog(exclusive=True)
    with mlflow.start_run() as mine:
        xgb.train({"max_depth": 1}, xgb.DMatrix(X, label=y), num_boost_round=1)
    assert mlflow.get_run(mine.info.run_id).data.params == {}
    autolog(disable=True)
    xgb.train({"max_depth": 1}, xgb.DMatrix(X, label=y), num_boost_round=1)
    assert len(mlflow.MlflowClient().search_runs()) == 2
    assert not hasattr(xgb.train, "__lighttrack_autolog__")


def test_a_failing_training_marks_the_run_failed(autolog):
    autolog()
    with pytest.raises(xgb.core.XGBoostError):
        xgb.train({"objective": "no-such-objective"}, xgb.DMatrix(X, label=y), num_boost_round=1)
    assert _only_run().info.status == "FAILED"


def test_lighttrack_autolog_patches_xgboost_when_it_is_imported_later(tmp_path):
    from conftest import run_python

    code = (
        "import sys, lighttrack\n"
        "lighttrack.autolog()\n"
        "loaded = {'xgboost', 'lightgbm', 'tensorflow', 'keras', 'lightning'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
        "import numpy as np, xgboost as xgb\n"
        "X = np.random.rand(10, 2); y = (X[:, 0] > .5).astype(int)\n"
        "xgb.train({'max_depth': 1}, xgb.DMatrix(X, label=y), num_boost_round=2)\n"
        "(run,) = lighttrack.MlflowClient().search_runs()\n"
        "print(run.data.params['num_boost_round'], run.data.tags['mlflow.autologging'])\n"
    )
    out = run_python(code, env={"LIGHTTRACK_TRACKING_URI": str(tmp_path / "a.db")}).stdout
    assert out.split() == ["2", "xgboost"]


def test_the_tuis_run_detail_lists_the_logged_xgboost_model(booster):
    from tui.adapter import TrackingAdapter

    with mlflow.start_run() as run:
        lighttrack.xgboost.log_model(booster, name="model", input_example=X[:2], registered_model_name="xgb-tui")
    (model,) = TrackingAdapter(mlflow.MlflowClient()).run_detail(run.info.run_id).models
    assert model.path == "model" and model.flavors == ["python_function", "xgboost"]
    assert model.inputs == "tensor float32[-1, 4]" and [int(v.version) for v in model.versions] == [1]
