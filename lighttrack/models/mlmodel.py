"""The ``MLmodel`` file: MLflow's model metadata, plus the sha256 of every file of the model.

The hashes (top-level ``file_hashes``; MLflow keeps unknown top-level keys as attributes) are
checked on load, so a model file changed after it was saved is refused instead of run.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lighttrack.errors import ModelError
from lighttrack.models.signature import ModelSignature

MLMODEL = "MLmodel"
#: What goes in MLflow's ``mlflow_version`` field: the MLflow format this file follows.
MLFLOW_FORMAT_VERSION = "3.17.0"


def _yaml():
    import yaml

    return yaml


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Model:
    """What an MLmodel file says: flavors, signature, example, run, ids, hashes."""

    artifact_path: str | None = None
    run_id: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(
        default_factory=lambda: str(datetime.now(timezone.utc).replace(tzinfo=None))
    )
    mlflow_version: str | None = MLFLOW_FORMAT_VERSION
    metadata: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    file_hashes: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def get_input_schema(self):
        return self.signature.inputs if self.signature else None

    def get_output_schema(self):
        return self.signature.outputs if self.signature else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        for key in ("metadata", "mlflow_version", "model_size_bytes", "model_uuid", "run_id"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.saved_input_example_info:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        out["utc_time_created"] = self.utc_time_created
        out.update(self.extra)
        if self.file_hashes is not None:
            out["file_hashes"] = self.file_hashes
        return out

    def save(self, path: Path) -> None:
        with open(path, "w") as f:
            _yaml().safe_dump(self.to_dict(), f, default_flow_style=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        data = dict(data)
        signature = data.pop("signature", None)
        known = {k: data.pop(k) for k in list(data) if k in cls.__dataclass_fields__ and k != "extra"}
        return cls(
            signature=ModelSignature.from_dict(signature) if isinstance(signature, dict) else None,
            extra=data, **known,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read ``MLmodel`` from a model folder (or the file itself)."""
        path = Path(path)
        if path.is_dir():
            path = path / MLMODEL
        if not path.exists():
            raise ModelError(f"{path.parent} is not a model folder: it has no MLmodel file")
        yaml = _yaml()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            data = yaml.load(path.read_text(), Loader=loader)
        except yaml.YAMLError as exc:
            raise ModelError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict) or "flavors" not in data:
            raise ModelError(f"{path} is not an MLmodel file (it has no 'flavors')")
        return cls.from_dict(data)


def record_hashes(model: Model, folder: Path) -> None:
    """Hash every file of the model folder (except MLmodel itself) into the model."""
    hashes = {}
    size = 0
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name != MLMODEL:
            rel = file.relative_to(folder).as_posix()
            hashes[rel] = sha256_file(file)
            size += file.stat().st_size
    model.file_hashes = hashes
    model.model_size_bytes = size


def verify_hashes(model: Model, folder: Path, verify: bool = True) -> None:
    """Refuse a model whose files differ from what was saved, that records no hashes, or whose
    MLmodel names a path outside the folder (see lighttrack.models.files)."""
    from lighttrack.models.files import verify_model

    verify_model(model, folder, verify)
