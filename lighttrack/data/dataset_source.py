"""``mlflow.data.dataset_source.DatasetSource``: where a dataset came from, as JSON."""

from __future__ import annotations

import json
from typing import Any


class DatasetSource:
    """A dataset's origin (a path, a URL, the code that built it). Subclasses name their
    ``source_type`` and say how they read and write their dictionary form."""

    @staticmethod
    def _get_source_type() -> str:
        raise NotImplementedError

    def load(self, **kwargs: Any) -> Any:
        from lighttrack.errors import InvalidArgument

        raise InvalidArgument(f"a {self._get_source_type()!r} dataset source cannot be loaded by lighttrack")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> DatasetSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> DatasetSource:
        raise NotImplementedError

    @classmethod
    def from_json(cls, source_json: str) -> DatasetSource:
        return cls.from_dict(json.loads(source_json))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.to_json()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"
