"""``mlflow.types.schema``: the pieces a model signature is built from.

``DataType`` is a string enum, so ``ColSpec(DataType.double, "x")`` and ``ColSpec("double", "x")``
are the same column and both write MLflow's JSON. numpy is imported only by ``to_numpy``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from lighttrack.models.signature import ColSpec, ModelSignature, Schema, TensorSpec

_NUMPY = {"boolean": "bool", "integer": "int32", "long": "int64", "float": "float32", "double": "float64",
          "string": "object", "binary": "object", "datetime": "datetime64[ns]"}
_PYTHON = {"boolean": bool, "integer": int, "long": int, "float": float, "double": float, "string": str,
           "binary": bytes}


class DataType(StrEnum):
    """MLflow's column types, by MLflow's names."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def to_numpy(self) -> Any:
        import numpy as np

        return np.dtype(_NUMPY[self.value])

    def to_python(self) -> type:
        if self.value == "datetime":
            import datetime

            return datetime.datetime
        return _PYTHON[self.value]


__all__ = ["ColSpec", "DataType", "ModelSignature", "Schema", "TensorSpec"]
