"""Model signatures in MLflow's format: what a model takes and returns, and checking inputs.

A signature is stored in MLmodel as JSON strings (``inputs``/``outputs``) holding either named
columns (``{"type": "double", "name": "x"}``, for DataFrames) or tensors
(``{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}``, for arrays).
numpy and pandas are imported only when a signature is inferred or enforced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lighttrack.errors import InvalidArgument

# numpy dtype kind/size -> MLflow column type
_COLUMN_TYPES = {
    ("b", 1): "boolean", ("i", 1): "integer", ("i", 2): "integer", ("i", 4): "integer",
    ("i", 8): "long", ("u", 1): "integer", ("u", 2): "integer", ("u", 4): "long", ("u", 8): "long",
    ("f", 2): "float", ("f", 4): "float", ("f", 8): "double",
}
_NUMPY_OF_COLUMN = {
    "boolean": "bool", "integer": "int32", "long": "int64", "float": "float32", "double": "float64",
    "string": "object", "binary": "object", "datetime": "datetime64[ns]",
}


@dataclass(frozen=True)
class ColSpec:
    type: str
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class Schema:
    inputs: list[ColSpec | TensorSpec] = field(default_factory=list)

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def input_names(self) -> list[str | None]:
        return [spec.name for spec in self.inputs]

    def to_json(self) -> str:
        return json.dumps([spec.to_dict() for spec in self.inputs])

    @classmethod
    def from_json(cls, text: str) -> Schema:
        specs: list[ColSpec | TensorSpec] = []
        for item in json.loads(text):
            if item.get("type") == "tensor":
                info = item["tensor-spec"]
                specs.append(TensorSpec(info["dtype"], tuple(info["shape"]), item.get("name")))
            else:
                specs.append(ColSpec(item["type"], item.get("name"), item.get("required", True)))
        return cls(specs)


@dataclass(frozen=True)
class ModelSignature:
    inputs: Schema | None = None
    outputs: Schema | None = None
    params: Any = None

    def __post_init__(self) -> None:
        # MLflow's checks: a wrong type is a TypeError, an empty signature a ValueError
        for what, value in (("inputs", self.inputs), ("outputs", self.outputs)):
            if value is not None and not isinstance(value, Schema):
                raise TypeError(f"{what} must be either None or a Schema, got '{type(value).__name__}'")
        if self.inputs is None and self.outputs is None and self.params is None:
            raise ValueError("At least one of inputs, outputs or params must be provided")

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        return cls(
            Schema.from_json(data["inputs"]) if data.get("inputs") else None,
            Schema.from_json(data["outputs"]) if data.get("outputs") else None,
        )


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "dtypes")


def _column_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in "OSU":
        return "binary" if kind == "S" else "string"
    if kind == "M":
        return "datetime"
    found = _COLUMN_TYPES.get((kind, dtype.itemsize))
    if found is None:
        raise InvalidArgument(f"cannot describe values of type {dtype} in a signature")
    return found


def as_array(data: Any) -> Any:
    """numpy view of a tensor from any framework (torch, tensorflow, jax...), else ``data``."""
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # torch.Tensor
        return data.detach().cpu().numpy()
    if type(data).__module__.startswith(("tensorflow", "jax", "keras")) and hasattr(data, "numpy"):
        return data.numpy()
    return data


def _schema_of(data: Any) -> Schema:
    import numpy as np

    data = as_array(data)
    if isinstance(data, (list, tuple)) and data and all(hasattr(as_array(d), "shape") for d in data):
        # several outputs (a tuple of tensors): one unnamed TensorSpec each, as MLflow
        return Schema([spec for d in data for spec in _schema_of(d).inputs])
    if _is_dataframe(data):
        return Schema([ColSpec(_column_type(dtype), str(name)) for name, dtype in data.dtypes.items()])
    if type(data).__name__ == "Series":
        return Schema([ColSpec(_column_type(data.dtype), None if data.name is None else str(data.name))])
    if isinstance(data, dict):
        return Schema([ColSpec(_column_type(np.asarray(v).dtype), str(k)) for k, v in data.items()])
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        # records, as MLflow reads them: one column per key, typed from all its values
        keys = list(dict.fromkeys(k for row in data for k in row))
        return Schema([
            ColSpec(_column_type(np.asarray([row[k] for row in data if k in row]).dtype), str(k),
                    required=all(k in row for row in data))
            for k in keys
        ])
    if isinstance(data, list) and data and all(isinstance(v, (bool, int, float, str)) for v in data):
        return Schema([ColSpec(_column_type(np.asarray(data).dtype))])  # MLflow: a list of scalars is one column
    array = np.asarray(data)
    if array.dtype == object:
        raise InvalidArgument("cannot infer a signature from a mixed-type list: pass a numpy array or DataFrame")
    return Schema([TensorSpec(str(array.dtype), (-1, *array.shape[1:]))])


def infer_signature(model_input: Any = None, model_output: Any = None, params: Any = None) -> ModelSignature:
    """A signature from example inputs (numpy array, DataFrame, dict of columns) and outputs."""
    return ModelSignature(
        _schema_of(model_input) if model_input is not None else None,
        _schema_of(model_output) if model_output is not None else None,
    )


def enforce(schema: Schema | None, data: Any) -> Any:
    """Check (and safely cast) input against a signature; say exactly what does not fit."""
    if schema is None or not schema.inputs:
        return data
    import numpy as np

    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        array = data.to_numpy() if _is_dataframe(data) else np.asarray(as_array(data))
        expected = np.dtype(spec.dtype)
        if array.ndim != len(spec.shape):
            raise InvalidArgument(
                f"input has shape {array.shape}; the model's signature expects {len(spec.shape)} dimensions "
                f"{_shape_text(spec.shape)}"
            )
        for axis, (got, want) in enumerate(zip(array.shape, spec.shape)):
            if want != -1 and got != want:
                raise InvalidArgument(
                    f"input has shape {array.shape}; the model's signature expects {_shape_text(spec.shape)} "
                    f"(dimension {axis} must be {want})"
                )
        if array.dtype != expected:
            if not np.can_cast(array.dtype, expected, casting="same_kind"):
                raise InvalidArgument(
                    f"input values are {array.dtype}; the model's signature expects {expected}"
                )
            array = array.astype(expected)
        return array
    return _enforce_columns(schema, data)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("any" if d == -1 else str(d) for d in shape) + ")"


def _enforce_columns(schema: Schema, data: Any) -> Any:
    import numpy as np
    import pandas as pd

    names = [spec.name for spec in schema.inputs]
    if not _is_dataframe(data):
        array = np.asarray(data)
        if array.ndim == 1 and len(names) == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2 or array.shape[1] != len(names):
            raise InvalidArgument(
                f"input has shape {array.shape}; the model's signature expects {len(names)} columns: "
                f"{', '.join(map(str, names))}"
            )
        data = pd.DataFrame(array, columns=names)
    missing = [n for n, spec in zip(names, schema.inputs) if spec.required and n not in data.columns]
    if missing:
        raise InvalidArgument(f"input is missing column(s) {missing}; the model's signature expects {names}")
    out = {}
    for spec in schema.inputs:
        if spec.name not in data.columns:
            continue
        column = data[spec.name]
        want = np.dtype(_NUMPY_OF_COLUMN[spec.type])
        if spec.type in ("string", "binary"):
            out[spec.name] = column
            continue
        if column.dtype != want:
            if column.dtype.kind == "O" or not np.can_cast(column.dtype, want, casting="same_kind"):
                raise InvalidArgument(
                    f"column {spec.name!r} has values of type {column.dtype}; the signature expects {spec.type}"
                )
            column = column.astype(want)
        out[spec.name] = column
    return pd.DataFrame(out, index=data.index)
