"""Environment managers. What this machine can run is run for real (local, virtualenv — built
once, then reused from the cache — and conda through a stand-in micromamba); Docker through
its exact command line and a stand-in `docker`; missing tools fail before anything runs."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from lighttrack import LighttrackClient
from lighttrack.projects import EnvironmentUnavailable, ProjectError, load_project, run
from lighttrack.projects import environments as envs
from lighttrack.projects import envfiles
from lighttrack.projects.environments import (
    conda_create_argv, docker_run_argv, pip_install_argv, venv_create_argv,
)
from lighttrack.projects.spec import DockerEnv

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
PROBE = """\
import importlib.util, sys
import lighttrack as mlflow
with mlflow.start_run():
    mlflow.set_tags({"prefix": sys.prefix, "executable": sys.executable,
                     "has_sklearn": str(importlib.util.find_spec("sklearn") is not None),
                     "has_tinydep": str(importlib.util.find_spec("tinydep") is not None)})
"""


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LIGHTTRACK_CACHE_DIR", str(folder))
    return folder


def project_with(tmp_path: Path, env_line: str, files: dict[str, str]) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir(exist_ok=True)
    (folder / "MLproject").write_text(f"name: envs\n{env_line}\nentry_points:\n  main:\n    command: python probe.py\n")
    (folder / "probe.py").write_text(PROBE)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def fake_tool(bin_dir: Path, name: str, script: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def no_runs(db_path: Path) -> bool:
    return list(LighttrackClient(db_path).search_runs()) == []


# ------------------------------------------------------------------------ virtualenv
def test_virtualenv_is_built_once_then_reused(tmp_path, db_path, cache, capfd):
    project = project_with(tmp_path, "python_env: python_env.yaml", {"python_env.yaml": f'python: "{PY}"\n'})
    client = LighttrackClient(db_path)
    first = run(str(project), tracking_uri=db_path)  # python_env.yaml: virtualenv by default
    tags = client.get_run(first.run_id).data.tags
    prefix = Path(tags["lighttrack.project.envPath"])
    assert tags["mlflow.project.env"] == "virtualenv" and prefix.parent == cache / "envs"
    assert Path(tags["prefix"]) == prefix  # the child ran in the venv...
    assert tags["has_sklearn"] == "False"  # ...which holds only what the project lists
    marker = prefix / envs.READY_MARKER
    built_at = marker.stat().st_mtime_ns
    assert "creating a virtualenv" in capfd.readouterr().err

    second = run(str(project), tracking_uri=db_path)
    assert client.get_run(second.run_id).data.tags["prefix"] == str(prefix)
    err = capfd.readouterr().err
    assert "reusing the virtualenv environment" in err and "creating a virtualenv" not in err
    # Reuse is proven by the untouched ready marker and the one environment folder, never by
    # comparing durations (which depend on the machine's load).
    assert marker.stat().st_mtime_ns == built_at and [p for p in (cache / "envs").glob("venv-*") if p.is_dir()] == [prefix]

    # A changed python_env.yaml is another environment.
    (project / "python_env.yaml").write_text(f'python: "{PY}"\ndependencies: []\n')
    third = run(str(project), tracking_uri=db_path)
    assert client.get_run(third.run_id).data.tags["prefix"] != str(prefix)


def _tiny_wheel(folder: Path) -> Path:
    wheel = folder / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("tinydep.py", "VALUE = 42\n")
        info = "tinydep-1.0.dist-info"
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", f"tinydep.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return wheel


def test_virtualenv_installs_the_listed_dependencies_with_pip(tmp_path, db_path):
    project = project_with(tmp_path, "python_env: env/python_env.yaml", {})
    (project / "env").mkdir()
    _tiny_wheel(project / "env")
    (project / "env" / "python_env.yaml").write_text(
        f'python: "{PY}.99"\ndependencies:\n  - ./tinydep-1.0-py3-none-any.whl\n'
    )
    submitted = run(str(project), env_manager="virtualenv", tracking_uri=db_path)
    assert LighttrackClient(db_path).get_run(submitted.run_id).data.tags["has_tinydep"] == "True"


def test_a_python_version_this_machine_cannot_make_is_refused_first(tmp_path, db_path, cache):
    project = project_with(tmp_path, "python_env: python_env.yaml", {"python_env.yaml": 'python: "2.7"\n'})
    with pytest.raises(EnvironmentUnavailable) as info:
        run(str(project), env_manager="virtualenv", tracking_uri=db_path)
    assert info.value.message.startswith("proj/python_env.yaml: python: the project wants Python 2.7")
    assert f"Python {PY}" in info.value.message and "--env-manager local" in info.value.message
    assert no_runs(db_path) and not (cache / "envs").exists()


# ----------------------------------------------------------------------------- conda
def test_missing_conda_is_reported_before_anything_runs(tmp_path, db_path, monkeypatch):
    project = project_with(tmp_path, "conda_env: conda.yaml", {"conda.yaml": "dependencies: [python=3.11]\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(EnvironmentUnavailable, match="none of conda, mamba or micromamba was found on PATH"):
        run(str(project), tracking_uri=db_path)  # conda.yaml: conda by default
    assert no_runs(db_path)


def test_conda_environment_through_a_stand_in_micromamba(tmp_path, db_path, cache, monkeypatch):
    log = tmp_path / "micromamba.log"
    bin_dir = tmp_path / "bin"
    # argv: create --yes --prefix PREFIX --file FILE; a venv stands in for the conda env
    fake_tool(bin_dir, "micromamba", f'echo "$@" > {log}\nexec {sys.executable} -m venv --without-pip "$4"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    project = project_with(tmp_path, "conda_env: conda.yaml", {"conda.yaml": f"dependencies: [python={PY}, pip]\n"})
    client = LighttrackClient(db_path)
    first = run(str(project), env_manager="conda", tracking_uri=db_path)
    tags = client.get_run(first.run_id).data.tags
    prefix = Path(tags["lighttrack.project.envPath"])
    assert tags["mlflow.project.env"] == "conda" and Path(tags["prefix"]) == prefix
    assert log.read_text().split() == conda_create_argv("micromamba", prefix, project / "conda.yaml")[1:]
    log.unlink()
    second = run(str(project), env_manager="conda", tracking_uri=db_path)
    assert client.get_run(second.run_id).data.tags["prefix"] == str(prefix) and not log.exists()


# ---------------------------------------------------------------------------- docker
DOCKER_MLPROJECT = """\
name: boxed
docker_env:
  image: python:3.11-slim
  volumes: ["/data:/data"]
  environment: [["MODE", "fast"], "HOME_VAR"]
