"""``lighttrack models serve`` against ``mlflow models serve``: the same model, the same request
bodies, the same answers; plus the command's own contract (URIs, errors, signals)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from serving_support import free_port, http, lighttrack_server, mlflow_server

pytest.importorskip("uvicorn", reason="the serve extra installs uvicorn and starlette")
pytest.importorskip("starlette", reason="the serve extra installs uvicorn and starlette")

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def _build_models(root: Path) -> dict:
    """A file with: iris v1 (forest on a numpy array, no signature: the seed's model), v2 (a
    constant model, so a swap is visible), iris_sig v1 (forest on named columns, signature)."""
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier

    import lighttrack.sklearn
    from lighttrack import LighttrackClient
    from lighttrack.models.logged import register_model

    db = root / "serve.db"
    client = LighttrackClient(db)
    X, y = load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=COLUMNS)
    folders = {"forest": root / "forest", "const": root / "const", "sig": root / "sig"}
    lighttrack.sklearn.save_model(RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y), folders["forest"])
    lighttrack.sklearn.save_model(DummyClassifier(strategy="constant", constant=2).fit(X, y), folders["const"])
    lighttrack.sklearn.save_model(RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, y), folders["sig"],
                                  input_example=frame.head(3))
    register_model(str(folders["forest"]), "iris", client=client)
    register_model(str(folders["const"]), "iris", client=client)
    register_model(str(folders["sig"]), "iris_sig", client=client)
    client.set_registered_model_alias("iris", "prod", "1")
    client.transition_model_version_stage("iris", "1", "Production")
    return {"db": db, "folders": folders, "client": client}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return _build_models(tmp_path_factory.mktemp("serving"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


def _export(db: Path, uri: str, folder: Path) -> Path:
    from lighttrack.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(db), "models", "export", uri, str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder


def _csv(rows, columns=None) -> str:
    head = ",".join(columns) + "\n" if columns else ""
    return head + "".join(",".join(map(str, row)) + "\n" for row in rows)


# (name, body, content type): sent unchanged to both servers
UNSIGNED_REQUESTS = [
    ("split", {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}, "application/json"),
    ("split without columns", {"dataframe_split": {"data": ROWS}}, "application/json"),
    ("split with index", {"dataframe_split": {"index": [7, 8, 9], "columns": COLUMNS, "data": ROWS}},
     "application/json"),
    ("records", {"dataframe_records": [dict(zip(COLUMNS, row)) for row in ROWS]}, "application/json"),
    ("instances", {"instances": ROWS}, "application/json"),
    ("inputs", {"inputs": ROWS}, "application/json"),
    ("one row", {"inputs": [ROWS[0]]}, "application/json"),
    ("charset", {"inputs": ROWS}, "application/json; charset=utf-8"),
    ("csv", _csv(ROWS, COLUMNS), "text/csv"),
    ("csv charset", _csv(ROWS, COLUMNS), "text/csv; charset=UTF-8"),
    ("unknown field", {"rows": ROWS}, "application/json"),
    ("two fields", {"inputs": ROWS, "instances": ROWS}, "application/json"),
    ("a list", "[[1, 2, 3, 4]]", "application/json"),
    ("not json", "{inputs: [1,", "application/json"),
    ("wrong width", {"inputs": [[1.0, 2.0]]}, "application/json"),
    ("split not a dict", {"dataframe_split": ROWS}, "application/json"),
    ("records not a list", {"dataframe_records": {"a": 1}}, "application/json"),
    ("parquet", "PARQUET", "application/vnd.apache.parquet"),
    ("bad parquet", b"not parquet", "application/vnd.apache.parquet"),
    ("text/plain", "1,2,3,4", "text/plain"),
    ("latin-1", {"inputs": ROWS}, "application/json; charset=latin-1"),
]

SIGNED_REQUESTS = [
    ("split", {"dataframe_split": {"columns": COLUMNS, "data": ROWS}}, "application/json"),
    ("split, columns reordered", {"dataframe_split": {"columns": COLUMNS[::-1], "data": [r[::-1] for r in ROWS]}},
     "application/json"),
    ("records", {"dataframe_records": [dict(zip(COLUMNS, row)) for row in ROWS]}, "application/json"),
    ("instances as objects", {"instances": [dict(zip(COLUMNS, row)) for row in ROWS]}, "application/json"),
    ("inputs as columns", {"inputs": {c: [r[i] for r in ROWS] for i, c in enumerate(COLUMNS)}}, "application/json"),
    ("inputs as one row of scalars", {"inputs": dict(zip(COLUMNS, ROWS[1]))}, "application/json"),
    ("ragged columns", {"inputs": {c: ROWS[0][: i + 1] for i, c in enumerate(COLUMNS)}}, "application/json"),
    ("integers for doubles", {"dataframe_split": {"columns": COLUMNS, "data": [[5, 3, 1, 0]]}}, "application/json"),
    ("csv", _csv(ROWS, COLUMNS), "text/csv"),
    ("missing column", {"dataframe_split": {"columns": COLUMNS[:3], "data": [r[:3] for r in ROWS]}},
     "application/json"),
    ("strings", {"dataframe_records": [{c: "x" for c in COLUMNS}]}, "application/json"),
]


def _compare(ours, theirs, requests) -> list[str]:
    """Every request to both servers; the answers compared; what differs, in words."""
    differences = []
    for name, body, content_type in requests:
        if body == "PARQUET":
            import io

            import pandas as pd

            buffer = io.BytesIO()
            pd.DataFrame(ROWS, columns=COLUMNS).to_parquet(buffer)
            body = buffer.getvalue()
        ours_status, ours_type, ours_body = ours.post(body, content_type)
        theirs_status, theirs_type, theirs_body = theirs.post(body, content_type)
        if ours_status != theirs_status:
            differences.append(f"{name}: status {ours_status} vs MLflow's {theirs_status}: {ours_body[:300]!r} / "
                               f"{theirs_body[:300]!r}")
            continue
        if ours_status == 200:
            if json.loads(ours_body) != json.loads(theirs_body):
                differences.append(f"{name}: {ours_body!r} vs MLflow's {theirs_body!r}")
        elif "json" in theirs_type:
            ours_error, theirs_error = json.loads(ours_body), json.loads(theirs_body)
            if ours_error["error_code"] != theirs_error["error_code"]:
                differences.append(f"{name}: error_code {ours_error['error_code']} vs {theirs_error['error_code']}")
        elif "json" in ours_type:
            differences.append(f"{name}: we answered JSON, MLflow {theirs_type}")
    return differences


def test_lighttrack_and_mlflow_servers_answer_the_same_requests_the_same(models, logs, tmp_path):
    pytest.importorskip("mlflow", reason="the test extra installs mlflow")
    db = models["db"]
    unsigned = _export(db, "models:/iris/1", tmp_path / "iris")
    signed = _export(db, "models:/iris_sig/1", tmp_path / "iris_sig")
    servers = [lighttrack_server(db, "models:/iris/1", logs), mlflow_server(unsigned, logs),
               lighttrack_server(db, "models:/iris_sig/1", logs), mlflow_server(signed, logs)]
    try:
        for server in servers:
            server.wait_ready()
        ours, theirs, ours_sig, theirs_sig = servers
        # the protocol's GET routes too
        for path in ("/ping", "/health"):
            assert http("GET", ours.url + path)[0] == http("GET", theirs.url + path)[0] == 200
        differences = _compare(ours, theirs, UNSIGNED_REQUESTS) + _compare(ours_sig, theirs_sig, SIGNED_REQUESTS)
        assert not differences, "\n".join(differences)
        # the answers are real predictions, not just equal ones
        status, _, body = ours.post({"inputs": ROWS})
        assert status == 200 and json.loads(body) == {"predictions": [0, 2, 1]}
    finally:
        for server in servers:
            server.stop()


def test_bad_input_gets_mlflows_error_body_and_what_the_signature_expects(models, logs):
    server = lighttrack_server(models["db"], "models:/iris_sig/1", logs).wait_ready()
    try:
        status, content_type, body = server.post({"dataframe_split": {"columns": COLUMNS[:3], "data": [[1, 2, 3]]}})
        error = json.loads(body)
        assert status == 400 and content_type.startswith("application/json")
        assert error["error_code"] == "INVALID_PARAMETER_VALUE"  # what MLflow answers for a signature mismatch
        assert "petal_width" in error["message"] and "sepal_length (double)" in error["message"]
        status, _, body = server.post({"rows": ROWS})
        assert status == 400 and json.loads(body)["error_code"] == "BAD_REQUEST"
        assert "exactly one of the input fields" in json.loads(body)["message"]
        status, content_type, body = server.post("x", "application/xml")
        assert status == 415 and "text/csv" in body.decode() and content_type.startswith("text/plain")
    finally:
        assert server.stop() == 0


def test_every_model_uri_form_serves_and_version_names_what_is_served(models, logs):
    client = models["client"]
    uris = [client.get_model_version("iris", "1").source, "models:/iris/1", "models:/iris/Production",
            "models:/iris@prod", "models:/iris/latest", str(models["folders"]["forest"])]
    servers = [lighttrack_server(models["db"], uri, logs) for uri in uris]  # started together: fewer waits
    try:
        for uri, server in zip(uris, servers):
            server.wait_ready()
            status, _, body = server.post({"inputs": ROWS})
            expected = [2, 2, 2] if uri == "models:/iris/latest" else [0, 2, 1]
            assert status == 200 and json.loads(body)["predictions"] == expected, uri
            info = server.get_json("/version")
            assert info["model_uri"] == uri and info["lighttrack"]
            if uri.startswith("models:/"):
                assert str(info["version"]) == ("2" if uri.endswith("latest") else "1")
            else:
                assert info["version"] is None and info["loaded_uri"] == uri
    finally:
        codes = [server.stop() for server in servers]
    assert codes == [0] * len(uris)


def test_sigint_and_sigterm_stop_the_server_cleanly(models, logs):
    servers = {sig: lighttrack_server(models["db"], "models:/iris/1", logs) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, server in servers.items():
        server.wait_ready()
        assert server.post({"inputs": ROWS})[0] == 200
        assert server.stop(sig) == 0
        output = server.output()
        assert "stopped serving models:/iris/1" in output and "Traceback" not in output


def _lighttrack(*args: str) -> subprocess.CompletedProcess:
    from serving_support import env_for_children

    return subprocess.run([sys.executable, "-m", "lighttrack", *args], capture_output=True, text=True,
                          env=env_for_children(), timeout=300)


def test_a_port_in_use_is_one_line_and_exit_1(models, logs):
    server = lighttrack_server(models["db"], "models:/iris/1", logs).wait_ready()
    try:
        result = _lighttrack("--db", str(models["db"]), "models", "serve", "-m", "models:/iris/1",
                             "--port", str(server.port))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"Error: port {server.port} on 127.0.0.1 is in use: stop what listens there or choose another --port"]
    finally:
        server.stop()


@pytest.mark.parametrize("uri, message", [
    ("models:/nosuch/1", "nosuch"),
    ("models:/iris@nosuch", "nosuch"),
    ("/no/such/folder", "no model at"),
])
def test_a_model_that_fails_to_load_is_one_line_and_exit_1(models, uri, message):
    result = _lighttrack("--db", str(models["db"]), "models", "serve", "-m", uri, "--port", str(free_port()))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


def test_a_pickled_model_needs_the_trust_switch_to_be_served(models, tmp_path, logs):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import lighttrack.sklearn

    X, y = load_iris(return_X_y=True)
    folder = tmp_path / "pickled"
    lighttrack.sklearn.save_model(LogisticRegression(max_iter=500).fit(X, y), folder, serialization_format="pickle")
    result = _lighttrack("models", "serve", "-m", str(folder), "--port", str(free_port()))
    assert result.returncode == 1 and "allow_pickle" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    server = lighttrack_server(models["db"], str(folder), logs, "--allow-pickle").wait_ready()
    try:
        assert json.loads(server.post({"inputs": ROWS})[2])["predictions"] == [0, 2, 1]
    finally:
        server.stop()


def test_the_startup_line_says_where_it_listens():
    from lighttrack.serving.server import ServeOptions, startup_line

    local = startup_line(ServeOptions("models:/iris/3", "f.db"), "3")
    assert local == "serving models:/iris/3 (version 3) on http://127.0.0.1:5001 with 1 worker(s)"
    everywhere = startup_line(ServeOptions("models:/iris@prod", "f.db", host="0.0.0.0", port=8080), "3")
    assert "http://0.0.0.0:8080" in everywhere and "every network interface" in everywhere


def test_two_workers_serve_and_stop(models, logs):
    server = lighttrack_server(models["db"], "models:/iris/1", logs, "--workers", "2").wait_ready()
    try:
        for _ in range(6):
            status, _, body = server.post({"inputs": ROWS})
            assert status == 200 and json.loads(body)["predictions"] == [0, 2, 1]
    finally:
        assert server.stop() == 0


def test_the_core_does_not_import_the_web_stack():
    from conftest import run_python

    result = run_python(
        "import sys, lighttrack, lighttrack.cli, lighttrack.serving\n"
        "print(sorted(m for m in ('uvicorn', 'starlette', 'httptools', 'anyio') if m in sys.modules))"
    )
    assert result.stdout.strip() == "[]"
