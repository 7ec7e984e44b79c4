"""``mlflow.models.model``: the MLmodel class, ModelInfo and get_model_info, by MLflow's path."""

from __future__ import annotations

from lighttrack.models import get_model_info
from lighttrack.models.logged import ModelInfo
from lighttrack.models.mlmodel import Model

__all__ = ["Model", "ModelInfo", "get_model_info"]
