"""The model a server answers with, and keeping it on the version the registry names.

A server started on ``models:/name@alias``, ``models:/name/Production`` (any stage) or
``models:/name/latest`` follows the registry: a thread polls the file's ``data_version`` (one
cheap pragma, no query while nothing changed), and when the file changed it resolves the URI
again; a new version is loaded in that thread while requests keep being answered by the old
one, then the slot is swapped with one assignment. A request reads the slot once, so requests
already running finish on the model they started with, and none fails during a swap.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from lighttrack.entities import Stage
from lighttrack.errors import LighttrackError, ModelError

# Flavours whose predict treats every row on its own, so rows of several requests may be
# predicted in one call and split again (see batching.py). Custom python models are not here:
# nothing says their predict is row-wise.
ROW_WISE_LOADERS = frozenset({"mlflow.sklearn", "lighttrack.sklearn", "mlflow.xgboost", "lighttrack.xgboost",
                              "mlflow.lightgbm", "lighttrack.lightgbm", "mlflow.onnx", "lighttrack.onnx"})


@dataclass(frozen=True)
class ServedModel:
    """One loaded model and what /version says about it."""

    model: Any
    model_uri: str  # what the user asked to serve
    loaded_uri: str  # what was loaded (models:/name/<version> when following)
    version: str | None  # registry version, None for runs:/ URIs and folders
    run_id: str | None
    loaded_at: float = field(default_factory=time.time)

    @cached_property
    def schema(self):
        return self.model.metadata.get_input_schema()

    @cached_property
    def row_wise(self) -> bool:
        conf = self.model.metadata.flavors.get("python_function", {})
        return conf.get("loader_module") in ROW_WISE_LOADERS

    def describe(self) -> dict[str, Any]:
        return {"model_uri": self.model_uri, "loaded_uri": self.loaded_uri, "version": self.version,
                "run_id": self.run_id, "loaded_at": int(self.loaded_at * 1000)}


def followed_name(model_uri: str) -> str | None:
    """The registered model's name when ``model_uri`` moves with the registry, else None."""
    if not model_uri.startswith("models:/"):
        return None
    rest = model_uri[len("models:/"):].strip("/")
    if "@" in rest and "/" not in rest:
        return rest.split("@", 1)[0]
    name, _, which = rest.rpartition("/")
    if name and (which.lower() == "latest" or any(which.lower() == s.lower() for s in Stage.ALL)):
        return name
    return None


def load(model_uri: str, client: Any, allow_pickle: bool | None = None, trust_code: bool | None = None) -> ServedModel:
    """Load ``model_uri`` once. A ``models:/`` URI is resolved first and the fixed version
    loaded, so the version /version names is exactly the one whose files were read."""
    import lighttrack.pyfunc
    from lighttrack.models.uri import resolve_version

    version = run_id = None
    loaded_uri = model_uri
    from lighttrack.models.uri import logged_model_id

    if model_uri.startswith("models:/") and not logged_model_id(model_uri):  # a logged model never moves
        found = resolve_version(model_uri, client)
        version, run_id = found.version, found.run_id
        loaded_uri = f"models:/{found.name}/{found.version}"
    try:
        model = lighttrack.pyfunc.load_model(loaded_uri, allow_pickle=allow_pickle, trust_code=trust_code)
    except LighttrackError:
        raise
    except Exception as exc:  # a flavour library's own failure: still one line for the user
        raise ModelError(f"cannot load {model_uri}: {type(exc).__name__}: {exc}") from None
    if run_id is None:
        run_id = model.metadata.run_id
    return ServedModel(model, model_uri, loaded_uri, version, run_id)


class ModelSlot:
    """Holds the model being served; ``current`` is read once per request."""

    def __init__(self, served: ServedModel) -> None:
        self.current = served
        self.swaps = 0

    def swap(self, served: ServedModel) -> None:
        self.current = served  # one reference assignment: atomic for readers
        self.swaps += 1


class RegistryFollower(threading.Thread):
    """Polls the file and swaps in the version the served URI names now."""

    def __init__(self, slot: ModelSlot, tracking_uri: str, allow_pickle: bool | None = None,
                 interval: float = 0.25, on_swap: Callable[[ServedModel, ServedModel], None] | None = None,
                 trust_code: bool | None = None) -> None:
        super().__init__(name="lighttrack-registry-follower", daemon=True)
        self.slot = slot
        self.tracking_uri = tracking_uri
        self.allow_pickle = allow_pickle
        self.trust_code = trust_code
        self.interval = interval
        self.on_swap = on_swap
        self._stop = threading.Event()
        self._failed_version: str | None = None

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from lighttrack.client import LighttrackClient
        from lighttrack.models.uri import resolve_version

        client = LighttrackClient(self.tracking_uri)  # its own connection, in this thread
        seen = client.data_version()
        uri = self.slot.current.model_uri
        while not self._stop.wait(self.interval):
            try:
                now = client.data_version()
                if now == seen:
                    continue
                seen = now
                target = resolve_version(uri, client)
            except LighttrackError as exc:  # alias removed, model renamed: keep serving what we have
                self._say(f"{uri} does not resolve now ({exc.message}); still serving version "
                          f"{self.slot.current.version}")
                continue
            except Exception as exc:  # a busy or briefly unreadable file: try on the next change
                self._say(f"cannot read the registry now ({type(exc).__name__}: {exc}); will retry")
                seen = None
                continue
            if target.version == self.slot.current.version or target.version == self._failed_version:
                continue
            try:
                fresh = load(f"models:/{target.name}/{target.version}", client, self.allow_pickle, self.trust_code)
            except Exception as exc:
                self._failed_version = target.version
                self._say(f"cannot load version {target.version} of {target.name} ({exc}); "
                          f"still serving version {self.slot.current.version}")
                continue
            fresh = ServedModel(fresh.model, uri, fresh.loaded_uri, fresh.version, fresh.run_id)
            old = self.slot.current
            self.slot.swap(fresh)
            self._failed_version = None
            self._say(f"{uri} moved: now serving version {fresh.version} (was {old.version})")
            if self.on_swap is not None:
                self.on_swap(old, fresh)

    def _say(self, text: str) -> None:
        if text == getattr(self, "_last_said", None):  # the file changes often (request log): say it once
            return
        self._last_said = text
        print(f"lighttrack serve: {text}", file=sys.stderr, flush=True)
