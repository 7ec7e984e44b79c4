"""The fluent API, as an MLflow user would call it (``import lighttrack as mlflow``)."""

from __future__ import annotations

import math

import pytest

import lighttrack as mlflow
from lighttrack.errors import InvalidArgument, InvalidState, LighttrackError, NotFound


def test_run_context_finishes_and_records_everything():
    mlflow.set_experiment("exp")
    with mlflow.start_run(run_name="first", tags={"team": "vision"}, description="a note") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 3, "kind": "forest"})
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"a": 1})
        run_id = run.info.run_id
        assert mlflow.active_run().info.run_id == run_id
        assert run.info.status == "RUNNING"
    assert mlflow.active_run() is None
    got = mlflow.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "first"
    assert got.data.params == {"lr": "0.01", "depth": "3", "kind": "forest"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.9, "f1": 0.8}
    tags = got.data.tags
    assert tags["team"] == "vision" and tags["stage"] == "dev" and tags["a"] == "1"
    assert tags["mlflow.note.content"] == "a note"
    assert tags["mlflow.runName"] == "first" and tags["mlflow.user"]
    from lighttrack import context  # the source is the script being run: none for `python -c` (xdist workers)
    assert ("mlflow.source.name" in tags) == (context._source_file() is not None)
    assert tags["lighttrack.pid"] == str(__import__("os").getpid()) and tags["lighttrack.host"]
    assert mlflow.last_active_run().info.run_id == run_id
    assert got.info.experiment_id == mlflow.get_experiment_by_name("exp").experiment_id


def test_exception_in_block_marks_the_run_failed():
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            1 / 0
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_runs_get_generated_readable_names():
    with mlflow.start_run() as run:
        pass
    name = mlflow.get_run(run.info.run_id).info.run_name
    assert len(name.split("-")) == 3 and name.split("-")[2].isdigit()


def test_second_unnested_run_raises_and_nested_records_parent():
    with mlflow.start_run() as parent:
        with pytest.raises(InvalidState, match="already active"):
            mlflow.start_run()
        with mlflow.start_run(nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
        assert mlflow.active_run().info.run_id == parent.info.run_id
    tags = mlflow.get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_resume_a_run_by_id_and_keep_logging():
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_metric("m", 2.0, step=1)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "m")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 2.0)]
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"


def test_resume_through_environment_variable(monkeypatch):
    client = mlflow.MlflowClient()
    run = client.create_run(client.create_experiment("e"))
    monkeypatch.setenv("LIGHTTRACK_RUN_ID", run.info.run_id)
    with mlflow.start_run() as active:
        assert active.info.run_id == run.info.run_id


def test_logging_without_a_run_starts_one():
    mlflow.log_metric("x", 1.0)
    active = mlflow.active_run()
    assert active is not None
    mlflow.end_run()
    assert mlflow.get_run(active.info.run_id).data.metrics == {"x": 1.0}


def test_end_run_with_status():
    run = mlflow.start_run()
    mlflow.end_run("KILLED")
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"
    mlflow.end_run()  # nothing active: no error


def test_params_cannot_change_but_can_be_relogged_equal():
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_param("lr", 0.1)
        with pytest.raises(InvalidArgument, match="params cannot change"):
            mlflow.log_param("lr", 0.2)
    assert mlflow.get_run(run.info.run_id).data.params["lr"] == "0.1"


