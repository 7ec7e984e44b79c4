"""Shared pieces of the TUI tests: a deterministic sample file built through the public API,
and a helper that waits until the app's workers are done. (No tests here.)"""

from __future__ import annotations

import asyncio
import io
import json
import math
import time

import pytest

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000

MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    loader_module: lighttrack.sklearn
    python_version: 3.11.7
  sklearn:
    serialization_format: skops
    sklearn_version: 1.5.0
signature:
  inputs: '[{"type": "double", "name": "sepal length"}, {"type": "double", "name": "petal width"}]'
  outputs: '[{"type": "long"}]'
utc_time_created: '2024-01-01 00:05:00.000000'
"""


@pytest.fixture(autouse=True)
def _utc(tmp_path):
    """Times in the UI are local: pin the zone so snapshots read the same everywhere; and the
    UI's remembered state lives in the test's own folder, never the user's. (Its own
    MonkeyPatch: undoing the shared one would also undo every other fixture's patches.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        patch.setenv("LIGHTTRACK_UI_STATE", str(tmp_path / "ui-state" / "ui-state.json"))
        time.tzset()
        yield
    time.tzset()


def curve(n: int, start: float, rate: float, wobble: float = 0.0) -> list[float]:
    return [start * math.exp(-rate * i) + wobble * math.sin(i) for i in range(n)]


def log_series(client, run_id: str, key: str, values: list[float], start: int) -> None:
    steps = list(range(len(values)))
    client.log_metric_series(run_id, key, values, steps=steps, timestamps=[start + 1000 * s for s in steps])


def build_sample(client) -> dict[str, str]:
    """Three experiments: a 4-run sweep (one FAILED, one KILLED) with artifacts and a logged
    model, a parent run with two children, and an empty one. Returns names -> ids."""
    ids: dict[str, str] = {}
    iris = ids["iris-forest"] = client.create_experiment(
        "iris-forest", tags={"mlflow.note.content": "RandomForest sweep on iris"})
    mnist = ids["mnist-cnn"] = client.create_experiment("mnist-cnn")
    ids["empty"] = client.create_experiment("empty")
    specs = [
        ("forest-a", "ana", {"n_estimators": "10", "max_depth": "3", "criterion": "gini"}, 0.90, 0.30, "FINISHED"),
        ("forest-b", "bo", {"n_estimators": "50", "max_depth": "5", "criterion": "gini"}, 0.94, 0.20, "FINISHED"),
        ("forest-c", "ana", {"n_estimators": "100", "max_depth": "5", "criterion": "entropy"}, 0.97, 0.12, "FAILED"),
        ("forest-d", "bo", {"n_estimators": "200", "max_depth": "8", "criterion": "entropy"}, 0.95, 0.15, "KILLED"),
    ]
    from lighttrack.entities import Param

    for i, (name, user, params, acc, loss, status) in enumerate(specs):
        start = T0 + i * 60 * MINUTE
        run_id = ids[name] = client.create_run(iris, start_time=start, run_name=name,
                                               tags={"mlflow.user": user, "team": "vision"}).info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
        log_series(client, run_id, "acc", [acc - 0.5 * math.exp(-0.3 * s) for s in range(20)], start)
        log_series(client, run_id, "loss", curve(20, 1.0, 0.2 + i * 0.05, 0.01) + [loss], start)
        client.set_terminated(run_id, status=status, end_time=start + 90_000 + i * 30_000)
    a = ids["forest-a"]
    client.log_text(a, "trained on 120 rows\nvalidated on 30 rows\n", "notes.txt")
    client.log_dict(a, {"n_estimators": 10, "max_depth": 3, "features": ["sepal", "petal"]}, "config.json")
    client.log_text(a, "lr: 0.01\nlayers:\n  - 64\n  - 32\n", "params.yaml")
    client.log_text(a, "def train(x):\n    return x * 2  # double it\n", "train.py")
    client.log_text(a, "step,acc,loss\n0,0.40,1.00\n1,0.62,0.71\n2,0.80,0.52\n", "metrics.csv")
    client.log_text(a, MLMODEL, "model/MLmodel")
    try:
        from PIL import Image

        image = Image.new("RGB", (8, 8), (200, 30, 30))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        client.log_bytes(a, buffer.getvalue(), "images/red.png")
    except ImportError:
        pass
    sweep = ids["sweep"] = client.create_run(mnist, start_time=T0 + 300 * MINUTE, run_name="sweep",
                                             tags={"mlflow.user": "chen"}).info.run_id
    for j in range(2):
        start = T0 + (301 + j) * MINUTE
        trial = ids[f"trial-{j + 1}"] = client.create_run(
            mnist, start_time=start, run_name=f"trial-{j + 1}",
            tags={"mlflow.user": "chen", "mlflow.parentRunId": sweep}).info.run_id
        client.log_batch(trial, params=[Param("lr", ["0.01", "0.001"][j])])
        log_series(client, trial, "val_loss", curve(30, 2.0, 0.1 * (j + 1)), start)
        client.set_terminated(trial, end_time=start + 45_000)
    client.set_terminated(sweep, end_time=T0 + 304 * MINUTE)
    return ids


