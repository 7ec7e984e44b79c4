"""LighttrackClient / MlflowClient: the explicit, id-based API."""

from __future__ import annotations

import math

import pytest

from lighttrack import Metric, Param, RunTag, ViewType
from lighttrack.errors import AlreadyExists, InvalidArgument, InvalidState, NotFound


def test_experiment_lifecycle(client):
    exp = client.create_experiment("e1", tags={"owner": "ada"})
    client.set_experiment_tag(exp, "k", "v")
    assert client.get_experiment(exp).tags == {"owner": "ada", "k": "v"}
    client.delete_experiment_tag(exp, "k")
    client.rename_experiment(exp, "e2")
    assert client.get_experiment_by_name("e2").experiment_id == exp
    other = client.create_experiment("taken")
    with pytest.raises(AlreadyExists):
        client.rename_experiment(exp, "taken")
    client.delete_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "deleted"
    assert [e.name for e in client.search_experiments()] == ["taken", "Default"]  # newest first, as MLflow
    assert {e.name for e in client.search_experiments(ViewType.DELETED_ONLY)} == {"e2"}
    with pytest.raises(InvalidState):
        client.create_run(exp)
    client.restore_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "active"
    assert client.get_experiment(other).name == "taken"


def test_restore_refuses_when_an_active_experiment_took_the_name(client):
    first = client.create_experiment("name")
    client.delete_experiment(first)
    with pytest.raises(AlreadyExists, match="deleted state"):
        client.create_experiment("name")


def test_search_experiments_filter_order_and_pages(client):
    for name in ("alpha", "beta", "gamma", "delta"):
        client.create_experiment(name, tags={"group": "greek"})
    found = client.search_experiments(filter_string="name LIKE '%a' and tags.group = 'greek'", order_by=["name DESC"])
    assert [e.name for e in found] == ["gamma", "delta", "beta", "alpha"]
    page = client.search_experiments(max_results=3, order_by=["name"])
    rest = client.search_experiments(max_results=3, order_by=["name"], page_token=page.token)
    assert [e.name for e in page] + [e.name for e in rest] == ["Default", "alpha", "beta", "delta", "gamma"]
    assert rest.token is None


def test_run_lifecycle_and_update(client):
    exp = client.create_experiment("e")
    run = client.create_run(exp, run_name="r", tags={"t": "1"})
    assert run.info.status == "RUNNING" and run.info.run_name == "r"
    client.update_run(run.info.run_id, name="renamed")
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == "renamed"
    client.set_terminated(run.info.run_id, "FAILED")
    assert client.get_run(run.info.run_id).info.status == "FAILED"
    with pytest.raises(InvalidArgument, match="FINISHED, FAILED, KILLED"):
        client.set_terminated(run.info.run_id, "DONE")
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(InvalidState, match="deleted"):
        client.log_metric(run.info.run_id, "m", 1.0)
    assert len(client.search_runs([exp])) == 0
    assert len(client.search_runs([exp], run_view_type=ViewType.ALL)) == 1
    client.restore_run(run.info.run_id)
    assert len(client.search_runs([exp])) == 1
    with pytest.raises(NotFound):
        client.get_run("f" * 32)


def test_log_batch_and_history(client):
    run = client.create_run(client.create_experiment("e")).info.run_id
    client.log_batch(
        run,
        metrics=[Metric("loss", 1.0 / (i + 1), 1000 + i, i) for i in range(100)],
        params=[Param("a", "1")],
        tags=[RunTag("b", "2")],
    )
    history = client.get_metric_history(run, "loss")
    assert len(history) == 100 and history[5] == Metric("loss", 1 / 6, 1005, 5, run)
    steps, timestamps, values = client.metric_history_arrays(run, "loss")
    assert list(steps) == list(range(100)) and values[99] == 0.01
    steps2, _, values2 = client.metric_history_arrays(run, "loss", numpy=False)
    assert list(steps2) == list(steps) and list(values2) == list(values)
    assert client.get_metric_history(run, "missing") == []


