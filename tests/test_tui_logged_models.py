"""Pilot tests of logged models in the TUI: a run's Models tab lists its LoggedModels, and the
experiment's logged-model screen searches with the grammar, shows a model and registers it."""

from __future__ import annotations

import types

import pytest

pytest.importorskip("textual")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

import lighttrack as mlflow  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from test_tui_helpers import run_async_tests, settle, table_column  # noqa: E402
from test_tui_helpers import shown as shown_at  # noqa: E402

from tui.app import make_app  # noqa: E402


@pytest.fixture
def logged(client):
    X, y = sklearn_datasets.load_iris(return_X_y=True)
    mlflow.set_experiment("iris")
    infos = []
    for c in (0.5, 2.0):
        with mlflow.start_run(run_name=f"lr-{c}") as run:
            mlflow.log_param("C", c)
            info = mlflow.sklearn.log_model(LogisticRegression(C=c, max_iter=300).fit(X, y), name=f"lr{int(c * 10)}",
                                            model_type="classifier")
            mlflow.log_metric("accuracy", 0.9 + c / 100, model_id=info.model_id,
                              dataset=types.SimpleNamespace(name="iris-test", digest="d"))
            infos.append((run.info.run_id, info))
    mlflow.flush()
    return infos


def shown(widget) -> str:
    return shown_at(widget, width=140)


async def open_logged_models(pilot) -> None:
    await settle(pilot)
    screen = pilot.app.screen
    row = next(i for i, r in enumerate(screen.rows) if r.experiment.name == "iris")
    screen.query_one("#experiments-table").move_cursor(row=row)
    await pilot.press("enter")  # the experiments screen opens the runs of the highlighted one
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "RunsScreen"
    await pilot.press("M")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "LoggedModelsScreen"


async def test_run_detail_lists_its_logged_models(client, logged):
    run_id, info = logged[0]
    async with make_app(client, live=False).run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_run(run_id)
        await settle(pilot)
        detail = pilot.app.screen.detail
        [model] = detail.models
        assert model.entity.model_id == info.model_id and model.path == "lr5" and "sklearn" in model.flavors
        text = shown(pilot.app.screen.query_one("#models-text"))
        assert info.model_id in text and "READY" in text


async def test_experiment_models_search_open_and_register(client, logged):
    async with make_app(client, live=False).run_test(size=(140, 40)) as pilot:
        await open_logged_models(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#logged-table")
        assert table_column(table, "name") == ["lr20", "lr5"]  # newest first
        assert "accuracy=0.92" in table_column(table, "metrics")[0]
        detail = shown(screen.query_one("#logged-detail"))
        assert "param C" in detail and "on iris-test" in detail
        # search with the grammar
        await pilot.press("slash")
        for key in "metrics.accuracy < 0.91":
            await pilot.press(key if key != " " else "space")
        await pilot.press("enter")
        await settle(pilot)
        assert table_column(table, "name") == ["lr5"]
        # a bad filter says where, and the table stays
        screen.query_one("#logged-filter").value = "metrics.accuracy < 'x'"
        await pilot.press("slash")
        await pilot.press("enter")
        await settle(pilot)
        assert "position" in shown(screen.query_one("#logged-error"))
        assert table_column(table, "name") == ["lr5"]
        # register the highlighted model
        table.focus()
        await pilot.press("g")
        await settle(pilot)
        dialog = pilot.app.screen
        dialog.query_one("#prompt-input").value = "iris-prod"
        await pilot.press("enter")
        await settle(pilot)
    version = client.get_model_version("iris-prod", 1)
    assert version.model_id == logged[0][1].model_id and version.source == f"models:/{logged[0][1].model_id}"


run_async_tests(globals())
