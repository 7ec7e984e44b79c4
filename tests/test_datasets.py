"""Datasets as run inputs through the public API: constructors, log_input(s), run.inputs on
reads, storage once per (experiment, name, digest), all-or-nothing checks, merge and export."""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

import lighttrack as mlflow
from lighttrack import LighttrackClient, sync
from lighttrack.entities import Dataset, DatasetInput, InputTag
from lighttrack.errors import InvalidArgument
from lighttrack.store import close_all

FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})


def _count(path, table: str) -> int:
    close_all()
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def test_a_dataset_describes_data_with_mlflows_fields():
    ds = mlflow.data.from_pandas(FRAME, source="data/train.csv", targets="label", name="train")
    assert (ds.name, ds.targets, ds.df is FRAME) == ("train", "label", True)
    assert len(ds.digest) == 8 and ds.digest == mlflow.data.from_pandas(FRAME.copy()).digest
    assert ds.digest != mlflow.data.from_pandas(FRAME.assign(x=[1.0, 2.0, 4.0])).digest
    assert ds.profile == {"num_rows": 3, "num_elements": 6}
    assert [c.name for c in ds.schema.inputs] == ["x", "label"]
    config = ds.to_dict()
    assert set(config) == {"name", "digest", "source", "source_type", "schema", "profile"}
    assert json.loads(config["source"]) == {"uri": "data/train.csv"} and config["source_type"] == "local"
    assert mlflow.data.from_numpy(np.arange(3)).name == "dataset"  # MLflow's default name
    assert mlflow.data.from_numpy(np.arange(3), digest="mine").digest == "mine"


def test_without_a_source_the_code_that_ran_is_the_source():
    ds = mlflow.data.from_numpy(np.ones((2, 2)))
    assert ds.source._get_source_type() == "code"
    assert ds.source.to_dict()["tags"]["mlflow.source.type"] == "LOCAL"


@pytest.mark.parametrize("call, message", [
    (lambda: mlflow.data.from_pandas(FRAME, targets="nope"), "no targets column 'nope'"),
    (lambda: mlflow.data.from_pandas(FRAME, predictions="p"), "no predictions column 'p'"),
    (lambda: mlflow.data.from_pandas([1, 2]), "takes a pandas DataFrame"),
    (lambda: mlflow.data.from_numpy([1, 2]), "must be a numpy array"),
    (lambda: mlflow.data.from_numpy(np.ones(2), source="runs:/abc/x"), "cannot tell what dataset source"),
])
def test_bad_dataset_arguments_say_what_is_allowed(call, message):
    with pytest.raises(InvalidArgument, match=message):
        call()


def test_log_input_is_read_back_on_get_run_and_search_runs():
    train = mlflow.data.from_pandas(FRAME, source="data/train.csv", name="train")
    test = mlflow.data.from_numpy(np.arange(4.0), source="s3://bucket/test", name="test")
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training", tags={"split": "a"})
        mlflow.log_inputs([test, train], contexts=["eval", "again"], tags_list=[None, None])
    for got in (mlflow.get_run(run.info.run_id), mlflow.search_runs(output_format="list")[0]):
        inputs = got.inputs.dataset_inputs
        assert [i.dataset.name for i in inputs] == ["train", "test"]  # logging train again changed nothing
        assert inputs[0].dataset == train._to_mlflow_entity()
        assert inputs[0].tags == [InputTag("split", "a"), InputTag("mlflow.data.context", "training")]
        assert inputs[1].tags == [InputTag("mlflow.data.context", "eval")]
    assert mlflow.get_run(run.info.run_id).to_dictionary()["inputs"]["dataset_inputs"][1]["tags"] == {
        "mlflow.data.context": "eval"}


def test_log_input_without_a_run_starts_one_as_mlflow_does():
    mlflow.log_input(mlflow.data.from_numpy(np.arange(2)))
    run = mlflow.active_run()
    assert run is not None and len(mlflow.get_run(run.info.run_id).inputs.dataset_inputs) == 1


def test_500_runs_on_the_same_data_cost_one_dataset_row(db_path):
    ds = mlflow.data.from_pandas(FRAME, source="data/train.csv", name="train")
    for _ in range(500):
        with mlflow.start_run():
            mlflow.log_input(ds, context="training")
    assert _count(db_path, "datasets") == 1
    assert _count(db_path, "dataset_inputs") == 500
    assert _count(db_path, "input_tags") == 0  # the context lives in the input row itself