def test_bulk_series_many_chunks_round_trip(client):
    np = pytest.importorskip("numpy")
    run = client.create_run(client.create_experiment("e")).info.run_id
    values = np.sin(np.arange(50_000) / 100.0)
    values[123] = np.nan
    assert client.log_metric_series(run, "wave", values) == 50_000
    client.log_metric_series(run, "wave", [1.0, 2.0], steps=[50_000, 50_001], timestamps=[1, 2])
    steps, timestamps, got = client.metric_history_arrays(run, "wave")
    assert len(got) == 50_002 and steps[-1] == 50_001 and timestamps[-1] == 2
    assert np.array_equal(got[:50_000], values, equal_nan=True)
    (summary,) = client.get_metric_summaries(run)
    assert summary.count == 50_002 and summary.value == 2.0 and summary.max == 2.0
    with pytest.raises(InvalidArgument, match="same length"):
        client.log_metric_series(run, "wave", [1.0], steps=[1, 2])
    with pytest.raises(InvalidArgument):
        client.log_metric_series(run, "wave", ["x"])


def test_many_small_flushes_stay_compact(client):
    """A metric written one point per transaction must not grow a row per point."""
    run = client.create_run(client.create_experiment("e")).info.run_id
    for step in range(500):
        client.log_metric(run, "m", float(step), step=step)
    (chunks,) = client.store.conn.execute("SELECT count(*) FROM metric_chunks").fetchone()
    assert chunks <= 8
    assert [m.value for m in client.get_metric_history(run, "m")] == [float(s) for s in range(500)]


def test_list_and_read_artifacts(client, tmp_path):
    run = client.create_run(client.create_experiment("e")).info.run_id
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}")
    (folder / "sub" / "weights.bin").write_bytes(b"\x00\x01" * 10)
    client.log_artifacts(run, folder, "model")
    assert [f.path for f in client.list_artifacts(run)] == ["model"]
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run, "model")] == [
        ("model/MLmodel", False), ("model/sub", True)]
    assert client.read_artifact(run, "model/sub/weights.bin") == b"\x00\x01" * 10
    assert [f.path for f in client.list_artifact_files(run)] == ["model/MLmodel", "model/sub/weights.bin"]
    with pytest.raises(NotFound):
        client.read_artifact(run, "model/none")


def test_resolve_run_by_prefix_and_name(client):
    exp = client.create_experiment("e")
    run = client.create_run(exp, run_name="unique-name").info.run_id
    assert client.resolve_run_id(run[:6]) == run
    assert client.resolve_run_id("unique-name") == run
    with pytest.raises(NotFound):
        client.resolve_run_id("zzzzzz")


def test_gc_purges_deleted_runs_and_orphan_blobs(client):
    exp = client.create_experiment("e")
    keep = client.create_run(exp).info.run_id
    drop = client.create_run(exp).info.run_id
    client.log_text(keep, "shared", "a.txt")
    client.log_text(drop, "shared", "a.txt")
    client.log_text(drop, "only in drop" * 1000, "b.txt")
    client.log_metric(drop, "m", 1.0)
    client.delete_run(drop)
    report = client.gc()
    assert (report.runs, report.blobs) == (1, 1)
    conn = client.store.conn
    assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM metric_chunks").fetchone()[0] == 0
    assert client.read_artifact(keep, "a.txt") == b"shared"
    info = client.file_report(full_check=True)
    assert info.integrity == "ok" and info.runs == 1 and info.blobs == 1


def test_nan_sorts_and_filters_sanely(client):
    exp = client.create_experiment("e")
    a = client.create_run(exp).info.run_id
    b = client.create_run(exp).info.run_id
    client.log_metric(a, "m", math.nan)
    client.log_metric(b, "m", 1.0)
    assert [r.info.run_id for r in client.search_runs([exp], "metrics.m > 0")] == [b]
    ordered = client.search_runs([exp], order_by=["metrics.m DESC"])
    assert ordered[0].info.run_id == b


def test_counts_keys_activity_and_data_version(client, db_path):
    import threading

    from lighttrack import LighttrackClient

    exp = client.create_experiment("e")
    for i in range(3):
        run = client.create_run(exp).info.run_id
        client.log_param(run, "p", i)
        client.log_metric(run, "m", float(i))
    assert client.count_runs([exp]) == 3
    assert client.count_runs([exp], "params.p >= 1") == 2
    assert client.run_keys(exp)["metrics"] == ["m"] and client.run_keys(exp)["params"] == ["p"]
    count, last = client.experiment_activity()[exp]
    assert count == 3 and last > 0
    before = client.data_version()
    other = threading.Thread(target=lambda: LighttrackClient(db_path).create_experiment("from-a-thread"))
    other.start()
    other.join()
    assert client.data_version() != before
