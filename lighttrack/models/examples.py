"""Input examples, saved as MLflow does: ``input_example.json`` plus a description in MLmodel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLE_FILE = "input_example.json"


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} cannot be written to an input example")


def save_input_example(folder: Path, example: Any) -> dict[str, Any]:
    """Write the example; return MLflow's ``saved_input_example_info`` for it."""
    if type(example).__name__ == "DataFrame":
        payload = {"columns": [str(c) for c in example.columns], "data": example.values.tolist()}
        info = {"artifact_path": EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split"}
    elif isinstance(example, dict):
        payload = {"columns": list(example), "data": [list(row) for row in zip(*example.values())]}
        info = {"artifact_path": EXAMPLE_FILE, "type": "dataframe", "pandas_orient": "split"}
    else:
        import numpy as np

        payload = {"inputs": np.asarray(example).tolist()}
        info = {"artifact_path": EXAMPLE_FILE, "type": "ndarray", "format": "tf-serving"}
    (folder / EXAMPLE_FILE).write_text(json.dumps(payload, default=_plain))
    return info


def load_input_example(folder: Path, info: dict[str, Any] | None) -> Any:
    if not info:
        return None
    payload = json.loads((folder / info.get("artifact_path", EXAMPLE_FILE)).read_text())
    if info.get("type") == "dataframe":
        import pandas as pd

        return pd.DataFrame(payload["data"], columns=payload["columns"])
    import numpy as np

    return np.asarray(payload["inputs"])
