"""What ``evaluate`` returns: ``EvaluationResult`` and its artifacts, by MLflow's names.

Each artifact knows the URI it was logged under (``.uri``) and its content (``.content``: a PIL
image for a plot, a pandas DataFrame for a CSV), read from the local copy made at logging time
so nothing is downloaded back. ``save``/``load`` write and read MLflow's layout
(``metrics.json``, ``artifacts_metadata.json``, ``artifacts/``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from lighttrack.errors import InvalidArgument


class EvaluationArtifact:
    """A logged evaluation output: where it is (``uri``) and what it holds (``content``)."""

    def __init__(self, uri: str, content: Any = None, local_path: str | os.PathLike[str] | None = None) -> None:
        self._uri = uri
        self._content = content
        self._local_path = Path(local_path) if local_path is not None else None

    @property
    def uri(self) -> str:
        return self._uri

    @property
    def content(self) -> Any:
        if self._content is None and self._local_path is not None:
            self._content = self._load_content_from_file(self._local_path)
        return self._content

    def _load_content_from_file(self, path: Path) -> Any:
        return path.read_bytes()

    def _save(self, target: Path) -> None:
        if self._local_path is None:
            raise InvalidArgument(f"artifact {self._uri} has no local copy to save")
        shutil.copyfile(self._local_path, target)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(uri='{self.uri}')"


class ImageEvaluationArtifact(EvaluationArtifact):
    """A PNG plot; ``content`` is a ``PIL.Image`` (as MLflow's)."""

    def _load_content_from_file(self, path: Path) -> Any:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            return image.copy()


class CsvEvaluationArtifact(EvaluationArtifact):
    """A table such as ``per_class_metrics``; ``content`` is a pandas DataFrame."""

    def _load_content_from_file(self, path: Path) -> Any:
        import pandas as pd

        return pd.read_csv(path)


_ARTIFACT_CLASSES = {cls.__name__: cls for cls in (EvaluationArtifact, ImageEvaluationArtifact, CsvEvaluationArtifact)}


class EvaluationResult:
    """The metrics (name -> number) and artifacts (name -> EvaluationArtifact) of one evaluation."""

    def __init__(self, metrics: dict[str, Any], artifacts: dict[str, EvaluationArtifact],
                 run_id: str | None = None, baseline_model_metrics: dict[str, Any] | None = None) -> None:
        self._metrics = metrics
        self._artifacts = artifacts
        self._run_id = run_id
        self._baseline_model_metrics = baseline_model_metrics

    @property
    def metrics(self) -> dict[str, Any]:
        return self._metrics

    @property
    def artifacts(self) -> dict[str, EvaluationArtifact]:
        return self._artifacts

    @property
    def run_id(self) -> str | None:
        """The run the metrics and artifacts were logged to."""
        return self._run_id

    @property
    def baseline_model_metrics(self) -> dict[str, Any] | None:
        """The baseline model's metrics when ``evaluate(baseline_model=...)`` was used."""
        return self._baseline_model_metrics

    def save(self, path: str | os.PathLike[str]) -> None:
        folder = Path(path)
        (folder / "artifacts").mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(self._metrics))
        meta = {}
        for name, artifact in self._artifacts.items():
            meta[name] = {"uri": artifact.uri, "class_name": type(artifact).__name__}
            artifact._save(folder / "artifacts" / _file_name(artifact.uri))
        (folder / "artifacts_metadata.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EvaluationResult:
        folder = Path(path)
        metrics = json.loads((folder / "metrics.json").read_text())
        artifacts = {}
        for name, meta in json.loads((folder / "artifacts_metadata.json").read_text()).items():
            # Only our own three classes: a class name in a file never picks code to run.
            kind = _ARTIFACT_CLASSES.get(str(meta.get("class_name", "")).rsplit(".", 1)[-1], EvaluationArtifact)
            artifacts[name] = kind(meta["uri"], local_path=folder / "artifacts" / _file_name(meta["uri"]))
        return cls(metrics, artifacts)

    def __repr__(self) -> str:
        return f"EvaluationResult(metrics={self._metrics}, artifacts={list(self._artifacts)})"


def _file_name(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]
