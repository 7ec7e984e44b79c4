"""Checking a ``.pt2`` archive before ``torch.export.load`` opens it.

``torch.export.load`` is not a safe loader: it unpickles records flagged ``use_pickle`` and the
sample inputs with ``weights_only=False``, rebuilds "custom" and "opaque" constants with full
pickle, and dlopens AOTInductor shared libraries. An archive from someone else could run code
through any of those. So before loading (unless ``allow_pickle``), every record must be JSON or
raw tensor bytes, and every pickled record must pass torch's restricted ``weights_only``
unpickler (tensors and plain containers only).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from lighttrack.errors import ModelError

_NATIVE_SUFFIXES = (".so", ".dll", ".dylib", ".cubin", ".pyd")


def _refuse(path: Path, record: str, why: str) -> ModelError:
    return ModelError(
        f"the torch.export archive {path.name} holds {record}, which {why}: loading it could run code. "
        "It was not loaded; if you trust where it came from, load it with allow_pickle=True"
    )


def check_pt2_archive(path: Path) -> None:
    """Raise ModelError unless every record of the archive at ``path`` is code-free."""
    import torch

    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ModelError(f"{path} is not a torch.export (.pt2) archive") from None
    with archive:
        names = archive.namelist()
        formats = [n for n in names if n.rsplit("/", 1)[-1] == "archive_format"]
        if not formats or any(archive.read(n).strip() != b"pt2" for n in formats):
            # older torch.export archives are restored with plain pickle throughout
            raise _refuse(path, "no pt2 archive_format record", "means the legacy, fully pickled layout")
        for name in names:
            if name.lower().endswith(_NATIVE_SUFFIXES) or "/aotinductor/" in f"/{name}":
                raise _refuse(path, name, "is native code (AOTInductor) that would be dlopened")
        pickled: list[str] = []
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if not base.endswith("_config.json") or "/data/" not in f"/{name}":
                continue
            folder = name.rsplit("/", 1)[0]
            try:
                config = json.loads(archive.read(name)).get("config", {})
            except (ValueError, AttributeError):
                raise _refuse(path, name, "is not readable JSON") from None
            for entry in config.values():
                record = str(entry.get("path_name", ""))
                if record.startswith(("custom_obj", "opaque_obj")):
                    raise _refuse(path, f"{folder}/{record}", "is a Python object restored with full pickle")
                if entry.get("use_pickle"):
                    pickled.append(f"{folder}/{record}")
        pickled += [n for n in names if "/data/sample_inputs/" in f"/{n}"]
        for name in pickled:
            if name not in names:
                continue
            try:
                torch.load(io.BytesIO(archive.read(name)), weights_only=True)
            except Exception as exc:  # the restricted unpickler refused it (or it is not a checkpoint)
                raise _refuse(path, name, f"holds more than tensors ({type(exc).__name__})") from None
