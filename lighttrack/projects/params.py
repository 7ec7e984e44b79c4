"""Parameter values: checked against their declared type, then put into the command.

Values reach the command as the text given (shell-quoted), as MLflow passes them; ``path``
and ``uri`` values that are local paths become absolute. Unlike MLflow, ``float``, ``int``
and ``bool`` values are checked. Parameters the entry point does not declare are appended as
``--key value``.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lighttrack.projects.errors import ProjectError
from lighttrack.projects.spec import EntryPoint, display

_TRUE = ("true", "1", "yes", "y", "on")
_FALSE = ("false", "0", "no", "n", "off")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_INT = re.compile(r"^[+-]?\d+$")


def check_value(where: str, ptype: str, value: str) -> None:
    """Raise naming ``where`` when ``value`` is not a ``ptype`` (float, int or bool)."""
    text = value.strip()
    if ptype == "float":
        try:
            number = float(text)
        except ValueError:
            raise ProjectError(f"{where}: {value!r} is not a float") from None
        if math.isnan(number):
            raise ProjectError(f"{where}: {value!r} is not a number")
    elif ptype == "int":
        if not _INT.match(text):
            raise ProjectError(f"{where}: {value!r} is not an int (whole numbers only, like 10)")
    elif ptype == "bool":
        if text.lower() not in _TRUE + _FALSE:
            raise ProjectError(f"{where}: {value!r} is not a bool (use true or false)")


def as_text(value: Any) -> str:
    """What a Python value passed as a parameter reads as on the command line."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


@dataclass(frozen=True)
class ResolvedParameters:
    #: declared parameters (given or defaulted), in declaration order, as the command gets them
    declared: dict[str, str]
    #: parameters the entry point does not declare, passed as --key value
    extra: dict[str, str]
    #: what the run's params record: each value as the caller gave it (MLflow logs a path
    #: parameter as given, not as the absolute or downloaded path the command gets)
    given: dict[str, str] | None = None

    @property
    def logged(self) -> dict[str, str]:
        return {**self.all, **(self.given or {})}

    @property
    def all(self) -> dict[str, str]:
        return {**self.declared, **self.extra}


def resolve(
    entry_point: EntryPoint, given: dict[str, Any] | None, project_dir: Path, cwd: Path | None = None,
    download: Any = None,
) -> ResolvedParameters:
    """Check every value and fill in defaults. Relative paths given by the caller are taken from
    ``cwd``; relative path defaults from the project directory. A ``path`` parameter given as a
    ``runs:/``/``models:/`` URI is fetched from the file with ``download(uri) -> local path``."""
    cwd = cwd or Path.cwd()
    given = {str(k): as_text(v) for k, v in (given or {}).items() if v is not None}
    from lighttrack.validation import check_key, param_value

    for key, value in given.items():
        try:
            check_key(key, "param")
            param_value(key, value)
        except ProjectError:
            raise
        except Exception as exc:  # the same rules logging the param would apply, said up front
            raise ProjectError(f"parameter {key!r}: {getattr(exc, 'message', exc)}") from None
    declared: dict[str, str] = {}
    for name, param in entry_point.parameters.items():
        where = f"{entry_point.where}.parameters.{name}"
        if name in given:
            value, base, origin = given[name], cwd, f"-P {name}"
        elif param.default is not None:
            value, base, origin = param.default, project_dir, "default"
        else:
            raise ProjectError(
                f"{where}: required parameter ({param.type}, no default) was not given: pass -P {name}=VALUE"
            )
        if param.type == "path" and download is not None and value.startswith(("runs:/", "models:/")):
            declared[name] = str(download(value))
        else:
            declared[name] = _typed(f"{where} ({origin})", param.type, value, base)
    extra = {k: v for k, v in given.items() if k not in entry_point.parameters}
    as_given = {k: v for k, v in given.items() if k in entry_point.parameters}
    return ResolvedParameters(declared, extra, as_given)


def _typed(where: str, ptype: str, value: str, base: Path) -> str:
    if ptype in ("float", "int", "bool"):
        check_value(where, ptype, value)
        return value
    if ptype == "path":
        if value.startswith("file://"):
            value = value[len("file://"):]
        elif _URI.match(value):
            raise ProjectError(
                f"{where}: {value!r} is a remote URI; a path parameter must be a local file or "
                "directory here (download it first, or declare the parameter as type uri)"
            )
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = base / path
        if not path.exists():
            raise ProjectError(f"{where}: path {value!r} does not exist (looked for {display(path)})")
        return str(path.resolve())
    if ptype == "uri":
        if _URI.match(value) or value.startswith("file:") or not value:
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).absolute())
    return value


def render_command(entry_point: EntryPoint, params: ResolvedParameters) -> str:
    """The shell command: the template filled with quoted values, then --key value for the rest."""
    if entry_point.is_file:
        pairs = params.all
        command = entry_point.command
    else:
        quoted = {k: shlex.quote(v) for k, v in params.declared.items()}
        command = entry_point.command.format(**quoted)
        pairs = params.extra
    for key, value in pairs.items():
        command += f" --{key} {shlex.quote(value)}"
    return command


def parse_assignments(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``-P key=value`` options as a dict; a malformed or repeated one is an error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ProjectError(f"-P expects KEY=VALUE, not {pair!r}")
        if key in result:
            raise ProjectError(f"-P {key} is given twice ({result[key]!r} and {value!r})")
        result[key] = value
    return result
