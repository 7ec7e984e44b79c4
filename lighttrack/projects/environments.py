"""Where a project's command runs: ``local``, ``virtualenv``, ``conda`` or ``docker``.

Two steps, so that nothing happens before everything is known to work:

- ``plan(project, manager)`` reads the environment file and checks the tool is there (conda,
  mamba or micromamba on PATH; a Docker engine answering) — no side effects;
- ``build(plan)`` makes (or reuses) the environment: virtualenvs and conda environments are
  cached under ``~/.cache/lighttrack/envs/<sha256 of the file + lighttrack version>``.

The exact command lines are built by pure functions (``venv_create_argv``, ``pip_install_argv``,
``conda_create_argv``, ``docker_run_argv``) so they can be read and tested without the tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.projects import envfiles, runtime
from lighttrack.projects.errors import EnvironmentUnavailable, ExecutionError, ProjectError
from lighttrack.projects.spec import DockerEnv, Project, display

ENV_MANAGERS = ("local", "virtualenv", "conda", "docker")
CONDA_TOOLS = ("mamba", "micromamba", "conda")
READY_MARKER = ".lighttrack-ready"
#: where the project and the lighttrack file appear inside a container
CONTAINER_PROJECT = "/lighttrack/project"
CONTAINER_DB_DIR = "/lighttrack/db"
CONTAINER_SRC = "/lighttrack/src"


def choose_manager(project: Project, requested: str | None) -> str:
    """The manager asked for, else the project's own: docker_env, python_env, conda_env, local."""
    if requested:
        if requested not in ENV_MANAGERS:
            raise ProjectError(f"--env-manager {requested!r}: choose one of {', '.join(ENV_MANAGERS)}")
        if requested == "docker" and project.docker_env is None:
            raise ProjectError(
                f"{project.label}: --env-manager docker needs a docker_env (with an image) in the MLproject"
            )
        return requested
    if project.docker_env is not None:
        return "docker"
    if project.python_env is not None:
        return "virtualenv"
    if project.conda_env is not None:
        return "conda"
    return "local"


@dataclass
class EnvPlan:
    manager: str
    python_env: envfiles.PythonEnv | None = None
    conda_spec: dict[str, Any] | None = None
    conda_file: Path | None = None
    docker: DockerEnv | None = None
    tool: str | None = None
    key: str | None = None


@dataclass
class Environment:
    """A ready environment: how to run a shell command inside it."""

    manager: str
    env_vars: dict[str, str] = field(default_factory=dict)
    path_prefix: Path | None = None
    prefix: Path | None = None
    reused: bool = False
    docker: DockerEnv | None = None

    def argv(self, command: str, project_dir: Path, run_env: dict[str, str], db_path: Path,
             name: str | None = None) -> list[str]:
        if self.docker is not None:
            return docker_run_argv(
                self.docker, project_dir, db_path, run_env, command, runtime.lighttrack_package_dir(), name
            )
        return [shell(), "-c", command]

    def child_env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.path_prefix is not None:
            env["PATH"] = os.pathsep.join([str(self.path_prefix), env.get("PATH", "")]).rstrip(os.pathsep)
        env.update(self.env_vars)
        if self.manager in ("virtualenv", "conda"):
            env.pop("PYTHONHOME", None)
        return env


def shell() -> str:
    return shutil.which("bash") or "/bin/sh"


def _key(*parts: str) -> str:
    import hashlib

    import lighttrack

    digest = hashlib.sha256()
    for part in (*parts, lighttrack.__version__, sys.executable):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:20]


def _text_of(path: Path | None) -> str:
    return path.read_text(errors="replace") if path and path.is_file() else ""


# ------------------------------------------------------------------------------- plan
def plan(project: Project, manager: str) -> EnvPlan:
    if manager == "local":
        return EnvPlan("local")
    if manager == "virtualenv":
        if project.python_env is not None:
            env = envfiles.read_python_env(project.python_env)
        elif project.conda_env is not None:
            env = envfiles.python_env_from_conda(project.conda_env)
        else:
            env = envfiles.PythonEnv()
        envfiles.check_python_version(env)
        identity = [_text_of(env.source), json.dumps([env.python, env.build_dependencies, env.dependencies])]
        identity += [_text_of(f) for f in envfiles.requirement_files(env)]
        return EnvPlan("virtualenv", python_env=env, key="venv-" + _key(*identity))
    if manager == "conda":
        if project.conda_env is not None:
            spec = envfiles.read_conda_env(project.conda_env)
            conda_file = project.conda_env
        else:
            env = envfiles.read_python_env(project.python_env) if project.python_env else envfiles.PythonEnv()
            spec, conda_file = envfiles.conda_env_from_python(env), None
        tool = find_conda()
        return EnvPlan("conda", conda_spec=spec, conda_file=conda_file, tool=tool,
                       key="conda-" + _key(json.dumps(spec, sort_keys=True), Path(tool).name))
    if manager == "docker":
        assert project.docker_env is not None
        check_docker()
        return EnvPlan("docker", docker=project.docker_env, tool="docker")
    raise ProjectError(f"--env-manager {manager!r}: choose one of {', '.join(ENV_MANAGERS)}")


