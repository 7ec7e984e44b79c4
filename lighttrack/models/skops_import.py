"""Importing ``skops.io`` without paying for ``sklearn.utils.all_estimators()``.

skops builds its default trusted-type list at import time by calling ``all_estimators()``,
which imports every scikit-learn module (and, through array_api_compat, torch when it is
installed): about 4 s of a cold ``models predict`` for one list of names. The list depends only
on the scikit-learn and skops versions, so it is computed once with the real function, kept in
the user's cache folder, and handed to skops as light name objects on later imports. skops'
defaults stay exactly what they would be; lighttrack's own trust decision does not use them
(lighttrack.models.trust decides, and passes skops the exact list it accepted).
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


class _TypeName:
    """Stands in for an estimator class where skops only reads ``__module__``/``__name__``."""

    def __init__(self, module: str, name: str) -> None:
        self.__module__ = module
        self.__name__ = name


def cache_folder() -> Path:
    """lighttrack's folder in the user's cache ($XDG_CACHE_HOME or ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lighttrack"


def _cache_file() -> Path:
    versions = f"{metadata.version('scikit-learn')}-{metadata.version('skops')}"
    return cache_folder() / f"sklearn-estimators-{versions}.json"


def _cached_names() -> list[list[str]] | None:
    try:
        names = json.loads(_cache_file().read_text())
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return None
    ok = isinstance(names, list) and all(isinstance(n, list) and len(n) == 3 for n in names)
    return names if ok else None


def _store(estimators: list[tuple[str, type]]) -> None:
    try:
        file = _cache_file()
        file.parent.mkdir(parents=True, exist_ok=True)
        rows = [[name, cls.__module__, cls.__name__] for name, cls in estimators]
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows))
        os.replace(tmp, file)
    except (OSError, metadata.PackageNotFoundError):
        pass  # no cache folder: the next import pays the full price again, nothing else changes


def skops_io() -> Any:
    """``import skops.io``, fast after the first time on this machine."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils

    real = sklearn.utils.all_estimators
    names = _cached_names()

    def listed(*args: Any, **kwargs: Any) -> list[tuple[str, Any]]:
        if args or kwargs or names is None:
            found = real(*args, **kwargs)
            if not args and not kwargs:
                _store(found)
            return found
        return [(name, _TypeName(module, cls)) for name, module, cls in names]

    sklearn.utils.all_estimators = listed
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = real
    return skops.io
