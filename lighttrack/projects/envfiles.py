"""Environment files: ``python_env.yaml`` (MLflow's virtualenv spec) and ``conda.yaml``.

python_env.yaml::

    python: "3.11"            # major.minor (a patch level is allowed and ignored)
    build_dependencies: [pip, setuptools]
    dependencies: [scikit-learn, pandas]

A conda.yaml can stand in for a python_env (its ``python=`` pin and ``pip:`` list are used),
and a python_env for a conda.yaml, as MLflow converts between them.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.projects.errors import EnvironmentUnavailable, ProjectError
from lighttrack.projects.spec import display, read_yaml

_VERSION = re.compile(r"^\s*(\d+)(?:\.(\d+))?")


@dataclass
class PythonEnv:
    python: str | None = None
    build_dependencies: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    #: the file it came from (None: made up for a project that names no environment)
    source: Path | None = None
    #: conda packages a conda.yaml lists that pip cannot install (reported, not installed)
    conda_only: list[str] = field(default_factory=list)

    @property
    def needs_pip(self) -> bool:
        return bool(self.build_dependencies or self.dependencies)


def _string_list(where: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool)
                                              for v in value):
        raise ProjectError(f"{where} must be a list of requirement strings (like scikit-learn>=1.3)")
    return [str(v) for v in value]


def read_python_env(path: Path) -> PythonEnv:
    where = display(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: must be a mapping with python:, build_dependencies:, dependencies:")
    python = data.get("python")
    if python is not None:
        python = str(python)
        if not _VERSION.match(python):
            raise ProjectError(f"{where}: python: {python!r} is not a Python version (like \"3.11\")")
    return PythonEnv(
        python=python,
        build_dependencies=_string_list(f"{where}: build_dependencies", data.get("build_dependencies")),
        dependencies=_string_list(f"{where}: dependencies", data.get("dependencies")),
        source=path,
    )


def read_conda_env(path: Path) -> dict[str, Any]:
    """The conda.yaml as a mapping, checked enough that conda will not fail on its shape."""
    where = display(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: must be a mapping with channels: and dependencies:")
    deps = data.get("dependencies")
    if deps is None:
        deps = []
    if not isinstance(deps, list):
        raise ProjectError(f"{where}: dependencies must be a list, not {type(deps).__name__}")
    for i, dep in enumerate(deps):
        if isinstance(dep, dict):
            if set(dep) != {"pip"} or not isinstance(dep["pip"], list):
                raise ProjectError(f"{where}: dependencies[{i}] must be a package or a {{pip: [...]}} list")
        elif not isinstance(dep, str):
            raise ProjectError(f"{where}: dependencies[{i}] must be a package name, not {dep!r}")
    channels = data.get("channels")
    if channels is not None and not (isinstance(channels, list) and all(isinstance(c, str) for c in channels)):
        raise ProjectError(f"{where}: channels must be a list of channel names")
    return data


def python_env_from_conda(path: Path) -> PythonEnv:
    """What a virtualenv can take from a conda.yaml: the Python pin and the pip list."""
    data = read_conda_env(path)
    env = PythonEnv(source=path)
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict):
            env.dependencies.extend(_string_list(f"{display(path)}: dependencies.pip", dep["pip"]))
            continue
        name = re.split(r"[=<>! ]", dep, maxsplit=1)[0]
        if name == "python":
            env.python = dep[len(name):].lstrip("=<>! ") or None
        elif name != "pip":
            env.conda_only.append(dep)
    return env


def conda_env_from_python(env: PythonEnv) -> dict[str, Any]:
    """A conda.yaml for a project that only has a python_env.yaml."""
    python = env.python or f"{sys.version_info.major}.{sys.version_info.minor}"
    pip_deps = [*env.build_dependencies, *env.dependencies]
    deps: list[Any] = [f"python={python}", "pip"]
    if pip_deps:
        deps.append({"pip": pip_deps})
    return {"channels": ["conda-forge"], "dependencies": deps}


def major_minor(version: str) -> tuple[int, int | None]:
    match = _VERSION.match(version)
    assert match is not None
    return int(match.group(1)), (int(match.group(2)) if match.group(2) is not None else None)


def check_python_version(env: PythonEnv) -> None:
    """A virtualenv is made from this interpreter, so the project's Python must be this one's."""
    if env.python is None:
        return
    major, minor = major_minor(env.python)
    have = sys.version_info
    if major == have.major and (minor is None or minor == have.minor):
        return
    where = display(env.source) if env.source else "python_env"
    raise EnvironmentUnavailable(
        f"{where}: python: the project wants Python {env.python}, but a virtualenv is made from "
        f"this interpreter, Python {have.major}.{have.minor}, and lighttrack does not download "
        f"interpreters: run lighttrack with a Python {env.python}, use --env-manager conda, or "
        "--env-manager local to run in the current environment"
    )


def file_digest(path: Path, *extra: str) -> str:
    """sha256 of a file's bytes plus any extra text (the lighttrack version, a tool name...)."""
    digest = hashlib.sha256(path.read_bytes())
    for item in extra:
        digest.update(b"\0" + item.encode())
    return digest.hexdigest()


def requirement_files(env: PythonEnv) -> list[Path]:
    """Files named by ``-r FILE`` lines: their content is part of the environment's identity."""
    files = []
    base = env.source.parent if env.source else Path.cwd()
    for dep in [*env.build_dependencies, *env.dependencies]:
        parts = dep.split(None, 1)
        if len(parts) == 2 and parts[0] in ("-r", "--requirement"):
            files.append(base / parts[1].strip())
    return files
