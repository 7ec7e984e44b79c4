"""``mlflow.types``: Schema, ColSpec, TensorSpec and DataType for model signatures."""

from __future__ import annotations

from lighttrack.types.schema import ColSpec, DataType, Schema, TensorSpec

__all__ = ["ColSpec", "DataType", "Schema", "TensorSpec"]
