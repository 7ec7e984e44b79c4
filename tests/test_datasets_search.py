"""``datasets.name``, ``datasets.digest`` and ``datasets.context`` in the search grammar: MLflow's
operators with MLflow's meaning (a run matches when ANY of its dataset inputs does), composable
with lighttrack's OR, NOT and parentheses; refusals name the position and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest

import lighttrack as mlflow
from lighttrack.errors import InvalidFilter

IRIS = dict(features=np.arange(6.0), name="iris", source="/data/iris.csv")
WINE = dict(features=np.arange(7.0), name="wine", source="s3://bucket/wine")


@pytest.fixture
def runs() -> dict[str, str]:
    """train-iris: iris for training; eval-both: iris and wine for eval; wine-none: wine without
    a context; plain: no inputs."""
    iris, wine = mlflow.data.from_numpy(**IRIS), mlflow.data.from_numpy(**WINE)
    made = {}
    for name, inputs in (("train-iris", [(iris, "training")]), ("eval-both", [(iris, "eval"), (wine, "eval")]),
                         ("wine-none", [(wine, None)]), ("plain", [])):
        with mlflow.start_run(run_name=name) as run:
            for dataset, context in inputs:
                mlflow.log_input(dataset, context=context)
        made[run.info.run_id] = name
    return made


IRIS_DIGEST = mlflow.data.from_numpy(**IRIS).digest

CASES = [
    ("datasets.name = 'iris'", {"train-iris", "eval-both"}),
    ("dataset.name = 'iris'", {"train-iris", "eval-both"}),  # MLflow's singular spelling
    ("datasets.name != 'iris'", {"eval-both", "wine-none"}),  # some input is not iris
    ("NOT datasets.name = 'iris'", {"wine-none", "plain"}),  # no input is iris
    ("datasets.name IN ('wine', 'mnist')", {"eval-both", "wine-none"}),
    ("datasets.name NOT IN ('iris')", {"eval-both", "wine-none"}),
    ("datasets.name LIKE 'i%'", {"train-iris", "eval-both"}),
    ("datasets.name LIKE 'I%'", set()),  # LIKE is case-sensitive, as MLflow documents
    ("datasets.name ILIKE 'I%'", {"train-iris", "eval-both"}),
    ("datasets.name NOT LIKE 'i%'", {"eval-both", "wine-none"}),
    (f"datasets.digest = '{IRIS_DIGEST}'", {"train-iris", "eval-both"}),
    ("datasets.context = 'training'", {"train-iris"}),
    ("datasets.context = 'eval'", {"eval-both"}),
    ("datasets.context != 'eval'", {"train-iris"}),  # an input without a context has none to compare
    ("datasets.context IN ('training', 'eval')", {"train-iris", "eval-both"}),
    ("datasets.context = 'training' OR datasets.name = 'wine'", {"train-iris", "eval-both", "wine-none"}),
    ("datasets.name = 'iris' AND datasets.name = 'wine'", {"eval-both"}),  # each may match another input
    ("(datasets.name = 'wine' OR attributes.run_name = 'plain') AND NOT datasets.context = 'eval'",
     {"wine-none", "plain"}),
    ("`datasets`.name = 'iris' and run_name LIKE 'train%'", {"train-iris"}),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0] for c in CASES])
def test_dataset_filters_match_what_mlflow_means(runs, text, expected):
    found = mlflow.search_runs(filter_string=text, output_format="list")
    assert {runs[r.info.run_id] for r in found} == expected
    client = mlflow.MlflowClient()
    assert client.count_runs(None, text) == len(expected)


REFUSED = [
    ("datasets.schema = 'x'", 9, "expected one of datasets.name, datasets.digest, datasets.context"),
    ("datasets.name = 3", 16, "expected a quoted string"),
    ("datasets.name < 'a'", 14, "expected one of the operators =, !=, LIKE, ILIKE"),
    ("datasets.context IS NULL", 17, "got IS NULL"),
    ("datasets.name IN (1, 2)", 18, "expected a quoted string"),
]


@pytest.mark.parametrize("text, position, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_dataset_filters_say_where_and_what_is_allowed(runs, text, position, message):
    with pytest.raises(InvalidFilter, match=message) as caught:
        mlflow.search_runs(filter_string=text)
    assert f"at position {position}:" in str(caught.value)


def test_runs_cannot_be_ordered_by_a_dataset(runs):
    with pytest.raises(InvalidFilter, match="cannot be ordered by datasets.name"):
        mlflow.search_runs(order_by=["datasets.name"])


def test_experiments_cannot_be_searched_by_datasets():
    with pytest.raises(InvalidFilter, match="experiments cannot be searched by datasets"):
        mlflow.search_experiments(filter_string="datasets.name = 'iris'")


def test_dataset_values_are_parameters_never_sql(runs):
    text = "datasets.name = 'x'' OR 1=1 --'"
    assert mlflow.search_runs(filter_string=text, output_format="list") == []
