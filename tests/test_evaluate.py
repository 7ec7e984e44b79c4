"""``mlflow.models.evaluate`` and model validation, checked against real MLflow 3.17 on the same data.

Each case is evaluated twice: by lighttrack and by the installed MLflow. The metric names must
be the same set and every value equal; the artifacts MLflow draws (minus its lift and
calibration curves, see the README) must be there, as PNGs with an image as content."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import run_python
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lighttrack as lt
import lighttrack.pyfunc
import lighttrack.sklearn
from lighttrack.models import MetricThreshold
from lighttrack.models.evaluation import ModelValidationFailedException, make_metric, validate_evaluation_results

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")
import mlflow.models  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")
#: artifacts MLflow 3.17 draws that lighttrack does not (documented in the README)
NOT_DRAWN = {"lift_curve_plot", "calibration_curve_plot"}


def _frame(loader):
    X, y = loader(return_X_y=True, as_frame=True)
    return X, y


def _classifier():
    # scaled first: the solver converges in a few iterations, so fitting costs nothing
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


@functools.cache
def _binary():
    X, y = _frame(load_breast_cancer)
    return _classifier().fit(X, y), X.assign(label=y), {}


@functools.cache
def _binary_strings_pos_label():
    X, y = _frame(load_breast_cancer)
    labels = np.where(y == 1, "benign", "malignant")
    model = _classifier().fit(X, labels)
    return model, X.assign(label=labels), {"evaluator_config": {"pos_label": "malignant"}}


@functools.cache
def _multiclass():
    X, y = _frame(load_iris)
    return _classifier().fit(X, y), X.assign(label=y), {}


def _multiclass_macro():
    X, y = _frame(load_iris)
    model = LogisticRegression(max_iter=200, C=0.05).fit(X, y)  # weak on purpose: not every score is 1
    return model, X.assign(label=y), {"evaluator_config": {"average": "macro"}}


def _regressor():
    X, y = _frame(load_diabetes)
    return LinearRegression().fit(X, y), X.assign(label=y), {}


def _regressor_weighted():
    X, y = _frame(load_diabetes)
    weights = np.linspace(0.5, 2.0, len(y))
    return LinearRegression().fit(X, y), X.assign(label=y), {"evaluator_config": {"sample_weights": weights}}


CASES = {  # name: (builder, model_type)
    "binary": (_binary, "classifier"),
    "binary-strings-pos-label": (_binary_strings_pos_label, "classifier"),
    "multiclass": (_multiclass, "classifier"),
    "multiclass-macro": (_multiclass_macro, "classifier"),
    "regressor": (_regressor, "regressor"),
    "regressor-weighted": (_regressor_weighted, "regressor"),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """MLflow's own evaluation of each case, computed once (MLflow's SQL schema is slow to build)."""
    root = tmp_path_factory.mktemp("mlflow")
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    experiment = mlflow.create_experiment("evaluate", artifact_location=(root / "artifacts").as_uri())
    found = {}

    def evaluate(key, model, data, **kwargs):
        if key not in found:
            with mlflow.start_run(experiment_id=experiment):
                found[key] = mlflow.models.evaluate(model, data, **{"targets": "label", **kwargs})
        return found[key]

    yield evaluate
    mlflow.set_tracking_uri(None)


def _mlflow_model(model, path):
    mlflow.sklearn.save_model(model, path, pip_requirements=["scikit-learn"])
    return mlflow.pyfunc.load_model(str(path))


def _our_model(model, path):
    lt.sklearn.save_model(model, path)
    return lt.pyfunc.load_model(path)


def _same_metrics(ours: dict, theirs: dict) -> None:
    assert sorted(ours) == sorted(theirs)
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(float(value), rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_metrics_and_artifacts_match_mlflow(case, reference, tmp_path):
    builder, model_type = CASES[case]
    model, data, kwargs = builder()
    theirs = reference(case, _mlflow_model(model, tmp_path / "theirs"), data, model_type=model_type, **kwargs)
    with lt.start_run() as run:
        ours = lt.models.evaluate(_our_model(model, tmp_path / "ours"), data, targets="label", model_type=model_type,
                                  **kwargs)
    _same_metrics(ours.metrics, theirs.metrics)
    assert ours.run_id == run.info.run_id
    logged = lt.get_run(run.info.run_id).data.metrics
    assert logged == pytest.approx(ours.metrics)
    expected = set(theirs.artifacts) - NOT_DRAWN | ({"residuals_plot"} if model_type == "regressor" else set())
    assert set(ours.artifacts) == expected
    files = {f.path for f in lt.MlflowClient().list_artifacts(run.info.run_id)}
    for name, artifact in ours.artifacts.items():
        assert artifact.uri.startswith(lt.get_run(run.info.run_id).info.artifact_uri + "/")
        assert artifact.uri.rsplit("/", 1)[-1] in files
        if artifact.uri.endswith(".png"):
            assert artifact.content.size[0] > 100  # a PIL image, as MLflow's content
        else:
            pd.testing.assert_frame_equal(artifact.content, theirs.artifacts[name].content, check_dtype=False)


def test_a_function_and_a_predictions_column_match_mlflow(reference):
    model, data, _ = _multiclass()
    theirs = reference("function", lambda frame: model.predict(frame), data, model_type="classifier")
    ours = lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="classifier")
    _same_metrics(ours.metrics, theirs.metrics)  # no probabilities: no log_loss / roc_auc, on both sides
    assert "log_loss" not in ours.metrics
    with_predictions = data.assign(pred=model.predict(data.drop(columns="label")))
    theirs = reference("column", None, with_predictions, model_type="classifier", predictions="pred")
    ours = lt.evaluate(None, with_predictions, targets="label", model_type="classifier", predictions="pred")
    _same_metrics(ours.metrics, theirs.metrics)


def test_numpy_data_and_a_logged_model_uri(reference):
    X, y = load_diabetes(return_X_y=True)
    model = LinearRegression().fit(X, y)
    theirs = reference("numpy", lambda rows: model.predict(np.asarray(rows)), X, model_type="regressor", targets=y)
    with lt.start_run():
        uri = lt.sklearn.log_model(model, name="m").model_uri
    ours = lt.evaluate(uri, X, targets=y, model_type="regressor")
    # The URI gives the sklearn flavour: its score is reported too, as MLflow does for sklearn models.
    assert ours.metrics.pop("score") == pytest.approx(model.score(X, y))
    _same_metrics(ours.metrics, theirs.metrics)


def test_without_an_active_run_a_run_is_started_and_ended(client):
    model, data, _ = _regressor()
    result = lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="regressor",
                         evaluator_config={"metric_prefix": "val_"})
    assert lt.active_run() is None
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert set(run.data.metrics) == set(result.metrics) and all(k.startswith("val_") for k in result.metrics)
    assert {m.step for m in client.get_metric_history(result.run_id, "val_r2_score")} == {0}
    assert [f.path for f in client.list_artifacts(result.run_id)] == ["val_residuals_plot.png"]


def test_result_saves_and_loads(tmp_path):
    model, data, _ = _binary()
    result = lt.evaluate(_our_model(model, tmp_path / "m"), data, targets="label", model_type="classifier")
    result.save(tmp_path / "saved")
    back = type(result).load(tmp_path / "saved")
    assert back.metrics == result.metrics
    assert {k: v.uri for k, v in back.artifacts.items()} == {k: v.uri for k, v in result.artifacts.items()}
    assert back.artifacts["confusion_matrix"].content.size == result.artifacts["confusion_matrix"].content.size


def test_extra_metrics_are_computed_named_and_logged():
    model, data, _ = _regressor()

    def within_ten(predictions, targets):
        return float(np.mean(np.abs(predictions - targets) <= 10))

    def ratio(metrics):
        from lighttrack.metrics import MetricValue  # MLflow's import path

        return MetricValue(aggregate_results={"of_mae": metrics["mean_absolute_error"].aggregate_results[
            "mean_absolute_error"] / 2})

    result = lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="regressor",
                         extra_metrics=[make_metric(eval_fn=within_ten, greater_is_better=True),
                                        make_metric(eval_fn=ratio, greater_is_better=False, name="half")])
    predictions = model.predict(data.drop(columns="label"))
    assert result.metrics["within_ten"] == pytest.approx(np.mean(np.abs(predictions - data["label"]) <= 10))
    assert result.metrics["half/of_mae"] == pytest.approx(result.metrics["mean_absolute_error"] / 2)
    assert lt.get_run(result.run_id).data.metrics["within_ten"] == result.metrics["within_ten"]


@pytest.mark.parametrize("kwargs, message", [
    ({"model_type": "question-answering"}, "model_type must be one of classifier, regressor"),
    ({"model_type": "classifier", "evaluators": "shap"}, "evaluator 'shap' is not available"),
    ({"model_type": "classifier", "targets": "nope"}, "targets column 'nope' is not in data"),
    ({"model_type": "classifier", "evaluator_config": {"pos_lable": 1}}, "pos_lable"),
    ({"model_type": "classifier", "evaluator_config": {"pos_label": 5, "label_list": [0, 1]}}, "must exist"),
    ({"model_type": "classifier", "baseline_model": "runs:/x/m"}, "only used with validation_thresholds"),
    ({"model_type": "classifier", "validation_thresholds": {"accuracy_score": 0.9}}, "MetricThreshold objects"),
])
def test_bad_arguments_are_refused_before_anything_is_written(kwargs, message, client):
    model, data, _ = _binary()
    kwargs = {"targets": "label", **kwargs}
    with pytest.raises(lt.MlflowException, match=message):
        lt.evaluate(lambda frame: model.predict(frame), data, **kwargs)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_evaluation_loads_no_ml_library_at_import():
    code = ("import sys, lighttrack, lighttrack.models.evaluation\n"
            "lighttrack.evaluate, lighttrack.models.MetricThreshold\n"
            "print(','.join(m for m in ('numpy', 'pandas', 'sklearn', 'matplotlib') if m in sys.modules))\n")
    assert run_python(code).stdout.strip() == ""


def test_without_matplotlib_metrics_are_logged_and_one_note_says_why(tmp_path):
    code = (
        "import sys, logging; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        "logging.basicConfig(level=logging.WARNING)\n"
        "import numpy as np, lighttrack as lt\n"
        f"lt.set_tracking_uri({str(tmp_path / 'x.db')!r})\n"
        "y = np.array([0, 1] * 20); X = np.c_[y + 0.1, 1 - y]\n"
        "for _ in range(2):\n"
        "    r = lt.evaluate(lambda rows: (rows.iloc[:, 0] > 0.5).astype(int), X, targets=y, model_type='classifier')\n"
        "print(r.metrics['accuracy_score'], sorted(r.artifacts))\n"
    )
    result = run_python(code)
    assert result.stdout.split() == ["1.0", "[]"]
    assert result.stderr.count("matplotlib is not installed") == 1


# ------------------------------------------------------------------------------ validation
def test_metric_threshold_refuses_what_mlflow_refuses():
    for kwargs, message in [
        ({"threshold": "0.8", "greater_is_better": True}, "`threshold` parameter must be a number."),
        ({"min_absolute_change": -1, "greater_is_better": True}, "must be a positive number"),
        ({"min_relative_change": 2.0, "greater_is_better": True}, "must be between 0 and 1"),
        ({"min_relative_change": 1, "greater_is_better": True}, "must be a floating point number"),
        ({"threshold": 0.8}, "`greater_is_better` parameter must be defined."),
        ({"greater_is_better": True}, "no threshold was specified."),
    ]:
        with pytest.raises(lt.MlflowException, match=message):
            MetricThreshold(**kwargs)
        with pytest.raises(mlflow.MlflowException, match=message):
            mlflow.models.MetricThreshold(**kwargs)


class _Result:
    def __init__(self, **metrics):
        self.metrics = metrics


VALIDATION_CASES = [  # thresholds as kwargs per metric, candidate metrics, baseline metrics or None
    ({"accuracy_score": {"threshold": 0.8, "greater_is_better": True}}, {"accuracy_score": 0.85}, None),
    ({"accuracy_score": {"threshold": 0.9, "greater_is_better": True}}, {"accuracy_score": 0.85}, None),
    ({"log_loss": {"threshold": 0.3, "greater_is_better": False}}, {"log_loss": 0.35}, None),
    ({"accuracy_score": {"min_absolute_change": 0.05, "greater_is_better": True}},
     {"accuracy_score": 0.9}, {"accuracy_score": 0.85}),
    ({"accuracy_score": {"min_absolute_change": 0.05, "greater_is_better": True}},
     {"accuracy_score": 0.88}, {"accuracy_score": 0.85}),
    ({"r2_score": {"min_relative_change": 0.1, "greater_is_better": True}}, {"r2_score": -0.1}, {"r2_score": -0.2}),
    ({"mean_absolute_error": {"min_relative_change": 0.1, "greater_is_better": False}},
     {"mean_absolute_error": 9.5}, {"mean_absolute_error": 10.0}),
    ({"f1_score": {"min_relative_change": 0.1, "greater_is_better": True}}, {"f1_score": 0.1}, {"f1_score": 0.0}),
    ({"f1_score": {"min_absolute_change": 0.1, "greater_is_better": True}}, {"f1_score": 0.5}, {}),
    ({"missing": {"threshold": 1, "greater_is_better": True}}, {"f1_score": 0.5}, None),
]


@pytest.mark.parametrize("rules, candidate, baseline", VALIDATION_CASES)
def test_validation_passes_and_fails_exactly_as_mlflow(rules, candidate, baseline):
    def run(module, threshold_class, error_class):
        thresholds = {name: threshold_class(**kw) for name, kw in rules.items()}
        try:
            module(thresholds, _Result(**candidate), _Result(**baseline) if baseline is not None else None)
        except error_class as exc:
            return str(exc.message if hasattr(exc, "message") else exc)
        return None

    from mlflow.models.evaluation.validation import ModelValidationFailedException as TheirError

    ours = run(validate_evaluation_results, MetricThreshold, ModelValidationFailedException)
    theirs = run(mlflow.validate_evaluation_results, mlflow.models.MetricThreshold, TheirError)
    assert ours == theirs


def test_a_metric_missing_from_the_baseline_is_reported():
    # MLflow 3.17 raises a bare KeyError here (it indexes the baseline before checking it)
    rules = {"f1_score": MetricThreshold(min_absolute_change=0.1, greater_is_better=True)}
    with pytest.raises(ModelValidationFailedException, match="f1_score was missing from the evaluation result of "
                                                                 "the baseline model"):
        validate_evaluation_results(rules, _Result(f1_score=0.5), _Result(other=1.0))


def test_a_failed_gate_names_metric_values_and_threshold_and_keeps_the_numbers(tmp_path):
    model, data, _ = _binary()
    weak = LogisticRegression(max_iter=1000).fit(data[["mean radius"]], data["label"])
    thresholds = {"accuracy_score": MetricThreshold(threshold=0.99, min_absolute_change=0.05, greater_is_better=True)}
    with lt.start_run() as run:
        with pytest.raises(ModelValidationFailedException) as caught:
            lt.evaluate(lambda frame: weak.predict(frame[["mean radius"]]), data, targets="label",
                        model_type="classifier", baseline_model=lambda frame: model.predict(frame),
                        validation_thresholds=thresholds)
    text = str(caught.value)
    candidate = float(np.mean(weak.predict(data[["mean radius"]]) == data["label"]))
    baseline = float(np.mean(model.predict(data.drop(columns="label")) == data["label"]))
    assert f"candidate model accuracy_score = {candidate}" in text and "accuracy_score threshold = 0.99" in text
    assert f"baseline model accuracy_score = {baseline}" in text and "minimum absolute change threshold = 0.05" in text
    assert lt.get_run(run.info.run_id).data.metrics["accuracy_score"] == pytest.approx(candidate)
    passing = lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="classifier",
                          baseline_model=lambda frame: weak.predict(frame[["mean radius"]]),
                          validation_thresholds={"accuracy_score": MetricThreshold(min_absolute_change=0.05,
                                                                                   greater_is_better=True)})
    assert passing.baseline_model_metrics["accuracy_score"] == pytest.approx(candidate)
    assert math.isclose(passing.metrics["accuracy_score"], baseline)
    json.dumps(passing.metrics)  # plain numbers: they go into JSON reports as they are


def test_metrics_of_a_logged_model_uri_are_also_the_logged_models(client):
    """MLflow 3 links evaluation metrics to the logged model being evaluated."""
    model, data, _ = _regressor()
    with lt.start_run() as run:
        info = lt.sklearn.log_model(model, name="m")
        result = lt.evaluate(info.model_uri, data, targets="label", model_type="regressor")
    linked = {m.key: m for m in client.get_logged_model(info.model_id).metrics}
    assert set(linked) == set(result.metrics)
    assert linked["r2_score"].value == pytest.approx(result.metrics["r2_score"])
    assert linked["r2_score"].run_id == run.info.run_id
    # a function is no logged model: its metrics stay the run's only
    other = lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="regressor")
    assert client.get_run(other.run_id).data.metrics.keys() == other.metrics.keys()
    with pytest.raises(lt.exceptions.MlflowException):
        lt.evaluate(lambda frame: model.predict(frame), data, targets="label", model_type="regressor",
                    model_id="m-" + "0" * 32)
