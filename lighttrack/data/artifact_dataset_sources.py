"""The URI-based sources MLflow derives from its artifact stores, by MLflow's class names and
source types: ``local`` for paths and ``file:`` URIs, the scheme itself for the others."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lighttrack.data.filesystem_dataset_source import FileSystemDatasetSource


class LocalArtifactDatasetSource(FileSystemDatasetSource):
    """A dataset on the local filesystem: a path (relative or absolute) or a ``file:`` URI."""

    @staticmethod
    def _get_source_type() -> str:
        return "local"

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        if not isinstance(raw_source, (str, Path)):
            return False
        parsed = urlparse(str(raw_source))
        if parsed.scheme == "":
            return True
        if parsed.scheme == "file":
            host = parsed.hostname
            return not host or host == "." or host.startswith(("localhost", "127.0.0.1"))
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> LocalArtifactDatasetSource:
        return cls(str(raw_source))

    def local_path(self) -> Path:
        parsed = urlparse(self.uri)
        return Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(self.uri)

    def load(self, dst_path: str | None = None) -> str:
        """The dataset's local path; with ``dst_path``, a copy of it placed in that folder."""
        from lighttrack.errors import NotFound

        path = self.local_path()
        if not path.exists():
            raise NotFound(f"dataset source {self.uri!r} does not exist on this machine")
        if dst_path is None:
            return str(path.absolute())
        target = Path(dst_path) / path.name
        Path(dst_path).mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)
        return str(target)


def _uri_source(class_name: str, scheme: str) -> type[FileSystemDatasetSource]:
    """A source class for one blob-store scheme (s3://, gs://...); lighttrack names and
    round-trips them, it does not fetch from them."""

    def _get_source_type() -> str:
        return scheme

    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and urlparse(raw_source).scheme == scheme

    def _resolve(cls, raw_source: Any):
        return cls(str(raw_source))

    return type(class_name, (FileSystemDatasetSource,), {
        "__doc__": f"A dataset at a {scheme}:// URI.",
        "_get_source_type": staticmethod(_get_source_type),
        "_can_resolve": staticmethod(_can_resolve),
        "_resolve": classmethod(_resolve),
        "__module__": __name__,
    })


# MLflow's artifact-store schemes (http/https are HTTPDatasetSource; runs:/ models:/ are not sources).
URI_SOURCES: dict[str, type[FileSystemDatasetSource]] = {
    scheme: _uri_source(name, scheme)
    for scheme, name in (
        ("s3", "S3ArtifactDatasetSource"), ("r2", "R2ArtifactDatasetSource"), ("b2", "B2ArtifactDatasetSource"),
        ("gs", "GCSArtifactDatasetSource"), ("wasbs", "AzureBlobArtifactDatasetSource"),
        ("ftp", "FTPArtifactDatasetSource"), ("sftp", "SFTPArtifactDatasetSource"),
        ("hdfs", "HdfsArtifactDatasetSource"), ("viewfs", "ViewfsArtifactDatasetSource"),
        ("abfss", "AzureDataLakeArtifactDatasetSource"),
    )
}
globals().update({cls.__name__: cls for cls in URI_SOURCES.values()})
