"""Datasets against real MLflow 3: the same data gets the same digest, schema and profile; an
MLflow run's dataset inputs import here intact (sqlite:/// store and mlruns/ folder); ours
pushed to a real `mlflow server` read back identical through MlflowClient."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lighttrack
from lighttrack import LighttrackClient
from lighttrack.store import close_all

mlflow = pytest.importorskip("mlflow", reason="the test extra installs mlflow")

sys.path.insert(0, str(Path(__file__).parent))

RNG = np.random.default_rng(7)


def _forget_mlflow_experiment() -> None:
    """MLflow's set_experiment exported MLFLOW_EXPERIMENT_ID, which lighttrack honours too."""
    import os

    import mlflow.tracking.fluent as fluent

    fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    mlflow.set_tracking_uri(None)


@pytest.fixture(autouse=True)
def _mlflow_fluent_state(monkeypatch):
    """MLflow's fluent set_experiment keeps a global experiment id and exports it as
    MLFLOW_EXPERIMENT_ID: start each test without them and leave none behind for the next."""
    import mlflow.tracking.fluent as fluent

    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    yield
    _forget_mlflow_experiment()
FRAMES = {
    "mixed": lambda: pd.DataFrame({
        "a": [1.0, 2.0, np.nan], "b": ["x", "y", "z"], "c": [1, 2, 3], "d": [True, False, True],
        "e": pd.to_datetime(["2020-01-01"] * 3), "f": np.array([1, 2, 3], dtype="int32"),
        "g": np.array([1, 2, 3], dtype="float32")}),
    "columns out of order": lambda: pd.DataFrame({"z": [1, 2], "a": ["p", "q"], "m": [0.5, 0.25]}),
    "more than 10,000 rows": lambda: pd.DataFrame({"x": RNG.normal(size=12_345), "y": RNG.integers(0, 9, 12_345)}),
    "a custom index": lambda: pd.DataFrame({"v": [3.0, 4.0, 5.0]}, index=[10, 20, 30]),
    "mixed object column": lambda: pd.DataFrame({"o": ["a", 1, None], "n": [1, 2, 3]}),
    "integer column names": lambda: pd.DataFrame(RNG.normal(size=(5, 3))),
    "a category column": lambda: pd.DataFrame({"k": pd.Categorical(["a", "b", "a"]), "v": [1, 2, 3]}),
}
ARRAYS = {
    "2-d floats": lambda: (RNG.normal(size=(50, 4)), None),
    "with targets": lambda: (RNG.normal(size=(20, 3)), RNG.integers(0, 2, 20)),
    "more than 10,000 elements": lambda: (RNG.normal(size=(4000, 5)), RNG.normal(size=4000)),
    "dicts of arrays": lambda: ({"b": RNG.normal(size=(6, 2)), "a": np.arange(6)}, {"t": np.arange(6) % 2}),
    "strings": lambda: (np.array([["a", "b"], ["c", "d"]]), None),
    "objects that cannot be hashed": lambda: (np.array([{"x": 1}, {"y": 2}], dtype=object), None),
}


@pytest.mark.parametrize("case", list(FRAMES))
def test_from_pandas_gives_mlflows_digest_and_description(case):
    df = FRAMES[case]()
    ours = lighttrack.data.from_pandas(df, source="data/train.csv", name="train")
    theirs = mlflow.data.from_pandas(df, source="data/train.csv", name="train")
    assert ours.digest == theirs.digest
    mine, mlflows = ours.to_dict(), theirs.to_dict()
    assert mine["profile"] == mlflows["profile"]
    assert (mine["name"], mine["source"], mine["source_type"]) == (mlflows["name"], mlflows["source"],
                                                                   mlflows["source_type"])
    if mlflows["schema"] is not None and case not in ("mixed object column",):
        assert mine["schema"] == mlflows["schema"]


@pytest.mark.parametrize("case", list(ARRAYS))
def test_from_numpy_gives_mlflows_digest_and_description(case):
    features, targets = ARRAYS[case]()
    ours = lighttrack.data.from_numpy(features, targets=targets, source="s3://bucket/data")
    theirs = mlflow.data.from_numpy(features, targets=targets, source="s3://bucket/data")
    assert ours.digest == theirs.digest
    mine, mlflows = ours.to_dict(), theirs.to_dict()
    for key in ("name", "source", "source_type", "profile"):
        assert mine[key] == mlflows[key], key
    if case != "objects that cannot be hashed":
        assert mine["schema"] == mlflows["schema"]


