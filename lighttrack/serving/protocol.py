"""MLflow's scoring protocol without a web framework: request body in, model input out, and
predictions back to JSON.

The accepted forms, status codes and error bodies are MLflow 3.17's (``mlflow.pyfunc.
scoring_server``), so a client written for ``mlflow models serve`` works unchanged:
``application/json`` with exactly one of ``dataframe_split``, ``dataframe_records``,
``instances``, ``inputs`` (plus optional ``params``), ``text/csv``, or parquet; 415 for other content
types; 400 with ``{"error_code": "BAD_REQUEST", "message": ...}`` for input that does not parse
or does not fit the model's signature. Our messages name what the signature expects.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from io import StringIO
from typing import Any

from lighttrack.errors import LighttrackError
from lighttrack.models.signature import ColSpec, Schema, TensorSpec, _NUMPY_OF_COLUMN

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET]
DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
SUPPORTED_FORMATS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS = "params"
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)


class ScoringError(Exception):
    """A request the server answers with an error: MLflow's status, code and body."""

    def __init__(self, message: str, status: int = 400, error_code: str = "BAD_REQUEST",
                 plain_text: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.plain_text = plain_text  # MLflow answers 415s as text/plain, not JSON

    def body(self) -> bytes:
        if self.plain_text:
            return self.message.encode()
        return json.dumps({"error_code": self.error_code, "message": self.message}).encode()

    @property
    def media_type(self) -> str:
        return "text/plain" if self.plain_text else CONTENT_TYPE_JSON


def invalid_input(message: str) -> ScoringError:
    return ScoringError(f"Invalid input. {message}")


@dataclass(frozen=True)
class ParsedRequest:
    """What one /invocations request asks the model: its input and its params."""

    data: Any
    params: dict[str, Any] | None
    rows: int | None  # row count when the input is a DataFrame or array (what batching needs)


def parse_request(body: bytes, content_type: str | None, schema: Schema | None) -> ParsedRequest:
    """The model input a request body holds, shaped as MLflow's server shapes it."""
    try:
        return _parse_request(body, content_type, schema)
    except ScoringError:
        raise
    except Exception as exc:  # pandas/numpy refusing an odd shape: still the client's input, so a 400
        expected = f" The model's signature expects {_expects(schema)}." if schema and schema.inputs else ""
        raise invalid_input(f"The request could not be turned into model input ({type(exc).__name__}: {exc}).{expected}")


def _parse_request(body: bytes, content_type: str | None, schema: Schema | None) -> ParsedRequest:
    mime, charset, unknown = _split_content_type(content_type or "")
    if charset != "utf-8":
        raise ScoringError("The scoring server only supports UTF-8", 415, plain_text=True)
    if unknown:
        raise ScoringError(
            f"Unrecognized content type parameters: {', '.join(sorted(unknown))}.", 415, plain_text=True
        )
    if mime == CONTENT_TYPE_CSV:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid_input(f"Ensure that input is a valid UTF-8 encoded string. Error: '{exc!r}'") from None
        data = parse_csv(text, schema)
        return ParsedRequest(data, None, len(data))
    if mime == CONTENT_TYPE_JSON:
        return parse_json(body, schema)
    if mime == CONTENT_TYPE_PARQUET:
        data = parse_parquet(body)
        return ParsedRequest(data, None, len(data))
    raise ScoringError(
        f"This predictor only supports the following content types: Types: {CONTENT_TYPES}. "
        f"Got '{content_type or ''}'.", 415, plain_text=True,
    )


def _split_content_type(content_type: str) -> tuple[str, str, set[str]]:
    parts = [part.strip() for part in content_type.split(";")]
    values = {key.strip().lower(): value.strip() for key, _, value in (p.partition("=") for p in parts[1:] if p)}
    charset = values.pop("charset", "utf-8").strip('"').lower()
    return parts[0].lower(), charset, set(values)


def parse_json(body: bytes, schema: Schema | None) -> ParsedRequest:
    try:
        decoded = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid_input(f"Ensure that input is a valid JSON formatted string. Error: '{exc!r}'") from None
    if isinstance(decoded, list):
        raise invalid_input(f"{REQUIRED_INPUT_FORMAT}. Received a list.")
    if not isinstance(decoded, dict):
        raise invalid_input(f"{REQUIRED_INPUT_FORMAT}. Received unexpected input type '{type(decoded)}'.")
    params = decoded.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise invalid_input(f"'params' must be a JSON dictionary of parameter names to values, not {params!r}")
    formats = [key for key in SUPPORTED_FORMATS if key in decoded]
    if len(formats) != 1:
        raise ScoringError(f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: {list(decoded)}.")
    form = formats[0]
    value = decoded[form]
    if form == DF_SPLIT:
        data = _dataframe_split(value, schema)
    elif form == DF_RECORDS:
        data = _dataframe_records(value, schema)
    elif form == INSTANCES:
        data = _instances(value, schema)
    else:
        data = _inputs(value, schema)
    return ParsedRequest(data, params, _row_count(data))


def _row_count(data: Any) -> int | None:
    shape = getattr(data, "shape", None)
    if shape and type(data).__name__ in ("DataFrame", "ndarray"):
        return int(shape[0])
    return None


def _dataframe_split(value: Any, schema: Schema | None) -> Any:
    import pandas as pd

    if not isinstance(value, dict):
        kind = "list" if isinstance(value, list) else f"type {type(value)}"
        raise invalid_input(f"Dataframe split format must be a dictionary. Got {kind}.")
    keys = set(value)
    if "data" not in keys or keys - {"columns", "data", "index"}:
        raise invalid_input(
            f"Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {keys}."
        )
    try:
        frame = pd.DataFrame(data=value["data"], columns=value.get("columns"), index=value.get("index"))
    except Exception as exc:
        raise invalid_input(
            f"Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '{exc}'"
        ) from None
    return _cast_columns(frame, schema)


def _dataframe_records(value: Any, schema: Schema | None) -> Any:
    import pandas as pd

    if not isinstance(value, list):
        kind = "dictionary" if isinstance(value, dict) else f"type {type(value)}"
        raise invalid_input(f"Dataframe records format must be a list of records. Got {kind}.")
    try:
        frame = pd.DataFrame(data=value)
    except Exception as exc:
        raise invalid_input(
            f"Provided dataframe_records field is not a valid dataframe representation in 'records' format. "
            f"Error: '{exc}'"
        ) from None
    return _cast_columns(frame, schema)


def _cast_columns(frame: Any, schema: Schema | None) -> Any:
    """Give named columns the signature's types, as MLflow does before predicting."""
    if schema is None or not schema.inputs or schema.is_tensor_spec():
        return frame
    for spec in schema.inputs:
        if not isinstance(spec, ColSpec) or spec.name not in frame.columns or spec.type in ("string", "binary"):
            continue
        want = _NUMPY_OF_COLUMN.get(spec.type)
        if want is None or str(frame[spec.name].dtype) == want:
            continue
        try:
            frame[spec.name] = frame[spec.name].astype(want)
        except (ValueError, TypeError) as exc:
            raise invalid_input(
                f"Data is not compatible with model signature. Failed to convert column {spec.name} to type "
                f"'{spec.type}' (the signature expects {_expects(schema)}). Error: '{exc}'"
            ) from None
    return frame


def _tensor_dtype(schema: Schema | None) -> str | None:
    if schema is not None and schema.is_tensor_spec():
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        return spec.dtype
    return None


def _array(value: Any, schema: Schema | None, what: str) -> Any:
    import numpy as np

    dtype = _tensor_dtype(schema)
    try:
        return np.array(value, dtype=dtype) if dtype else np.array(value)
    except (ValueError, TypeError) as exc:
        expected = f"; the signature expects {_expects(schema)}" if schema and schema.inputs else ""
        raise invalid_input(f"Failed to convert {what} to an array{expected}. Error: {exc!r}") from None


def _column_frame(columns: dict[str, Any], schema: Schema | None) -> Any:
    """Named inputs become a DataFrame when the signature has named columns (what the pyfunc
    signature check takes); otherwise a dict of arrays, as MLflow passes them."""
    import numpy as np

    arrays = {name: np.asarray(values) for name, values in columns.items()}
    if schema is not None and schema.inputs and not schema.is_tensor_spec():
        import pandas as pd

        arrays = {name: a.reshape(1) if a.ndim == 0 else a for name, a in arrays.items()}  # one row of scalars
        if len({len(a) for a in arrays.values()}) > 1:  # MLflow finds this while enforcing the signature
            raise ScoringError(f"The length of values for each input/column name are not the same; the model's "
                               f"signature expects {_expects(schema)}", error_code="INVALID_PARAMETER_VALUE")
        return _cast_columns(pd.DataFrame(arrays), schema)
    return arrays


def _instances(value: Any, schema: Schema | None) -> Any:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        columns: dict[str, list[Any]] = defaultdict(list)
        for item in value:
            if not isinstance(item, dict):
                raise invalid_input("instances must be all JSON objects (rows) or all values, not a mix")
            for name, cell in item.items():
                columns[name].append(cell)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise invalid_input("The length of values for each input/column name are not the same")
        return _column_frame(dict(columns), schema)
    return _array(value, schema, "instances")


def _inputs(value: Any, schema: Schema | None) -> Any:
    if isinstance(value, dict):
        return _column_frame(value, schema)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return _instances(value, schema)
    if schema is not None and len(schema.inputs) == 1 and not schema.is_tensor_spec() and isinstance(value, list):
        name = schema.inputs[0].name
        return _column_frame({name: value}, schema)
    return _array(value, schema, "inputs")


def parse_csv(text: str, schema: Schema | None) -> Any:
    import pandas as pd

    dtypes = None
    if schema is not None and schema.inputs and not schema.is_tensor_spec():
        dtypes = {spec.name: _NUMPY_OF_COLUMN[spec.type] for spec in schema.inputs
                  if isinstance(spec, ColSpec) and spec.type in _NUMPY_OF_COLUMN and spec.type != "datetime"}
    try:
        return pd.read_csv(StringIO(text), dtype=dtypes)
    except Exception as exc:
        raise ScoringError(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas "
            f"DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '{exc}'"
        ) from None


def parse_parquet(body: bytes) -> Any:
    from io import BytesIO

    import pandas as pd

    try:
        return pd.read_parquet(BytesIO(body))
    except ImportError:
        raise ScoringError("parquet bodies need pyarrow on the server: pip install pyarrow") from None
    except Exception as exc:
        raise ScoringError(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid Parquet Pandas DataFrame "
            f"produced using the `pandas.DataFrame.to_parquet()` method. Error: '{exc}'"
        ) from None


def _expects(schema: Schema) -> str:
    if schema.is_tensor_spec():
        spec = schema.inputs[0]
        assert isinstance(spec, TensorSpec)
        shape = ", ".join("any" if d == -1 else str(d) for d in spec.shape)
        return f"a {spec.dtype} tensor of shape ({shape})"
    return "columns " + ", ".join(f"{spec.name} ({spec.type})" for spec in schema.inputs)


def predict_error(exc: BaseException, schema: Schema | None) -> ScoringError:
    """The 400 a failed predict gets: the reason, and what the signature expects."""
    expected = f" The model's signature expects {_expects(schema)}." if schema and schema.inputs else ""
    if isinstance(exc, LighttrackError):
        # MLflow keeps the code of its own exceptions (a signature mismatch is INVALID_PARAMETER_VALUE).
        code = exc.error_code if exc.error_code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST") else "BAD_REQUEST"
        return ScoringError(f"Failed to predict data. Error: {exc.message.rstrip('.')}.{expected}", error_code=code)
    return ScoringError(
        "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe "
        f"is compatible with the model for inference. Error: {type(exc).__name__}: {str(exc).rstrip('.')}.{expected}"
    )


def jsonable(predictions: Any) -> Any:
    """Predictions as plain JSON values, the shapes MLflow answers with."""
    kind = type(predictions).__name__
    if kind == "ndarray":
        return predictions.tolist()
    if kind == "DataFrame":
        return predictions.to_dict(orient="records")
    if kind == "Series":
        return predictions.to_frame().to_dict(orient="records")
    return predictions


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.encodebytes(value).decode("ascii")
    raise TypeError(f"predictions of type {type(value).__name__} cannot be written as JSON")


def predictions_body(predictions: Any) -> bytes:
    """``{"predictions": [...]}``; NaN and infinities are written as MLflow writes them."""
    return json.dumps({"predictions": jsonable(predictions)}, default=_default).encode()

