"""What every framework flavour does the same way: import the framework (or say which extra to
install), prepare a new model folder, copy ``code_paths``, write the environment and the
python_function block, hash the files and log the folder into a run.

A flavour module keeps only what is its own: how the framework writes and reads its model, and
the MLflow flavour block's keys.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models.mlmodel import Model, record_hashes
from lighttrack.models.signature import ModelSignature

CODE_DIR = "code"


class MissingFramework(ModelError):
    """The flavour's framework is not installed; the message names the extra that installs it."""


def require(module: str, extra: str) -> Any:
    """``import module``, or a one-line error naming ``lighttrack[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingFramework(
            f"{module} is not installed; install it with: pip install 'lighttrack[{extra}]'"
        ) from None


def new_folder(path: str | os.PathLike[str]) -> Path:
    """The model folder, which must be new or empty (a model is never written over another)."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidArgument(f"{folder} already exists and is not empty: choose a new path")
    return folder


def check_code_paths(code_paths: Any) -> list[Path]:
    """Validate ``code_paths`` before anything is written (a list of existing files/folders)."""
    if code_paths is None:
        return []
    if isinstance(code_paths, (str, os.PathLike)) or not isinstance(code_paths, (list, tuple)):
        raise InvalidArgument("code_paths must be a list of local file or folder paths")
    paths = [Path(p) for p in code_paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidArgument(f"code_paths do not exist: {', '.join(missing)}")
    return paths


def copy_code_paths(paths: list[Path], folder: Path) -> str | None:
    """Copy the user's code into ``code/`` as MLflow does; returns the flavour's ``code`` value.

    The code is shipped with the model but never put on ``sys.path`` when loading: what runs
    is decided by the loader, not by the model folder.
    """
    if not paths:
        return None
    target = folder / CODE_DIR
    target.mkdir(parents=True, exist_ok=True)
    for source in paths:
        if source.is_dir():
            shutil.copytree(source, target / source.name, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target / source.name)
    return CODE_DIR


def example_and_signature(
    meta: Model, folder: Path, input_example: Any, signature: ModelSignature | bool | None,
    predict: Callable[[Any], Any] | None,
) -> None:
    """Save the input example and, when no signature is given, infer one from it (MLflow's
    rule); ``signature=False`` means none."""
    from lighttrack.models.examples import save_input_example
    from lighttrack.models.signature import infer_signature

    if input_example is not None:
        meta.saved_input_example_info = save_input_example(folder, input_example)
        if signature is None and predict is not None:
            try:
                signature = infer_signature(input_example, predict(input_example))
            except Exception:  # an example the model cannot predict on: keep it, no signature
                signature = None
    meta.signature = signature or None


def finish(
    meta: Model, folder: Path, *, loader_module: str, packages: list[str],
    pip_requirements: list[str] | None, extra_pip_requirements: list[str] | None,
    pyfunc_conf: dict[str, Any] | None = None,
) -> Model:
    """Write requirements.txt/python_env.yaml/conda.yaml (framework versions as installed), the
    python_function block, the file hashes and MLmodel."""
    from lighttrack.models.environment import requirements_for, write_environment
    from lighttrack.pyfunc import FLAVOR_NAME as PYFUNC

    if pip_requirements is not None and extra_pip_requirements is not None:
        raise InvalidArgument("give pip_requirements or extra_pip_requirements, not both")
    requirements = list(pip_requirements) if pip_requirements else requirements_for(packages, extra_pip_requirements)
    env = write_environment(folder, requirements)
    meta.flavors = {
        # MLflow's add_to_model leaves out empty entries (no "code: null" in this block).
        PYFUNC: {"loader_module": loader_module, **{k: v for k, v in (pyfunc_conf or {}).items() if v is not None},
                 "env": env,
                 "python_version": platform.python_version()},
        **meta.flavors,
    }
    record_hashes(meta, folder)
    meta.save(folder / "MLmodel")
    return meta


def log(save: Callable[..., Model], artifact_path: str | None, name: str | None,
        registered_model_name: str | None, **save_kwargs: Any):
    """Save with ``save(model_folder, **save_kwargs, _run_id=..., _artifact_path=...)`` into the
    active run (started if none) and register it when asked."""
    from lighttrack.models.logged import artifact_path_of, log_model_folder

    path = artifact_path_of(artifact_path, name)

    def into_run(folder: Path, run_id: str, rel: str) -> Model:
        shutil.rmtree(folder)
        return save(path=folder, _run_id=run_id, _artifact_path=rel, **save_kwargs)

    return log_model_folder(into_run, path, registered_model_name)


def flavor_conf(meta: Model, flavor: str, folder: Path) -> dict[str, Any]:
    conf = meta.flavors.get(flavor)
    if conf is None:
        raise ModelError(f"model at {folder} has no {flavor} flavor (it has: {', '.join(meta.flavors) or 'none'})")
    return conf


def inside(folder: Path, rel: Any, what: str) -> Path:
    """A path named by MLmodel, refused unless it stays inside the model folder."""
    if not isinstance(rel, str) or not rel:
        raise ModelError(f"the MLmodel in {folder} names no {what}")
    target = (folder / rel).resolve()
    root = folder.resolve()
    if target != root and root not in target.parents:
        raise ModelError(f"the MLmodel in {folder} points {what} outside the model folder ({rel!r}); not loaded")
    return target


def opened(model_uri: str | os.PathLike[str], dst_path: str | None, load: Callable[[Path, Model], Any]) -> Any:
    """``load(folder, meta)`` on the model's files (downloaded and hash-checked first)."""
    from lighttrack.pyfunc import open_model_folder

    folder, meta, tmp = open_model_folder(model_uri, dst_path)
    try:
        return load(folder, meta)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