@pytest.mark.parametrize("source", ["data/x.csv", "/abs/x.parquet", "file:///tmp/x", "s3://b/k", "gs://b/k",
                                    "https://example.org/x.csv", "hdfs://nn/x"])
def test_sources_resolve_as_mlflows(source):
    ours = lighttrack.data.from_numpy(np.arange(3), source=source)
    theirs = mlflow.data.from_numpy(np.arange(3), source=source)
    assert (ours.source._get_source_type(), ours.source.to_json()) == (theirs.source._get_source_type(),
                                                                      theirs.source.to_json())
    assert type(ours.source).__name__ == type(theirs.source).__name__


def _mlflow_run_with_inputs(tracking_uri: str) -> str:
    mlflow.set_tracking_uri(tracking_uri)
    try:
        mlflow.set_experiment("mlflow-datasets")
        df = FRAMES["mixed"]()
        with mlflow.start_run() as run:
            mlflow.log_param("p", "1")
            mlflow.log_input(mlflow.data.from_pandas(df, source="data/train.csv", name="train", targets="c"),
                             context="training", tags={"split": "a"})
            mlflow.log_input(mlflow.data.from_numpy(np.arange(12.0).reshape(3, 4), source="s3://b/eval"),
                             context="eval")
        return run.info.run_id
    finally:
        _forget_mlflow_experiment()


def _as_dicts(inputs) -> list[dict]:
    return sorted((i.to_dictionary() for i in inputs), key=lambda d: d["dataset"]["name"])


def test_an_mlflow_sqlite_run_imports_with_its_datasets_intact(tmp_path):
    from lighttrack.sync.mlflow_import import import_mlflow

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = _mlflow_run_with_inputs(store)
    expected = _as_dicts(mlflow.MlflowClient(store).get_run(run_id).inputs.dataset_inputs)
    assert len(expected) == 2
    into = tmp_path / "ours.db"
    import_mlflow(store, str(into))
    client = LighttrackClient(into)
    assert _as_dicts(client.get_run(run_id).inputs.dataset_inputs) == expected
    found = client.search_runs(None, "datasets.context = 'eval' AND datasets.name = 'train'")
    assert [r.info.run_id for r in found] == [run_id]
    again = import_mlflow(store, str(into))  # a second import adds nothing
    assert again.inputs_added == 0
    close_all()
    assert sqlite3.connect(into).execute("SELECT count(*) FROM dataset_inputs").fetchone()[0] == 2


def test_an_mlflow_file_store_run_imports_with_its_datasets_intact(tmp_path, monkeypatch):
    from lighttrack.sync.mlflow_import import import_mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    folder = tmp_path / "mlruns"
    run_id = _mlflow_run_with_inputs(folder.as_uri())
    expected = _as_dicts(mlflow.MlflowClient(folder.as_uri()).get_run(run_id).inputs.dataset_inputs)
    into = tmp_path / "ours.db"
    import_mlflow(str(folder), str(into))
    assert _as_dicts(LighttrackClient(into).get_run(run_id).inputs.dataset_inputs) == expected


@pytest.fixture
def server(mlflow_server):
    return mlflow_server


