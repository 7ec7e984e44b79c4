"""MLflow 3's ``LoggedModel``: a model as an entity of its experiment, with its own id.

A ``LoggedModel`` has params, tags, metrics (each with the run it came from and the dataset it
was computed on) and a status; its files are reached through ``models:/<model_id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lighttrack.entities import Metric


class LoggedModelStatus(str, Enum):
    """MLflow's statuses: a model is PENDING while its files are written, then READY or FAILED."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def is_finalized(status: str) -> bool:
        return str(status) in ("READY", "FAILED")

    def to_int(self) -> int:
        return ["UNSPECIFIED", "PENDING", "READY", "FAILED"].index(self.value)


@dataclass(frozen=True)
class LoggedModel:
    """One logged model (MLflow's field names; ``creation_time`` is spelt as MLflow spells it too)."""

    experiment_id: str
    model_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None = None
    source_run_id: str | None = None
    status: LoggedModelStatus = LoggedModelStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    def to_dictionary(self) -> dict:
        """MLflow's shape, as ``search_logged_models(output_format="pandas")`` rows use it."""
        return {
            "artifact_location": self.artifact_location, "creation_timestamp": self.creation_timestamp,
            "experiment_id": self.experiment_id, "last_updated_timestamp": self.last_updated_timestamp,
            "metrics": self.metrics, "model_id": self.model_id, "model_type": self.model_type,
            "name": self.name, "params": self.params, "source_run_id": self.source_run_id,
            "status": self.status.to_int(), "status_message": self.status_message, "tags": self.tags,
        }
