"""Making lighttrack importable inside a project's own environment, offline and in milliseconds.

A folder of symlinks — ``lighttrack`` itself and the packages it needs to log (sqlite-utils,
PyYAML, click, skops and what they pull in) — is made once per set of installed versions under
the cache folder, and a ``.pth`` file in the environment's site-packages adds it to
``sys.path`` *after* the environment's own packages. So nothing is downloaded for lighttrack,
a version the project pins wins over ours, and pip in the environment never sees (or
uninstalls) the linked packages, because no ``dist-info`` is linked.

Heavy ML libraries (numpy, scipy, scikit-learn, pandas...) are never linked: a project must
list what it uses, or it would only run here by accident.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from importlib import metadata, util
from pathlib import Path

#: what a project's code needs to log runs and models with lighttrack
RUNTIME_ROOTS = ("sqlite-utils", "pyyaml", "click", "skops")
#: never linked: installers, and the ML stack a project must declare itself
NOT_LINKED = {
    "pip", "setuptools", "wheel", "numpy", "scipy", "scikit-learn", "pandas", "joblib",
    "threadpoolctl", "colorama",
}
PTH_NAME = "lighttrack-runtime.pth"


def cache_root() -> Path:
    """``$LIGHTTRACK_CACHE_DIR``, else ``$XDG_CACHE_HOME/lighttrack``, else ``~/.cache/lighttrack``."""
    explicit = os.environ.get("LIGHTTRACK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "lighttrack"


def lighttrack_package_dir() -> Path:
    import lighttrack

    return Path(lighttrack.__file__).resolve().parent


def lighttrack_source_dir() -> Path:
    """The folder holding the ``lighttrack`` package (a checkout, or site-packages)."""
    return lighttrack_package_dir().parent


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    names = []
    for req in dist.requires or []:
        spec, _, marker = req.partition(";")
        if "extra" in marker:
            continue
        if marker.strip():
            try:
                from packaging.markers import Marker

                if not Marker(marker.strip()).evaluate():
                    continue
            except Exception:
                pass
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if match:
            names.append(match.group(1))
    return names


def _distributions() -> dict[str, metadata.Distribution]:
    """The installed distributions lighttrack needs at run time (transitively), by name."""
    found: dict[str, metadata.Distribution] = {}
    todo = list(RUNTIME_ROOTS)
    while todo:
        name = _normal(todo.pop())
        if name in found or name in NOT_LINKED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist
        todo.extend(_requirement_names(dist))
    return found


def _top_level_names(dist: metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) or parts[0] in ("..", "bin"):
            continue
        first = parts[0]
        if len(parts) == 1:
            if first.endswith(".py"):
                names.add(first[:-3])
            elif first.endswith(".so") or first.endswith(".pyd"):
                names.add(first.split(".", 1)[0])
        elif not first.startswith("__"):
            names.add(first)
    return names


def runtime_links() -> dict[str, str]:
    """link name -> the installed module file or package folder it points at."""
    links = {"lighttrack": str(lighttrack_package_dir())}
    for dist in _distributions().values():
        for name in _top_level_names(dist):
            if name in links or not name.isidentifier():
                continue
            try:
                spec = util.find_spec(name)
            except (ImportError, ValueError):
                continue
            if spec is None or spec.origin in (None, "built-in", "frozen"):
                continue
            origin = Path(spec.origin)
            if spec.submodule_search_locations:
                target = origin.parent
                links[name] = str(target)
            else:
                links[origin.name] = str(origin)
    return links


def ensure_runtime_dir() -> Path:
    """The symlink folder for the packages installed now (made on first use, then reused)."""
    links = runtime_links()
    key = hashlib.sha256(
        json.dumps([sys.version_info[:2], sorted(links.items())]).encode()
    ).hexdigest()[:16]
    target = cache_root() / "runtime" / key
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        for name, source in links.items():
            (staging / name).symlink_to(source)
        try:
            staging.rename(target)
        except OSError:  # another process made it first
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def install_pth(site_packages: Path, runtime_dir: Path) -> None:
    """Point the environment at the runtime folder (rewritten when it changed)."""
    pth = site_packages / PTH_NAME
    text = f"{runtime_dir}\n"
    if not pth.is_file() or pth.read_text() != text:
        site_packages.mkdir(parents=True, exist_ok=True)
        pth.write_text(text)
