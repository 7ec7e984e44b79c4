"""Real MLflow servers for tests and bench/: SQLite-backed, or PostgreSQL-backed on a private
cluster (initdb + pg_ctl from Debian's postgresql package, on a free loopback port, stopped by
pid). Not a test module: tests/test_push*.py and bench/workloads_sync.py import it.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """Debian's versioned folder of PostgreSQL server binaries, newest first; or PATH."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.path.exists(os.path.join(folder, "initdb")):
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _wait(predicate, what: str, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Postgres:
    """A throwaway PostgreSQL cluster. As root, it runs as the ``postgres`` system user (the
    server refuses root), with its folder handed to that user."""

    def __init__(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise FileNotFoundError("PostgreSQL's initdb was not found (apt-get install postgresql)")
        self.bin = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="lighttrack-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "mlflow", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "120",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "mlflow", "mlflow")
        return f"postgresql+psycopg://mlflow@127.0.0.1:{self.port}/mlflow"

    def stop(self) -> None:
        pid_file = self.data / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)  # "fast" shutdown, by the server's own pid
                _wait(lambda: not pid_file.exists(), "postgres to stop", 60)
            except (ProcessLookupError, RuntimeError):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


class MlflowServer:
    """``mlflow server`` on 127.0.0.1 with the given backend (SQLite file when None)."""

    def __init__(self, backend: str | None = None, workers: int = 2, folder: Path | None = None,
                 port: int | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="lighttrack-mlflow-"))
        self.backend = backend or f"sqlite:///{self.folder / 'backend.db'}"
        self.workers = workers
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers), "--backend-store-uri", self.backend,
             "--artifacts-destination", str(self.folder / "artifacts")],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / "server.log", "ab"), env=env,
            start_new_session=True,  # its workers go with it when it is stopped
        )
        _wait(self._healthy, "the mlflow server", 180, self.proc)
        return self.uri

    def _healthy(self) -> bool:
        try:
            urllib.request.urlopen(self.uri + "/health", timeout=2).read()
            return True
        except OSError:
            return False

    def stop(self, remove: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)


def plain_client_ceiling(uri: str, runs: int, params: int = 10, tags: int = 5, points: int = 100,
                         threads: int = 8) -> float:
    """The server's own ceiling: runs/s of a plain client sending create / log-batch / update
    (3 requests a run) from ``threads`` threads over pooled connections."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=threads))
    api = uri + "/api/2.0/mlflow/"
    name = f"ceiling-{time.time_ns()}"
    experiment = session.post(api + "experiments/create", json={"name": name}).json()["experiment_id"]

    def one(i: int) -> None:
        now = int(time.time() * 1000)
        run = session.post(api + "runs/create", json={
            "experiment_id": experiment, "start_time": now, "run_name": f"r{i}",
            "tags": [{"key": f"t{j}", "value": "v"} for j in range(tags)]}).json()["run"]["info"]["run_id"]
        body = {"run_id": run, "params": [{"key": f"p{j}", "value": str(j)} for j in range(params)],
                "metrics": [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": now + s, "step": s}
                            for s in range(points)]}
        reply = session.post(api + "runs/log-batch", data=json.dumps(body), headers={"Content-Type": "application/json"})
        reply.raise_for_status()
        session.post(api + "runs/update", json={"run_id": run, "status": "FINISHED", "end_time": now + 1}).raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(runs)))
    return runs / (time.perf_counter() - started)
