"""``mlflow.data.sources``: every dataset source class lighttrack knows, by MLflow's names."""

from __future__ import annotations

from lighttrack.data.artifact_dataset_sources import URI_SOURCES, LocalArtifactDatasetSource
from lighttrack.data.code_dataset_source import CodeDatasetSource
from lighttrack.data.http_dataset_source import HTTPDatasetSource

globals().update({cls.__name__: cls for cls in URI_SOURCES.values()})

__all__ = ["CodeDatasetSource", "HTTPDatasetSource", "LocalArtifactDatasetSource",
           *(cls.__name__ for cls in URI_SOURCES.values())]
