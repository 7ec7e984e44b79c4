"""``mlflow.data``: datasets a run reads, with MLflow's names, digests and JSON.

``from_pandas`` and ``from_numpy`` describe data (name, digest, source, schema, profile) without
storing it; ``mlflow.log_input(dataset, context=...)`` records that a run used it, and
``get_source`` turns a logged dataset's source back into an object. The digests are MLflow's
(the same data gets the same digest in both tools). Names are exported lazily: importing
``lighttrack.data`` loads neither pandas nor numpy until a constructor runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "from_pandas": "lighttrack.data.pandas_dataset",
    "from_numpy": "lighttrack.data.numpy_dataset",
    "get_source": "lighttrack.data.dataset_source_registry",
    "Dataset": "lighttrack.data.dataset",
    "DatasetSource": "lighttrack.data.dataset_source",
}
_SUBMODULES = {
    "dataset", "dataset_source", "dataset_source_registry", "digest_utils", "pandas_dataset", "numpy_dataset",
    "meta_dataset", "http_dataset_source", "code_dataset_source", "filesystem_dataset_source",
    "artifact_dataset_sources", "sources", "schema",
}

__all__ = ["get_source", "from_pandas", "from_numpy"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"lighttrack.data.{name}")
    raise AttributeError(f"module 'lighttrack.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])
