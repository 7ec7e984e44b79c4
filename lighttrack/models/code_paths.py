"""A model's ``code_paths`` on ``sys.path``, only once the caller has chosen to run its code.

MLflow prepends a model's ``code/`` folder to ``sys.path`` on every load, so the file decides
which modules ``import`` finds (and can shadow any installed one). Under lighttrack's trust rule
(DESIGN.md section 10) that happens only on the path where the caller already said the model's
code may run: ``allow_pickle=True`` (or ``LIGHTTRACK_ALLOW_PICKLE=1``) on a format that
unpickles. Unpickling imports the classes it names anyway; ``code/`` is where MLflow users keep
them. Formats that build only known types (skops against the allow-list, booster files, ONNX,
pt2, SavedModel) never need it and never get it; a skops ``trusted_types=`` name is imported
from the caller's own environment, not from the model.

The folder put on ``sys.path`` is a private copy of the hash-checked ``code/`` (one per distinct
content, removed when the process exits): a model opened from a temporary download is deleted
right after loading, and a class imported later (a lazy ``import`` inside ``predict``) must still
find its module, and the code that runs is the code that was checked, not whatever sits in the
model folder later.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from lighttrack.models.mlmodel import Model

_lock = threading.Lock()
#: content key -> the private copy already on sys.path
_added: dict[str, str] = {}
_root: Path | None = None


def code_folder(folder: Path, meta: Model, flavor: str) -> Path | None:
    """The model's ``code`` folder named by the flavour block (else the python_function block,
    where MLflow's pyfunc loader looks), or None when it has none."""
    from lighttrack.models.files import inside

    for name in (flavor, "python_function"):
        conf = meta.flavors.get(name)
        rel = conf.get("code") if isinstance(conf, dict) else None
        if isinstance(rel, str) and rel:
            path = inside(folder, rel, f"MLmodel's {name}.code")
            return path if path.is_dir() else None
    return None


def _content_key(code: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in code.rglob("*") if p.is_file()):
        digest.update(file.relative_to(code).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _private_root() -> Path:
    global _root
    if _root is None:
        _root = Path(tempfile.mkdtemp(prefix="lighttrack-code-"))
        atexit.register(shutil.rmtree, _root, True)
    return _root


def add_model_code(folder: Path, meta: Model, flavor: str) -> str | None:
    """Prepend a private copy of the model's ``code/`` to ``sys.path`` (as MLflow does) and
    return it; None when the model has no code. Call it only after ``pickle_allowed`` said yes.
    """
    code = code_folder(folder, meta, flavor)
    if code is None:
        return None
    key = _content_key(code)
    with _lock:
        if key in _added:
            return _added[key]
        target = _private_root() / key[:16]
        if not target.exists():
            shutil.copytree(code, target)
        sys.path.insert(0, str(target))
        _added[key] = str(target)
        return str(target)