def find_conda() -> str:
    """conda, mamba or micromamba ($LIGHTTRACK_CONDA_EXE first), or a clear error."""
    explicit = os.environ.get("LIGHTTRACK_CONDA_EXE")
    if explicit:
        found = shutil.which(explicit)
        if found:
            return found
        raise EnvironmentUnavailable(f"LIGHTTRACK_CONDA_EXE={explicit!r} is not an executable")
    for tool in CONDA_TOOLS:
        found = shutil.which(tool)
        if found:
            return found
    raise EnvironmentUnavailable(
        "--env-manager conda: none of conda, mamba or micromamba was found on PATH: install one "
        "(for example Miniforge or micromamba) or set LIGHTTRACK_CONDA_EXE, or run with "
        "--env-manager virtualenv (python_env.yaml) or --env-manager local"
    )


def check_docker() -> None:
    """Docker must be installed and its engine answering, before anything runs."""
    if shutil.which("docker") is None:
        raise EnvironmentUnavailable(
            "--env-manager docker: the docker command was not found on PATH: install Docker, or "
            "run with --env-manager local or virtualenv"
        )
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        result = None
    if result is None or result.returncode != 0:
        detail = "" if result is None else (result.stderr.strip().splitlines() or [""])[-1]
        raise EnvironmentUnavailable(
            "--env-manager docker: no Docker engine answers ('docker info' "
            f"{'timed out' if result is None else 'failed'}{': ' + detail if detail else ''}): start the "
            "Docker daemon (or Docker Desktop), or run with --env-manager local or virtualenv"
        )


# --------------------------------------------------------------------------- command lines
def venv_create_argv(prefix: Path, with_pip: bool, python: str | None = None) -> list[str]:
    argv = [python or sys.executable, "-m", "venv"]
    if not with_pip:
        argv.append("--without-pip")
    return [*argv, str(prefix)]


def pip_install_argv(python: Path | str, requirements: list[str], base: Path | None = None) -> list[str]:
    """``python -m pip install ...``; ``-r FILE`` lines are resolved against ``base``."""
    argv = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    for req in requirements:
        parts = req.split(None, 1)
        if len(parts) == 2 and parts[0] in ("-r", "--requirement", "-c", "--constraint"):
            target = Path(parts[1].strip())
            argv += [parts[0], str(target if target.is_absolute() or base is None else base / target)]
        else:
            argv.append(req)
    return argv


def conda_create_argv(tool: str, prefix: Path, env_file: Path) -> list[str]:
    if Path(tool).name.startswith("micromamba"):
        return [tool, "create", "--yes", "--prefix", str(prefix), "--file", str(env_file)]
    return [tool, "env", "create", "--prefix", str(prefix), "--file", str(env_file)]


def docker_run_argv(
    docker: DockerEnv, project_dir: Path, db_path: Path, run_env: dict[str, str], command: str,
    lighttrack_pkg: Path, name: str | None = None, host_env: dict[str, str] | None = None,
) -> list[str]:
    """``docker run`` with the project, the lighttrack file's folder and lighttrack mounted."""
    host_env = os.environ if host_env is None else host_env
    db_inside = f"{CONTAINER_DB_DIR}/{db_path.name}"
    argv = ["docker", "run", "--rm"]
    if name:
        argv += ["--name", name]
    argv += [
        "-v", f"{project_dir}:{CONTAINER_PROJECT}",
        "-v", f"{db_path.parent}:{CONTAINER_DB_DIR}",
        "-v", f"{lighttrack_pkg}:{CONTAINER_SRC}/lighttrack:ro",
        "-w", CONTAINER_PROJECT,
    ]
    for volume in docker.volumes:
        argv += ["-v", volume]
    inside = {k: v for k, v in run_env.items() if k != "LIGHTTRACK_TRACKING_URI"}
    inside["LIGHTTRACK_TRACKING_URI"] = db_inside
    inside["PYTHONPATH"] = CONTAINER_SRC
    inside.setdefault("PYTHONUNBUFFERED", "1")
    for key, value in inside.items():
        argv += ["-e", f"{key}={value}"]
    for key, value in docker.environment:
        if value is None:
            if key in host_env:
                argv += ["-e", f"{key}={host_env[key]}"]
        else:
            argv += ["-e", f"{key}={value}"]
    return [*argv, docker.image, "sh", "-c", command]


