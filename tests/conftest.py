"""Shared fixtures: every test gets its own lighttrack file and a clean fluent state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh file per test, no leaked active runs, experiments or open connections."""
    import lighttrack
    from lighttrack import config, fluent
    from lighttrack.store import close_all

    monkeypatch.delenv("LIGHTTRACK_TRACKING_URI", raising=False)
    monkeypatch.delenv("LIGHTTRACK_RUN_ID", raising=False)
    monkeypatch.delenv("LIGHTTRACK_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("LIGHTTRACK_EXPERIMENT_ID", raising=False)
    for name in ("TRACKING_URI", "RUN_ID", "EXPERIMENT_NAME", "EXPERIMENT_ID", "REGISTRY_URI"):
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)  # MLflow's spellings are honoured too
    monkeypatch.chdir(tmp_path)
    lighttrack.set_tracking_uri(str(tmp_path / "test.db"))
    yield
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent._all_active.clear()
    fluent._active_experiment_id = None
    fluent._last_active_run_id = None
    from lighttrack.models import logged

    logged._last_logged_model_id = None
    fluent._clients.clear()
    config.set_tracking_uri(None)
    config.set_registry_uri(None)
    config._warned.clear()
    close_all()


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch: pytest.MonkeyPatch):
    """A blinking cursor is drawn or not depending on when the screen is captured: keep every
    text cursor steadily on (as harlequin's tests do), so snapshots never depend on timing."""
    try:
        from textual.widgets import Input, TextArea
    except ImportError:  # the core's tests run without textual too
        return
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    if hasattr(TextArea, "_toggle_cursor_blink_visible"):
        monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def client(db_path: Path):
    from lighttrack import LighttrackClient

    return LighttrackClient(db_path)


def run_python(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
               check: bool = True) -> subprocess.CompletedProcess:
    """Run a snippet in a fresh interpreter with this checkout importable."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result



@pytest.fixture(scope="session")
def mlflow_server():
    """One real `mlflow server` (SQLite backend, one process) on a free 127.0.0.1 port for the
    tests of a test process that push to or read from a server; each uses its own experiment
    and model names. Stopped by its process group."""
    pytest.importorskip("mlflow", reason="the test extra installs mlflow")
    from mlflow_servers import MlflowServer

    running = MlflowServer(workers=1)
    try:
        yield running.start()
    finally:
        running.stop()
