"""Every error lighttrack raises on purpose.

Each one says what was wrong and what is allowed, and is raised before anything is written.
The CLI turns any ``LighttrackError`` into a one-line message and exit code 1.
"""

from __future__ import annotations


class LighttrackError(Exception):
    """Base class: a problem the user can fix, described in words they know."""

    #: MLflow-style error code, so code written against MlflowException can branch on it.
    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, error_code: str | None = None, **_: object) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:  # MlflowException(message, error_code=...) as MLflow code raises it
            self.error_code = error_code if isinstance(error_code, str) else str(error_code)

    def get_error_code(self) -> str:
        return self.error_code

    @classmethod
    def invalid_parameter_value(cls, message: str, **kwargs: object) -> LighttrackError:
        return cls(message, error_code="INVALID_PARAMETER_VALUE", **kwargs)


class InvalidArgument(LighttrackError, ValueError):
    """A value the API cannot accept (bad key, too long, wrong type, unknown status...)."""

    error_code = "INVALID_PARAMETER_VALUE"


class NotFound(LighttrackError, LookupError):
    """The experiment, run, artifact or model asked for does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(LighttrackError):
    """Creating something whose name is taken."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidState(LighttrackError):
    """The operation does not fit the current state (a second active run, a deleted run...)."""

    #: MLflow reports these (logging to a deleted run, using a deleted experiment) as bad parameters
    error_code = "INVALID_PARAMETER_VALUE"


class InvalidFilter(InvalidArgument):
    """A search filter or order-by clause that does not parse; says where and what was expected."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        if position is not None and text:
            pointer = " " * position + "^"
            message = f"{message}\n  {text}\n  {pointer}"
        super().__init__(message)
        self.position = position
        self.text = text


class FileError(LighttrackError):
    """The database file cannot be used: not lighttrack's, corrupt, too new, unreadable."""

    error_code = "INVALID_STATE"


class NotALighttrackFile(FileError):
    """The file exists but is not a lighttrack database; it was left untouched."""


class SchemaTooNew(FileError):
    """The file was written by a newer lighttrack than this one."""


class UnsafeArtifactPath(InvalidArgument):
    """An artifact path that would escape the run (absolute, '..', backslashes...)."""


class ModelError(LighttrackError):
    """A model cannot be saved, loaded or verified."""


#: MLflow users catch ``MlflowException``; let that spelling work too.
MlflowException = LighttrackError


class DiskFull(FileError):
    """The disk holding the file is full; nothing acknowledged was lost, retry after freeing space."""


class ReadOnlyFile(FileError):
    """A write to a file that is on read-only media (or was opened for reading only)."""


class DamagedFile(FileError):
    """Part of the file cannot be read back as written (damaged pages, a damaged chunk or blob)."""
