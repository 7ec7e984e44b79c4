"""Beyond MLflow: a server on an alias or stage follows the registry; ``--log-requests``
writes a serving run; rows of queued requests share a predict; the container folder."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from serving_support import READY_TIMEOUT, env_for_children, lighttrack_server
from test_serving import ROWS, _build_models

pytest.importorskip("uvicorn", reason="the serve extra installs uvicorn and starlette")


@pytest.fixture
def models(tmp_path):
    (tmp_path / "models").mkdir()
    return _build_models(tmp_path / "models")


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    return folder


def _cli(db: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(db), *args], capture_output=True,
                            text=True, env=env_for_children(), timeout=300)
    assert result.returncode == 0, result.stderr


def _wait_for_version(server, version: str) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        info = server.get_json("/version")
        if str(info["version"]) == str(version):  # the registry gives int versions (MLflow's SQL store)
            return info
        time.sleep(0.05)
    raise AssertionError(f"still serving {server.get_json('/version')} after {READY_TIMEOUT} s:\n{server.output()}")


def _predictions(server) -> list:
    status, _, body = server.post({"inputs": ROWS})
    assert status == 200, body
    return json.loads(body)["predictions"]


def test_an_alias_server_swaps_to_the_version_the_alias_moves_to(models, logs):
    server = lighttrack_server(models["db"], "models:/iris@prod", logs).wait_ready()
    try:
        assert str(server.get_json("/version")["version"]) == "1" and _predictions(server) == [0, 2, 1]
        _cli(models["db"], "models", "alias", "iris", "prod", "2")  # from another process, as the TUI would
        info = _wait_for_version(server, "2")
        assert info["loaded_uri"] == "models:/iris/2" and info["swaps"] == 1
        assert _predictions(server) == [2, 2, 2]  # the constant model answers now
        _cli(models["db"], "models", "alias", "iris", "prod", "1")
        _wait_for_version(server, "1")
        assert _predictions(server) == [0, 2, 1]
    finally:
        assert server.stop() == 0
    assert "now serving version 2" in server.output() and "following the registry" in server.output()


def test_a_stage_server_follows_stage_changes(models, logs):
    server = lighttrack_server(models["db"], "models:/iris/Production", logs).wait_ready()
    try:
        assert _predictions(server) == [0, 2, 1]
        _cli(models["db"], "models", "stage", "iris", "2", "Production", "--archive-existing")
        _wait_for_version(server, "2")
        assert _predictions(server) == [2, 2, 2]
    finally:
        server.stop()


def test_only_alias_stage_and_latest_servers_follow_the_registry(models, logs):
    from lighttrack.serving.follow import followed_name

    assert [followed_name(u) for u in ("models:/iris@prod", "models:/iris/Production", "models:/iris/staging",
                                       "models:/iris/latest")] == ["iris"] * 4
    assert [followed_name(u) for u in ("models:/iris/1", "runs:/abc/model", "/some/folder")] == [None] * 3
    server = lighttrack_server(models["db"], "models:/iris/1", logs).wait_ready()
    try:
        _cli(models["db"], "models", "alias", "iris", "prod", "2")
        assert server.get_json("/version")["swaps"] == 0 and _predictions(server) == [0, 2, 1]
    finally:
        server.stop()
    assert "following the registry" not in server.output()


def test_moving_the_alias_ten_times_under_load_fails_no_request(models, logs):
    server = lighttrack_server(models["db"], "models:/iris@prod", logs).wait_ready()
    statuses: list[int] = []
    answers: set[str] = set()
    stop = threading.Event()

    def load() -> None:
        from serving_support import http

        while not stop.is_set():
            status, _, body = http("POST", server.url + "/invocations", json.dumps({"inputs": ROWS}).encode(),
                                   "application/json")
            statuses.append(status)
            answers.add(body.decode())

    clients = [threading.Thread(target=load) for _ in range(3)]
    for thread in clients:
        thread.start()
    try:
        for move in range(10):
            version = "2" if move % 2 == 0 else "1"
            _cli(models["db"], "models", "alias", "iris", "prod", version)
            _wait_for_version(server, version)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
        server.stop()
    assert statuses and set(statuses) == {200}, f"{len([s for s in statuses if s != 200])} failed requests"
    assert answers == {json.dumps({"predictions": [0, 2, 1]}), json.dumps({"predictions": [2, 2, 2]})}
    assert server.output().count("now serving version") == 10


def test_log_requests_records_a_serving_run(models, logs):
    from lighttrack import LighttrackClient

    server = lighttrack_server(models["db"], "models:/iris@prod", logs, "--log-requests", "--log-interval",
                               "0.2").wait_ready()
    try:
        for _ in range(7):
            _predictions(server)
        assert server.post({"rows": ROWS})[0] == 400
    finally:
        assert server.stop() == 0
    client = LighttrackClient(models["db"])
    experiment = client.get_experiment_by_name("serving")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags["lighttrack.serving.model_uri"] == "models:/iris@prod"
    assert run.data.tags["lighttrack.serving.version"] == "1"
    assert run.data.metrics["requests"] == 8 and run.data.metrics["errors"] == 1
    assert run.data.metrics["model_version"] == 1
    p50 = client.get_metric_history(run.info.run_id, "latency_p50_ms")
    p99 = client.get_metric_history(run.info.run_id, "latency_p99_ms")
    assert p50 and p99 and all(a.value <= b.value for a, b in zip(p50, p99))
    table = json.loads(client.read_artifact(run.info.run_id, "serving/requests.json"))
    assert table["columns"] == ["time_ms", "status", "latency_ms", "version", "input", "predictions"]
    assert len(table["data"]) == 8
    statuses = [row[1] for row in table["data"]]
    assert statuses.count(400) == 1 and statuses.count(200) == 7
    ok = next(row for row in table["data"] if row[1] == 200)
    assert json.loads(ok[4]) == {"inputs": ROWS} and json.loads(ok[5]) == {"predictions": [0, 2, 1]}


def _served(folder: Path):
    import lighttrack.pyfunc
    from lighttrack.serving.follow import ServedModel

    return ServedModel(lighttrack.pyfunc.load_model(str(folder)), str(folder), str(folder), None, None)


def test_rows_of_queued_requests_share_one_predict_and_get_their_own_answers(models):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_iris

    from lighttrack.serving.batching import Batcher, _Pending, predict_one
    from lighttrack.serving.protocol import ParsedRequest, ScoringError

    served = _served(models["folders"]["forest"])
    assert served.row_wise
    X, _ = load_iris(return_X_y=True)
    good = [ParsedRequest(X[i:i + n], None, n) for i, n in ((0, 1), (50, 3), (100, 1), (140, 10))]
    nan_row = ParsedRequest(np.full((1, 4), np.inf), None, 1)  # same shape, bad values: the merge fails
    narrow = ParsedRequest(np.zeros((1, 2)), None, 1)  # another shape: its own group
    frames = [ParsedRequest(pd.DataFrame(X[i:i + 2]), None, 2) for i in (0, 60)]
    batcher = Batcher()

    async def run(requests):
        loop = asyncio.get_running_loop()
        pending = [_Pending(served, r, loop.create_future(), loop) for r in requests]
        groups = batcher._groups(pending)
        for group in groups:
            batcher._answer(group)
        results = []
        for item in pending:
            try:
                results.append(await item.future)
            except ScoringError as exc:
                results.append(exc)
        return groups, results

    groups, results = asyncio.run(run(good + frames))
    assert [len(g) for g in groups] == [4, 2] and batcher.calls == 2  # one predict per group
    for request, result in zip(good + frames, results):
        assert result == predict_one(served, request)  # byte for byte what it gets alone
    groups, results = asyncio.run(run(good + [nan_row, narrow]))
    batcher.stop()
    assert [len(g) for g in groups] == [5, 1]
    assert batcher.calls == 2 + 1 + 5 + 1  # the failed merge, then each of its five alone, then the narrow one
    for request, result in zip(good, results):
        assert result == predict_one(served, request)
    assert all(isinstance(r, ScoringError) and r.status == 400 for r in results[4:])


def test_a_custom_python_model_is_never_batched(tmp_path):
    import lighttrack.pyfunc
    from lighttrack.serving.batching import Batcher
    from lighttrack.serving.follow import ServedModel
    from lighttrack.serving.protocol import ParsedRequest

    class Total(lighttrack.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [float(model_input.sum())] * len(model_input)  # depends on every row: not row-wise

    lighttrack.pyfunc.save_model(tmp_path / "total", python_model=Total())
    model = lighttrack.pyfunc.load_model(str(tmp_path / "total"), allow_pickle=True)
    served = ServedModel(model, "x", "x", None, None)
    import numpy as np

    assert not Batcher.can_batch(served, ParsedRequest(np.ones((2, 2)), None, 2))


def test_generate_dockerfile_writes_a_folder_that_serves(models, tmp_path, logs):
    folder = tmp_path / "image"
    _cli(models["db"], "models", "generate-dockerfile", "-m", "models:/iris@prod", "-o", str(folder))
    dockerfile = (folder / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == "FROM"
    assert set(instructions) <= {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "EXPOSE", "CMD"}
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD"))[4:])
    assert cmd[:5] == ["lighttrack", "models", "serve", "-m", "/opt/ml/model"] and "0.0.0.0" in cmd
    for line in dockerfile.splitlines():  # every COPY source exists in the folder
        if line.startswith("COPY"):
            assert (folder / line.split()[1]).exists(), line
    requirements = (folder / "requirements-model.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert "requirements-model.txt" in dockerfile
    assert (folder / "lighttrack" / "pyproject.toml").is_file() and (folder / "lighttrack" / "lighttrack").is_dir()
    assert (folder / "model" / "MLmodel").is_file()
    # what the image's CMD runs, run here on the copied model folder
    server = lighttrack_server(models["db"], str(folder / "model"), logs).wait_ready()
    try:
        assert _predictions(server) == [0, 2, 1]
    finally:
        server.stop()


def test_generate_dockerfile_refuses_a_folder_that_is_not_empty(models, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    result = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(models["db"]), "models",
                             "generate-dockerfile", "-m", "models:/iris/1", "-o", str(tmp_path / "full")],
                            capture_output=True, text=True, env=env_for_children(), timeout=300)
    assert result.returncode == 1 and "not an empty folder" in result.stderr
    assert (tmp_path / "full" / "x").read_text() == "keep me"


def _docker_engine_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.mark.skipif(_docker_engine_runs(), reason="a Docker engine runs here: build-docker would build")
def test_build_docker_without_an_engine_says_so_in_one_line(models):
    result = subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(models["db"]), "models",
                             "build-docker", "-m", "models:/iris/1", "-n", "iris:1"],
                            capture_output=True, text=True, env=env_for_children(), timeout=300)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Docker engine" in lines[0]
