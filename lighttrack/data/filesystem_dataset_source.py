"""``mlflow.data.filesystem_dataset_source.FileSystemDatasetSource``: a dataset at a URI."""

from __future__ import annotations

from typing import Any

from lighttrack.data.dataset_source import DatasetSource


class FileSystemDatasetSource(DatasetSource):
    """A dataset stored at a filesystem path or blob-store URI (``{"uri": ...}`` as JSON)."""

    def __init__(self, uri: str) -> None:
        self._uri = str(uri)

    @property
    def uri(self) -> str:
        return self._uri

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> FileSystemDatasetSource:
        from lighttrack.errors import InvalidArgument

        uri = source_dict.get("uri") if isinstance(source_dict, dict) else None
        if not isinstance(uri, str):
            raise InvalidArgument(f'cannot read a {cls.__name__}: its JSON needs a "uri" string')
        return cls(uri)
