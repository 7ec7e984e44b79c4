"""lighttrack.lightgbm: booster text, LGBMClassifier rebuilt without pickle or skops, MLflow both ways."""

from __future__ import annotations

import sys
import warnings

import lightgbm as lgb
import mlflow.lightgbm as real_lightgbm  # the real MLflow, imported once for the module
import mlflow.pyfunc as real_pyfunc
import numpy as np
import pytest
import yaml

import lighttrack as mlflow
import lighttrack.lightgbm
import lighttrack.pyfunc
from lighttrack.errors import InvalidArgument, ModelError

# loading MLflow-made models (no hashes) with verify=False warns by design; that is tested in test_trust
pytestmark = pytest.mark.filterwarnings("ignore::lighttrack.models.files.UnverifiedModelWarning")

X = np.random.RandomState(1).rand(40, 3)
labels = np.array(["cat", "dog", "eel"])[(X[:, 0] * 3).astype(int)]


@pytest.fixture(scope="module")
def classifier():
    return lgb.LGBMClassifier(n_estimators=5, num_leaves=4, min_child_samples=2, verbose=-1).fit(X, labels)


@pytest.fixture(scope="module")
def booster():
    return lgb.train({"objective": "regression", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1},
                     lgb.Dataset(X, label=X[:, 1]), num_boost_round=3)


def test_classifier_is_rebuilt_from_the_booster_with_equal_predictions(tmp_path, classifier, monkeypatch):
    lighttrack.lightgbm.save_model(classifier, tmp_path / "m", input_example=X[:2])
    import skops.io

    def no_skops(*a, **k):
        raise AssertionError("lighttrack must not parse the skops copy")

    monkeypatch.setattr(skops.io, "load", no_skops)
    monkeypatch.setattr(skops.io, "loads", no_skops)
    loaded = lighttrack.lightgbm.load_model(tmp_path / "m")
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), classifier.predict_proba(X))
    assert list(loaded.classes_) == ["cat", "dog", "eel"] and loaded.n_features_in_ == 3


def test_booster_logs_registers_and_predicts_through_pyfunc(booster):
    with mlflow.start_run():
        lighttrack.lightgbm.log_model(booster, name="model", input_example=X[:2], registered_model_name="lgb")
    model = lighttrack.pyfunc.load_model("models:/lgb/latest")
    np.testing.assert_allclose(model.predict(X), booster.predict(X))
    with pytest.raises(InvalidArgument, match="dimension 1 must be 3"):
        model.predict(X[:, :2])


def test_mlmodel_keys_match_mlflow_and_requirements_pin_lightgbm(tmp_path, classifier):
    lighttrack.lightgbm.save_model(classifier, tmp_path / "ours")
    real_lightgbm.save_model(classifier, tmp_path / "theirs", pip_requirements=["lightgbm"])
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())["flavors"]
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["flavors"]
    assert set(ours["lightgbm"]) == set(theirs["lightgbm"])
    assert set(ours["python_function"]) == set(theirs["python_function"])
    assert f"lightgbm=={lgb.__version__}" in (tmp_path / "ours" / "requirements.txt").read_text().split()


def test_real_mlflow_loads_ours_with_equal_predictions(tmp_path, classifier, booster):
    lighttrack.lightgbm.save_model(classifier, tmp_path / "c")
    lighttrack.lightgbm.save_model(booster, tmp_path / "b")
    np.testing.assert_array_equal(real_lightgbm.load_model(str(tmp_path / "c")).predict(X), classifier.predict(X))
    np.testing.assert_allclose(real_pyfunc.load_model(str(tmp_path / "b")).predict(X), booster.predict(X))


def test_we_load_mlflows_models_with_equal_predictions(tmp_path, classifier, booster):
    real_lightgbm.save_model(classifier, tmp_path / "c", pip_requirements=["lightgbm"])
    real_lightgbm.save_model(booster, tmp_path / "b", pip_requirements=["lightgbm"])
    np.testing.assert_array_equal(lighttrack.lightgbm.load_model(tmp_path / "c", verify=False).predict(X), classifier.predict(X))
    np.testing.assert_allclose(lighttrack.pyfunc.load_model(tmp_path / "b", verify=False).predict(X), booster.predict(X))


def test_mlflows_pickled_classifier_needs_allow_pickle(tmp_path, classifier):
    real_lightgbm.save_model(classifier, tmp_path / "p", serialization_format="cloudpickle",
                             pip_requirements=["lightgbm"])
    with pytest.raises(ModelError, match="allow_pickle=True"):
        lighttrack.lightgbm.load_model(tmp_path / "p", verify=False)
    loaded = lighttrack.lightgbm.load_model(tmp_path / "p", allow_pickle=True, verify=False)
    np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))


