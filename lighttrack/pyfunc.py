"""``lighttrack.pyfunc``: the generic model contract, as ``mlflow.pyfunc``.

``load_model(uri).predict(data)`` works for every flavour: the MLmodel file's
``python_function.loader_module`` names the flavour module that builds the model. MLflow's
module names (``mlflow.sklearn``, ``mlflow.pyfunc.model``) are written, so a model saved here
loads in MLflow and one saved by MLflow loads here.

Safety: every file's sha256 recorded in MLmodel is checked before anything is loaded, and
anything that unpickles (pickle/cloudpickle sklearn models, custom PythonModels) loads only
with ``allow_pickle=True`` or ``LIGHTTRACK_ALLOW_PICKLE=1``: unpickling runs arbitrary code.
"""

from __future__ import annotations

import importlib
import inspect
import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models import ModelInfo
from lighttrack.models.mlmodel import Model, record_hashes
from lighttrack.models.signature import ModelSignature, enforce

FLAVOR_NAME = "python_function"
ALLOW_PICKLE_ENV = "LIGHTTRACK_ALLOW_PICKLE"
PYTHON_MODEL_FILE = "python_model.pkl"
_LOADERS = {
    "mlflow.pyfunc.model": "lighttrack.pyfunc",
    "lighttrack.pyfunc": "lighttrack.pyfunc",
    "mlflow.pyfunc.loaders.code_model": "lighttrack.models.from_code",
}
#: Flavours whose ``mlflow.<name>`` loader_module loads through ``lighttrack.<name>``.
KNOWN_FLAVOURS = ("sklearn", "pytorch", "onnx", "tensorflow", "keras", "xgboost", "lightgbm", "statsmodels")