entry_points:
  main:
    parameters: {n: {type: int, default: 2}}
    command: "python train.py --n {n}"
"""


def test_docker_command_line(tmp_path):
    docker = DockerEnv("img:1", ("/data:/data",), (("MODE", "fast"), ("HOME_VAR", None), ("ABSENT", None)))
    argv = docker_run_argv(
        docker, Path("/p/proj"), Path("/dbs/t.db"),
        {"LIGHTTRACK_RUN_ID": "abc", "LIGHTTRACK_TRACKING_URI": "/dbs/t.db", "LIGHTTRACK_EXPERIMENT_ID": "e1"},
        "python train.py --n 2", Path("/src/lighttrack"), name="lighttrack-abc", host_env={"HOME_VAR": "h"},
    )
    assert argv == [
        "docker", "run", "--rm", "--name", "lighttrack-abc",
        "-v", "/p/proj:/lighttrack/project", "-v", "/dbs:/lighttrack/db",
        "-v", "/src/lighttrack:/lighttrack/src/lighttrack:ro", "-w", "/lighttrack/project",
        "-v", "/data:/data",
        "-e", "LIGHTTRACK_RUN_ID=abc", "-e", "LIGHTTRACK_EXPERIMENT_ID=e1",
        "-e", "LIGHTTRACK_TRACKING_URI=/lighttrack/db/t.db", "-e", "PYTHONPATH=/lighttrack/src",
        "-e", "PYTHONUNBUFFERED=1", "-e", "MODE=fast", "-e", "HOME_VAR=h",
        "img:1", "sh", "-c", "python train.py --n 2",
    ]


def test_docker_without_an_engine_is_refused_first(tmp_path, db_path, monkeypatch):
    folder = tmp_path / "boxed"
    folder.mkdir()
    (folder / "MLproject").write_text(DOCKER_MLPROJECT)
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "docker", 'echo "Cannot connect to the Docker daemon. Is the docker daemon running?" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(EnvironmentUnavailable, match=r"no Docker engine answers \('docker info' failed: "
                                                     r"Cannot connect to the Docker daemon.*start the Docker daemon"):
        run(str(folder), tracking_uri=db_path)  # docker_env: docker by default
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentUnavailable, match="the docker command was not found on PATH"):
        run(str(folder), tracking_uri=db_path)
    assert no_runs(db_path)


def test_docker_run_through_a_stand_in_engine(tmp_path, db_path, monkeypatch):
    folder = tmp_path / "boxed"
    folder.mkdir()
    (folder / "MLproject").write_text(DOCKER_MLPROJECT)
    log = tmp_path / "docker.log"
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "docker", f'[ "$1" = info ] && exit 0\nfor a in "$@"; do echo "$a"; done > {log}\necho container ran\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME_VAR", "copied")
    submitted = run(str(folder), parameters={"n": 5}, tracking_uri=db_path)
    client = LighttrackClient(db_path)
    r = client.get_run(submitted.run_id)
    assert r.info.status == "FINISHED" and r.data.tags["mlflow.project.env"] == "docker"
    assert r.data.tags["mlflow.docker.image.name"] == "python:3.11-slim"
    assert client.read_artifact(r.info.run_id, "logs/stdout.txt") == b"container ran\n"
    argv = log.read_text().splitlines()
    assert argv[:4] == ["run", "--rm", "--name", f"lighttrack-{submitted.run_id[:12]}"]
    assert f"LIGHTTRACK_RUN_ID={submitted.run_id}" in argv and "HOME_VAR=copied" in argv
    assert f"{folder}:/lighttrack/project" in argv and f"{db_path.parent}:/lighttrack/db" in argv
    assert argv[-4:] == ["python:3.11-slim", "sh", "-c", "python train.py --n 5"]


# ------------------------------------------------------------------- choices, argv
def test_default_env_manager_follows_the_project(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "MLproject").write_text(DOCKER_MLPROJECT)
    assert envs.choose_manager(load_project(folder), None) == "docker"
    assert envs.choose_manager(load_project(folder), "local") == "local"
    (folder / "MLproject").write_text("entry_points: {main: {command: 'true'}}\n")
    assert envs.choose_manager(load_project(folder), None) == "local"
    with pytest.raises(ProjectError, match="--env-manager docker needs a docker_env"):
        envs.choose_manager(load_project(folder), "docker")


def test_installer_command_lines(tmp_path):
    assert venv_create_argv(Path("/e"), with_pip=False) == [sys.executable, "-m", "venv", "--without-pip", "/e"]
    assert venv_create_argv(Path("/e"), with_pip=True) == [sys.executable, "-m", "venv", "/e"]
    assert pip_install_argv("/e/bin/python", ["scikit-learn>=1.3", "-r requirements.txt"], Path("/proj")) == [
        "/e/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
        "scikit-learn>=1.3", "-r", "/proj/requirements.txt",
    ]
    assert conda_create_argv("/opt/conda/bin/conda", Path("/e"), Path("/p/conda.yaml")) == [
        "/opt/conda/bin/conda", "env", "create", "--prefix", "/e", "--file", "/p/conda.yaml"]
    assert conda_create_argv("mamba", Path("/e"), Path("c.yaml"))[:3] == ["mamba", "env", "create"]
    assert conda_create_argv("/x/micromamba", Path("/e"), Path("c.yaml")) == [
        "/x/micromamba", "create", "--yes", "--prefix", "/e", "--file", "c.yaml"]


def test_environment_files_convert_both_ways(tmp_path):
    conda = tmp_path / "conda.yaml"
    conda.write_text("channels: [conda-forge]\ndependencies:\n  - python=3.11.4\n  - numpy\n  - pip\n"
                     "  - pip: [skops>=0.10]\n")
    env = envfiles.python_env_from_conda(conda)
    assert (env.python, env.dependencies, env.conda_only) == ("3.11.4", ["skops>=0.10"], ["numpy"])
    assert envfiles.conda_env_from_python(envfiles.PythonEnv("3.11", ["pip"], ["scikit-learn"])) == {
        "channels": ["conda-forge"], "dependencies": ["python=3.11", "pip", {"pip": ["pip", "scikit-learn"]}]}
