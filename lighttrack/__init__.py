"""lighttrack: MLflow's tracking, models, registry and projects in one SQLite file.

``import lighttrack as mlflow`` works for the classic-ML surface. Names are exported lazily
(PEP 562), so importing the package costs a few milliseconds and loads no SQL, numpy,
sklearn or Textual until they are used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    **{
        name: "lighttrack.fluent"
        for name in (
            "ActiveRun", "start_run", "end_run", "active_run", "last_active_run",
            "set_experiment", "create_experiment", "get_experiment", "get_experiment_by_name",
            "delete_experiment", "search_experiments", "set_experiment_tag", "set_experiment_tags",
            "log_metric", "log_metrics", "log_param", "log_params", "set_tag", "set_tags",
            "delete_tag", "log_artifact", "log_artifacts", "log_text", "log_dict", "log_figure",
            "log_image", "log_table", "list_artifacts", "download_artifacts", "get_artifact_uri",
            "get_run", "delete_run", "search_runs", "flush",
        )
    },
    **{
        name: "lighttrack.fluent_compat"
        for name in ("search_registered_models", "search_model_versions", "get_parent_run", "load_table",
                     "flush_async_logging")
    },
    "set_registry_uri": "lighttrack.config",
    "get_registry_uri": "lighttrack.config",
    **{
        name: "lighttrack.system_metrics"
        for name in ("enable_system_metrics_logging", "disable_system_metrics_logging",
                     "set_system_metrics_sampling_interval", "set_system_metrics_samples_before_logging",
                     "set_system_metrics_node_id")
    },
    **{
        name: "lighttrack.fluent_models"
        for name in ("get_logged_model", "last_logged_model", "search_logged_models", "initialize_logged_model",
                     "finalize_logged_model", "set_logged_model_tags", "delete_logged_model_tag",
                     "log_model_params", "delete_logged_model")
    },
    "LoggedModel": "lighttrack.entities.logged_model",
    "LoggedModelStatus": "lighttrack.entities.logged_model",
    "log_input": "lighttrack.fluent_datasets",
    "log_inputs": "lighttrack.fluent_datasets",
    "register_model": "lighttrack.models.logged",
    "evaluate": "lighttrack.models.evaluation",
    "validate_evaluation_results": "lighttrack.models.evaluation",
    "run": "lighttrack.projects.running",
    "autolog": "lighttrack.autologging",
    "set_tracking_uri": "lighttrack.config",
    "get_tracking_uri": "lighttrack.config",
    "is_tracking_uri_set": "lighttrack.config",
    "LighttrackClient": "lighttrack.client",
    "MlflowClient": "lighttrack.client",
    "LighttrackError": "lighttrack.errors",
    "MlflowException": "lighttrack.errors",
    **{
        name: "lighttrack.entities"
        for name in ("Experiment", "Run", "RunInfo", "RunData", "Metric", "Param", "RunTag",
                     "RunStatus", "ViewType", "FileInfo", "MetricSummary")
    },
}

# submodules reachable as attributes, like mlflow.sklearn / mlflow.pyfunc / mlflow.entities
_SUBMODULES = {"entities", "client", "errors", "tracking", "store", "sklearn", "pyfunc", "models", "projects",
               "sklearn_autolog", "pytorch", "onnx", "xgboost", "lightgbm", "statsmodels", "keras", "tensorflow",
               "exceptions", "artifacts", "types", "data",
               "system_metrics"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # next lookup is a plain attribute read
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"lighttrack.{name}")
    raise AttributeError(f"module 'lighttrack' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])


if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers only
    from lighttrack.client import LighttrackClient, MlflowClient  # noqa: F401
    from lighttrack.config import get_tracking_uri, set_tracking_uri  # noqa: F401
    from lighttrack.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType  # noqa: F401
    from lighttrack.fluent import *  # noqa: F401,F403
