"""Checks on what users log, done where the value enters and before anything is written.

MLflow's limits are the floor; unlike MLflow nothing is ever truncated: a value that does not
fit is refused with a message that says what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from lighttrack.errors import InvalidArgument

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 500
# fullmatch, not match with "$": "$" also matches before a trailing newline, so "loss\n"
# would pass (MLflow's own pattern has that hole).
_KEY_PATTERN = re.compile(r"[/\w.\- :]*")
_KEY_RULE = (
    "keys are 1-250 characters of letters, digits, '_', '-', '.', ' ', ':' and '/', "
    "with no '..' path part and no leading '/'"
)

_valid_keys: set[str] = set()


def check_key(key: Any, what: str) -> str:
    """A metric, param or tag name. Valid names are remembered: log_metric stays cheap."""
    if key in _valid_keys:
        return key
    if not isinstance(key, str):
        raise InvalidArgument(f"{what} name must be a string, not {type(key).__name__}: {_KEY_RULE}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(f"{what} name {key[:60]!r} has {len(key)} characters: {_KEY_RULE}")
    if not _KEY_PATTERN.fullmatch(key):
        raise InvalidArgument(f"{what} name {key!r} has characters that are not allowed: {_KEY_RULE}")
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidArgument(f"{what} name {key!r} is not a safe path: {_KEY_RULE}")
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


_METRIC_RULE = "metric values are real numbers (int or float; NaN and ±inf are kept)"


def check_metric_value(key: str, value: Any) -> float:
    """A real number (int, float, numpy scalar...); bool and strings are refused."""
    kind = type(value)
    if kind is float:
        return value
    if _is_boolean(value) or isinstance(value, (str, bytes, complex)):
        raise InvalidArgument(f"metric {key!r} got {value!r} ({kind.__name__}): {_METRIC_RULE}")
    try:
        return float(value)
    except OverflowError:
        raise InvalidArgument(
            f"metric {key!r} got an integer of {len(str(value))} digits, too large for a float64 "
            f"(at most about 1.8e308): {_METRIC_RULE}"
        ) from None
    except (TypeError, ValueError):
        raise InvalidArgument(f"metric {key!r} got {value!r} ({kind.__name__}): {_METRIC_RULE}") from None


def _is_boolean(value: Any) -> bool:
    """bool, and numpy's bool (``numpy.bool_``, named ``bool`` since numpy 2) without importing numpy."""
    if isinstance(value, bool):
        return True
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "kind", None) == "b"


def check_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import operator

            value = operator.index(value)  # numpy integers
        except TypeError:
            raise InvalidArgument(f"{what} must be an integer, not {value!r}") from None
    if not -(2**63) <= value < 2**63:
        raise InvalidArgument(f"{what} {value} does not fit in 64 bits")
    return int(value)


#: Run times are milliseconds since the epoch (MLflow's unit). Anything outside years
#: 1900..9999 is a unit mistake (seconds read as 1970, microseconds as year 57,000), and a year
#: past 9999 cannot even be shown, so it is refused where it enters.
EARLIEST_TIME_MS = -2_208_988_800_000  # 1900-01-01
LATEST_TIME_MS = 253_402_300_799_999  # 9999-12-31


def check_time_ms(value: Any, what: str) -> int:
    """A run's start or end time in milliseconds since the epoch, within years 1900-9999."""
    ms = check_int(value, what)
    if EARLIEST_TIME_MS <= ms <= LATEST_TIME_MS:
        return ms
    hint = ""
    for unit, factor in (("microseconds", 1_000), ("nanoseconds", 1_000_000)):
        if EARLIEST_TIME_MS <= ms // factor <= LATEST_TIME_MS:
            hint = f" ({ms} looks like {unit}: divide by {factor:,})"
            break
    raise InvalidArgument(
        f"{what} {ms} is not a plausible time: {what} is in milliseconds since the epoch "
        f"(as MLflow takes it; e.g. int(time.time() * 1000)), between years 1900 and 9999{hint}"
    )


def param_value(key: str, value: Any) -> str:
    """Params are stored as strings, as in MLflow (``str(value)``), up to 6000 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidArgument(
            f"param {key!r} value has {len(text):,} characters; params hold at most "
            f"{MAX_PARAM_VALUE_LENGTH:,} (log long text as an artifact with log_text)"
        )
    return text


def tag_value(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(
            f"tag {key!r} value has {len(text):,} characters; tags hold at most "
            f"{MAX_TAG_VALUE_LENGTH:,} (log long text as an artifact with log_text)"
        )
    return text


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"{what} name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{what} name has {len(name)} characters; at most {MAX_NAME_LENGTH}")
    return name


def checked_mapping(
    items: Mapping[str, Any] | None, what: str, convert: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """Validate a whole dict before any of it is written (a batch is all or nothing)."""
    if items is None:
        return {}
    if not isinstance(items, Mapping):
        raise InvalidArgument(f"{what}s must be a dict of name -> value, not {type(items).__name__}")
    return {check_key(k, what): convert(k, v) for k, v in items.items()}


def number_or_none(text: str) -> float | None:
    """The value as a number when it reads as one: how params compare numerically in search."""
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def unique(keys: list[Hashable], what: str) -> None:
    seen: set[Hashable] = set()
    for key in keys:
        if key in seen:
            raise InvalidArgument(f"{what} {key!r} appears twice in one batch")
        seen.add(key)


#: MLflow 3.17's own limits for experiment tags and registry (model and version) tags
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000


def _limited_tag(key: str, value: Any, limit: int, what: str) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidArgument(
            f"{what} tag {key!r} value has {len(text):,} characters; {what} tags hold at most {limit:,}"
        )
    return text


def experiment_tag_value(key: str, value: Any) -> str:
    return _limited_tag(key, value, MAX_EXPERIMENT_TAG_VALUE_LENGTH, "experiment")


def registry_tag_value(key: str, value: Any) -> str:
    return _limited_tag(key, value, MAX_REGISTRY_TAG_VALUE_LENGTH, "registry")
