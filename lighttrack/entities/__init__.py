"""What the API returns: frozen dataclasses shaped like MLflow's entities.

``run.info.run_id``, ``run.data.metrics["acc"]``, ``experiment.experiment_id`` ... work as they do
in MLflow, so code written against MLflow's objects reads these unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RunStatus:
    """MLflow's run statuses, as strings (MLflow's ``RunStatus.to_string`` values)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in RunStatus.TERMINATED

    @staticmethod
    def to_string(status: str) -> str:
        return status

    @staticmethod
    def from_string(status: str) -> str:
        return status


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType:
    """Which runs or experiments a search sees (MLflow's numeric values)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def from_string(text: str) -> int:
        names = {"active_only": 1, "deleted_only": 2, "all": 3}
        try:
            return names[text.lower()]
        except KeyError:
            raise ValueError(f"view type must be one of {', '.join(names)}, not {text!r}") from None


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str | None = None
    # MLflow 3: a metric may belong to a logged model and name the dataset it was computed on
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


ExperimentTag = RunTag


@dataclass(frozen=True)
class MetricSummary:
    """The latest point of a metric and its range: what tables and search read."""

    key: str
    value: float
    step: int
    timestamp: int
    min: float | None
    max: float | None
    count: int


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    @property
    def description(self) -> str | None:
        return self.tags.get("mlflow.note.content")


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        """MLflow's deprecated spelling of ``run_id``."""
        return self.run_id


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInputs:
    """What a run read: its dataset inputs (``run.inputs.dataset_inputs``), as MLflow."""

    dataset_inputs: list[Any] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        return {"dataset_inputs": [d.to_dictionary() for d in self.dataset_inputs]}


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dictionary(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"info": asdict(self.info), "data": asdict(self.data), "inputs": self.inputs.to_dictionary()}


@dataclass(frozen=True)
class FileInfo:
    """An entry of a run's artifact tree (``file_size`` is None for directories)."""

    path: str
    is_dir: bool
    file_size: int | None


class Page(list):
    """A list of results with the token for the next page (``None`` on the last page)."""

    def __init__(self, items: list[Any], token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


class Stage:
    """Model version stages, as MLflow spells them; input is accepted in any case."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"
    ALL = (NONE, STAGING, PRODUCTION, ARCHIVED)


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int  # an int, as MLflow's SQL store returns it; every API also accepts "3"
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    source: str
    run_id: str | None
    description: str | None = None
    user_id: str = ""
    status: str = "READY"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    run_link: str | None = None
    model_id: str | None = None  # MLflow 3: the logged model this version was registered from


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)  # newest per stage
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # alias -> version


@dataclass(frozen=True)
class ModelHistoryEvent:
    """One change to a registered model: a version created or deleted, a stage transition,
    an alias set or removed — with who did it and when."""

    name: str
    version: str | None
    event: str  # "created", "stage", "alias_set", "alias_removed", "deleted"
    from_value: str | None
    to_value: str | None
    alias: str | None
    user_id: str
    timestamp: int


class SourceType:
    """Where a run came from (MLflow's numbers; the ``mlflow.source.type`` tag holds the name)."""

    NOTEBOOK, JOB, PROJECT, LOCAL, RECIPE, UNKNOWN = 1, 2, 3, 4, 5, 1000
    _NAMES = {1: "NOTEBOOK", 2: "JOB", 3: "PROJECT", 4: "LOCAL", 5: "RECIPE", 1000: "UNKNOWN"}

    @staticmethod
    def to_string(value: int) -> str:
        try:
            return SourceType._NAMES[value]
        except KeyError:
            raise ValueError(f"source type must be one of {sorted(SourceType._NAMES)}, not {value!r}") from None

    @staticmethod
    def from_string(text: str) -> int:
        for number, name in SourceType._NAMES.items():
            if name == str(text).upper():
                return number
        raise ValueError(f"source type must be one of {', '.join(SourceType._NAMES.values())}, not {text!r}")


@dataclass(frozen=True)
class InputTag:
    """A tag of one dataset input; ``mlflow.data.context`` says how the run used it."""

    key: str
    value: str


@dataclass(frozen=True)
class Dataset:
    """A dataset as the file stores it (MLflow's ``mlflow.entities.Dataset``): every field is
    text; ``source``, ``schema`` and ``profile`` hold JSON. ``mlflow.data.get_source`` turns
    ``source`` back into an object."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return {"name": self.name, "digest": self.digest, "source_type": self.source_type,
                "source": self.source, "schema": self.schema, "profile": self.profile}


@dataclass(frozen=True)
class DatasetInput:
    """A run used ``dataset``; ``tags`` (InputTag) say how (``mlflow.data.context``)."""

    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        return {"dataset": self.dataset.to_dictionary(), "tags": {t.key: t.value for t in self.tags}}


# MLflow 3's logged model, at mlflow.entities' path (defined beside, it needs Metric above)
from lighttrack.entities.logged_model import LoggedModel, LoggedModelStatus  # noqa: E402,F401
