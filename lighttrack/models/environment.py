"""The environment files of a model: requirements.txt, python_env.yaml, conda.yaml.

Versions come from what is installed (importlib.metadata): no subprocess, no network, so
logging a model costs milliseconds here instead of MLflow's seconds of requirement inference.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from lighttrack.errors import InvalidArgument


def pinned(package: str) -> str | None:
    """``package==version`` of what is installed. A local label (torch's ``+cpu``) is dropped, as
    MLflow does, so the line installs from PyPI."""
    try:
        return f"{package}=={metadata.version(package).split('+', 1)[0]}"
    except metadata.PackageNotFoundError:
        return None


def requirements_for(packages: list[str], extra: list[str] | None = None) -> list[str]:
    found = [req for req in (pinned(p) for p in packages) if req]
    return sorted(set(found)) + list(extra or [])


def read_conda_env(conda_env: Any) -> dict[str, Any]:
    """A ``conda_env`` argument (a dict, or the path of a YAML file) as a dict, as MLflow takes it."""
    if isinstance(conda_env, dict):
        return conda_env
    if isinstance(conda_env, (str, os.PathLike)):
        try:
            loaded = yaml.safe_load(Path(conda_env).read_text())
        except OSError as exc:
            raise InvalidArgument(f"conda_env {os.fspath(conda_env)!r} cannot be read: {exc.strerror}") from None
        if isinstance(loaded, dict):
            return loaded
    raise InvalidArgument(f"conda_env must be a dict or the path of a conda YAML file, not {conda_env!r}")


def get_default_conda_env(requirements: list[str]) -> dict[str, Any]:
    """The conda environment lighttrack writes when none is given (MLflow's shape)."""
    return {"name": "mlflow-env", "channels": ["conda-forge"],
            "dependencies": [f"python={platform.python_version()}", "pip", {"pip": list(requirements)}]}


def write_environment(folder: Path, requirements: list[str], conda_env: Any = None) -> dict[str, str]:
    """Write the three files; returns the ``env`` entry for the python_function flavor. A given
    ``conda_env`` is written as conda.yaml unchanged and its pip list becomes requirements.txt."""
    python = platform.python_version()
    conda = None
    if conda_env is not None:
        conda = read_conda_env(conda_env)
        for dep in conda.get("dependencies") or []:
            if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                requirements = [str(r) for r in dep["pip"]]
            elif isinstance(dep, str) and dep.startswith("python="):
                python = dep.split("=", 1)[1]
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    build = [req for req in (pinned("pip"), pinned("setuptools"), pinned("wheel")) if req]
    (folder / "python_env.yaml").write_text(
        yaml.safe_dump({"python": python, "build_dependencies": build, "dependencies": ["-r requirements.txt"]},
                       sort_keys=False)
    )
    (folder / "conda.yaml").write_text(
        yaml.safe_dump(
            conda if conda is not None else
            {"channels": ["conda-forge"],
             "dependencies": [f"python={python}", "pip", {"pip": requirements}],
             "name": "lighttrack-env"},
            sort_keys=False,
        )
    )
    return {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
