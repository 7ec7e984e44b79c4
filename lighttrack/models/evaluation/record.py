"""Writing an evaluation into the file: its metrics and its artifacts, each in one place."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lighttrack.models.evaluation.results import EvaluationArtifact


def log_evaluation_metrics(client: Any, run_id: str, metrics: dict[str, float], model_id: str | None = None) -> None:
    """Every evaluation metric, one batch (all or nothing), step 0 and one timestamp, as MLflow;
    with ``model_id`` (MLflow 3) each is also the logged model's metric, from this run."""
    from lighttrack.entities import Metric
    from lighttrack.util import now_ms

    timestamp = now_ms()
    client.log_batch(run_id, metrics=[Metric(key, value, timestamp, 0, model_id=model_id)
                                      for key, value in metrics.items()])


class ArtifactLogger:
    """Draws or writes each artifact into a temporary folder, then logs it to the run."""

    def __init__(self, client: Any, run_id: str, prefix: str) -> None:
        self._client = client
        self._run_id = run_id
        self._prefix = prefix
        self._base_uri = client.get_run(run_id).info.artifact_uri.rstrip("/")
        self.folder = Path(tempfile.mkdtemp(prefix="lighttrack-evaluate-"))
        self.artifacts: dict[str, EvaluationArtifact] = {}

    def log(self, name: str, suffix: str, write: Callable[[Path], None], kind: type[EvaluationArtifact]) -> None:
        file_name = f"{self._prefix}{name}{suffix}"
        path = self.folder / file_name
        write(path)
        self._client.log_artifact(self._run_id, path)
        self.artifacts[name] = kind(f"{self._base_uri}/{file_name}", local_path=path)
