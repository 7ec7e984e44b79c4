"""Which database file to use.

Precedence: an explicit argument > ``set_tracking_uri(...)`` > ``LIGHTTRACK_TRACKING_URI``
> ``./lighttrack.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lighttrack.errors import InvalidArgument

ENV_VAR = "LIGHTTRACK_TRACKING_URI"
DEFAULT_FILE = "lighttrack.db"

_tracking_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Point the fluent API at a file. ``None`` goes back to the environment/default."""
    global _tracking_uri
    if uri is None:
        _tracking_uri = None
        return
    path_from_uri(uri)  # validate now, where the bad value enters
    _tracking_uri = str(uri)


def get_tracking_uri() -> str:
    """The URI in force, always in ``sqlite:///`` form (what MLflow users expect to see)."""
    return "sqlite:///" + str(resolve_path())


def is_tracking_uri_set() -> bool:
    return _tracking_uri is not None or bool(os.environ.get(ENV_VAR))


def path_from_uri(uri: str | os.PathLike[str]) -> Path:
    """Turn a plain path, ``sqlite:///rel.db``, ``sqlite:////abs.db`` or ``file:`` URI into a path."""
    text = os.fspath(uri).strip()
    if not text:
        raise InvalidArgument("tracking URI is empty: give a file path or sqlite:///path/to/file.db")
    lowered = text.lower()
    if lowered.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
        if not text:
            raise InvalidArgument("sqlite:/// URI names no file: use sqlite:///path/to/file.db")
    elif lowered.startswith("file://"):
        text = text[len("file://"):]
    elif lowered.startswith("file:"):
        text = text[len("file:"):]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidArgument(
            f"unsupported tracking URI scheme {scheme!r}: lighttrack stores everything in one "
            "SQLite file; use a path or sqlite:///path/to/file.db "
            "(to send runs to an MLflow server, use `lighttrack push-mlflow URI`)"
        )
    if text in (":memory:",):
        raise InvalidArgument("in-memory databases are not supported: give a file path or sqlite:///path/to/file.db")
    return Path(text).expanduser()


def resolve_path(uri: str | os.PathLike[str] | None = None) -> Path:
    """The file to open: argument > set_tracking_uri > environment > ./lighttrack.db."""
    if uri is not None:
        return path_from_uri(uri).absolute()
    if _tracking_uri is not None:
        return path_from_uri(_tracking_uri).absolute()
    env = os.environ.get(ENV_VAR)
    if env:
        return path_from_uri(env).absolute()
    return Path(DEFAULT_FILE).absolute()
