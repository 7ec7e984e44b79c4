"""``mlflow.entities.model_registry``: what the registry returns, by MLflow's names."""

from __future__ import annotations

from dataclasses import dataclass

from lighttrack.entities import ModelVersion, RegisteredModel, Stage


@dataclass(frozen=True)
class ModelVersionTag:
    key: str
    value: str


@dataclass(frozen=True)
class RegisteredModelTag:
    key: str
    value: str


@dataclass(frozen=True)
class RegisteredModelAlias:
    alias: str
    version: int


class ModelVersionStatus:
    """Every version is READY as soon as it exists: files are copied in the same transaction."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"

    @staticmethod
    def to_string(status: str) -> str:
        return status

    @staticmethod
    def from_string(status: str) -> str:
        return status


__all__ = ["ModelVersion", "ModelVersionStatus", "ModelVersionTag", "RegisteredModel", "RegisteredModelAlias",
           "RegisteredModelTag", "Stage"]
