"""``mlflow.data.dataset.Dataset``: the base of every dataset a run can log as an input."""

from __future__ import annotations

import json
from typing import Any

from lighttrack.data.dataset_source import DatasetSource


class Dataset:
    """A dataset's name, digest (a short content hash), source, schema and profile. The data
    itself is never stored: ``log_input`` records this description."""

    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None) -> None:
        self._name = name
        self._source = source
        # Subclasses set what the digest is computed from before calling this.
        self._digest = digest or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """The name given, else MLflow's default ``"dataset"``."""
        return self._name if self._name is not None else "dataset"

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source(self) -> DatasetSource:
        return self._source

    @property
    def profile(self) -> Any | None:
        return None

    @property
    def schema(self) -> Any | None:
        return None

    def _get_source_type(self) -> str:
        return self.source._get_source_type()

    def to_dict(self) -> dict[str, str]:
        """name, digest, source (JSON) and source_type; subclasses add schema and profile."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self.source.to_json(),
            "source_type": self.source._get_source_type(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self):
        """The stored form (``mlflow.entities.Dataset``): what ``log_input`` writes."""
        from lighttrack.entities import Dataset as DatasetEntity

        config = self.to_dict()
        return DatasetEntity(
            name=config["name"], digest=config["digest"], source_type=config["source_type"],
            source=config["source"], schema=config.get("schema"), profile=config.get("profile"),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} digest={self.digest!r} source_type={self._get_source_type()!r}>"