def test_the_same_data_in_two_experiments_is_two_datasets_as_in_mlflow(db_path):
    ds = mlflow.data.from_numpy(np.arange(3))
    for name in ("a", "b"):
        mlflow.set_experiment(name)
        with mlflow.start_run():
            mlflow.log_input(ds)
    assert _count(db_path, "datasets") == 2


def test_client_log_inputs_takes_dataset_inputs_and_checks_them_all_first(client):
    experiment = client.create_experiment("checks")
    run_id = client.create_run(experiment).info.run_id
    good = DatasetInput(Dataset("d", "abc", "local", '{"uri": "x"}'), [InputTag("mlflow.data.context", "t")])
    cases = [
        ([good, DatasetInput(Dataset("d2", "x" * 37, "local", "{}"))], "digest has 37 characters"),
        ([good, DatasetInput(Dataset("n" * 501, "a", "local", "{}"))], "name has 501 characters"),
        ([good, DatasetInput(Dataset("d3", "a", "local", "{}"), [InputTag("k", "v" * 501)])], "at most 500"),
        ([good, DatasetInput(Dataset("d4", None, "local", "{}"))], "digest must be a string"),
        ([good, "not an input"], "must be a DatasetInput"),
        ([good] * 1001, "at most 1000"),
    ]
    for inputs, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            client.log_inputs(run_id, inputs)
        assert client.get_run(run_id).inputs.dataset_inputs == []  # all or nothing
    with pytest.raises(InvalidArgument, match="model inputs"):
        client.log_inputs(run_id, models=["m-1"])
    client.log_inputs(run_id, [good, good])
    assert client.get_run(run_id).inputs.dataset_inputs == [good]


def test_log_inputs_lists_must_pair_up():
    with pytest.raises(InvalidArgument, match="same length"):
        mlflow.log_inputs([mlflow.data.from_numpy(np.arange(2))], contexts=[])
    with pytest.raises(InvalidArgument, match="must be specified"):
        mlflow.log_input(None, context="training")


def test_a_deleted_run_takes_no_inputs(client):
    run_id = client.create_run(client.create_experiment("gone")).info.run_id
    client.delete_run(run_id)
    with pytest.raises(mlflow.LighttrackError, match="deleted"):
        client.log_inputs(run_id, [DatasetInput(Dataset("d", "a", "local", "{}"))])


def test_get_source_turns_a_logged_source_back_into_an_object(tmp_path):
    path = tmp_path / "train.csv"
    FRAME.to_csv(path, index=False)
    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_pandas(FRAME, source=str(path)))
    [logged] = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    source = mlflow.data.get_source(logged)
    assert type(source).__name__ == "LocalArtifactDatasetSource" and source.uri == str(path)
    assert pd.read_csv(source.load()).equals(FRAME)
    copied = source.load(dst_path=str(tmp_path / "copy"))
    assert copied.endswith("copy/train.csv") and pd.read_csv(copied).equals(FRAME)
    with pytest.raises(InvalidArgument, match="unknown dataset source type 'nope'"):
        mlflow.data.get_source(Dataset("d", "a", "nope", "{}"))
    with pytest.raises(InvalidArgument, match="not valid JSON"):
        mlflow.data.get_source(Dataset("d", "a", "local", "{broken"))


