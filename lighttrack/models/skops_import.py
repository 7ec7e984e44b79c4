"""Importing ``skops.io`` without paying for ``sklearn.utils.all_estimators()``.

skops builds its default trusted-type lists at import time: ``all_estimators()``, which imports
every scikit-learn module (and, through array_api_compat, torch when it is installed), about
4 s of a cold ``models predict``; and two scans of every public name of ``scipy.special`` for
its ufuncs, another 0.4 s. The lists depend only on the installed versions, so they are
computed once with the real functions, kept in the user's cache folder, and handed to skops
on later imports (estimators as light name objects). skops' defaults stay exactly what they
would be; lighttrack's own trust decision does not use them (lighttrack.models.trust decides,
and passes skops the exact list it accepted).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
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


def _names_file() -> Path:
    versions = "-".join(metadata.version(p) for p in ("skops", "scipy", "numpy"))
    return cache_folder() / f"skops-public-names-{versions}.json"


def write_cache_json(file: Path, value: Any) -> None:
    """Replace a cache file whole (readers never see half of one). No cache folder: nothing is
    kept, and the next process computes the value again; nothing else changes."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, file)
    except OSError:
        pass


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
    except metadata.PackageNotFoundError:
        return
    write_cache_json(file, [[name, cls.__module__, cls.__name__] for name, cls in estimators])


def _cached_public_names() -> dict[str, list[str]]:
    try:
        names = json.loads(_names_file().read_text())
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return {}
    ok = isinstance(names, dict) and all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                                         for v in names.values())
    return names if ok else {}


def _public_names_from_cache(real: Any) -> Any:
    """skops' ``get_public_type_names`` answering scipy.special's scans from the cache; any
    other module is scanned for real, as before."""
    cached = _cached_public_names()
    found: dict[str, list[str]] = {}

    def public_names(module: Any, oftype: type) -> list[str]:
        key = f"{getattr(module, '__name__', '')}:{oftype.__module__}.{oftype.__qualname__}"
        if not key.startswith("scipy.special:"):
            return real(module, oftype)
        if key not in cached:
            cached[key] = found[key] = real(module, oftype)
        return list(cached[key])

    public_names.store = lambda: found and write_cache_json(_names_file(), cached)  # type: ignore[attr-defined]
    return public_names


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

    hook = _TrustedTypesHook()
    sklearn.utils.all_estimators = listed
    sys.meta_path.insert(0, hook)
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators = real
        sys.meta_path.remove(hook)
    if hook.public_names is not None:
        try:
            hook.public_names.store()
        except metadata.PackageNotFoundError:
            pass
    return skops.io


class _TrustedTypesHook(importlib.abc.MetaPathFinder):
    """While ``skops.io._trusted_types`` runs (and only then), its ``get_public_type_names``
    answers scipy.special's scans from the cache. (``skops.io._utils`` cannot be patched before
    ``import skops.io``: importing it runs the package, which builds the lists.)"""

    public_names: Any = None

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "skops.io._trusted_types":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module
        hook = self

        def exec_module(module: Any) -> None:
            import skops.io._utils as skops_utils

            real = skops_utils.get_public_type_names
            hook.public_names = skops_utils.get_public_type_names = _public_names_from_cache(real)
            try:
                run(module)
            finally:
                skops_utils.get_public_type_names = real

        spec.loader.exec_module = exec_module  # this spec's own loader object
        return spec