def pickle_allowed(allow_pickle: bool | None) -> bool:
    if allow_pickle is not None:
        return bool(allow_pickle)
    return os.environ.get(ALLOW_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes")


#: sha256 of every pickle this process wrote: loading those exact bytes back runs only code this
#: process itself pickled, so MLflow's save-then-load examples need no allow_pickle
_pickled_here: set[str] = set()


def refuse_pickle(what: str) -> ModelError:
    return ModelError(
        f"{what} is stored with pickle, and unpickling runs arbitrary code: load it only if you "
        f"trust where it came from, with allow_pickle=True or {ALLOW_PICKLE_ENV}=1"
    )


@dataclass
class PythonModelContext:
    """What ``PythonModel.load_context`` and ``predict`` receive: local paths of the artifacts."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Subclass this for a custom model: ``load_context`` once, ``predict`` per call."""

    def load_context(self, context: PythonModelContext) -> None:
        """Read artifacts (``context.artifacts[name]`` is a local path) before predicting."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("a PythonModel subclass must implement predict(context, model_input, params=None)")


class PyFuncModel:
    """A loaded model with the generic ``predict``; inputs are checked against its signature."""

    def __init__(self, model_meta: Model, implementation: Any) -> None:
        self._meta = model_meta
        self._impl = implementation

    @property
    def metadata(self) -> Model:
        return self._meta

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        checked = enforce(self._meta.get_input_schema(), data)
        return self._impl.predict(checked, params=params)

    def unwrap_python_model(self) -> Any:
        model = getattr(self._impl, "python_model", None)
        if model is None:
            raise ModelError("this model is not a custom PythonModel; use get_raw_model()")
        return model

    def get_raw_model(self) -> Any:
        return getattr(self._impl, "raw_model", self._impl)

    def __repr__(self) -> str:
        flavors = ", ".join(self._meta.flavors)
        return f"PyFuncModel(flavors=[{flavors}], run_id={self._meta.run_id}, artifact_path={self._meta.artifact_path})"


def open_model_folder(model_uri: str | os.PathLike[str], dst_path: str | None = None, verify: bool = True):
    """(folder, model metadata, temp dir or None): the model's files on disk, paths and hashes
    checked (see lighttrack.models.files)."""
    from lighttrack.models.files import open_model

    return open_model(model_uri, dst_path, verify)


def register_loader(loader_module: str, module: str) -> None:
    """Let ``python_function.loader_module == loader_module`` load through ``module`` (which has
    ``_load_pyfunc(folder, meta, **options)``). The MLflow flavours below are known already."""
    _LOADERS[loader_module] = module


def _loader_for(name: str) -> str | None:
    if name in _LOADERS:
        return _LOADERS[name]
    for prefix in ("mlflow.", "lighttrack."):
        flavour = name[len(prefix):] if name.startswith(prefix) else None
        if flavour in KNOWN_FLAVOURS:
            return f"lighttrack.{flavour}"
    return None


def _call_loader(loader: Any, folder: Path, meta: Model, **options: Any) -> Any:
    """Pass each flavour only the options its ``_load_pyfunc`` takes (older ones take fewer)."""
    params = inspect.signature(loader).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        options = {k: v for k, v in options.items() if k in params}
    return loader(folder, meta, **options)


def load_model(
    model_uri: str | os.PathLike[str], suppress_warnings: bool = False, dst_path: str | None = None,
    *, allow_pickle: bool | None = None, trusted_types: list[str] | None = None, verify: bool = True,
    trust_code: bool | None = None,
) -> PyFuncModel:
    """Load any model with a python_function flavour from a URI or folder.

    ``trusted_types`` adds types a skops model may hold beyond the built-in allow-list;
    ``trust_code=True`` (or ``LIGHTTRACK_TRUST_CODE=1``) lets a model from code run its file;
    ``verify=False`` loads a model that records no file hashes (MLflow's), with a warning."""
    folder, meta, tmp = open_model_folder(model_uri, dst_path, verify)
    try:
        conf = meta.flavors.get(FLAVOR_NAME)
        if conf is None:
            raise ModelError(
                f"model at {model_uri} has no {FLAVOR_NAME} flavor (it has: {', '.join(meta.flavors) or 'none'})"
            )
        module_name = _loader_for(str(conf.get("loader_module", "")))
        if module_name is None:
            raise ModelError(
                f"model at {model_uri} needs loader {conf.get('loader_module')!r}; lighttrack loads "
                f"{', '.join(sorted(_LOADERS) + [f'mlflow.{f}' for f in KNOWN_FLAVOURS])}"
            )
        loader = importlib.import_module(module_name)._load_pyfunc
        implementation = _call_loader(loader, folder, meta, allow_pickle=allow_pickle, trusted_types=trusted_types,
                                      trust_code=trust_code, model_uri=model_uri)
    except BaseException:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    model = PyFuncModel(meta, implementation)
    if tmp:
        # Custom models may read their artifacts lazily: keep the files as long as the model lives.
        weakref.finalize(model, shutil.rmtree, tmp, True)
    return model


# ----------------------------------------------------------------- custom PythonModels
class _CustomModel:
    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._takes_params = "params" in inspect.signature(python_model.predict).parameters

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._takes_params:
            return self.python_model.predict(self.context, data, params=params)
        return self.python_model.predict(self.context, data)


def _pickler():
    try:
        import cloudpickle

        return cloudpickle, "cloudpickle"
    except ImportError:
        import pickle

        return pickle, "pickle"


def _load_pyfunc(folder: Path, meta: Model, allow_pickle: bool | None = None) -> _CustomModel:
    from lighttrack.models.files import inside

    conf = meta.flavors[FLAVOR_NAME]
    raw = inside(folder, conf.get("python_model", PYTHON_MODEL_FILE)).read_bytes()
    if not pickle_allowed(allow_pickle) and hashlib.sha256(raw).hexdigest() not in _pickled_here:
        raise refuse_pickle("this custom python model")
    from lighttrack.models.code_paths import add_model_code

    add_model_code(folder, meta, FLAVOR_NAME)
    pickler, _ = _pickler()
    python_model = pickler.loads(raw)
    artifacts = {
        name: str(inside(folder, entry["path"]).resolve()) for name, entry in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, conf.get("model_config") or {})
    python_model.load_context(context)
    return _CustomModel(python_model, context)


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel | str | os.PathLike[str] | None = None,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    _run_id: str | None = None,
    _artifact_path: str | None = None,
) -> Model:
    """Save a custom model to a new folder, with its artifacts (copied in).

    ``python_model`` is the path of a ``.py`` file that calls ``mlflow.models.set_model(...)``
    (a model from code: the file is stored, nothing is pickled; the recommended form), or a
    PythonModel instance (pickled with cloudpickle, so loading it needs ``allow_pickle``)."""
    from lighttrack.models import from_code
    from lighttrack.models.environment import requirements_for, write_environment
    from lighttrack.models.examples import save_input_example
    from lighttrack.models.flavor import check_code_paths, copy_code_paths

    code_file = None
    check_code_paths(code_paths)
    if isinstance(python_model, (str, os.PathLike)):
        code_file = from_code.check_code_file(python_model)
    elif not isinstance(python_model, PythonModel) and not callable(getattr(python_model, "predict", None)):
        raise InvalidArgument("python_model must be the path of a .py file that calls mlflow.models.set_model(...) "
                              "or a lighttrack.pyfunc.PythonModel (with predict)")
    folder = Path(path)
    if folder.exists() and any(folder.iterdir()):
        raise InvalidArgument(f"{folder} already exists and is not empty: choose a new path")
    if code_file is not None:
        # The saver's own file, run as MLflow runs it on save: a file that defines no model is
        # refused before anything is written.
        from_code.run_code_file(code_file)
    folder.mkdir(parents=True, exist_ok=True)
    if code_file is not None:
        shutil.copy2(code_file, folder / code_file.name)
        model_file = {from_code.CODE_PATH_KEY: code_file.name}
        loader_module, packages, versions = from_code.LOADER_MODULE, ["lighttrack"], {}
    else:
        pickler, pickler_name = _pickler()
        raw = pickler.dumps(python_model)
        (folder / PYTHON_MODEL_FILE).write_bytes(raw)
        _pickled_here.add(hashlib.sha256(raw).hexdigest())
        model_file = {"python_model": PYTHON_MODEL_FILE}
        loader_module, packages = "mlflow.pyfunc.model", ["lighttrack", pickler_name]
        versions = {f"{pickler_name}_version": _version(pickler_name)}
    code = copy_code_paths(folder, code_paths)
    artifact_conf = {}
    for name, source in (artifacts or {}).items():
        source_path = _local_artifact(source, folder)
        target = folder / "artifacts" / source_path.name
        target.parent.mkdir(exist_ok=True)
        if source_path.is_dir():
            shutil.copytree(source_path, target)
        else:
            shutil.copy2(source_path, target)
        artifact_conf[name] = {"path": f"artifacts/{source_path.name}", "uri": str(source)}
    meta = Model(artifact_path=_artifact_path, run_id=_run_id, metadata=metadata)
    if input_example is not None:
        meta.saved_input_example_info = save_input_example(folder, input_example)
    meta.signature = signature
    requirements = pip_requirements or requirements_for(packages, extra_pip_requirements)
    import platform

    meta.add_flavor(
        FLAVOR_NAME, loader_module=loader_module, **model_file,
        env=write_environment(folder, requirements, conda_env), python_version=platform.python_version(),
        model_config=model_config, code=code, **versions,
        # MLflow's loader reads artifacts with .items(): the key is absent rather than null
        **({"artifacts": artifact_conf} if artifact_conf else {}),
    )
    record_hashes(meta, folder)
    meta.save(folder / "MLmodel")
    return meta


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _local_artifact(source: str, folder: Path) -> Path:
    """An artifact given as a local path or a runs:/ URI, as a local path."""
    text = str(source)
    if text.startswith("runs:/"):
        from lighttrack.client import LighttrackClient
        from lighttrack.registry_client import split_runs_uri

        run_id, rel = split_runs_uri(text)
        staging = Path(tempfile.mkdtemp(prefix="lighttrack-artifact-"))
        return Path(LighttrackClient().download_artifacts(run_id, rel, staging))
    local = Path(text)
    if not local.exists():
        raise InvalidArgument(f"artifact {text!r} does not exist")
    return local


def log_model(
    artifact_path: str | None = None,
    python_model: PythonModel | None = None,
    artifacts: Mapping[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    **_: Any,
) -> ModelInfo:
    """Save a custom model (a model-from-code file, or a PythonModel) into the active run's
    artifacts, and register it if asked; see ``save_model``."""
    from lighttrack.models.logged import artifact_path_of, log_model_folder, logged_model_keywords

    path = artifact_path_of(artifact_path, name)
    extra = logged_model_keywords(_)  # MLflow 3's params, tags, model_type, step, model_id

    def save(folder: Path, run_id: str | None, rel: str) -> Model:
        shutil.rmtree(folder)
        return save_model(
            folder, python_model, artifacts, signature, input_example, pip_requirements,
            extra_pip_requirements, metadata, model_config, conda_env=conda_env, code_paths=code_paths, _run_id=run_id,
            _artifact_path=rel,
        )

    return log_model_folder(save, path, registered_model_name, **extra)
