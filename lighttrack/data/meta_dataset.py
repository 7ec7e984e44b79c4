"""``mlflow.data.meta_dataset.MetaDataset``: a dataset known only by its source (and schema),
for data too big or too remote to hash: its digest is computed from that description."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lighttrack.data.dataset import Dataset
from lighttrack.data.dataset_source import DatasetSource


class MetaDataset(Dataset):
    def __init__(self, source: DatasetSource, name: str | None = None, digest: str | None = None,
                 schema: Any | None = None) -> None:
        self._schema = schema  # before super(): the digest depends on it
        super().__init__(source=source, name=name, digest=digest)

    def _schema_dicts(self) -> Any:
        from lighttrack.data.schema import schema_dicts

        return schema_dicts(self._schema) if self._schema is not None else None

    def _compute_digest(self) -> str:
        config = {
            "name": self.name,
            "source": self.source.to_json(),
            "source_type": self.source._get_source_type(),
            "schema": self._schema_dicts() if self._schema else "",
        }
        return hashlib.sha256(json.dumps(config).encode("utf-8")).hexdigest()[:8]

    @property
    def schema(self) -> Any | None:
        return self._schema

    def to_dict(self) -> dict[str, str]:
        config = super().to_dict()
        if self._schema:
            config["schema"] = json.dumps({"mlflow_colspec": self._schema_dicts()})
        return config
