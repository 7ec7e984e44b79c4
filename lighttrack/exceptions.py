"""``mlflow.exceptions``: where MLflow code imports its exception classes from.

They are lighttrack's own errors under MLflow's names, so ``except MlflowException`` catches
every error lighttrack raises on purpose.
"""

from __future__ import annotations

from lighttrack.errors import InvalidArgument, LighttrackError, MlflowException, NotFound
from lighttrack.projects.errors import ExecutionError

#: MLflow's name for a failed project run (``mlflow.projects`` raises it).
ExecutionException = ExecutionError
#: MLflow raises this for a config (MLproject, conda.yaml) it cannot read.
MissingConfigException = InvalidArgument
#: What MLflow's REST client raises; here every error is local, so it is the base class.
RestException = LighttrackError

__all__ = ["ExecutionException", "MissingConfigException", "MlflowException", "NotFound", "RestException"]
