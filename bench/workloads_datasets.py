"""Datasets as run inputs (issue 15): the 1,000-run workload with one ``log_input`` per run
must stay within 10% of the same workload without it. Both run in the same child, in
alternating order, so machine load hits both alike; the ratio row carries the budget."""

from __future__ import annotations

from harness import Row, Timer, workload
from workloads_core import _close_lighttrack, _create_runs, _lighttrack_file, _run_payloads


def _create_runs_with_inputs(mlflow, payloads, dataset) -> None:
    """The same fluent sequence as the runs workload, plus the training set as an input."""
    for params, tags, points in payloads:
        mlflow.start_run()
        mlflow.log_params(params)
        mlflow.set_tags(tags)
        mlflow.log_input(dataset, context="training")
        for step, row in enumerate(points):
            for key, value in zip(("loss", "acc", "val_loss", "val_acc", "lr"), row):
                mlflow.log_metric(key, value, step=step)
        mlflow.end_run()


@workload("datasets", title="1,000 runs with a dataset input each", order=65, repeat=5, rows=[
    Row("plain", "1,000 runs (10 params, 5 tags, 5x20 metrics), fluent", "s"),
    Row("with_input", "the same + log_input(from_pandas(...)) per run", "s"),
    Row("overhead", "with_input / plain - 1 (same child, alternating)", "%", budget=10.0),
])
def datasets(ctx):
    import numpy as np
    import pandas as pd

    n = ctx.size(1000, 200)
    payloads = _run_payloads(n)
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 5)), columns=list("abcde"))
    plain_times, input_times = [], []
    for i in range(ctx.repeat):
        for with_input in ((False, True) if i % 2 == 0 else (True, False)):
            folder = ctx.tempdir()
            mlflow, path = _lighttrack_file(folder)
            mlflow.set_experiment("bench")
            # untimed: a sweep script builds its dataset once
            dataset = mlflow.data.from_pandas(frame, source="data/train.csv", name="train")
            with Timer() as t:
                if with_input:
                    _create_runs_with_inputs(mlflow, payloads, dataset)
                else:
                    _create_runs(mlflow, payloads)
            seconds = t.seconds * 1000 / n
            (input_times if with_input else plain_times).append(seconds)
            ctx.record("with_input" if with_input else "plain", seconds)
            if with_input:
                runs = mlflow.MlflowClient(str(path)).search_runs(None, "datasets.name = 'train'", max_results=None)
                if len(runs) != n:
                    ctx.note("with_input", f"WRONG CONTENT: {len(runs)} runs have the input")
            _close_lighttrack()
            ctx.drop(folder)
        ctx.record("overhead", (input_times[-1] / plain_times[-1] - 1) * 100)
    if n != 1000:
        for key in ("plain", "with_input"):
            ctx.note(key, f"{n:,} runs, scaled to 1,000")
