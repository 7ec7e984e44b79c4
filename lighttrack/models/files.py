"""Opening a model folder safely: every path MLmodel names stays inside it and is hashed.

MLmodel is written by whoever wrote the file, so nothing it says is taken on faith: a path that
leaves the folder (``../../evil.pkl``, ``/etc/...``, a symlink out) is refused, every file a
flavour will read must be listed in ``file_hashes`` with a matching sha256, and a model with no
hashes at all loads only when the caller says ``verify=False`` (a warning says it was not
checked). MLflow's own models carry no hashes: loading one is that explicit choice.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lighttrack.errors import ModelError
from lighttrack.models.mlmodel import Model, sha256_file

#: Flavour keys whose value is a path inside the model folder (MLflow's names, every flavour).
PATH_KEYS = frozenset({"pickled_model", "python_model", "model_path", "data", "model_data", "code",
                       "model_code_path", "saved_model_dir", "model_file"})
_PATH_SUFFIXES = ("_path", "_file", "_dir")


class UnverifiedModelWarning(UserWarning):
    """A model was loaded with verify=False: its files were not checked against hashes."""


class UnverifiedModel(ModelError):
    """A model whose files cannot be checked against the hashes it was saved with."""


def inside(folder: Path, rel: str, what: str = "a path in MLmodel") -> Path:
    """``folder / rel``, refused unless it stays inside ``folder`` (after following symlinks)."""
    text = str(rel)
    if not text or os.path.isabs(text) or text.startswith(("\\", "~")) or "\\" in text:
        raise ModelError(f"{what} ({text!r}) is not a relative path inside the model folder; "
                         "the model was not loaded")
    root = folder.resolve()
    target = (folder / text).resolve()
    if target != root and root not in target.parents:
        raise ModelError(f"{what} ({text!r}) points outside the model folder; the model was not loaded")
    return folder / text


def referenced_paths(meta: Model) -> list[tuple[str, str]]:
    """(description, relative path) of every file or folder MLmodel tells a loader to read."""
    found: list[tuple[str, str]] = []
    for flavor, conf in meta.flavors.items():
        if not isinstance(conf, dict):
            raise ModelError(f"MLmodel flavor {flavor!r} is not a mapping; the model was not loaded")
        for key, value in conf.items():
            if key == "env" and isinstance(value, dict):
                found += [(f"{flavor}.env.{k}", v) for k, v in value.items() if isinstance(v, str)]
            elif key == "artifacts" and isinstance(value, dict):
                found += [(f"{flavor}.artifacts.{k}", v["path"]) for k, v in value.items()
                          if isinstance(v, dict) and isinstance(v.get("path"), str)]
            elif key == "model_code_path" and isinstance(value, str):
                # MLflow records where the file was logged from and loads it by its base name
                from lighttrack.models.from_code import code_file_name

                found.append((f"{flavor}.{key}", code_file_name(value)))
            elif isinstance(value, str) and (key in PATH_KEYS or key.endswith(_PATH_SUFFIXES)):
                found.append((f"{flavor}.{key}", value))
    example = (meta.saved_input_example_info or {}).get("artifact_path")
    if isinstance(example, str):
        found.append(("saved_input_example_info.artifact_path", example))
    return found


def verify_model(meta: Model, folder: Path, verify: bool = True) -> None:
    """Refuse paths that leave ``folder``; with ``verify``, refuse files not matching their hash."""
    paths = referenced_paths(meta)
    for what, rel in paths:
        inside(folder, rel, f"MLmodel's {what}")
    for rel in meta.file_hashes or {}:
        inside(folder, rel, "a file named in file_hashes")
    if not verify:
        warnings.warn(f"the model at {folder} was loaded without checking its files' hashes (verify=False)",
                      UnverifiedModelWarning, stacklevel=3)
        return
    hashes = meta.file_hashes
    if not hashes:
        raise UnverifiedModel(
            f"the model at {folder} records no file hashes, so its files cannot be checked (MLflow does "
            "not write them; removing them is also how a changed file would hide). Load it only if you "
            "trust where it came from, with verify=False (CLI: --no-verify)"
        )
    for rel, expected in hashes.items():
        file = folder / rel
        if not file.is_file():
            raise ModelError(f"model file {rel} is missing from {folder}; the model was not loaded")
        if sha256_file(file) != expected:
            raise ModelError(
                f"model file {rel} has changed since the model was saved (sha256 mismatch); "
                "it was not loaded. Log the model again if the change is yours"
            )
    for what, rel in paths:
        target = folder / rel
        files = [target] if not target.is_dir() else [p for p in target.rglob("*") if p.is_file()]
        for file in files:
            name = file.relative_to(folder).as_posix()
            if file.exists() and name not in hashes:
                raise UnverifiedModel(
                    f"MLmodel's {what} names {name}, which file_hashes does not cover; the model was not loaded"
                )


def open_model(model_uri: str | os.PathLike[str], dst_path: str | None = None, verify: bool = True):
    """(folder, model metadata, temp dir or None): the model's files on disk, checked."""
    from lighttrack.models.uri import download_model

    tmp = None
    if dst_path is None:
        tmp = tempfile.mkdtemp(prefix="lighttrack-load-")
        target = Path(tmp)
    else:
        target = Path(dst_path)
        target.mkdir(parents=True, exist_ok=True)
    try:
        folder = download_model(model_uri, target)
        meta = Model.load(folder)
        verify_model(meta, folder, verify)
    except BaseException:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder, meta, tmp


@contextmanager
def opened_model(model_uri: str | os.PathLike[str], dst_path: str | None = None,
                 verify: bool = True) -> Iterator[tuple[Path, Model]]:
    """``open_model`` for loaders that read everything at once: the temp copy goes afterwards."""
    folder, meta, tmp = open_model(model_uri, dst_path, verify)
    try:
        yield folder, meta
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def flavor_conf(meta: Model, flavor: str, folder: Path | str) -> dict[str, Any]:
    conf = meta.flavors.get(flavor)
    if not isinstance(conf, dict):
        raise ModelError(f"model at {folder} has no {flavor} flavor (it has: {', '.join(meta.flavors) or 'none'})")
    return conf
