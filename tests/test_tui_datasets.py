"""The TUI shows the datasets a run used (an Inputs section in the run detail) and marks, in
compare, when two runs used different data. Everything goes through the adapter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("textual")

from test_tui_helpers import run_async_tests, settle  # noqa: E402

import lighttrack  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.datasets import compare_rows, input_rows, profile_text, schema_text, source_text  # noqa: E402

FRAME = pd.DataFrame({"sepal": [5.1, 4.9, 6.2], "species": ["a", "b", "c"]})


@pytest.fixture
def runs(client):
    train = lighttrack.data.from_pandas(FRAME, source="data/iris.csv", name="iris")
    other = lighttrack.data.from_pandas(FRAME.assign(sepal=[1.0, 2.0, 3.0]), source="data/iris-v2.csv", name="iris")
    test = lighttrack.data.from_numpy(np.ones((4, 2)), targets=np.zeros(4), source="s3://bucket/test", name="holdout")
    made = {}
    both = [(train, "training"), (test, "eval")]
    for name, inputs in (("first", both), ("same", both), ("changed", [(other, "training")])):
        with lighttrack.start_run(run_name=name) as run:
            for dataset, context in inputs:
                lighttrack.log_input(dataset, context=context, tags={"fold": "1"} if name == "first" else None)
        made[name] = run.info.run_id
    made["digests"] = (train.digest, other.digest, test.digest)
    return made


def _text(widget) -> str:
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(widget.content)
    return console.export_text()


async def test_the_run_detail_lists_its_inputs(client, runs):
    train, _, test = runs["digests"]
    async with make_app(client, run_id=runs["first"], live=False).run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        shown = _text(pilot.app.screen.query_one("#run-inputs"))
        assert "inputs (2)" in shown
        assert f"training  iris@{train}" in shown and f"eval  holdout@{test}" in shown
        assert "local data/iris.csv" in shown and "s3 s3://bucket/test" in shown
        assert "sepal double, species string" in shown and "3 rows · 6 values" in shown
        assert "features: float64 (-1, 2); targets: float64 (-1,)" in shown
        assert "fold = 1" in shown


async def test_a_run_without_inputs_says_so(client):
    with lighttrack.start_run() as run:
        lighttrack.log_metric("m", 1.0)
    async with make_app(client, run_id=run.info.run_id, live=False).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert "no dataset logged" in _text(pilot.app.screen.query_one("#run-inputs"))


async def test_compare_marks_runs_that_used_different_data(client, runs):
    train, other, test = runs["digests"]
    async with make_app(client, run_id=runs["first"], live=False).run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        pilot.app.open_compare([runs["first"], runs["same"], runs["changed"]])
        await settle(pilot)
        table = pilot.app.screen.query_one("#compare-table")
        training = [str(c) for c in table.get_row("datasets.training")]
        assert training[0].startswith("≠")
        assert training[1:] == [f"iris@{train}", f"iris@{train}", f"iris@{other}"]
        evaluation = [str(c) for c in table.get_row("datasets.eval")]
        assert evaluation[1:] == [f"holdout@{test}", f"holdout@{test}", "–"]
        pilot.app.pop_screen()
        await settle(pilot)
        pilot.app.open_compare([runs["first"], runs["same"]])
        await settle(pilot)
        table = pilot.app.screen.query_one("#compare-table")
        assert not str(table.get_row("datasets.training")[0]).startswith("≠")  # the same data: not marked


def test_summaries_of_what_a_file_holds_never_fail(client):
    """Source, schema and profile come from a file that may be anyone's: odd JSON is shown as text."""
    assert source_text("local", "{not json") == "local {not json"
    assert source_text("code", '{"tags": {"mlflow.source.name": "train.py"}}') == "code train.py"
    assert schema_text('{"mlflow_colspec": "oops"}') == ""
    assert schema_text("[1, 2]").startswith("[1, 2]")
    assert profile_text('{"num_rows": 3}') == "3 rows"
    assert profile_text("7") == "7"
    assert compare_rows([]) == []
    assert input_rows(object()) == []


run_async_tests(globals())
