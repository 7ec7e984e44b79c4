"""``mlflow.data.http_dataset_source.HTTPDatasetSource``: a dataset at an http(s) URL."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any
from urllib.parse import urlparse

from lighttrack.data.dataset_source import DatasetSource


class HTTPDatasetSource(DatasetSource):
    def __init__(self, url: str) -> None:
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    @staticmethod
    def _get_source_type() -> str:
        return "http"

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and urlparse(raw_source).scheme in ("http", "https")

    @classmethod
    def _resolve(cls, raw_source: Any) -> HTTPDatasetSource:
        return cls(raw_source)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> HTTPDatasetSource:
        from lighttrack.errors import InvalidArgument

        url = source_dict.get("url") if isinstance(source_dict, dict) else None
        if not isinstance(url, str):
            raise InvalidArgument('cannot read an HTTPDatasetSource: its JSON needs a "url" string')
        return cls(url)

    def load(self, dst_path: str | None = None) -> str:
        """Download the URL into ``dst_path`` (a new temporary folder by default); returns the
        file's path. The file name comes from Content-Disposition or the URL, never a path."""
        import urllib.request

        from lighttrack.errors import InvalidArgument, LighttrackError

        if not self._can_resolve(self.url):
            raise InvalidArgument(f"cannot download {self.url!r}: only http:// and https:// URLs are loaded")
        try:
            response = urllib.request.urlopen(self.url, timeout=60)  # noqa: S310 - scheme checked above
        except OSError as exc:
            raise LighttrackError(f"cannot download dataset source {self.url}: {getattr(exc, 'reason', exc)}") from None
        with response:
            name = ""
            disposition = response.headers.get("Content-Disposition") or ""
            for match in re.finditer(r"filename=(.+)", disposition):
                name = match[1].strip("'\"")
                if os.path.basename(name) != name or name in (".", ".."):
                    raise InvalidArgument(f"the server named the file {name!r}: a file name is expected, not a path")
                break
            name = name or os.path.basename(urlparse(self.url).path) or "dataset_source"
            folder = dst_path or tempfile.mkdtemp(prefix="lighttrack-dataset-")
            os.makedirs(folder, exist_ok=True)
            target = os.path.join(folder, name)
            with open(target, "wb") as out:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
        return target
