"""``mlflow.models.model``: the MLmodel class, ModelInfo, get_model_info and set_model, by MLflow's path."""

from __future__ import annotations

from lighttrack.models import get_model_info
from lighttrack.models.logged import ModelInfo
from lighttrack.models.from_code import set_model
from lighttrack.models.mlmodel import Model

__all__ = ["Model", "ModelInfo", "get_model_info", "set_model"]
