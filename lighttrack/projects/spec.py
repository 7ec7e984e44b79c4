"""Reading a project: its ``MLproject`` file (MLflow's schema), or the conventions used without one.

Everything is checked here, before anything runs: a malformed file, a field of the wrong
shape, an unknown parameter type, a command naming an undeclared parameter, an environment
file that is missing. Each error names the file and the field.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lighttrack.projects.errors import ProjectError

MLPROJECT = "MLproject"
PARAM_TYPES = ("string", "float", "int", "path", "uri", "bool")
#: Files used for the environment when there is no MLproject (or it names none), in order.
CONVENTIONAL_ENV_FILES = ("python_env.yaml", "conda.yaml")


def display(path: Path | str) -> str:
    """A path as the user will recognise it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        rel = path.resolve().relative_to(Path.cwd().resolve())
        return str(rel) if str(rel) != "." else str(path)
    except (ValueError, OSError):
        return str(path)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error names the file, line and column."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{display(path)}: not a UTF-8 text file ({exc.reason})") from None
    except OSError as exc:
        raise ProjectError(f"{display(path)}: cannot be read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectError(f"{display(path)}: not valid YAML{where}: {problem}") from None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    #: the default as text (what the command receives), or None when the parameter is required
    default: str | None = None


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    #: where it was declared, for error messages: the MLproject file or the script itself
    source: Path | None = None
    #: a .py/.sh file of the project run directly (every parameter becomes --key value)
    is_file: bool = False

    @property
    def where(self) -> str:
        """``MLproject: entry_points.<name>`` or the script's name, to prefix messages with."""
        if self.is_file or self.source is None:
            return display(self.source) if self.source else self.name
        return f"{display(self.source)}: entry_points.{self.name}"


@dataclass(frozen=True)
class DockerEnv:
    image: str
    volumes: tuple[str, ...] = ()
    #: (name, value) pairs; value None copies the variable from the caller's environment
    environment: tuple[tuple[str, str | None], ...] = ()


@dataclass
class Project:
    directory: Path
    name: str
    file: Path | None = None
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)
    python_env: Path | None = None
    conda_env: Path | None = None
    docker_env: DockerEnv | None = None

    @property
    def label(self) -> str:
        return display(self.file) if self.file else display(self.directory)

    def entry_point(self, name: str) -> EntryPoint:
        """The entry point called ``name``: declared in MLproject, or a .py/.sh file in the project."""
        if name in self.entry_points:
            return self.entry_points[name]
        script = (self.directory / name)
        if name.endswith((".py", ".sh")):
            inside = _inside(self.directory, script)
            if inside and script.is_file():
                return _file_entry_point(self.directory, name)
            raise ProjectError(
                f"{display(self.directory)}: entry point {name!r} is not a file of the project"
                + ("" if inside else " (it must be inside the project directory)")
            )
        known = ", ".join(sorted(self.entry_points)) or "none declared"
        if self.file is None:
            raise ProjectError(
                f"{display(self.directory)} has no {MLPROJECT} file, so the entry point must be a "
                f".py or .sh file of the project (for example -e train.py), not {name!r}"
            )
        raise ProjectError(
            f"{self.label}: entry_points has no {name!r} (entry points: {known}; "
            "a .py or .sh file of the project also works)"
        )