def test_pushed_runs_read_back_identical_through_mlflows_client(tmp_path, server):
    from lighttrack.sync.mlflow_push import push_mlflow

    path = tmp_path / "box.db"
    lighttrack.set_tracking_uri(str(path))
    lighttrack.set_experiment("pushed-datasets")
    df = FRAMES["mixed"]()
    with lighttrack.start_run() as run:
        lighttrack.log_input(lighttrack.data.from_pandas(df, source="data/train.csv", name="train"),
                             context="training", tags={"split": "a"})
    with lighttrack.start_run() as plain:
        lighttrack.log_metric("m", 1.0)
    ours = _as_dicts(lighttrack.get_run(run.info.run_id).inputs.dataset_inputs)
    report = push_mlflow(server, str(path))
    assert report.runs_created == 2
    remote = mlflow.MlflowClient(server)
    experiment = remote.get_experiment_by_name("pushed-datasets").experiment_id
    [pushed] = remote.search_runs([experiment], f"tags.`lighttrack.run_id` = '{run.info.run_id}'")
    got = remote.get_run(pushed.info.run_id).inputs.dataset_inputs
    assert _as_dicts(got) == ours
    # MLflow's own search finds it by the dataset, and reads the source back as its own object
    assert [r.info.run_id for r in remote.search_runs([experiment], "datasets.name = 'train'")] == [pushed.info.run_id]
    assert mlflow.data.get_source(got[0]).to_dict() == {"uri": "data/train.csv"}
    # a second input later goes out once; an unchanged run costs nothing
    with lighttrack.start_run(run_id=run.info.run_id):
        lighttrack.log_input(lighttrack.data.from_numpy(np.arange(3.0), name="extra"), context="eval")
    again = push_mlflow(server, str(path))
    assert (again.runs_updated, again.runs_unchanged) == (1, 1)
    got = remote.get_run(pushed.info.run_id).inputs.dataset_inputs
    assert _as_dicts(got) == _as_dicts(lighttrack.get_run(run.info.run_id).inputs.dataset_inputs)
    assert len(got) == 2
    assert push_mlflow(server, str(path)).runs_unchanged == 2
    assert remote.get_run([r for r in remote.search_runs([experiment]) if r.info.run_id != pushed.info.run_id][0]
                          .info.run_id).inputs.dataset_inputs == []  # the run without inputs has none there
    # and back: importing from the server brings the inputs with the server's run
    from lighttrack.sync.mlflow_import import import_mlflow

    back = tmp_path / "back.db"
    import_mlflow(server, str(back))
    assert _as_dicts(LighttrackClient(back).get_run(pushed.info.run_id).inputs.dataset_inputs) == _as_dicts(got)
    assert plain.info.run_id


def test_mlflow_reads_a_dataset_schema_logged_here(tmp_path):
    """The schema text is MLflow's: MLflow's own classes parse what lighttrack wrote."""
    from mlflow.data.schema import TensorDatasetSchema
    from mlflow.types import Schema

    table = json.loads(lighttrack.data.from_pandas(FRAMES["mixed"]()).to_dict()["schema"])
    assert Schema.from_json(json.dumps(table["mlflow_colspec"])).input_names() == list("abcdefg")
    features, targets = ARRAYS["with targets"]()
    tensors = json.loads(lighttrack.data.from_numpy(features, targets=targets).to_dict()["schema"])
    assert TensorDatasetSchema.from_dict(tensors).targets is not None


def test_sklearn_autolog_logs_the_training_set_as_mlflows_does(tmp_path):
    from sklearn.linear_model import LogisticRegression

    import lighttrack.sklearn

    X = RNG.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(store)
    try:
        mlflow.set_experiment("autolog-datasets")
        mlflow.sklearn.autolog(log_models=False)
        theirs = []
        for features in (X, frame):
            with mlflow.start_run() as run:
                LogisticRegression().fit(features, y)
            theirs.append(mlflow.MlflowClient(store).get_run(run.info.run_id).inputs.dataset_inputs)
    finally:
        mlflow.sklearn.autolog(disable=True)
        _forget_mlflow_experiment()
    lighttrack.sklearn.autolog(log_models=False)
    try:
        ours = []
        for features in (X, frame):
            with lighttrack.start_run() as run:
                LogisticRegression().fit(features, y)
            ours.append(lighttrack.get_run(run.info.run_id).inputs.dataset_inputs)
    finally:
        lighttrack.sklearn.autolog(disable=True)
    for mine, mlflows in zip(ours, theirs):
        assert len(mine) == len(mlflows) == 1
        for key in ("name", "digest", "source_type", "schema", "profile"):
            assert getattr(mine[0].dataset, key) == getattr(mlflows[0].dataset, key), key
        assert {t.key: t.value for t in mine[0].tags} == {t.key: t.value for t in mlflows[0].tags} == {
            "mlflow.data.context": "train"}
