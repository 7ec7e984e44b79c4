"""``mlflow.data.from_pandas``: a DataFrame described as a dataset (name, digest, schema, profile)."""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import Any

from lighttrack.data.dataset import Dataset
from lighttrack.data.dataset_source import DatasetSource
from lighttrack.errors import InvalidArgument

log = logging.getLogger("lighttrack")


class PandasDataset(Dataset):
    def __init__(self, df: Any, source: DatasetSource, targets: str | None = None, name: str | None = None,
                 digest: str | None = None, predictions: str | None = None) -> None:
        if not _is_dataframe(df):
            raise InvalidArgument(f"from_pandas takes a pandas DataFrame, not {type(df).__name__}")
        for what, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidArgument(f"the DataFrame has no {what} column {column!r}; its columns are "
                                      f"{', '.join(map(str, df.columns[:20]))}")
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source=source, name=name, digest=digest)

    def _compute_digest(self) -> str:
        from lighttrack.data.digest_utils import compute_pandas_digest

        return compute_pandas_digest(self._df)

    @property
    def df(self) -> Any:
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    def _profile_key(self) -> object:
        return self._df.shape

    @property
    def profile(self) -> dict[str, int]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> Any | None:
        from lighttrack.data.schema import infer_column_schema

        try:
            return infer_column_schema(self._df)
        except Exception as exc:  # a schema is a courtesy, as in MLflow
            log.debug("lighttrack: no schema for the DataFrame: %s", exc)
            return None

    def to_dict(self) -> dict[str, str]:
        from lighttrack.data.schema import schema_dicts

        config = super().to_dict()
        config["schema"] = json.dumps({"mlflow_colspec": schema_dicts(self.schema)}) if self.schema else None
        config["profile"] = json.dumps(self.profile)
        return config


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns") and hasattr(value, "dtypes")


def resolve_source(source: Any) -> DatasetSource:
    """The given source (a DatasetSource, a path or URI), or the code that made the data."""
    from lighttrack.data.code_dataset_source import code_source
    from lighttrack.data.dataset_source_registry import resolve_dataset_source

    return code_source() if source is None else resolve_dataset_source(source)


def from_pandas(df: Any, source: str | DatasetSource | None = None, targets: str | None = None,
                name: str | None = None, digest: str | None = None, predictions: str | None = None) -> PandasDataset:
    """Describe ``df`` as a dataset. ``source``: where it came from (a path, URL or
    DatasetSource; default: the code running now). ``targets``/``predictions`` name columns."""
    return PandasDataset(df=df, source=resolve_source(source), targets=targets, name=name, digest=digest,
                         predictions=predictions)
