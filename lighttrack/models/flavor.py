"""What every flavour's save_model/log_model/load_model does the same way, written once.

A flavour module writes its own model file(s) into the folder and calls these for the rest:
``new_model_folder`` (refuse a non-empty target before writing), ``start_model`` (the input
example and the signature, inferred from example and prediction), ``finish_model`` (the
python_function block, requirements naming the versions actually installed, hashes, MLmodel),
``log_flavor_model`` (log into the active run and register), ``require`` (a missing framework is
one line naming the extra).
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

PYFUNC = "python_function"


class MissingFramework(ModelError, ImportError):
    """The framework a flavour needs is not installed."""


def require(module: str, extra: str, flavour: str | None = None) -> Any:
    """``import module``, or one line saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingFramework(
            f"lighttrack.{flavour or extra} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'lighttrack[{extra}]'"
        ) from None


def new_model_folder(path: str | os.PathLike[str]) -> Path:
    """The folder to save into: refused when it holds anything, created otherwise."""
    folder = Path(path)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidArgument(f"{folder} already exists and is not empty: choose a new path")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_model(
    folder: Path, *, input_example: Any = None, signature: ModelSignature | bool | None = None,
    predict: Callable[[Any], Any] | None = None, run_id: str | None = None,
    artifact_path: str | None = None, metadata: dict[str, Any] | None = None,
) -> Model:
    """A Model with the example saved and the signature given or inferred (``signature=False``
    means none); ``predict`` runs on the example to infer the output half."""
    from lighttrack.models.examples import save_input_example
    from lighttrack.models.signature import infer_signature

    meta = Model(artifact_path=artifact_path, run_id=run_id, metadata=metadata)
    if input_example is not None:
        meta.saved_input_example_info = save_input_example(folder, input_example)
        if signature is None:
            try:
                output = predict(input_example) if predict is not None else None
                signature = infer_signature(input_example, output)
            except Exception:  # an example the model cannot predict on: keep it, skip the signature
                signature = None
    meta.signature = signature or None
    return meta


def check_code_paths(code_paths: list[str] | None) -> None:
    """Refuse missing ``code_paths`` before the model folder is created."""
    if code_paths is not None and (isinstance(code_paths, (str, os.PathLike)) or not isinstance(code_paths, (list, tuple))):
        raise InvalidArgument("code_paths must be a list of local file or folder paths")
    missing = [str(p) for p in code_paths or () if not Path(p).exists()]
    if missing:
        raise InvalidArgument(f"code path(s) {', '.join(missing)} do not exist")


def copy_code_paths(folder: Path, code_paths: list[str] | None) -> str | None:
    """Copy ``code_paths`` into ``folder/code`` (MLflow's layout); returns the flavour's ``code``."""
    if not code_paths:
        return None
    code = folder / "code"
    code.mkdir(exist_ok=True)
    for item in code_paths:
        source = Path(item)
        if not source.exists():
            raise InvalidArgument(f"code path {item!r} does not exist")
        target = code / source.name
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
    return "code"


def finish_model(
    meta: Model, folder: Path, *, flavor: str, flavor_conf: dict[str, Any],
    loader_module: str | None, model_path: str | None, packages: list[str],
    pip_requirements: list[str] | None = None, extra_pip_requirements: list[str] | None = None,
    pyfunc_conf: dict[str, Any] | None = None, code: str | None = None, flavor_has_code: bool = True,
    conda_env: Any = None,
) -> Model:
    """Write requirements, the python_function block (when ``loader_module``), the flavour
    block, the hashes of every file and MLmodel. Returns ``meta``. A given ``conda_env`` is
    written as conda.yaml (and its pip list becomes requirements.txt), as MLflow does."""
    from lighttrack.models.environment import requirements_for, write_environment

    if pip_requirements and extra_pip_requirements:
        raise InvalidArgument("give pip_requirements or extra_pip_requirements, not both")
    requirements = list(pip_requirements) if pip_requirements else requirements_for(packages, extra_pip_requirements)
    env = write_environment(folder, requirements, conda_env)
    if loader_module:
        block = dict(loader_module=loader_module, model_path=model_path, env=env,
                     python_version=platform.python_version(), code=code, **(pyfunc_conf or {}))
        # MLflow's add_to_model leaves empty entries out of this block (no "code: null")
        meta.add_flavor(PYFUNC, **{k: v for k, v in block.items() if v is not None})
    # MLflow writes "code" into every flavour block except keras'
    meta.add_flavor(flavor, **({"code": code} if flavor_has_code else {}), **flavor_conf)
    record_hashes(meta, folder)
    meta.save(folder / "MLmodel")
    return meta


def log_flavor_model(save_model: Callable[..., Model], artifact_path: str | None, name: str | None,
                     registered_model_name: str | None, *args: Any, _logged: dict[str, Any] | None = None,
                     **kwargs: Any):
    """``save_model(*args, path, **kwargs, _run_id=, _artifact_path=)`` as a LoggedModel (in
    the active run if any, as MLflow 3 does), then register it when asked. Returns a ModelInfo.

    ``_logged`` (or the same keys among ``kwargs``) holds MLflow 3's logged-model keywords:
    params, tags, model_type, step, model_id."""
    from lighttrack.models.logged import artifact_path_of, log_model_folder, logged_model_keywords

    path = artifact_path_of(artifact_path, name)
    extra = logged_model_keywords({**{k: kwargs.pop(k) for k in list(kwargs) if k in _LOGGED_KEYS},
                                   **(_logged or {})})

    def save(folder: Path, run_id: str | None, rel: str) -> Model:
        shutil.rmtree(folder)
        return save_model(*args, folder, **kwargs, _run_id=run_id, _artifact_path=rel)

    return log_model_folder(save, path, registered_model_name, **extra)


_LOGGED_KEYS = ("params", "tags", "model_type", "step", "model_id")


def log_with_arguments(save_model: Callable[..., Model], arguments: dict[str, Any]):
    """A flavour's ``log_model`` body: ``log_with_arguments(save_model, locals())`` as its first
    statement. ``log_model`` keeps MLflow's full signature (names, order, defaults); this hands
    its model (``save_model``'s first parameter) and every argument ``save_model`` also takes to
    ``log_flavor_model``, plus ``**kwargs`` when log_model has them. Arguments only MLflow's
    logging has (``await_registration_for`` ...) are accepted and dropped, as before."""
    import inspect

    params = inspect.signature(save_model).parameters
    named = [p.name for p in params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    given = dict(arguments)
    extra = given.pop("kwargs", None) or {}
    model = given.pop(named[0])
    forwarded = {k: v for k, v in given.items() if k in named and k != "path" and not k.startswith("_")}
    # MLflow 3's logged-model keywords go to the LoggedModel; other extras reach save_model only
    # when it takes **kwargs (torch.save's), else logged_model_keywords refuses them by name
    takes_extra = any(p.kind is p.VAR_KEYWORD for p in params.values())
    logged = {k: v for k, v in extra.items() if k in _LOGGED_KEYS or not takes_extra}
    rest = {k: v for k, v in extra.items() if k not in logged}
    return log_flavor_model(save_model, given.get("artifact_path"), given.get("name"),
                            given.get("registered_model_name"), model, **forwarded, **rest, _logged=logged)