# ------------------------------------------------------------------------------- build
def build(env_plan: EnvPlan, project: Project, echo=None) -> Environment:
    echo = echo or (lambda text: print(text, file=sys.stderr, flush=True))
    if env_plan.manager == "local":
        exe_dir = Path(sys.executable).parent
        path = os.pathsep.join(
            [str(runtime.lighttrack_source_dir()), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        )
        return Environment("local", env_vars={"PYTHONPATH": path}, path_prefix=exe_dir)
    if env_plan.manager == "docker":
        return Environment("docker", docker=env_plan.docker)
    envs = runtime.cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    assert env_plan.key is not None
    prefix = envs / env_plan.key
    with _locked(envs / f"{env_plan.key}.lock"):
        reused = (prefix / READY_MARKER).is_file()
        if reused:
            echo(f"lighttrack: reusing the {env_plan.manager} environment {display(prefix)}")
        else:
            if prefix.exists():
                shutil.rmtree(prefix)  # a build that was interrupted: start again
            try:
                if env_plan.manager == "virtualenv":
                    _build_venv(env_plan.python_env, prefix, echo)
                else:
                    _build_conda(env_plan, prefix, echo)
            except BaseException:
                shutil.rmtree(prefix, ignore_errors=True)
                raise
            (prefix / READY_MARKER).write_text(json.dumps({"manager": env_plan.manager}) + "\n")
    site = _site_packages(prefix, env_plan.manager)
    runtime.install_pth(site, runtime.ensure_runtime_dir())
    env_vars = {"VIRTUAL_ENV": str(prefix)} if env_plan.manager == "virtualenv" else {
        "CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": str(prefix)}
    return Environment(env_plan.manager, env_vars=env_vars, path_prefix=prefix / "bin", prefix=prefix,
                       reused=reused)


class _locked:
    """An exclusive lock file, so two runs never build the same environment at once."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        import fcntl

        self.handle = open(self.path, "a")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _tool(argv: list[str], what: str, echo, cwd: Path | None = None) -> None:
    """Run an installer, echoing its output to stderr; failure raises with its last lines."""
    echo(f"lighttrack: {what}")
    tail: list[str] = []
    try:
        # The caller's PYTHONPATH must not leak into what pip sees as installed.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=cwd, stdin=subprocess.DEVNULL, env=env)
    except OSError as exc:
        raise ExecutionError(f"{what}: cannot start {argv[0]}: {exc.strerror}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        echo(line.rstrip("\n"))
        tail = (tail + [line.rstrip("\n")])[-8:]
    if proc.wait() != 0:
        last = " | ".join(t.strip() for t in tail if t.strip())
        raise ExecutionError(f"{what} failed (exit {proc.returncode}); nothing was run. Last output: {last}")


def _build_venv(env: envfiles.PythonEnv | None, prefix: Path, echo) -> None:
    env = env or envfiles.PythonEnv()
    _tool(venv_create_argv(prefix, with_pip=env.needs_pip), f"creating a virtualenv in {display(prefix)}", echo)
    python = prefix / "bin" / "python"
    base = env.source.parent if env.source else None
    if env.build_dependencies:
        _tool(pip_install_argv(python, env.build_dependencies, base), "installing build dependencies", echo, base)
    if env.dependencies:
        _tool(pip_install_argv(python, env.dependencies, base),
              f"installing {len(env.dependencies)} dependencies with pip", echo, base)


def _build_conda(env_plan: EnvPlan, prefix: Path, echo) -> None:
    assert env_plan.tool is not None
    env_file = env_plan.conda_file
    written = None
    if env_file is None:
        import tempfile

        import yaml

        handle = tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="lighttrack-conda-", delete=False)
        with handle:
            yaml.safe_dump(env_plan.conda_spec, handle)
        env_file = written = Path(handle.name)
    try:
        _tool(conda_create_argv(env_plan.tool, prefix, env_file),
              f"creating a conda environment in {display(prefix)} with {Path(env_plan.tool).name}", echo)
    finally:
        if written is not None:
            written.unlink(missing_ok=True)


def _site_packages(prefix: Path, manager: str) -> Path:
    python = prefix / "bin" / "python"
    if manager == "virtualenv":
        return prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    try:
        out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ExecutionError(f"the conda environment {display(prefix)} has no working python: {exc}") from None
    if out.returncode != 0 or not out.stdout.strip():
        raise ExecutionError(
            f"the conda environment {display(prefix)} has no working python (list python in conda.yaml)"
        )
    return Path(out.stdout.strip())
