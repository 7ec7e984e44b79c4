"""The environment files of a model: requirements.txt, python_env.yaml, conda.yaml.

Versions come from what is installed (importlib.metadata): no subprocess, no network, so
logging a model costs milliseconds here instead of MLflow's seconds of requirement inference.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import yaml


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


def write_environment(folder: Path, requirements: list[str]) -> dict[str, str]:
    """Write the three files; returns the ``env`` entry for the python_function flavor."""
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    python = platform.python_version()
    build = [req for req in (pinned("pip"), pinned("setuptools"), pinned("wheel")) if req]
    (folder / "python_env.yaml").write_text(
        yaml.safe_dump({"python": python, "build_dependencies": build, "dependencies": ["-r requirements.txt"]},
                       sort_keys=False)
    )
    (folder / "conda.yaml").write_text(
        yaml.safe_dump(
            {"channels": ["conda-forge"],
             "dependencies": [f"python={python}", "pip", {"pip": requirements}],
             "name": "lighttrack-env"},
            sort_keys=False,
        )
    )
    return {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
