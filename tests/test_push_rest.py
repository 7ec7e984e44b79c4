"""The push's REST client against a server that answers the way an MLflow server with an
exhausted SQL connection pool does. The real condition depends on how the kernel spreads
requests over the server's processes, so it cannot be produced on demand with ``mlflow
server``; this small HTTP server produces it every time. The pushes against real servers are in
test_push.py."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lighttrack.sync import mlflow_rest
from lighttrack.sync.mlflow_common import MlflowStoreError
from lighttrack.sync.mlflow_rest import LOG_BATCH_AT_ONCE, RestClient

POOL_TIMEOUT = {"error_code": "BAD_REQUEST",
                "message": "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"}


class Server:
    """Answers ``refuse`` requests per endpoint with MLflow's pool-timeout body, then succeeds;
    with ``hold``, keeps each log-batch waiting until ``release`` is set."""

    def __init__(self, refuse: dict[str, int] | None = None, hold: bool = False) -> None:
        self.refuse = dict(refuse or {})
        self.hold = hold
        self.release = threading.Event()
        self.received: list[str] = []
        self.in_flight = self.most_in_flight = self.done = 0
        self.changed = threading.Condition()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                owner.answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        endpoint = handler.path.split("/api/2.0/mlflow/", 1)[1]
        with self.changed:
            self.received.append(endpoint)
            refused = self.refuse.get(endpoint, 0) > 0
            if refused:
                self.refuse[endpoint] -= 1
        if endpoint == "runs/log-batch" and self.hold:
            with self.changed:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                self.changed.notify_all()
            self.release.wait()
            with self.changed:
                self.in_flight -= 1
                self.done += 1
                self.changed.notify_all()
        body = json.dumps(POOL_TIMEOUT if refused else {}).encode()
        handler.send_response(400 if refused else 200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr(mlflow_rest, "_POOL_RETRIES", (0.0, 0.0, 0.0))


def test_no_more_log_batches_in_flight_than_a_default_pool_can_serve():
    requests = 40
    server = Server(hold=True)
    try:
        client = RestClient(server.uri, connections=16)
        with ThreadPoolExecutor(max_workers=16) as pool:
            sent = [pool.submit(client.log_batch, f"run{i}", [("loss", 0.5, 1, i)], [], []) for i in range(requests)]
            with server.changed:
                server.changed.wait_for(lambda: server.in_flight >= LOG_BATCH_AT_ONCE, timeout=120)
            # Time for a seventh to arrive if anything let it through; the outcome does not
            # depend on it when the client is right (none can come).
            time.sleep(0.5)
            server.release.set()
            for future in sent:
                future.result()
    finally:
        server.release.set()
        server.stop()
    assert server.done == requests
    assert server.most_in_flight == LOG_BATCH_AT_ONCE
    assert LOG_BATCH_AT_ONCE * 2 + 2 <= 15  # two connections each, plus two other workers' requests


def test_a_pool_timeout_on_an_idempotent_request_is_sent_again(no_pause):
    server = Server(refuse={"runs/log-batch": 2, "runs/update": 3})
    try:
        client = RestClient(server.uri)
        client.log_batch("run", [("loss", 0.5, 1, 0)], [("lr", "0.1")], [])
        client.update_run("run", "FINISHED", 5)
    finally:
        server.stop()
    assert server.received == ["runs/log-batch"] * 3 + ["runs/update"] * 4


def test_a_pool_timeout_that_lasts_is_reported_not_retried_for_ever(no_pause):
    server = Server(refuse={"runs/log-batch": 10})
    try:
        with pytest.raises(MlflowStoreError, match="QueuePool limit"):
            RestClient(server.uri).log_batch("run", [("loss", 0.5, 1, 0)], [], [])
    finally:
        server.stop()
    assert server.received == ["runs/log-batch"] * 4


def test_a_create_is_never_sent_twice(no_pause):
    """Two attempts at runs/create could leave two runs on the server."""
    server = Server(refuse={"runs/create": 1})
    try:
        with pytest.raises(MlflowStoreError, match="QueuePool limit"):
            RestClient(server.uri).create_run("0", 1, "r", {}, None)
    finally:
        server.stop()
    assert server.received == ["runs/create"]