async def settle(pilot, rounds: int = 400) -> None:
    """Wait until no worker but the file watcher is running and every message is handled."""
    from textual.worker import WorkerState

    app = pilot.app
    quiet = 0
    for _ in range(rounds):
        await pilot.pause()
        busy = [w for w in app.workers if w.group != "live" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if busy:
            quiet = 0
            await asyncio.sleep(0.01)
            continue
        quiet += 1
        if quiet >= 3:
            # let focus moves, footers and call_after_refresh callbacks land too
            for _ in range(2):
                await asyncio.sleep(0.02)
                await pilot.pause()
            return
    raise AssertionError(f"workers still busy: {[w.description for w in app.workers]}")


def table_column(table, column_key: str) -> list[str]:
    return [str(c) for c in table.get_column(column_key)]


def json_dump(value) -> str:
    return json.dumps(value, sort_keys=True)


def run_async_tests(namespace: dict) -> None:
    """Let plain pytest run the module's ``async def test_*`` (no asyncio plugin needed):
    each becomes a sync test that runs its coroutine in a fresh event loop."""
    import functools
    import inspect

    for name, function in list(namespace.items()):
        if name.startswith("test_") and inspect.iscoroutinefunction(function):
            def make(fn):
                @functools.wraps(fn)
                def test(*args, **kwargs):
                    return asyncio.run(fn(*args, **kwargs))
                return test
            namespace[name] = make(function)


def build_registry(client, ids: dict[str, str], monkeypatch=None) -> None:
    """A registered model with two versions of forest-a's model: v1 in Production with the
    alias @champion, v2 in Staging. With ``monkeypatch``, the clock is pinned at 2024-01-02
    00:00 UTC while it is built (a constant: background threads read the clock too), so its
    times are the same on every run. (The pin is undone through its own context: undoing the
    caller's ``monkeypatch`` would drop every other patch of the test, such as the steady
    cursor that keeps snapshots independent of timing.)"""
    with pytest.MonkeyPatch.context() as patch:
        if monkeypatch is not None:
            patch.setattr(time, "time_ns", lambda: 1_704_153_600_000 * 1_000_000)
        _build_registry(client, ids)


def _build_registry(client, ids: dict[str, str]) -> None:
    name = "iris-classifier"
    client.create_registered_model(name, description="RandomForest on iris, served by the API")
    source = f"runs:/{ids['forest-a']}/model"
    client.create_model_version(name, source, run_id=ids["forest-a"], description="first cut")
    client.create_model_version(name, source, run_id=ids["forest-a"], tags={"validated": "yes"})
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")
    client.set_registered_model_alias(name, "champion", "1")


def _nodes(node):
    """Every widget under ``node``, itself first."""
    yield node
    for child in node.children:
        yield from _nodes(child)


def shown(widget, width: int = 100) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.export_text()
