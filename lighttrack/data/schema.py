"""Dataset schemas in MLflow's JSON: named columns for DataFrames (``mlflow_colspec``) and
tensors for numpy data (``mlflow_tensorspec``), so a schema logged here reads as MLflow's."""

from __future__ import annotations

import json
import logging
from typing import Any

from lighttrack.models.signature import ColSpec, Schema, TensorSpec

log = logging.getLogger("lighttrack")


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _column_type(series: Any) -> str | None:
    """MLflow's column type of a pandas Series; None when MLflow's rules give no simple type."""
    dtype = series.dtype
    if dtype.kind == "O":
        series = series.infer_objects()
        dtype = series.dtype
    kind, size = dtype.kind, getattr(dtype, "itemsize", 0)
    if kind == "O":
        values = [v for v in series.tolist() if not _missing(v)]
        for python_type, name in ((str, "string"), (bytes, "binary"), (bool, "boolean")):
            if values and all(isinstance(v, python_type) for v in values):
                return name
        return None
    if kind == "b":
        return "boolean"
    if kind in "iu":
        if size < 4 or (kind == "i" and size == 4):
            return "integer"
        if size < 8 or (kind == "i" and size == 8):
            return "long"
        return None
    if kind == "f":
        return "float" if size <= 4 else "double" if size <= 8 else None
    return {"U": "string", "S": "binary", "M": "datetime"}.get(kind)


def infer_column_schema(df: Any) -> Schema | None:
    """One ColSpec per column (required unless it holds a missing value), or None."""
    specs = []
    for name in df.columns:
        column = df[name]
        kind = _column_type(column)
        if kind is None:
            log.debug("lighttrack: no schema for dataset column %r of type %s", name, column.dtype)
            return None
        specs.append(ColSpec(kind, name, required=not bool(column.isna().any())))
    return Schema(specs)


def _tensor_dtype(dtype: Any) -> str:
    return {"U": "str", "S": "bytes"}.get(dtype.char, dtype.name)


def infer_tensor_schema(data: Any) -> Schema:
    """A TensorSpec per array (the first axis variable), named by key for a dict of arrays."""
    import numpy as np

    if isinstance(data, dict):
        return Schema([TensorSpec(_tensor_dtype(np.asarray(v).dtype), (-1, *np.asarray(v).shape[1:]), str(k))
                       for k, v in data.items()])
    array = np.asarray(data)
    return Schema([TensorSpec(_tensor_dtype(array.dtype), (-1, *array.shape[1:]))])


def schema_dicts(schema: Schema) -> list[dict[str, Any]]:
    """MLflow's dictionaries of a schema, keys in MLflow's order (the JSON text matches)."""
    out: list[dict[str, Any]] = []
    for spec in schema.inputs:
        if isinstance(spec, TensorSpec):
            item: dict[str, Any] = {"name": spec.name} if spec.name is not None else {}
            item.update({"type": "tensor", "tensor-spec": {"dtype": spec.dtype, "shape": list(spec.shape)}})
            out.append(item)
        else:
            out.append(spec.to_dict())
    return out


class TensorDatasetSchema:
    """``mlflow.data.schema.TensorDatasetSchema``: the features' and targets' tensor schemas."""

    def __init__(self, features: Schema, targets: Schema | None = None) -> None:
        self.features = features
        self.targets = targets

    def to_dict(self) -> dict[str, Any]:
        return {"mlflow_tensorspec": {
            "features": json.dumps(schema_dicts(self.features)),
            "targets": json.dumps(schema_dicts(self.targets)) if self.targets is not None else None,
        }}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorDatasetSchema) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"TensorDatasetSchema({self.to_dict()!r})"
