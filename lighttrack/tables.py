"""Runs as a pandas DataFrame with MLflow's column names (pandas imported only here)."""

from __future__ import annotations

from typing import Any

from lighttrack.entities import Run
from lighttrack.errors import InvalidArgument


def runs_to_dataframe(runs: list[Run]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise InvalidArgument("output_format='pandas' needs pandas: pip install pandas") from None
    rows = []
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True) if info.start_time else None,
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else None,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    return pd.DataFrame(rows, columns=None if rows else columns)
