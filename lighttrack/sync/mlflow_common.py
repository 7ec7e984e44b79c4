"""What import-mlflow and push-mlflow share: loading the mlflow client, naming a store."""

from __future__ import annotations

import os
from typing import Any

from lighttrack.errors import LighttrackError

INSTALL_HINT = "this needs the MLflow client library: pip install 'lighttrack[mlflow]' (or pip install mlflow)"


class MlflowUnavailable(LighttrackError):
    """The mlflow package is not installed."""


class MlflowStoreError(LighttrackError):
    """The MLflow store or server could not be read or written."""


def mlflow_client(uri: str) -> Any:
    """An MlflowClient for ``uri`` (a tracking server, sqlite:/// file or mlruns folder)."""
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MlflowUnavailable(INSTALL_HINT) from None
    quiet_mlflow()  # after the import: mlflow sets its own log levels when it loads
    check_reachable(normalise_uri(uri))
    return MlflowClient(tracking_uri=normalise_uri(uri), registry_uri=normalise_uri(uri))


def normalise_uri(uri: str) -> str:
    """Plain folders become file: URIs (an mlruns store); everything else is passed through."""
    text = str(uri)
    if "://" in text or text.startswith(("sqlite:", "file:", "databricks")):
        return text
    if os.path.isdir(text):
        return "file://" + os.path.abspath(text)
    if text.endswith(".db") and os.path.isfile(text):
        return "sqlite:///" + os.path.abspath(text)
    raise MlflowStoreError(
        f"{text!r} is not an MLflow store: give a tracking server URI (http://host:5000), "
        "sqlite:///path/to/mlflow.db, or an mlruns/ folder"
    )


def check_reachable(uri: str) -> None:
    """Fail fast (and clearly) on a server that does not answer, before anything is sent:
    MLflow's client would otherwise retry for minutes."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10).read()
    except urllib.error.HTTPError:
        return  # it answered; some servers have no /health
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MlflowStoreError(f"cannot reach the MLflow server at {uri}: {reason}") from None


def describe_failure(uri: str, exc: BaseException) -> MlflowStoreError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return MlflowStoreError(f"MLflow store {uri} failed: {text[:300]}")


def quiet_mlflow() -> None:
    """MLflow logs progress and deprecation warnings per call; the CLI reports its own."""
    import logging
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)
