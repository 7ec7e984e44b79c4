"""The backend the ported MLflow cases run on: lighttrack always, and real MLflow 3.17 too when
``LIGHTTRACK_COMPAT_REFERENCE=1`` (the cases are MLflow's behaviour, so MLflow must pass them;
that run is how the tables were checked, and it is slow: MLflow builds a SQL schema per file)."""

from __future__ import annotations

import importlib
import os

import pytest

BACKENDS = ["lighttrack"] + (["mlflow"] if os.environ.get("LIGHTTRACK_COMPAT_REFERENCE") == "1" else [])


@pytest.fixture(params=BACKENDS)
def ml(request, tmp_path):
    """``import lighttrack as mlflow`` (or MLflow itself), pointed at a fresh file."""
    module = importlib.import_module(request.param)
    if request.param == "mlflow":
        module.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
        module.set_registry_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    else:
        module.set_tracking_uri(str(tmp_path / "compat.db"))
    yield module
    while module.active_run() is not None:
        module.end_run()
    if request.param == "mlflow":  # MLflow keeps the active experiment per process: forget it
        from mlflow.tracking import fluent

        fluent._active_experiment_id = None


def is_mlflow(module) -> bool:
    return module.__name__ == "mlflow"
