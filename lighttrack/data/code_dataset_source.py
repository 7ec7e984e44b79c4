"""``mlflow.data.code_dataset_source.CodeDatasetSource``: data built by the code that logged it.

What ``from_pandas``/``from_numpy`` record when no source is given: the run context's tags
(who, which script, which git commit), as MLflow does.
"""

from __future__ import annotations

from typing import Any

from lighttrack.data.dataset_source import DatasetSource


class CodeDatasetSource(DatasetSource):
    def __init__(self, tags: dict[Any, Any]) -> None:
        self._tags = tags

    @staticmethod
    def _get_source_type() -> str:
        return "code"

    def to_dict(self) -> dict[str, Any]:
        return {"tags": self._tags}

    @classmethod
    def from_dict(cls, source_dict: dict[str, Any]) -> CodeDatasetSource:
        return cls(tags=source_dict.get("tags") if isinstance(source_dict, dict) else None)


def code_source() -> CodeDatasetSource:
    """The source of data made in this process: MLflow's context tags (mlflow.user,
    mlflow.source.name/type, git commit, branch and repo URL when there is one)."""
    from lighttrack.context import system_tags

    return CodeDatasetSource({k: v for k, v in system_tags().items() if k.startswith("mlflow.")})
