"""Turning Python objects into artifact bytes: dicts, figures, images, tables.

Heavy libraries (matplotlib, PIL, numpy, pandas) are imported only when such an object is
logged, so the core stays light; each function says what it accepts when given something else.
"""

from __future__ import annotations

import io
import json
import posixpath
from typing import Any

from lighttrack.errors import InvalidArgument


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file ends in .yaml/.yml (MLflow's rule)."""
    ext = posixpath.splitext(artifact_file)[1].lower()
    if ext in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump(dictionary, sort_keys=False, allow_unicode=True).encode()
    try:
        return json.dumps(dictionary, indent=2, default=_jsonable).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"cannot write {artifact_file} as JSON: {exc}") from None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """A matplotlib figure (or anything with ``savefig``, or a plotly figure) as image bytes."""
    ext = posixpath.splitext(artifact_file)[1].lower().lstrip(".") or "png"
    if hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=ext)
        return buffer.getvalue()
    if hasattr(figure, "to_html") and ext == "html":
        return figure.to_html().encode()
    if hasattr(figure, "to_image"):
        return figure.to_image(format=ext)
    raise InvalidArgument(
        f"log_figure takes a matplotlib or plotly figure, not {type(figure).__name__}"
    )


def image_bytes(image: Any, artifact_file: str) -> bytes:
    """A PIL image or a numpy array (HxW, HxWx3, HxWx4; uint8 or floats in [0, 1]) as PNG/JPEG."""
    try:
        from PIL import Image
    except ImportError:
        raise InvalidArgument("log_image needs Pillow: pip install pillow") from None
    if not isinstance(image, Image.Image):
        if not hasattr(image, "__array__"):
            raise InvalidArgument(
                f"log_image takes a PIL image or a numpy array, not {type(image).__name__}"
            )
        import numpy as np

        array = np.asarray(image)
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
            raise InvalidArgument(
                f"log_image takes an array of shape HxW, HxWx1, HxWx3 or HxWx4, not {array.shape}"
            )
        if array.dtype.kind == "f":
            if array.size and (array.min() < 0 or array.max() > 1):
                raise InvalidArgument("float images must have values in [0, 1]")
            array = (array * 255).round().astype(np.uint8)
        elif array.dtype != np.uint8:
            if array.size and (array.min() < 0 or array.max() > 255):
                raise InvalidArgument("integer images must have values in [0, 255]")
            array = array.astype(np.uint8)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        image = Image.fromarray(array)
    ext = posixpath.splitext(artifact_file)[1].lower().lstrip(".") or "png"
    buffer = io.BytesIO()
    image.save(buffer, format={"jpg": "JPEG"}.get(ext, ext.upper()))
    return buffer.getvalue()


def table_bytes(data: Any, artifact_file: str) -> bytes:
    """A dict of columns or a pandas DataFrame, as MLflow's table JSON ({columns, data})."""
    if not artifact_file.lower().endswith(".json"):
        raise InvalidArgument(f"log_table writes JSON: artifact_file must end in .json, not {artifact_file!r}")
    if isinstance(data, dict):
        columns = list(data)
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise InvalidArgument("log_table: every column must have the same length")
        rows = [list(row) for row in zip(*data.values())]
    elif hasattr(data, "to_dict") and hasattr(data, "columns"):
        columns = [str(c) for c in data.columns]
        rows = data.values.tolist()
    else:
        raise InvalidArgument(f"log_table takes a dict of columns or a pandas DataFrame, not {type(data).__name__}")
    return json.dumps({"columns": columns, "data": rows}, default=_jsonable).encode()