def _inside(directory: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def _file_entry_point(directory: Path, name: str) -> EntryPoint:
    import shlex

    if name.endswith(".py"):
        command = f"python {shlex.quote(name)}"
    else:
        command = f"bash {shlex.quote(name)}"
    return EntryPoint(name=name, command=command, source=directory / name, is_file=True)


def find_mlproject(directory: Path) -> Path | None:
    """MLflow accepts the file name in any case (``MLproject``, ``mlproject``...)."""
    exact = directory / MLPROJECT
    if exact.is_file():
        return exact
    for child in sorted(directory.iterdir()):
        if child.name.lower() == MLPROJECT.lower() and child.is_file():
            return child
    return None


def load_project(directory: str | os.PathLike[str]) -> Project:
    """Read and check the project in ``directory`` (its MLproject, or the conventions)."""
    folder = Path(directory).expanduser()
    if not folder.exists():
        raise ProjectError(f"project directory {display(folder)} does not exist")
    if not folder.is_dir():
        raise ProjectError(f"{display(folder)} is not a directory: give the project's directory")
    folder = folder.resolve()
    file = find_mlproject(folder)
    if file is None:
        project = Project(directory=folder, name=folder.name)
        for env_file in CONVENTIONAL_ENV_FILES:
            if (folder / env_file).is_file():
                if env_file == "python_env.yaml":
                    project.python_env = folder / env_file
                else:
                    project.conda_env = folder / env_file
                break
        return project
    return _parse_mlproject(folder, file)


def _parse_mlproject(folder: Path, file: Path) -> Project:
    where = display(file)
    data = read_yaml(file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProjectError(f"{where}: must be a YAML mapping (name:, entry_points:, ...), not {_kind(data)}")
    name = data.get("name", folder.name)
    if not isinstance(name, (str, int, float)) or isinstance(name, bool):
        raise ProjectError(f"{where}: name must be a string, not {_kind(name)}")
    project = Project(directory=folder, name=str(name), file=file)

    envs = [key for key in ("python_env", "conda_env", "docker_env") if data.get(key) is not None]
    if len(envs) > 1:
        raise ProjectError(f"{where}: {' and '.join(envs)} are both given: a project has one environment")
    for key in ("python_env", "conda_env"):
        if data.get(key) is not None:
            setattr(project, key, _env_file(folder, where, key, data[key]))
    if data.get("docker_env") is not None:
        project.docker_env = _docker_env(where, data["docker_env"])

    entry_points = data.get("entry_points")
    if entry_points is None:
        entry_points = {}
    if not isinstance(entry_points, dict):
        raise ProjectError(f"{where}: entry_points must be a mapping of entry point names, not {_kind(entry_points)}")
    for ep_name, body in entry_points.items():
        ep_name = str(ep_name)
        project.entry_points[ep_name] = _entry_point(file, ep_name, body)
    return project


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _env_file(folder: Path, where: str, key: str, value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ProjectError(f"{where}: {key} must name a file of the project, not {_kind(value)}")
    path = (folder / value)
    if not _inside(folder, path):
        raise ProjectError(f"{where}: {key}: {value!r} is outside the project directory")
    if not path.is_file():
        raise ProjectError(f"{where}: {key}: file {value!r} not found in {display(folder)}")
    return path


def _docker_env(where: str, value: Any) -> DockerEnv:
    if not isinstance(value, dict):
        raise ProjectError(f"{where}: docker_env must be a mapping with an image, not {_kind(value)}")
    image = value.get("image")
    if not isinstance(image, str) or not image.strip():
        raise ProjectError(f"{where}: docker_env.image must name a Docker image (for example python:3.11-slim)")
    volumes = value.get("volumes") or []
    if not isinstance(volumes, list) or not all(isinstance(v, str) and v for v in volumes):
        raise ProjectError(f"{where}: docker_env.volumes must be a list of 'HOST_PATH:CONTAINER_PATH' strings")
    environment: list[tuple[str, str | None]] = []
    raw_env = value.get("environment") or []
    if not isinstance(raw_env, list):
        raise ProjectError(f"{where}: docker_env.environment must be a list, not {_kind(raw_env)}")
    for i, item in enumerate(raw_env):
        if isinstance(item, str) and item:
            environment.append((item, None))
        elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and item[0]:
            environment.append((item[0], "" if item[1] is None else str(item[1])))
        else:
            raise ProjectError(
                f"{where}: docker_env.environment[{i}] must be a variable name to copy, or a "
                f"[NAME, value] pair, not {item!r}"
            )
    return DockerEnv(image.strip(), tuple(volumes), tuple(environment))


def _entry_point(file: Path, name: str, body: Any) -> EntryPoint:
    where = f"{display(file)}: entry_points.{name}"
    if isinstance(body, str):  # shorthand some files use: the command alone
        body = {"command": body}
    if not isinstance(body, dict):
        raise ProjectError(f"{where} must be a mapping with a command, not {_kind(body)}")
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ProjectError(f"{where}.command is missing: give the shell command to run")
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ProjectError(f"{where}.parameters must be a mapping of parameter names, not {_kind(raw_params)}")
    parameters = {str(p): _parameter(f"{where}.parameters.{p}", str(p), spec) for p, spec in raw_params.items()}
    _check_command(where, command, parameters)
    return EntryPoint(name=name, command=command, parameters=parameters, source=file)


def _parameter(where: str, name: str, spec: Any) -> Parameter:
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ProjectError(f"{where} must be a type name or a mapping {{type, default}}, not {_kind(spec)}")
    ptype = spec.get("type", "string")
    if ptype not in PARAM_TYPES:
        raise ProjectError(f"{where}.type: {ptype!r} is not a parameter type (types: {', '.join(PARAM_TYPES)})")
    default = spec.get("default")
    if isinstance(default, (dict, list)):
        raise ProjectError(f"{where}.default must be a single value, not {_kind(default)}")
    if default is not None:
        from lighttrack.projects.params import check_value

        # A default must be of its type too (a path default is checked when it is used).
        if ptype in ("float", "int", "bool"):
            check_value(f"{where}.default", ptype, str(default))
        default = str(default)
    return Parameter(name=name, type=ptype, default=default)


def _check_command(where: str, command: str, parameters: dict[str, Parameter]) -> None:
    try:
        fields = list(string.Formatter().parse(command))
    except ValueError as exc:
        raise ProjectError(f"{where}.command: {exc} (write a literal brace as {{{{ or }}}})") from None
    for _, field_name, spec, conversion in fields:
        if field_name is None:
            continue
        if field_name not in parameters:
            declared = ", ".join(parameters) or "none"
            raise ProjectError(
                f"{where}.command uses {{{field_name}}}, which is not a parameter of this entry point "
                f"(parameters: {declared})"
            )
        if spec or conversion:
            raise ProjectError(f"{where}.command: write {{{field_name}}} without a format or conversion")
