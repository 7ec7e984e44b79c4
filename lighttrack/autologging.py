"""``lighttrack.autolog()``: turn on autologging for every supported library that is installed."""

from __future__ import annotations

import importlib.util
from typing import Any


def autolog(**kwargs: Any) -> None:
    """Today that is scikit-learn (the only library lighttrack has a flavour for)."""
    if importlib.util.find_spec("sklearn") is not None:
        from lighttrack.sklearn.autologging import autolog as sklearn_autolog

        sklearn_autolog(**kwargs)
