"""``lighttrack.autolog()``: turn on autologging for every supported library that is installed.

scikit-learn, XGBoost, LightGBM, Keras (also ``tf.keras``) and PyTorch Lightning. A library
already imported is patched at once; one that is installed but not imported yet is patched
the moment it is imported (as MLflow does), so ``autolog()`` never pays for importing
TensorFlow or torch the script may not use.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import inspect
import sys
from collections.abc import Callable
from typing import Any

#: library (top-level import name) -> "module:function" of its autolog.
INTEGRATIONS = {
    "xgboost": "lighttrack.xgboost.autologging:autolog",
    "lightgbm": "lighttrack.lightgbm.autologging:autolog",
    "keras": "lighttrack.keras.autologging:autolog",
    "lightning": "lighttrack.pytorch.autologging:autolog",
    "pytorch_lightning": "lighttrack.pytorch.autologging:autolog",
}


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a callback right after a library's top-level module has been executed."""

    def __init__(self) -> None:
        self.pending: dict[str, list[Callable[[], None]]] = {}

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.pending:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        callbacks = self.pending.pop(name)
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module: Any) -> None:
            run_module(module)
            for callback in callbacks:
                callback()

        loader.exec_module = exec_module
        return spec


_hook = _AfterImport()


def _call(target: str, kwargs: dict[str, Any]) -> None:
    module, _, function = target.partition(":")
    autolog_fn = getattr(importlib.import_module(module), function)
    accepted = inspect.signature(autolog_fn).parameters
    autolog_fn(**{k: v for k, v in kwargs.items() if k in accepted})


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Autolog every supported library with MLflow's switches (``disable=True`` turns all off)."""
    kwargs = dict(log_input_examples=log_input_examples, log_model_signatures=log_model_signatures,
                  log_models=log_models, log_datasets=log_datasets, disable=disable, exclusive=exclusive,
                  disable_for_unsupported_versions=disable_for_unsupported_versions, silent=silent,
                  extra_tags=extra_tags)
    if importlib.util.find_spec("sklearn") is not None:
        _call("lighttrack.sklearn.autologging:autolog", kwargs)
    called: set[str] = set()
    for library, target in INTEGRATIONS.items():
        installed = library in sys.modules or importlib.util.find_spec(library) is not None
        if not installed:
            continue
        if library in sys.modules or disable:
            if target not in called:  # Lightning is one integration under two import names
                called.add(target)
                _call(target, kwargs)
        else:
            _hook.pending.setdefault(library, []).append(lambda target=target: _call(target, kwargs))
    if disable:
        _hook.pending.clear()
    elif _hook.pending and _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
