"""MLflow 3's fluent logged-model functions: ``mlflow.get_logged_model``, ``search_logged_models``...

They act on the file the fluent API uses and, where MLflow does, on the active run's experiment.
"""

from __future__ import annotations

from typing import Any

from lighttrack.entities.logged_model import LoggedModel, LoggedModelStatus
from lighttrack.errors import InvalidArgument


def _client():
    from lighttrack.fluent import _client as fluent_client

    return fluent_client()


def get_logged_model(model_id: str) -> LoggedModel:
    return _client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The model this process logged (or initialized) last, or None."""
    from lighttrack.models import logged

    return get_logged_model(logged._last_logged_model_id) if logged._last_logged_model_id else None


def search_logged_models(
    experiment_ids: list[str] | None = None, filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None, output_format: str = "pandas",
):
    """Every match (all pages, up to ``max_results``) of the experiments (the active one by
    default), as a DataFrame (MLflow's default) or a list of LoggedModel."""
    if output_format not in ("pandas", "list"):
        raise InvalidArgument(f"output_format must be 'pandas' or 'list', not {output_format!r}")
    from lighttrack.fluent import _resolve_experiment_id

    client = _client()
    ids = list(experiment_ids) if experiment_ids else [_resolve_experiment_id(None)]
    found: list[LoggedModel] = []
    token = None
    while True:
        page = client.search_logged_models(ids, filter_string, datasets, max_results, order_by, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            break
    if max_results is not None:
        found = found[:max_results]
    if output_format == "list":
        return found
    import pandas as pd

    columns = ["artifact_location", "creation_timestamp", "experiment_id", "last_updated_timestamp", "metrics",
               "model_id", "model_type", "name", "params", "source_run_id", "status", "status_message", "tags"]
    return pd.DataFrame([m.to_dictionary() for m in found], columns=columns)


def initialize_logged_model(
    name: str | None = None, source_run_id: str | None = None, tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None, model_type: str | None = None, experiment_id: str | None = None,
) -> LoggedModel:
    """A PENDING model with no files yet; ``log_model(..., model_id=)`` or ``finalize_logged_model`` completes it."""
    from lighttrack.fluent import _resolve_experiment_id, active_run
    from lighttrack.models import logged

    run = active_run()
    if source_run_id is None and run is not None:
        source_run_id = run.info.run_id
    if experiment_id is None:
        experiment_id = (run.info.experiment_id if run is not None else None) or _resolve_experiment_id(None)
    model = _client().create_logged_model(experiment_id, name, source_run_id, tags, params, model_type)
    logged._last_logged_model_id = model.model_id
    return model


def finalize_logged_model(model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
    return _client().finalize_logged_model(model_id, status)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    _client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    _client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, Any], model_id: str | None = None) -> None:
    """Params of ``model_id`` (the last logged model when omitted)."""
    model_id = model_id or _last_id()
    _client().log_model_params(model_id, params)


def delete_logged_model(model_id: str) -> None:
    _client().delete_logged_model(model_id)


def _last_id() -> str:
    from lighttrack.models import logged

    if logged._last_logged_model_id is None:
        raise InvalidArgument("no model_id given and no model logged yet in this process")
    return logged._last_logged_model_id


def model_metric(key: str, value: float, timestamp: int, step: int, run_id: str, model_id: str,
                 dataset: Any) -> None:
    """Write one metric point of a logged model (``log_metric(..., model_id=, dataset=)``).

    ``dataset`` is anything with ``name`` and ``digest`` (an ``mlflow.data`` dataset)."""
    from lighttrack.entities import Metric
    from lighttrack.store.logged_models import log_metrics

    name = getattr(dataset, "name", None) if dataset is not None else None
    digest = getattr(dataset, "digest", None) if dataset is not None else None
    if dataset is not None and not name:
        raise InvalidArgument("dataset= takes a dataset with a name and a digest (mlflow.data.from_pandas(...))")
    client = _client()
    client.get_logged_model(model_id)  # an unknown model is refused before anything is written
    log_metrics(client.store.conn, [Metric(key, value, timestamp, step, run_id, model_id, name, digest)])
