"""Models from code: a custom model stored as the Python file that builds it, not as a pickle.

MLflow 3's form: ``pyfunc.log_model(name=..., python_model="model.py")`` where ``model.py``
ends with ``mlflow.models.set_model(MyModel())``. The file is copied into the model folder
(hashed like every model file) and MLmodel's ``python_function`` block says
``loader_module: mlflow.pyfunc.loaders.code_model`` and ``model_code_path: model.py``, so the
same folder loads in MLflow and here.

Trust (DESIGN.md section 10): loading such a model *runs the file*. Nothing in a model file
may decide that code runs, so it runs only when the caller says so: ``trust_code=True``
(CLI ``--trust-code``, or ``LIGHTTRACK_TRUST_CODE=1``). Without it the loader refuses before
reading the file as code, naming the file, its sha256 and ``lighttrack models show-code URI``
to review it. The model's ``code_paths`` are put on ``sys.path`` only while the trusted file
runs, and taken off again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument, ModelError
from lighttrack.models.mlmodel import Model

LOADER_MODULE = "mlflow.pyfunc.loaders.code_model"
CODE_PATH_KEY = "model_code_path"
TRUST_CODE_ENV = "LIGHTTRACK_TRUST_CODE"

#: what the file being run passed to ``set_model`` (MLflow keeps the same module global)
__mlflow_model__: Any = None


class UntrustedCode(ModelError):
    """A model whose loading would run Python code from its file, without ``trust_code``."""


def set_model(model: Any) -> None:
    """Called at the end of a model-from-code file: this is the model the file defines.

    A ``PythonModel`` instance or any callable (a function of the input). When real MLflow is
    the one loading the file (``import lighttrack as mlflow`` in code it runs), MLflow reads its
    own global, so the model is handed to it too."""
    from lighttrack.pyfunc import PythonModel

    if isinstance(model, (str, os.PathLike)):
        raise InvalidArgument("set_model takes the model object (a PythonModel instance or a function), "
                              "not a path; pass the path to log_model(python_model=...)")
    if not isinstance(model, PythonModel) and not callable(model) and not callable(getattr(model, "predict", None)):
        raise InvalidArgument("set_model needs a PythonModel instance (with predict) or a callable, "
                              f"not {type(model).__name__}")
    global __mlflow_model__
    __mlflow_model__ = model
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if mlflow_model_module is not None:
        mlflow_model_module.__mlflow_model__ = _for_mlflow(model)


def _for_mlflow(model: Any) -> Any:
    """The model as MLflow's loader expects it: MLflow wraps only its own PythonModel class (or a
    function), so a lighttrack PythonModel is handed over inside an MLflow one."""
    from lighttrack.pyfunc import PythonModel

    mlflow_pyfunc = sys.modules.get("mlflow.pyfunc")
    if mlflow_pyfunc is None or not isinstance(model, PythonModel):
        return model

    class LighttrackModel(mlflow_pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            model.load_context(context)

        def predict(self, context, model_input, params=None):
            return model.predict(context, model_input, params=params)

    return LighttrackModel()


def code_trusted(trust_code: bool | None) -> bool:
    if trust_code is not None:
        return bool(trust_code)
    return os.environ.get(TRUST_CODE_ENV, "").strip().lower() in ("1", "true", "yes")


def code_file_name(recorded: str) -> str:
    """The file's name inside the model folder. MLflow records the path it was logged from
    (``/home/me/model.py``) and loads the file by its base name: so does this."""
    name = re.split(r"[\\/]", str(recorded))[-1]
    if not name or name in (".", ".."):
        raise ModelError(f"MLmodel's model_code_path {recorded!r} names no file; the model was not loaded")
    return name


def check_code_file(python_model: str | os.PathLike[str]) -> Path:
    """The local ``.py`` file ``save_model(python_model="...")`` names, refused if missing."""
    path = Path(python_model).expanduser().resolve()
    if not path.is_file():
        hint = f" Perhaps you meant '{path}.py'?" if not path.suffix else ""
        raise InvalidArgument(f"The provided model path '{path}' does not exist. Ensure the file path is valid "
                              f"and try again.{hint}")
    if path.suffix != ".py":
        raise InvalidArgument(f"python_model {str(python_model)!r} must be a Python file (.py) that calls "
                              "mlflow.models.set_model(...)")
    return path


@contextlib.contextmanager
def _on_sys_path(folders: list[Path]) -> Iterator[None]:
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(entry)


def run_code_file(path: Path, code_dirs: list[Path] | None = None) -> Any:
    """Run the model file as a fresh module and return what it passed to ``set_model``.

    The one place a model file is executed. Callers decide trust before calling it."""
    global __mlflow_model__
    __mlflow_model__ = None
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if mlflow_model_module is not None:  # a file written for MLflow calls MLflow's own set_model
        mlflow_model_module.__mlflow_model__ = None
    module_name = f"code_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"cannot import the model code {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # classes defined in the file keep a findable module
    with _on_sys_path([d for d in code_dirs or () if d.exists()]):
        try:
            spec.loader.exec_module(module)
        except ImportError as exc:
            sys.modules.pop(module_name, None)
            raise ModelError(f"Failed to import code model from {path}. Error: {exc}") from exc
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ModelError(f"Failed to run user code from {path}. Error: {type(exc).__name__}: {exc}") from exc
    model = __mlflow_model__
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if model is None and mlflow_model_module is not None:
        model = getattr(mlflow_model_module, "__mlflow_model__", None)
    if model is None:
        raise ModelError(f"{path.name} ran but defined no model: end it with mlflow.models.set_model(model) "
                         "(import lighttrack as mlflow, or MLflow's own)")
    return model


def refuse(file_name: str, digest: str, model_uri: Any) -> UntrustedCode:
    return UntrustedCode(
        f"this model is defined by Python code in its file {file_name} (sha256 {digest}), and loading it runs "
        f"that code. Review it with `lighttrack models show-code {model_uri}`; if you trust it, load with "
        f"trust_code=True (CLI --trust-code, or {TRUST_CODE_ENV}=1)"
    )


class _FunctionModel:
    """A model the file set as a plain function of the input (MLflow wraps these the same way)."""

    def __init__(self, function: Any) -> None:
        self.python_model = function

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.python_model(data)


def _load_pyfunc(folder: Path, meta: Model, trust_code: bool | None = None, model_uri: Any = None) -> Any:
    """pyfunc's loader for ``mlflow.pyfunc.loaders.code_model``: refuse, or run the file and
    build the model the way a pickled PythonModel is built (``load_context`` with its artifacts)."""
    from lighttrack.models.files import inside
    from lighttrack.pyfunc import FLAVOR_NAME, PythonModelContext, _CustomModel

    conf = meta.flavors[FLAVOR_NAME]
    if not isinstance(conf.get(CODE_PATH_KEY), str):
        raise ModelError("MLmodel's python_function block has no model_code_path; the model was not loaded")
    name = code_file_name(conf[CODE_PATH_KEY])
    code_file = inside(folder, name, "MLmodel's python_function.model_code_path")
    digest = hashlib.sha256(code_file.read_bytes()).hexdigest()
    if not code_trusted(trust_code):
        raise refuse(name, digest, model_uri if model_uri is not None else folder)
    code_dirs = [inside(folder, conf["code"], "MLmodel's python_function.code")] if conf.get("code") else []
    python_model = run_code_file(code_file, code_dirs)
    artifacts = {
        key: str(inside(folder, entry["path"]).resolve()) for key, entry in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, conf.get("model_config") or {})
    if not callable(getattr(python_model, "predict", None)) and callable(python_model):
        return _FunctionModel(python_model)
    if callable(getattr(python_model, "load_context", None)):
        python_model.load_context(context)
    return _CustomModel(python_model, context)


def show_code(model_uri: str, verify: bool = True) -> tuple[str, str, str]:
    """(file name, sha256, source text) of a model-from-code model, read without running it."""
    from lighttrack.models.files import inside, opened_model
    from lighttrack.pyfunc import FLAVOR_NAME

    with opened_model(model_uri, verify=verify) as (folder, meta):
        conf = meta.flavors.get(FLAVOR_NAME) or {}
        if conf.get("loader_module") != LOADER_MODULE or not isinstance(conf.get(CODE_PATH_KEY), str):
            raise ModelError(f"{model_uri} is not a model from code (its python_function loader is "
                             f"{conf.get('loader_module')!r}); it holds no code file to show")
        name = code_file_name(conf[CODE_PATH_KEY])
        raw = inside(folder, name, "MLmodel's python_function.model_code_path").read_bytes()
        extra = []
        if conf.get("code"):
            code_dir = inside(folder, conf["code"], "MLmodel's python_function.code")
            extra = sorted(p.relative_to(folder).as_posix() for p in code_dir.rglob("*") if p.is_file())
    text = raw.decode("utf-8", errors="replace")
    if extra:
        text += "\n# --- code_paths also put on sys.path while this file runs: " + ", ".join(extra) + "\n"
    return name, hashlib.sha256(raw).hexdigest(), text
