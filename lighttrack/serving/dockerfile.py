"""A container folder for a model: the exported model, lighttrack itself, and a Dockerfile.

The folder builds offline from what it holds plus the base image and PyPI: ``model/`` is the
model exported from the file (hashes checked), ``requirements-model.txt`` its pinned
requirements (from ``model/requirements.txt``, without lighttrack and mlflow), and ``lighttrack/`` the source of the lighttrack that wrote it (so the image
serves with the same code, whether or not this version is on PyPI). The image runs
``lighttrack models serve -m /opt/ml/model --host 0.0.0.0 --port 8080``, MLflow's port and
model path for its images.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from lighttrack.errors import InvalidArgument, LighttrackError

PORT = 8080
MODEL_DIR = "/opt/ml/model"


def _source_root() -> Path | None:
    """The folder holding lighttrack's pyproject.toml, when running from a source tree."""
    import lighttrack

    root = Path(lighttrack.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _copy_lighttrack(target: Path) -> str:
    """Put lighttrack's source in the folder; the pip argument that installs it."""
    root = _source_root()
    if root is None:
        try:
            return f"lighttrack[serve]=={metadata.version('lighttrack')}"
        except metadata.PackageNotFoundError:
            return "lighttrack[serve]"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    target.mkdir(parents=True)
    for name in ("lighttrack", "tui"):
        if (root / name).is_dir():
            shutil.copytree(root / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, target / name)
    return "./lighttrack[serve]"


def dockerfile_text(python_version: str, install_lighttrack: str) -> str:
    major_minor = ".".join(python_version.split(".")[:2])
    copy_source = "COPY lighttrack/ /opt/lighttrack/src/lighttrack/\n" if install_lighttrack.startswith("./") else ""
    install = install_lighttrack.replace("./lighttrack", "/opt/lighttrack/src/lighttrack")
    return f"""# Written by `lighttrack models generate-dockerfile`: serves the model in model/ over
# MLflow's scoring protocol (POST /invocations, GET /ping, /health, /version) on port {PORT}.
FROM python:{major_minor}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/lighttrack
COPY requirements-model.txt /opt/lighttrack/requirements-model.txt
RUN pip install -r /opt/lighttrack/requirements-model.txt
{copy_source}RUN pip install "{install}"
COPY model/ {MODEL_DIR}/
EXPOSE {PORT}
CMD ["lighttrack", "models", "serve", "-m", "{MODEL_DIR}", "--host", "0.0.0.0", "--port", "{PORT}"]
"""


def _model_requirements(model_folder: Path) -> list[str]:
    path = model_folder / "requirements.txt"
    if not path.is_file():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def generate(model_uri: str, directory: Path) -> Path:
    """Write the container folder for ``model_uri`` into ``directory`` (new or empty)."""
    from lighttrack.pyfunc import open_model_folder

    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InvalidArgument(f"{directory} exists and is not an empty folder: choose a new one")
    folder, meta, tmp = open_model_folder(model_uri)  # hashes checked before anything is written
    try:
        if "python_function" not in meta.flavors:
            raise InvalidArgument(f"{model_uri} has no python_function flavor, so it cannot be served")
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder, directory / "model")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    model_dir = directory / "model"
    # The model's pins minus lighttrack/mlflow: the lighttrack copied into this folder serves it.
    reqs = [r for r in _model_requirements(model_dir) if not r.lower().startswith(("lighttrack", "mlflow"))]
    (directory / "requirements-model.txt").write_text("\n".join(reqs) + ("\n" if reqs else ""))
    install = _copy_lighttrack(directory / "lighttrack")
    python_version = (meta.flavors["python_function"].get("python_version") or platform.python_version())
    (directory / "Dockerfile").write_text(dockerfile_text(python_version, install))
    (directory / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    return directory / "Dockerfile"


def docker_engine() -> str:
    """The docker binary, or a one-line reason why no image can be built here."""
    binary = shutil.which("docker")
    if binary is None:
        raise LighttrackError(
            "build-docker needs a Docker engine and there is none here (no `docker` on PATH); "
            "`lighttrack models generate-dockerfile -m URI -o DIR` writes the folder to build elsewhere"
        )
    probe = subprocess.run([binary, "info"], capture_output=True, text=True)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        raise LighttrackError(f"build-docker needs a running Docker engine ({reason}); "
                              "`lighttrack models generate-dockerfile` writes the folder to build elsewhere")
    return binary


def build(model_uri: str, image: str, work_dir: Path) -> None:
    """Generate the folder in ``work_dir`` and ``docker build -t image`` it."""
    binary = docker_engine()
    generate(model_uri, work_dir)
    result = subprocess.run([binary, "build", "-t", image, str(work_dir)])
    if result.returncode != 0:
        raise LighttrackError(f"docker build of {image} failed (exit {result.returncode}); see its output above")
