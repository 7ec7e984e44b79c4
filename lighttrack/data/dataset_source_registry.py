"""Which source a raw value (a path, a URL) means, and back from stored JSON.

A fixed table, not plugins: a dataset's ``source_type`` read from a file only ever picks one of
these classes, each of which just parses JSON (the file never decides what code runs).
"""

from __future__ import annotations

from typing import Any

from lighttrack.data.artifact_dataset_sources import URI_SOURCES, LocalArtifactDatasetSource
from lighttrack.data.code_dataset_source import CodeDatasetSource
from lighttrack.data.dataset_source import DatasetSource
from lighttrack.data.http_dataset_source import HTTPDatasetSource
from lighttrack.errors import InvalidArgument

_SOURCES: list[type[DatasetSource]] = [LocalArtifactDatasetSource, *URI_SOURCES.values(), HTTPDatasetSource,
                                       CodeDatasetSource]
_ALLOWED = "a local path or file: URI, an http(s):// URL, a " + ", ".join(
    f"{s}://" for s in URI_SOURCES) + " URI, or a DatasetSource"


def get_registered_sources() -> list[type[DatasetSource]]:
    return list(_SOURCES)


def resolve_dataset_source(raw_source: Any,
                           candidate_sources: list[type[DatasetSource]] | None = None) -> DatasetSource:
    """The source object for ``raw_source``, like MLflow's resolver (the most specific wins)."""
    if isinstance(raw_source, DatasetSource):
        return raw_source
    for source in reversed(_SOURCES):
        if candidate_sources and not any(issubclass(source, c) for c in candidate_sources):
            continue
        if source._can_resolve(raw_source):
            return source._resolve(raw_source)
    raise InvalidArgument(f"cannot tell what dataset source {raw_source!r} is: give {_ALLOWED}")


def get_dataset_source_from_json(source_json: str, source_type: str) -> DatasetSource:
    """Parse a stored source back into its object (JSON only: nothing is imported by name)."""
    for source in reversed(_SOURCES):
        if source._get_source_type() == source_type:
            try:
                return source.from_json(source_json)
            except (TypeError, ValueError) as exc:
                if isinstance(exc, InvalidArgument):
                    raise
                raise InvalidArgument(f"dataset source of type {source_type!r} is not valid JSON: {exc}") from None
    known = sorted({s._get_source_type() for s in _SOURCES})
    raise InvalidArgument(f"unknown dataset source type {source_type!r}; lighttrack reads {', '.join(known)}")


def get_source(dataset: Any) -> DatasetSource:
    """``mlflow.data.get_source``: the source of a Dataset, a stored Dataset entity or a
    DatasetInput (as ``run.inputs.dataset_inputs`` holds them)."""
    from lighttrack.data.dataset import Dataset

    if isinstance(dataset, Dataset):
        return dataset.source
    inner = getattr(dataset, "dataset", None)
    if inner is not None and hasattr(inner, "source_type"):  # a DatasetInput
        dataset = inner
    source_type, source = getattr(dataset, "source_type", None), getattr(dataset, "source", None)
    if isinstance(source_type, str) and isinstance(source, str):
        return get_dataset_source_from_json(source, source_type)
    raise InvalidArgument(
        f"get_source takes a Dataset, a Dataset entity or a DatasetInput, not {type(dataset).__name__}")


__all__ = ["get_dataset_source_from_json", "get_registered_sources", "get_source", "resolve_dataset_source"]
