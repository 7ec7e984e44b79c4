"""Which database file to use.

Precedence: an explicit argument > ``set_tracking_uri(...)`` > ``LIGHTTRACK_TRACKING_URI``
> ``MLFLOW_TRACKING_URI`` (only when it names something lighttrack can serve: a lighttrack file,
or a new ``.db`` path / ``sqlite:///`` file) > ``./lighttrack.db``. When MLflow's variable names a
server, an MLflow database or an MLflow file store, lighttrack says so once on stderr (pointing
at ``lighttrack push-mlflow``) and never writes there.
"""

from __future__ import annotations

import os
from pathlib import Path

from lighttrack.errors import InvalidArgument

ENV_VAR = "LIGHTTRACK_TRACKING_URI"
MLFLOW_ENV_VAR = "MLFLOW_TRACKING_URI"
DEFAULT_FILE = "lighttrack.db"
_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".lighttrack")

_tracking_uri: str | None = None
_registry_uri: str | None = None
_warned: set[str] = set()
_servable: dict[str, Path] = {}


def env(name: str) -> str | None:
    """``LIGHTTRACK_<name>``, else MLflow's ``MLFLOW_<name>`` (so MLflow job scripts keep working)."""
    return os.environ.get(f"LIGHTTRACK_{name}") or os.environ.get(f"MLFLOW_{name}") or None


def _warn_once(value: str, what: str) -> None:
    if value in _warned:
        return
    _warned.add(value)
    import sys

    print(
        f"lighttrack: MLFLOW_TRACKING_URI={value} {what}; lighttrack ignores it and uses "
        f"{Path(DEFAULT_FILE).absolute()} (send runs there later with `lighttrack push-mlflow URI`)",
        file=sys.stderr,
    )


def _is_lighttrack_file(path: Path) -> bool | None:
    """True for a lighttrack file, False for any other existing file, None when absent/empty."""
    try:
        with open(path, "rb") as f:
            raw = f.read(100)
    except (FileNotFoundError, IsADirectoryError):
        return None
    except OSError:
        return False
    if not raw:
        return None
    from lighttrack.store.db import APPLICATION_ID

    return len(raw) >= 72 and int.from_bytes(raw[68:72], "big") == APPLICATION_ID


def mlflow_env_path() -> Path | None:
    """The file ``MLFLOW_TRACKING_URI`` names when lighttrack can serve it, else None (said once)."""
    value = os.environ.get(MLFLOW_ENV_VAR, "").strip()
    if not value:
        return None
    if value in _servable:  # every fluent call resolves the file: read the header once
        return _servable[value]
    lowered = value.lower()
    if "://" in value and not lowered.startswith(("sqlite:///", "file://")):
        _warn_once(value, "names an MLflow server or database, not a lighttrack file")
        return None
    path = path_from_uri(value).expanduser().absolute()
    if path.is_dir():
        _warn_once(value, "is an MLflow file store (a folder)")
        return None
    kind = _is_lighttrack_file(path)
    if kind is False:
        _warn_once(value, "is an MLflow (or other) database, not a lighttrack file")
        return None
    if kind is None and not lowered.startswith("sqlite:") and path.suffix.lower() not in _DB_SUFFIXES:
        _warn_once(value, "names no file ending in .db: MLflow would make a file store there")
        return None
    if kind:
        _servable[value] = path
    return path


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
    return _tracking_uri is not None or bool(os.environ.get(ENV_VAR)) or mlflow_env_path() is not None


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Accepted for MLflow code; the registry always lives in the tracking file (versions point at
    its runs), so a different file is said once and not used."""
    global _registry_uri
    if uri is None:
        _registry_uri = None
        return
    path = path_from_uri(uri).absolute()
    if path != resolve_path():
        import sys

        print(f"lighttrack: the registry lives in the tracking file ({resolve_path()}); registry URI "
              f"{os.fspath(uri)} is recorded but not used", file=sys.stderr)
    _registry_uri = os.fspath(uri)


def get_registry_uri() -> str:
    """The registry URI set, else the tracking URI (where the registry really is)."""
    return _registry_uri if _registry_uri is not None else get_tracking_uri()


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
    value = os.environ.get(ENV_VAR)
    if value:
        return path_from_uri(value).absolute()
    from_mlflow = mlflow_env_path()
    if from_mlflow is not None:
        return from_mlflow
    return Path(DEFAULT_FILE).absolute()
