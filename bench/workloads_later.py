"""Workloads for features later issues add (DESIGN.md section 10's last rows).

Each one skips, saying why, until the feature exists; whoever builds the feature fills in or
adjusts the measurement here (or in a new ``bench/workloads_<area>.py``): see bench/README.md.
"""

from __future__ import annotations

import importlib.util

from harness import Row, Timer, workload


def _forest():
    """The seed's model: a RandomForest on iris (fitted outside any timing)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    data = load_iris()
    model = RandomForestClassifier(n_estimators=100, random_state=42).fit(data.data, data.target)
    return model, data.data


def _log_and_load(ctx, mlflow, fresh_file, **log_kwargs) -> None:
    """log_model then load_model, each repeat into a new file made by ``fresh_file()``."""
    model, X = _forest()
    expected = model.predict(X)
    for _ in range(ctx.repeat):
        fresh_file()
        with mlflow.start_run() as run:
            with Timer() as log:
                info = mlflow.sklearn.log_model(model, **(log_kwargs or {"artifact_path": "model"}))
        uri = getattr(info, "model_uri", None) or f"runs:/{run.info.run_id}/model"
        with Timer() as load:
            loaded = mlflow.sklearn.load_model(uri)
        ctx.record("log_model", log.seconds)
        ctx.record("load", load.seconds)
        if list(loaded.predict(X)) != list(expected):
            ctx.note("load", "LOADED MODEL PREDICTS DIFFERENTLY")


@workload("sklearn", title="sklearn log_model / load", order=90, repeat=5, mlflow_repeat=3, rows=[
    Row("log_model", "sklearn log_model (forest on iris)", "s", budget=0.3),
    Row("load", "sklearn load_model (same model)", "s", budget=0.05),
])
def sklearn_model(ctx):
    if importlib.util.find_spec("lighttrack.sklearn") is None:
        ctx.skip("lighttrack.sklearn does not exist yet")
    import lighttrack
    import lighttrack.sklearn  # noqa: F401

    def fresh_file():
        lighttrack.set_tracking_uri(str(ctx.tempdir() / "bench.db"))
        lighttrack.set_experiment("bench")

    try:
        _log_and_load(ctx, lighttrack, fresh_file)
    finally:
        import lighttrack.store

        lighttrack.store.close_all()


@sklearn_model.mlflow
def _(ctx):
    from workloads_core import _mlflow

    import mlflow
    import mlflow.sklearn  # noqa: F401

    def fresh_file():
        _mlflow(ctx.tempdir())
        mlflow.set_experiment("bench")

    # MLflow 3 saves with skops and refuses, at log time, a forest's Tree unless trusted.
    _log_and_load(ctx, mlflow, fresh_file, name="model", skops_trusted_types=["sklearn.tree._tree.Tree"])


@workload("tui", title="terminal UI", order=100, repeat=5, rows=[
    Row("first_screen", "TUI first screen, 100k runs / 10M points", "s", budget=1.0),
    Row("chart", "TUI draw a 1,000,000-point metric", "ms", budget=200),
])
def tui(ctx):
    # To fill in with the TUI issue: build (and cache, like workloads_core._cached) a file with
    # 100k runs and 10M points, then time the app from start to its first rendered screen
    # (Textual's App.run_test() + pilot), and the draw of a 1M-point chart.
    ctx.skip("not in this table yet: run python bench/tui_bench.py")
