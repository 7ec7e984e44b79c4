"""``mlflow.log_input`` / ``mlflow.log_inputs``: record the datasets the active run used."""

from __future__ import annotations

from typing import Any

from lighttrack.entities import DatasetInput, InputTag
from lighttrack.errors import InvalidArgument
from lighttrack.store.datasets import CONTEXT_TAG


def _dataset_input(dataset: Any, context: str | None, tags: dict[str, str] | None) -> DatasetInput | None:
    """MLflow's pairing: the given tags, then ``mlflow.data.context`` when a context is given."""
    if (context or tags) and dataset is None:
        raise InvalidArgument("`dataset` must be specified if `context` or `tags` is specified")
    if dataset is None:
        return None
    to_entity = getattr(dataset, "_to_mlflow_entity", None)
    if to_entity is None:
        raise InvalidArgument(f"log_input takes a dataset from lighttrack.data (from_pandas, from_numpy...), "
                              f"not {type(dataset).__name__}")
    if tags is not None and not isinstance(tags, dict):
        raise InvalidArgument(f"tags must be a dict of tag name -> value, not {type(tags).__name__}")
    input_tags = [InputTag(key, value) for key, value in (tags or {}).items()]
    if context:
        input_tags.append(InputTag(CONTEXT_TAG, context))
    return DatasetInput(to_entity(), input_tags)


def log_input(dataset: Any = None, context: str | None = None, tags: dict[str, str] | None = None,
              model: Any = None) -> None:
    """Record that the active run (started if there is none) used ``dataset``; ``context``
    ("training", "eval"...) becomes the input tag ``mlflow.data.context``."""
    from lighttrack.fluent import _target

    item = _dataset_input(dataset, context, tags)
    if model is not None:
        raise InvalidArgument("log_input(model=...): model inputs are not supported by this lighttrack")
    client, run_id = _target(None)
    client.log_inputs(run_id, [item] if item is not None else None)


def log_inputs(datasets: list[Any] | None = None, contexts: list[str | None] | None = None,
               tags_list: list[dict[str, str] | None] | None = None, models: list[Any] | None = None) -> None:
    """Several datasets at once, all or nothing; the three lists pair up and must be as long."""
    from lighttrack.fluent import _target

    datasets, contexts, tags_list = datasets or [], contexts or [], tags_list or []
    if not (len(datasets) == len(contexts) == len(tags_list)):
        raise InvalidArgument("`mlflow.log_inputs` requires `datasets`, `contexts`, `tags_list` to be "
                              "non-empty list and have the same length.")
    if models:
        raise InvalidArgument("'models' argument is only supported by Databricks managed MLflow.")
    items = [_dataset_input(d, c, t) for d, c, t in zip(datasets, contexts, tags_list)]
    client, run_id = _target(None)
    client.log_inputs(run_id, [i for i in items if i is not None])
