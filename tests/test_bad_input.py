"""Bad input at the API: a clear InvalidArgument naming what is allowed, before anything is written."""

from __future__ import annotations

import base64
import json
import time

import pytest

import lighttrack
from lighttrack.entities import Metric
from lighttrack.errors import InvalidArgument


@pytest.fixture
def run_id(client):
    return client.create_run(client.create_experiment("bad-input")).info.run_id


@pytest.mark.parametrize("key", ["loss\n", "a\nb", "loss\r", "\n"])
def test_a_key_with_a_newline_is_refused_everywhere(client, run_id, key):
    for log in (
        lambda: client.log_metric(run_id, key, 1.0),
        lambda: client.log_param(run_id, key, 1),
        lambda: client.set_tag(run_id, key, "v"),
    ):
        with pytest.raises(InvalidArgument, match="not allowed"):
            log()
    run = client.get_run(run_id)
    assert key not in run.data.metrics and key not in run.data.params and key not in run.data.tags


def test_a_key_with_a_newline_is_refused_by_the_fluent_api():
    with lighttrack.start_run():
        with pytest.raises(InvalidArgument, match="not allowed"):
            lighttrack.log_metric("loss\n", 1.0)
        with pytest.raises(InvalidArgument, match="not allowed"):
            lighttrack.log_metrics({"ok": 1.0, "loss\n": 2.0})
        lighttrack.flush()
        assert lighttrack.active_run().data.metrics == {}


def test_numpy_bool_is_not_a_metric_value(client, run_id):
    np = pytest.importorskip("numpy")
    for value in (np.bool_(True), np.True_, np.array(True)):
        with pytest.raises(InvalidArgument, match="real numbers"):
            client.log_metric(run_id, "flag", value)
    with lighttrack.start_run():
        with pytest.raises(InvalidArgument, match="real numbers"):
            lighttrack.log_metric("flag", np.bool_(False))
    with pytest.raises(InvalidArgument, match="bool|real numbers"):
        client.log_metric_series(run_id, "flags", np.array([True, False]))
    assert client.get_run(run_id).data.metrics == {}
    # numpy numbers are still welcome
    client.log_metric(run_id, "x", np.float32(0.5))
    client.log_metric(run_id, "n", np.int64(3))
    assert client.get_run(run_id).data.metrics == {"x": 0.5, "n": 3.0}


def test_an_integer_too_large_for_a_float_is_a_clear_error(client, run_id):
    with pytest.raises(InvalidArgument, match="too large for a float64"):
        client.log_metric(run_id, "huge", 10**400)
    with pytest.raises(InvalidArgument, match="too large for a float64"):
        client.log_batch(run_id, metrics=[Metric("ok", 1.0, 0, 0), Metric("huge", 10**400, 0, 0)])
    with pytest.raises(InvalidArgument, match="too large for a float64"):
        client.log_metric_series(run_id, "huge", [1, 10**400])
    with lighttrack.start_run():
        with pytest.raises(InvalidArgument, match="too large for a float64"):
            lighttrack.log_metric("huge", 10**400)
    assert client.get_run(run_id).data.metrics == {}
    client.log_metric(run_id, "big", 10**300)  # still a float64
    assert client.get_run(run_id).data.metrics["big"] == 1e300


def test_client_log_metric_keeps_timestamp_zero_and_step_zero(client, run_id):
    client.log_metric(run_id, "t", 1.0, timestamp=0, step=0)
    (point,) = client.get_metric_history(run_id, "t")
    assert (point.timestamp, point.step) == (0, 0)
    before = int(time.time() * 1000)
    client.log_metric(run_id, "u", 1.0)
    assert client.get_metric_history(run_id, "u")[0].timestamp >= before


def _token(offset) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


@pytest.mark.parametrize("max_results", [2**70, -1, "abc", "10", 2.5, True])
def test_max_results_out_of_range_is_a_clear_error(client, run_id, max_results):
    for search in (
        lambda: client.search_runs(None, max_results=max_results),
        lambda: client.search_experiments(max_results=max_results),
        lambda: client.search_registered_models(max_results=max_results),
        lambda: client.search_model_versions(max_results=max_results),
    ):
        with pytest.raises(InvalidArgument, match="max_results"):
            search()


@pytest.mark.parametrize("token", [_token(2**70), _token(-5), _token(1.5), _token(True), "!!!", "e30="])
def test_page_tokens_out_of_range_are_a_clear_error(client, run_id, token):
    for search in (
        lambda: client.search_runs(None, page_token=token),
        lambda: client.search_experiments(page_token=token),
        lambda: client.search_registered_models(page_token=token),
    ):
        with pytest.raises(InvalidArgument, match="page token"):
            search()


def test_numpy_max_results_and_real_tokens_still_page(client, run_id):
    np = pytest.importorskip("numpy")
    experiment = client.get_run(run_id).info.experiment_id
    for _ in range(2):
        client.create_run(experiment)
    first = client.search_runs([experiment], max_results=np.int64(2))
    assert len(first) == 2 and first.token
    rest = client.search_runs([experiment], max_results=2, page_token=first.token)
    assert len(rest) == 1 and rest.token is None


def test_an_alias_with_a_trailing_newline_is_refused(client, run_id):
    client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
    client.create_registered_model("m")
    client.create_model_version("m", f"runs:/{run_id}/model", run_id=run_id)
    with pytest.raises(InvalidArgument):
        client.set_registered_model_alias("m", "champion\n", 1)
    assert client.get_registered_model("m").aliases == {}
