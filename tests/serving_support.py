"""Real scoring servers for the serving tests: lighttrack's (``lighttrack models serve`` as a
subprocess) and MLflow's (``mlflow models serve --env-manager local``), on free loopback
ports, waited for by polling ``/ping`` and stopped by pid."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 180.0  # generous: the machine is shared; this bounds a hang, it times nothing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None,
         timeout: float = 60) -> tuple[int, str, bytes]:
    """(status, content type, body) of one real HTTP request."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


def env_for_children(**extra: str) -> dict[str, str]:
    # `mlflow models serve` runs `uvicorn` from PATH: the test interpreter's scripts come first,
    # so the suite does not depend on its virtualenv being activated.
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true",
           "DO_NOT_TRACK": "true", "MLFLOW_ALLOW_MODEL_CODE_EXECUTION": "true", "MLFLOW_MODELS_WORKERS": "1",
           "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}
    env.pop("LIGHTTRACK_TRACKING_URI", None)
    env.update(extra)
    return env


class Server:
    """One server process (its own session, so MLflow's uvicorn child stops with it)."""

    def __init__(self, args: list[str], port: int, log_dir: Path, name: str, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / f"{name}-{port}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env or env_for_children(),
                                        cwd=cwd, start_new_session=True)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                status, _, _ = http("GET", self.url + "/ping", timeout=5)
                if status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server not ready after {timeout} s:\n{self.output()}")

    def post(self, body: bytes | str | dict, content_type: str = "application/json") -> tuple[int, str, bytes]:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        return http("POST", self.url + "/invocations", body, content_type)

    def get_json(self, path: str):
        status, _, body = http("GET", self.url + path)
        assert status == 200, body
        return json.loads(body)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server's process (group) by pid and wait for it; its exit code."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        self._log.close()
        return self.process.returncode


def lighttrack_server(db: Path, model_uri: str, log_dir: Path, *extra: str) -> Server:
    port = free_port()
    args = [sys.executable, "-m", "lighttrack", "--db", str(db), "models", "serve", "-m", model_uri,
            "--port", str(port), *extra]
    return Server(args, port, log_dir, "lighttrack")


def mlflow_server(model_folder: Path, log_dir: Path) -> Server:
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    args = [str(mlflow_bin), "models", "serve", "-m", str(model_folder), "--env-manager", "local",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return Server(args, port, log_dir, "mlflow", cwd=log_dir)
