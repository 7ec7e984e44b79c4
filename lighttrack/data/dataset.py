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

    def _profile_key(self) -> object:
        """What the profile depends on (subclasses: the data's shape); see _to_mlflow_entity."""
        return None

    def _to_mlflow_entity(self):
        """The stored form (``mlflow.entities.Dataset``): what ``log_input`` writes. Kept while
        name, source and the data's shape stay the same (the digest and schema are fixed when
        the dataset is made, as in MLflow), so logging one dataset to 1,000 runs builds its JSON
        once."""
        from lighttrack.entities import Dataset as DatasetEntity

        key = (self._name, self._digest, id(self._source), self._profile_key())
        cached = getattr(self, "_entity_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        config = self.to_dict()
        entity = DatasetEntity(
            name=config["name"], digest=config["digest"], source_type=config["source_type"],
            source=config["source"], schema=config.get("schema"), profile=config.get("profile"),
        )
        self._entity_cache = (key, entity)
        return entity

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} name={self.name!r} digest={self.digest!r} "
                f"source_type={self._get_source_type()!r}>")