def test_a_bad_batch_writes_nothing():
    with mlflow.start_run() as run:
        with pytest.raises(InvalidArgument):
            mlflow.log_params({"ok": 1, "bad key!": 2})
        with pytest.raises(InvalidArgument):
            mlflow.log_metrics({"fine": 1.0, "broken": "high"})
        with pytest.raises(InvalidArgument):
            mlflow.MlflowClient().log_batch(
                run.info.run_id,
                metrics=[mlflow.Metric("m", 1.0, 0, 0)],
                params=[mlflow.Param("p", "1"), mlflow.Param("p", "2")],
            )
    data = mlflow.get_run(run.info.run_id).data
    assert data.params == {} and data.metrics == {}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mlflow.log_metric("acc", True), "real numbers"),
        (lambda: mlflow.log_metric("acc", "0.9"), "real numbers"),
        (lambda: mlflow.log_metric("acc", None), "real numbers"),
        (lambda: mlflow.log_metric("a" * 251, 1.0), "1-250 characters"),
        (lambda: mlflow.log_metric("semi;colon", 1.0), "not allowed"),
        (lambda: mlflow.log_metric("a/../b", 1.0), "safe path"),
        (lambda: mlflow.log_metric("acc", 1.0, step=1.5), "integer"),
        (lambda: mlflow.log_param("p", "x" * 6001), "at most 6,000"),
        (lambda: mlflow.set_tag("t", "x" * 8001), "at most 8,000"),
        (lambda: mlflow.log_param("", 1), "1-250 characters"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(call, match):
    with mlflow.start_run() as run:
        with pytest.raises(InvalidArgument, match=match):
            call()
    mlflow.flush()
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics == {} and data.params == {}


def test_limits_are_mlflows_floor_and_nothing_is_truncated():
    with mlflow.start_run() as run:
        mlflow.log_param("p", "x" * 6000)
        mlflow.set_tag("t", "y" * 8000)
        mlflow.log_metric("k" * 250, 1.0)
        mlflow.log_metric("with space/and-dash.and:colon", 2.0)
    data = mlflow.get_run(run.info.run_id).data
    assert len(data.params["p"]) == 6000 and len(data.tags["t"]) == 8000
    assert "k" * 250 in data.metrics


def test_nan_and_infinities_round_trip():
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("inf", float("inf"), step=1)
        mlflow.log_metric("ninf", float("-inf"), step=2)
    client = mlflow.MlflowClient()
    metrics = mlflow.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"]) and metrics["inf"] == math.inf and metrics["ninf"] == -math.inf
    assert math.isnan(client.get_metric_history(run.info.run_id, "nan")[0].value)
    summary = {s.key: s for s in client.get_metric_summaries(run.info.run_id)}
    assert summary["inf"].max == math.inf and summary["nan"].min is None


def test_metric_summary_tracks_latest_min_max_and_count():
    with mlflow.start_run() as run:
        for step, value in enumerate([3.0, 1.0, float("nan"), 5.0, 2.0]):
            mlflow.log_metric("loss", value, step=step)
        mlflow.log_metric("loss", 9.0, step=1)  # an out-of-order step is not "latest"
    (summary,) = mlflow.MlflowClient().get_metric_summaries(run.info.run_id)
    assert (summary.value, summary.step, summary.min, summary.max, summary.count) == (2.0, 4, 1.0, 9.0, 6)


def test_explicit_timestamps_and_numpy_scalars():
    np = pytest.importorskip("numpy")
    with mlflow.start_run() as run:
        mlflow.log_metric("m", np.float32(0.5), step=np.int64(3), timestamp=1_700_000_000_000)
    (point,) = mlflow.MlflowClient().get_metric_history(run.info.run_id, "m")
    assert (point.value, point.step, point.timestamp) == (0.5, 3, 1_700_000_000_000)


def test_experiments_create_set_get_and_deleted_names():
    exp_id = mlflow.create_experiment("made", tags={"k": "v"})
    assert mlflow.get_experiment(exp_id).tags == {"k": "v"}
    with pytest.raises(LighttrackError, match="already exists"):
        mlflow.create_experiment("made")
    assert mlflow.set_experiment("made").experiment_id == exp_id
    assert mlflow.set_experiment(experiment_id=exp_id).name == "made"
    new = mlflow.set_experiment("brand-new")
    assert mlflow.get_experiment_by_name("brand-new").experiment_id == new.experiment_id
    mlflow.delete_experiment(exp_id)
    with pytest.raises(InvalidState, match="restore"):
        mlflow.set_experiment("made")
    assert mlflow.get_experiment_by_name("nope") is None
    with pytest.raises(NotFound):
        mlflow.get_experiment("0123456789abcdef0123456789abcdef")
    names = {e.name for e in mlflow.search_experiments()}
    assert "brand-new" in names and "made" not in names


def test_default_experiment_answers_to_id_zero():
    with mlflow.start_run() as run:
        pass
    default = mlflow.get_experiment("0")
    assert default.name == "Default"
    assert run.info.experiment_id == default.experiment_id


def test_text_dict_yaml_table_artifacts_and_download(tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({"a": [1, 2]}, "config.json")
        mlflow.log_dict({"b": {"c": 3}}, "config.yaml")
        mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "table.json")
        local = tmp_path / "data.csv"
        local.write_text("a,b\n1,2\n")
        mlflow.log_artifact(str(local), "inputs")
        uri = mlflow.get_artifact_uri("inputs")
    listing = [f.path for f in mlflow.list_artifacts(run.info.run_id)]
    assert listing == ["config.json", "config.yaml", "inputs", "notes", "table.json"]
    assert uri.endswith("/artifacts/inputs")
    out = mlflow.download_artifacts(run_id=run.info.run_id, artifact_path="", dst_path=str(tmp_path / "dl"))
    import json

    import yaml

    assert (tmp_path / "dl" / "notes" / "hello.txt").read_text() == "hello"
    assert json.loads((tmp_path / "dl" / "config.json").read_text()) == {"a": [1, 2]}
    assert yaml.safe_load((tmp_path / "dl" / "config.yaml").read_text()) == {"b": {"c": 3}}
    assert json.loads((tmp_path / "dl" / "table.json").read_text()) == {"columns": ["x", "y"], "data": [[1, "a"], [2, "b"]]}
    assert (tmp_path / "dl" / "inputs" / "data.csv").read_text() == "a,b\n1,2\n"
    assert out == str((tmp_path / "dl").resolve())
    single = mlflow.download_artifacts(f"runs:/{run.info.run_id}/notes/hello.txt", dst_path=str(tmp_path / "one"))
    assert open(single).read() == "hello"


def test_log_image_from_numpy_array():
    np = pytest.importorskip("numpy")
    pytest.importorskip("PIL")
    with mlflow.start_run() as run:
        mlflow.log_image(np.zeros((4, 5, 3), dtype=np.uint8), "images/black.png")
        with pytest.raises(InvalidArgument, match="shape"):
            mlflow.log_image(np.zeros((4,)), "bad.png")
    data = mlflow.MlflowClient().read_artifact(run.info.run_id, "images/black.png")
    assert data.startswith(b"\x89PNG")


def test_log_figure_with_matplotlib():
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with mlflow.start_run() as run:
        mlflow.log_figure(fig, "plot.png")
    assert mlflow.MlflowClient().read_artifact(run.info.run_id, "plot.png").startswith(b"\x89PNG")


def test_search_runs_list_and_pandas():
    mlflow.set_experiment("s")
    for lr in (0.1, 0.01, 0.001):
        with mlflow.start_run():
            mlflow.log_param("lr", lr)
            mlflow.log_metric("acc", 1 - lr)
    runs = mlflow.search_runs(filter_string="params.lr < 0.05", order_by=["metrics.acc DESC"])
    assert [r.data.params["lr"] for r in runs] == ["0.001", "0.01"]
    pd = pytest.importorskip("pandas")
    frame = mlflow.search_runs(output_format="pandas", order_by=["metrics.acc ASC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["params.lr"]) == ["0.1", "0.01", "0.001"]
    assert {"run_id", "status", "start_time", "metrics.acc", "tags.mlflow.runName"} <= set(frame.columns)
    assert len(mlflow.search_runs(search_all_experiments=True)) == 3
    assert len(mlflow.search_runs(experiment_names=["s"])) == 3


def test_delete_tag_and_flush():
    with mlflow.start_run() as run:
        mlflow.set_tag("gone", "soon")
        mlflow.delete_tag("gone")
        with pytest.raises(NotFound):
            mlflow.delete_tag("never-set")
        mlflow.log_metric("m", 1.0)
        mlflow.flush()
        assert mlflow.MlflowClient().get_run(run.info.run_id).data.metrics == {"m": 1.0}
    assert "gone" not in mlflow.get_run(run.info.run_id).data.tags