def test_an_http_source_downloads_by_its_file_name(tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    (served / "iris.csv").write_text("a,b\n1,2\n")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/iris.csv"
        source = mlflow.data.from_numpy(np.arange(2), source=url).source
        assert source.to_dict() == {"url": url} and source._get_source_type() == "http"
        path = source.load(dst_path=str(tmp_path / "down"))
        assert path.endswith("down/iris.csv") and open(path).read() == "a,b\n1,2\n"
    finally:
        server.shutdown()
        server.server_close()


def test_merge_keys_datasets_on_the_digest_and_a_second_merge_adds_nothing(tmp_path):
    ds = mlflow.data.from_pandas(FRAME, source="data/train.csv", name="train")
    mlflow.set_tracking_uri(str(tmp_path / "laptop.db"))
    mlflow.set_experiment("shared")
    for i in range(3):
        with mlflow.start_run():
            mlflow.log_input(ds, context="training", tags={"fold": str(i)})
    mlflow.set_tracking_uri(str(tmp_path / "box.db"))
    mlflow.set_experiment("shared")
    with mlflow.start_run():
        mlflow.log_input(ds, context="training")
    close_all()
    first = sync.merge(tmp_path / "laptop.db", tmp_path / "box.db")
    assert (first.inputs_added, first.datasets_added) == (3, 0)  # the box already had this dataset
    second = sync.merge(tmp_path / "laptop.db", tmp_path / "box.db")
    assert (second.inputs_added, second.changed) == (0, False)
    assert _count(tmp_path / "box.db", "datasets") == 1
    assert _count(tmp_path / "box.db", "dataset_inputs") == 4
    merged = LighttrackClient(tmp_path / "box.db").search_runs(None, "datasets.name = 'train'")
    folds = sorted(t.value for r in merged for i in r.inputs.dataset_inputs for t in i.tags if t.key == "fold")
    assert len(merged) == 4 and folds == ["0", "1", "2"]


def test_merge_keeps_this_files_description_of_a_dataset_and_says_so(tmp_path):
    for name, source in (("a.db", "data/v1.csv"), ("b.db", "data/v2.csv")):
        mlflow.set_tracking_uri(str(tmp_path / name))
        mlflow.set_experiment("e")
        with mlflow.start_run():
            mlflow.log_input(mlflow.data.from_numpy(np.arange(3), source=source, name="same"))
    close_all()
    report = sync.merge(tmp_path / "a.db", tmp_path / "b.db")
    assert any("same@" in note and "kept this file's" in note for note in report.notes)
    sources = {json.loads(i.dataset.source)["uri"] for r in LighttrackClient(tmp_path / "b.db").search_runs()
               for i in r.inputs.dataset_inputs}
    assert sources == {"data/v2.csv"}


def test_export_carries_the_chosen_runs_inputs_only(tmp_path):
    a = mlflow.data.from_numpy(np.arange(3), name="a")
    b = mlflow.data.from_numpy(np.arange(4), name="b")
    with mlflow.start_run(run_name="keep"):
        mlflow.log_input(a, context="training")
    with mlflow.start_run(run_name="leave"):
        mlflow.log_input(b, context="training")
    out = tmp_path / "subset.db"
    sync.export(str(out), filter_string="attributes.run_name = 'keep'", source=str(tmp_path / "test.db"))
    runs = LighttrackClient(out).search_runs()
    assert [[i.dataset.name for i in r.inputs.dataset_inputs] for r in runs] == [["a"]]
    assert _count(out, "datasets") == 1


def test_sklearn_autolog_logs_the_training_set_to_the_run_and_each_search_candidate():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    import lighttrack.sklearn

    X = np.random.default_rng(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    lighttrack.sklearn.autolog(log_models=False)
    try:
        with mlflow.start_run() as run:
            GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
        lighttrack.sklearn.autolog(log_models=False, log_datasets=False)
        with mlflow.start_run() as quiet:
            LogisticRegression().fit(X, y)
    finally:
        lighttrack.sklearn.autolog(disable=True)
    expected = mlflow.data.from_numpy(X, targets=y).digest
    parent = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.digest, i.dataset.name, i.dataset.source_type) for i in parent] == [
        (expected, "dataset", "code")]
    children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'", output_format="list")
    assert len(children) == 2
    assert all([i.dataset.digest for i in c.inputs.dataset_inputs] == [expected] for c in children)
    assert mlflow.get_run(quiet.info.run_id).inputs.dataset_inputs == []


def test_importing_lighttrack_data_loads_neither_pandas_nor_numpy():
    from conftest import run_python

    code = ("import sys, lighttrack, lighttrack.data\n"
            "lighttrack.log_input, lighttrack.data.get_source\n"
            "print(','.join(m for m in ('pandas', 'numpy') if m in sys.modules))\n")
    assert run_python(code).stdout.strip() == ""


def test_runs_show_lists_the_datasets(db_path):
    from click.testing import CliRunner

    from lighttrack.cli import cli

    with mlflow.start_run() as run:
        mlflow.log_input(mlflow.data.from_numpy(np.arange(3), source="s3://b/k", name="train"), context="training")
    digest = mlflow.data.from_numpy(np.arange(3)).digest
    out = CliRunner().invoke(cli, ["--db", str(db_path), "runs", "show", run.info.run_id], catch_exceptions=False)
    assert out.exit_code == 0 and f"  training  train@{digest}  s3 {{\"uri\": \"s3://b/k\"}}" in out.output
    out = CliRunner().invoke(cli, ["--db", str(db_path), "runs", "show", run.info.run_id, "--format", "json"],
                             catch_exceptions=False)
    assert json.loads(out.output)["inputs"][0]["tags"] == {"mlflow.data.context": "training"}