def test_skops_types_are_trusted_by_the_loader_not_by_the_file(tmp_path, classifier):
    """An MLflow skops file whose MLmodel trusts an extra type is still refused for it."""
    import fractions

    import skops.io
    from sklearn.preprocessing import StandardScaler

    real_lightgbm.save_model(classifier, tmp_path / "m", pip_requirements=["lightgbm"])
    (tmp_path / "m" / "model.skops").write_bytes(skops.io.dumps(fractions.Fraction(1, 3)))
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("- collections.OrderedDict",
                                                   "- collections.OrderedDict\n    - fractions.Fraction"))
    with pytest.raises(ModelError, match="fractions.Fraction.*never takes"):
        lighttrack.lightgbm.load_model(tmp_path / "m", verify=False)
    # a type skops trusts by itself still is not a LightGBM model
    (tmp_path / "m" / "model.skops").write_bytes(skops.io.dumps(StandardScaler()))
    with pytest.raises(ModelError, match="holds a sklearn.preprocessing._data.StandardScaler"):
        lighttrack.lightgbm.load_model(tmp_path / "m", verify=False)


def test_unfitted_or_foreign_models_are_refused_before_writing(tmp_path):
    with pytest.raises(InvalidArgument, match="not fitted"):
        lighttrack.lightgbm.save_model(lgb.LGBMRegressor(), tmp_path / "a")
    with pytest.raises(InvalidArgument, match="must be a lightgbm Booster"):
        lighttrack.lightgbm.save_model([1, 2], tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_missing_framework_is_one_line_naming_the_extra(monkeypatch, tmp_path, booster):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(ModelError, match=r"pip install 'lighttrack\[lightgbm\]'"):
        lighttrack.lightgbm.save_model(booster, tmp_path / "m")


# --- autolog -----------------------------------------------------------------------------------

@pytest.fixture
def autolog():
    yield lighttrack.lightgbm.autolog
    lighttrack.lightgbm.autolog(disable=True)


def _only_run():
    (run,) = mlflow.MlflowClient().search_runs()
    return run


def test_autolog_train_logs_params_metrics_per_iteration_importance_and_model(autolog):
    import json

    autolog()
    params = {"objective": "regression", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1}
    train = lgb.Dataset(X[:30], label=X[:30, 1])
    valid = lgb.Dataset(X[30:], label=X[30:, 1], reference=train)
    booster = lgb.train(params, train, num_boost_round=4, valid_sets=[valid], valid_names=["val"],
                        callbacks=[lgb.early_stopping(2, verbose=False)])
    run = _only_run()
    client = mlflow.MlflowClient()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "lightgbm"
    assert run.data.params["num_leaves"] == "4" and run.data.params["num_boost_round"] == "4"
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "val-l2")]
    assert steps[:len(steps) - 1] == list(range(len(steps) - 1))  # then the best iteration, one step on
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {
        "feature_importance_split.json", "feature_importance_gain.json", "model"}
    split = json.loads(open(client.download_artifacts(run.info.run_id, "feature_importance_split.json")).read())
    assert set(split) == set(booster.feature_name())
    model = lighttrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(model.predict(X), booster.predict(X))


def test_autolog_classifier_fit_is_one_run_logging_the_classifier(autolog):
    autolog()
    clf = lgb.LGBMClassifier(n_estimators=3, num_leaves=4, min_child_samples=2, verbose=-1)
    with warnings.catch_warnings():  # eval_set is deprecated in LightGBM 4.7, but it is what users write
        warnings.simplefilter("ignore")
        clf.fit(X[:30], labels[:30], eval_set=[(X[30:], labels[30:])])
    run = _only_run()
    assert run.data.params["n_estimators"] == "3"
    steps = [m.step for m in mlflow.MlflowClient().get_metric_history(run.info.run_id, "valid_0-multi_logloss")]
    assert steps == [0, 1, 2]
    loaded = lighttrack.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.predict(X[:5]).tolist() == clf.predict(X[:5]).tolist()


def test_autolog_log_models_false_and_disable(autolog):
    autolog(log_models=False, silent=True)
    lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, X[:, 1])
    run = _only_run()
    assert "model" not in {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    autolog(disable=True)
    lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, X[:, 1])
    assert len(mlflow.MlflowClient().search_runs()) == 1


def test_a_rebuild_recipe_cannot_set_params_that_name_files(tmp_path, classifier):
    import json

    lighttrack.lightgbm.save_model(classifier, tmp_path / "m")
    state_file = tmp_path / "m" / "lgb_sklearn.json"
    state = json.loads(state_file.read_text())
    state["params"]["output_model"] = "/tmp/owned.txt"
    state_file.write_text(json.dumps(state))
    with pytest.raises(ModelError, match="name files \\(output_model\\)"):
        lighttrack.lightgbm.load_model(tmp_path / "m", verify=False)
