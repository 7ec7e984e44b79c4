"""``lighttrack demo``: the seed's RandomForest-on-iris example as a small sweep."""

from __future__ import annotations

import click

from lighttrack.cli.common import client_from, emit

EXPERIMENT = "iris-demo"
MODEL_NAME = "iris-classifier"
SWEEP = [(n, depth) for n in (10, 50, 100) for depth in (2, 4, None)]


def run_sweep(tracking_uri: str | None, echo=click.echo) -> list[str]:
    """Train one forest per (n_estimators, max_depth) and log it; returns the run ids."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import cross_val_score, train_test_split

    import lighttrack
    import lighttrack.sklearn

    if tracking_uri:
        lighttrack.set_tracking_uri(tracking_uri)
    data = load_iris()
    X_train, X_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.2, random_state=42)
    lighttrack.set_experiment(EXPERIMENT)
    run_ids = []
    from lighttrack.cli.progress import track

    for n_estimators, max_depth in track(SWEEP, "training forests", "runs"):
        with lighttrack.start_run(run_name=f"forest-{n_estimators}-{max_depth or 'full'}") as run:
            model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=42)
            model.fit(X_train, y_train)
            # A learning curve: test accuracy as trees are added, for charts to show.
            for step, upto in enumerate(range(1, n_estimators + 1, max(1, n_estimators // 20))):
                votes = sum(tree.predict_proba(X_test) for tree in model.estimators_[:upto])
                lighttrack.log_metric("test_accuracy_by_trees", accuracy_score(y_test, votes.argmax(axis=1)), step=upto)
            y_pred = model.predict(X_test)
            lighttrack.log_params({"n_estimators": n_estimators, "max_depth": max_depth, "test_size": 0.2})
            lighttrack.log_metric("accuracy", accuracy_score(y_test, y_pred))
            lighttrack.log_metric("f1_macro", f1_score(y_test, y_pred, average="macro"))
            # The seed's split is easy (every forest scores 1.0); 5-fold CV tells them apart.
            cv = cross_val_score(model, data.data, data.target, cv=5)
            lighttrack.log_metric("cv_accuracy", float(cv.mean()))
            lighttrack.log_dict(
                {"features": list(data.feature_names), "classes": list(data.target_names)}, "dataset.json"
            )
            lighttrack.sklearn.log_model(model, name="model", input_example=X_test[:3])
            run_ids.append(run.info.run_id)
    return run_ids


def register_best(client, run_ids: list[str]):
    """Register the best run's model as MODEL_NAME and move it to Production."""
    best = client.search_runs(
        client.resolve_experiment_id(EXPERIMENT),
        f"attributes.run_id IN ({', '.join(repr(r) for r in run_ids)})",
        order_by=["metrics.cv_accuracy DESC", "params.n_estimators ASC"], max_results=1,
    )[0]
    from lighttrack.models.logged import register_model

    version = register_model(f"runs:/{best.info.run_id}/model", MODEL_NAME, client=client)
    client.transition_model_version_stage(MODEL_NAME, version.version, "Production", archive_existing_versions=True)
    client.set_registered_model_alias(MODEL_NAME, "champion", version.version)
    return best, version


@click.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Log a small RandomForest-on-iris sweep into the file and show what was logged."""
    tracking_uri = (ctx.obj or {}).get("tracking_uri")
    run_ids = run_sweep(tracking_uri)
    client = client_from(ctx)
    best, version = register_best(client, run_ids)
    found = client.search_runs(
        client.resolve_experiment_id(EXPERIMENT), f"attributes.run_id IN ({', '.join(repr(r) for r in run_ids)})",
        order_by=["metrics.cv_accuracy DESC", "params.n_estimators ASC"],
    )
    rows = [
        [r.info.run_id[:8], r.info.run_name, r.data.params["n_estimators"], r.data.params["max_depth"],
         r.data.metrics["cv_accuracy"], r.data.metrics["accuracy"]]
        for r in found
    ]
    emit(["run", "name", "n_estimators", "max_depth", "cv_accuracy", "accuracy"], rows, "table",
         title=f"{len(run_ids)} runs logged to experiment {EXPERIMENT!r} in {client.path}")
    click.echo(
        f"Registered the best run's model ({best.info.run_name}) as {MODEL_NAME!r} version "
        f"{version.version}, now in Production (models:/{MODEL_NAME}/Production, models:/{MODEL_NAME}@champion)."
    )
    db = "" if tracking_uri is None else f" --db {tracking_uri}"
    click.echo("Look at them with:")
    click.echo(f"  lighttrack{db} ui")
    click.echo(f"  lighttrack{db} runs list -x {EXPERIMENT} --order-by 'metrics.cv_accuracy DESC'")
    click.echo(f"  lighttrack{db} runs show {found[0].info.run_id[:8]}")
    click.echo(f"  lighttrack{db} runs compare {found[0].info.run_id[:8]} {found[-1].info.run_id[:8]}")
    click.echo(f"  lighttrack{db} models versions {MODEL_NAME}")
    click.echo(f"  lighttrack{db} info")
