"""What every framework's autolog does the same way: patch training functions (and undo it),
run the training inside a run (started and ended here when none is active, FAILED when
training raises), keep MLflow's switches (``log_models``, ``disable``, ``exclusive``,
``silent``), and never let a logging problem break the user's training.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("lighttrack")

#: The tag MLflow puts on runs an autolog integration created or wrote into.
AUTOLOGGING_TAG = "mlflow.autologging"


class Integration:
    """One library's autolog state: its switches, its patches, whether a fit is in progress."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.config: dict[str, Any] = {}
        self._patches: list[tuple[Any, str, Any, bool]] = []
        self._local = threading.local()
        #: per-iteration metrics the inner ``train`` of an estimator's ``fit`` recorded
        self.history: list[dict[str, float]] = []

    @property
    def enabled(self) -> bool:
        return bool(self._patches)

    def configure(self, disable: bool, **config: Any) -> bool:
        """Store the switches; with ``disable`` put every original back. True when enabled."""
        self.undo()
        if disable:
            return False
        self.config = dict(config)
        return True

    def patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Replace ``owner.name`` with ``make(original)``, remembering how to undo it."""
        had_own = name in vars(owner)
        original = getattr(owner, name)
        replacement = make(original)
        functools.update_wrapper(replacement, original)
        replacement.__lighttrack_autolog__ = self.flavour
        setattr(owner, name, replacement)
        self._patches.append((owner, name, original, had_own))

    def undo(self) -> None:
        for owner, name, original, had_own in reversed(self._patches):
            if had_own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        self._patches.clear()

    @property
    def depth(self) -> int:
        return getattr(self._local, "depth", 0)

    @contextmanager
    def training(self) -> Iterator[bool]:
        """Yields True for the outermost training call (the one that logs), False inside it
        (XGBClassifier.fit calling xgboost.train is one training, not two)."""
        outer = self.depth == 0
        self._local.depth = self.depth + 1
        try:
            yield outer
        finally:
            self._local.depth -= 1

    def wants_run(self) -> bool:
        """``exclusive=True``: never write into a run the user started themselves."""
        import lighttrack

        return not (self.config.get("exclusive") and lighttrack.active_run() is not None)

    @contextmanager
    def managed_run(self) -> Iterator[str]:
        """The active run's id, starting one (ended when training returns) if there is none."""
        import lighttrack

        started = lighttrack.active_run() is None
        tags = {AUTOLOGGING_TAG: self.flavour, **(self.config.get("extra_tags") or {})}
        run = lighttrack.start_run(tags=tags) if started else lighttrack.active_run()
        if not started:
            self.safely("tag the run", lambda: lighttrack.set_tag(AUTOLOGGING_TAG, self.flavour))
        try:
            yield run.info.run_id
        except BaseException:
            if started:
                lighttrack.end_run("FAILED")
            raise
        if started:
            lighttrack.end_run()

    def safely(self, what: str, action: Callable[[], Any]) -> Any:
        """Run a logging step; a failure is a warning (unless ``silent``), never an exception."""
        try:
            return action()
        except Exception as exc:  # logging must never break the user's training
            if not self.config.get("silent"):
                log.warning("lighttrack %s autolog: could not %s: %s", self.flavour, what, exc)
            return None


def params_text(params: dict[str, Any]) -> dict[str, str]:
    """Params as MLflow logs them (str of the value), leaving out the ones too long to keep."""
    from lighttrack.validation import MAX_PARAM_VALUE_LENGTH

    out = {}
    for key, value in params.items():
        text = str(value)
        if len(text) <= MAX_PARAM_VALUE_LENGTH:
            out[str(key)] = text
    return out


def metric_name(name: str) -> str:
    """XGBoost/LightGBM call some metrics ``ndcg@3``; MLflow logs them as ``ndcg_at_3``."""
    return name.replace("@", "_at_")


def sample_rows(data: Any, rows: int = 5) -> Any:
    """The first few rows of an array, DataFrame or sparse matrix (for examples and signatures)."""
    if hasattr(data, "iloc"):
        return data.iloc[:rows]
    sample = data[:rows]
    return sample.toarray() if hasattr(sample, "toarray") else sample
