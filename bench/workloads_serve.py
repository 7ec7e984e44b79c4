"""The ``serve`` workload: the scoring server under a bounded load, lighttrack vs MLflow.

The seed's forest (RandomForest, 100 trees, iris, random_state=42) is served by
``lighttrack models serve`` (lighttrack side) or ``mlflow models serve --env-manager local``
(MLflow side, the same forest saved by MLflow), each with its default worker count. A second
process (``LOAD_CLIENT`` below: standard library threads, one persistent HTTP/1.1 connection
each) sends a fixed number of requests from 4 concurrent clients, after a warm-up, and
reports requests/s over the whole run and each request's latency (p50, p99). Failed requests
(any status but 200, or a connection error) are counted. Then, lighttrack only: the alias the
server follows is moved 10 times during a load run (each move waits until /version shows the
new version), and the failed requests are counted. The forest's own ``predict`` time (1 row,
100 rows, in-process, no HTTP) is measured for comparison.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from harness import REPO_ROOT, Row, workload

CLIENTS = 4

LOAD_CLIENT = r'''
import http.client, json, os, sys, threading, time
host, port, body_path, total, clients, warmup, stop_file = sys.argv[1:8]
port, total, clients, warmup = int(port), int(total), int(clients), int(warmup)
body = open(body_path, "rb").read()
headers = {"Content-Type": "application/json"}
lock = threading.Lock()
left = [total]
latencies, failures, statuses = [], [0], {}

def send(conn):
    try:
        conn.request("POST", "/invocations", body, headers)
        response = conn.getresponse()
        response.read()
        return response.status, conn
    except Exception as exc:
        conn.close()
        return type(exc).__name__, http.client.HTTPConnection(host, port, timeout=120)

def take():
    with lock:
        if left[0] <= 0 or (stop_file != "-" and os.path.exists(stop_file)):
            return False
        left[0] -= 1
        return True

def worker():
    conn = http.client.HTTPConnection(host, port, timeout=120)
    while take():
        started = time.perf_counter()
        status, conn = send(conn)
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status != 200:
                failures[0] += 1
    conn.close()

warm = http.client.HTTPConnection(host, port, timeout=120)
for _ in range(warmup):  # untimed: warm connections, caches and the model
    warm = send(warm)[1]
warm.close()
threads = [threading.Thread(target=worker) for _ in range(clients)]
started = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
wall = time.perf_counter() - started
latencies.sort()

def pct(q):
    if not latencies:
        return None
    rank = max(1, min(len(latencies), -(-q * len(latencies) // 100)))
    return latencies[int(rank) - 1] * 1000

print(json.dumps({"requests": len(latencies), "wall_s": wall, "rps": len(latencies) / wall if wall else 0,
                  "p50_ms": pct(50), "p99_ms": pct(99), "failures": failures[0], "statuses": statuses}))
'''


def _forest():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    data = load_iris()
    return RandomForestClassifier(n_estimators=100, random_state=42).fit(data.data, data.target), data.data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout} s: {log.read_text()[-2000:]}")


def _start(args: list[str], folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log = folder / f"server-{len(list(folder.glob('server-*.log')))}.log"
    process = subprocess.Popen(args, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, cwd=folder,
                               start_new_session=True)
    return process, log


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _bodies(folder: Path, X) -> dict[int, Path]:
    paths = {}
    for rows in (1, 100):
        path = folder / f"body-{rows}.json"
        path.write_text(json.dumps({"inputs": X[:rows].tolist()}))
        paths[rows] = path
    return paths


def _load(port: int, body: Path, total: int, warmup: int, stop_file: str = "-") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOAD_CLIENT, "127.0.0.1", str(port), str(body), str(total),
                             str(CLIENTS), str(warmup), stop_file], stdout=subprocess.PIPE, text=True)


def _measure(ctx, port: int, bodies: dict[int, Path]) -> None:
    n1 = ctx.size(2000, 300)
    n100 = ctx.size(1000, 150)
    for _ in range(ctx.repeat):
        for rows, total, suffix in ((1, n1, "1"), (100, n100, "100")):
            out, _ = _load(port, bodies[rows], total, warmup=20).communicate(timeout=3600)
            result = json.loads(out)
            ctx.record(f"rps_{suffix}", result["rps"])
            ctx.record(f"p50_{suffix}", result["p50_ms"])
            ctx.record(f"p99_{suffix}", result["p99_ms"])
            ctx.note(f"rps_{suffix}", f"{CLIENTS} clients, {total:,} requests of {rows} row(s) a run")
            if result["failures"]:
                ctx.note(f"rps_{suffix}", f"{result['failures']} FAILED: {result['statuses']}")


ROWS = [
    Row("rps_1", "serve: requests/s, 1 row a request", "req/s", better="higher"),
    Row("p50_1", "serve: p50 latency, 1 row", "ms"),
    Row("p99_1", "serve: p99 latency, 1 row", "ms"),
    Row("rps_100", "serve: requests/s, 100 rows a request", "req/s", better="higher"),
    Row("p50_100", "serve: p50 latency, 100 rows", "ms"),
    Row("p99_100", "serve: p99 latency, 100 rows", "ms"),
    Row("predict_1", "forest's own predict, 1 row (in-process)", "ms"),
    Row("predict_100", "forest's own predict, 100 rows (in-process)", "ms"),
    Row("swap_failed", "failed requests while the alias moved 10 times", "requests", budget=0),
]


@workload("serve", title="scoring server", order=95, repeat=3, mlflow_repeat=1, rows=ROWS)
def serve(ctx):
    import importlib.util

    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("starlette") is None:
        ctx.skip("the serve extra is not installed: pip install 'lighttrack[serve]'")
    import lighttrack.pyfunc
    import lighttrack.sklearn
    from lighttrack import LighttrackClient
    from lighttrack.models.logged import register_model

    folder = ctx.tempdir()
    model, X = _forest()
    db = folder / "serve.db"
    client = LighttrackClient(db)
    lighttrack.sklearn.save_model(model, folder / "forest")
    register_model(str(folder / "forest"), "forest", client=client)
    register_model(str(folder / "forest"), "forest", client=client)  # v2: the same forest, for the swaps
    client.set_registered_model_alias("forest", "prod", "1")
    _predict_time(ctx, lighttrack.pyfunc.load_model(str(folder / "forest")), X)
    bodies = _bodies(folder, X)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("LIGHTTRACK_TRACKING_URI", None)
    port = _free_port()
    process, log = _start([sys.executable, "-m", "lighttrack", "--db", str(db), "models", "serve", "-m",
                           "models:/forest@prod", "--port", str(port)], folder, env)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, process, log)
        _measure(ctx, port, bodies)
        _swap_run(ctx, url, port, bodies[1], db, folder, env)
    finally:
        _stop(process)


def _predict_time(ctx, model, X) -> None:
    for rows in (1, 100):
        batch = X[:rows]
        model.predict(batch)
        samples = []
        for _ in range(ctx.size(200, 50)):
            started = time.perf_counter()
            model.predict(batch)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        ctx.record(f"predict_{rows}", samples[len(samples) // 2])


def _version(url: str) -> str | None:
    with urllib.request.urlopen(url + "/version", timeout=30) as response:
        found = json.loads(response.read())["version"]  # an int, as the registry gives versions
        return None if found is None else str(found)


def _swap_run(ctx, url: str, port: int, body: Path, db: Path, folder: Path, env: dict[str, str]) -> None:
    stop_file = folder / "stop-load"
    load = _load(port, body, 1_000_000, warmup=0, stop_file=str(stop_file))
    moves = 0
    try:
        for move in range(10):
            version = "2" if move % 2 == 0 else "1"
            subprocess.run([sys.executable, "-m", "lighttrack", "--db", str(db), "models", "alias", "forest", "prod",
                            version], env=env, check=True, capture_output=True)
            deadline = time.monotonic() + 120
            while _version(url) != version:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not swap to version {version}")
                time.sleep(0.02)
            moves += 1
    finally:
        stop_file.write_text("")
        out, _ = load.communicate(timeout=600)
    result = json.loads(out)
    ctx.record("swap_failed", result["failures"])
    ctx.note("swap_failed", f"{moves} moves during {result['requests']:,} requests ({result['rps']:.0f} req/s, "
                            f"p99 {result['p99_ms']:.0f} ms)")


@serve.mlflow
def _(ctx):
    import mlflow.sklearn

    folder = ctx.tempdir()
    model, X = _forest()
    mlflow.sklearn.save_model(model, str(folder / "forest"), skops_trusted_types=["sklearn.tree._tree.Tree"])
    loaded = mlflow.pyfunc.load_model(str(folder / "forest"))
    _predict_time(ctx, loaded, X)
    bodies = _bodies(folder, X)
    port = _free_port()
    env = {**os.environ, "MLFLOW_ALLOW_MODEL_CODE_EXECUTION": "true"}
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    process, log = _start([mlflow_bin, "models", "serve", "-m", str(folder / "forest"), "--env-manager", "local",
                           "--host", "127.0.0.1", "--port", str(port)], folder, env)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process, log)
        _measure(ctx, port, bodies)
        ctx.note("rps_1", f"{os.cpu_count()} uvicorn workers (its default: the CPU count)")
    finally:
        _stop(process)
