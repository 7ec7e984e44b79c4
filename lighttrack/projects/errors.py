"""The errors a project run raises. All are ``LighttrackError``s, so the CLI prints one line
and exits 1; each names the file and the field (or the tool) that is wrong."""

from __future__ import annotations

from lighttrack.errors import InvalidArgument, LighttrackError


class ProjectError(InvalidArgument):
    """The project, its files or the parameters given do not validate. Raised before any run
    is created and before anything is executed."""


class EnvironmentUnavailable(LighttrackError):
    """The environment manager asked for cannot work here (no conda, no Docker engine, a
    Python version this machine does not have). Raised before anything runs."""

    error_code = "INVALID_STATE"


class ExecutionError(LighttrackError):
    """Something failed while preparing or running the project (building the environment,
    checking out a git version, starting the command)."""

    error_code = "INVALID_STATE"
