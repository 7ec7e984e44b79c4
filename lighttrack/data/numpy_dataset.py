"""``mlflow.data.from_numpy``: arrays (or dicts of named arrays) described as a dataset."""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import Any

from lighttrack.data.dataset import Dataset
from lighttrack.data.dataset_source import DatasetSource
from lighttrack.errors import InvalidArgument

log = logging.getLogger("lighttrack")


def _check_arrays(value: Any, what: str) -> None:
    import numpy as np

    items = value.values() if isinstance(value, dict) else [value]
    for item in items:
        if not isinstance(item, np.ndarray):
            raise InvalidArgument(f"from_numpy {what} must be a numpy array or a dict of them, not "
                                  f"{type(item).__name__}")


class NumpyDataset(Dataset):
    def __init__(self, features: Any, source: DatasetSource, targets: Any = None, name: str | None = None,
                 digest: str | None = None) -> None:
        _check_arrays(features, "features")
        if targets is not None:
            _check_arrays(targets, "targets")
        self._features = features
        self._targets = targets
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        from lighttrack.data.digest_utils import compute_numpy_digest

        return compute_numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    def _profile_key(self) -> object:
        def shapes(data: Any) -> object:
            return tuple((k, v.shape, v.dtype.str) for k, v in data.items()) if isinstance(data, dict) else (
                data.shape, data.dtype.str)

        return shapes(self._features), None if self._targets is None else shapes(self._targets)

    @property
    def profile(self) -> dict[str, Any]:
        def attribute(data: Any, name: str) -> Any:
            if isinstance(data, dict):
                return {key: _plain(getattr(array, name)) for key, array in data.items()}
            return _plain(getattr(data, name))

        profile = {f"features_{a}": attribute(self._features, a) for a in ("shape", "size", "nbytes")}
        if self._targets is not None:
            profile.update({f"targets_{a}": attribute(self._targets, a) for a in ("shape", "size", "nbytes")})
        return profile

    @cached_property
    def schema(self) -> Any | None:
        from lighttrack.data.schema import TensorDatasetSchema, infer_tensor_schema

        try:
            targets = infer_tensor_schema(self._targets) if self._targets is not None else None
            return TensorDatasetSchema(infer_tensor_schema(self._features), targets)
        except Exception as exc:  # a schema is a courtesy, as in MLflow
            log.warning("lighttrack: no schema for the numpy dataset: %s", exc)
            return None

    def to_dict(self) -> dict[str, str]:
        config = super().to_dict()
        config["schema"] = json.dumps(self.schema.to_dict()) if self.schema else None
        config["profile"] = json.dumps(self.profile)
        return config


def _plain(value: Any) -> Any:
    return tuple(int(n) for n in value) if isinstance(value, tuple) else int(value)


def from_numpy(features: Any, source: str | DatasetSource | None = None, targets: Any = None,
               name: str | None = None, digest: str | None = None) -> NumpyDataset:
    """Describe arrays as a dataset: ``features`` (and optional ``targets``) are numpy arrays
    or dicts of named arrays. ``source``: where they came from (default: the code running now)."""
    from lighttrack.data.pandas_dataset import resolve_source

    return NumpyDataset(features=features, source=resolve_source(source), targets=targets, name=name, digest=digest)
