"""Pushing MLflow 3 logged models to an MLflow server: the entity, its files, params, tags,
metrics (with their datasets) and status.

MLflow makes its own model ids, so ours -> theirs is recorded in ``sync_state`` (kind
``logged_model``) with what was already sent; a second push sends only new params, tags and
metric points. An interrupted push finds its model again by the ``lighttrack.model_id`` tag.
"""

from __future__ import annotations

import tempfile
from typing import Any

_MODEL_ID_TAG = "lighttrack.model_id"


def push_logged_models(pusher: Any, runs: list[Any], experiment_ids: list[str] | None) -> dict[str, str]:
    """Models of the pushed runs, and run-less models of their experiments; returns ours -> theirs."""
    local = pusher.local
    pushed = {r.info.run_id for r in runs}
    experiments = sorted(set(experiment_ids or []) | {r.info.experiment_id for r in runs})
    mapping: dict[str, str] = {}
    if not experiments:
        return mapping
    token = None
    models = []
    while True:
        page = local.search_logged_models(experiments, max_results=1000, page_token=token,
                                          order_by=[{"field_name": "creation_timestamp", "ascending": True}])
        models.extend(page)
        token = page.token
        if not token:
            break
    for model in models:
        if model.source_run_id and model.source_run_id not in pushed:
            continue  # its run was not chosen
        mapping[model.model_id] = _push_model(pusher, model)
    return mapping


def _find_remote(pusher: Any, experiment: str, model_id: str) -> str | None:
    found = pusher.remote.search_logged_models(
        experiment_ids=[experiment], filter_string=f"tags.`{_MODEL_ID_TAG}` = '{model_id}'", max_results=1)
    return found[0].model_id if found else None


def _push_model(pusher: Any, model: Any) -> str:
    from mlflow.entities import Metric as MlflowMetric

    remote = pusher.remote
    known = pusher._state("logged_model", model.model_id)
    remote_exp = pusher._experiment(model.experiment_id)
    remote_run = pusher._state("run", model.source_run_id)[0] if model.source_run_id else None
    sent: dict = dict(known[1]) if known else {"params": {}, "tags": {}, "metrics": [], "status": None}
    remote_id = known[0] if known else _find_remote(pusher, remote_exp, model.model_id)
    if remote_id is None:
        created = remote.create_logged_model(
            experiment_id=remote_exp, name=model.name, source_run_id=remote_run,
            tags={**model.tags, _MODEL_ID_TAG: model.model_id}, params=model.params or None,
            model_type=model.model_type,
        )
        remote_id = created.model_id
        sent["params"], sent["tags"] = dict(model.params), dict(model.tags)
        with tempfile.TemporaryDirectory(prefix="lighttrack-push-model-") as tmp:
            try:
                folder = local_files(pusher.local, model.model_id, tmp)
            except LookupError:  # a PENDING/FAILED model without files
                folder = None
            if folder is not None:
                remote.log_model_artifacts(remote_id, folder)
        pusher.report.logged_models_created += 1
    new_params = {k: v for k, v in model.params.items() if k not in sent["params"]}
    if new_params:
        remote.log_model_params(remote_id, new_params)
    new_tags = {k: v for k, v in model.tags.items() if sent["tags"].get(k) != v}
    if new_tags:
        remote.set_logged_model_tags(remote_id, new_tags)
    done = {tuple(m) for m in sent["metrics"]}
    by_run: dict[str, list] = {}
    for m in model.metrics:
        fact = (m.key, m.timestamp, m.step, m.run_id or "", m.dataset_name or "", m.dataset_digest or "")
        if fact in done:
            continue
        target = pusher._state("run", m.run_id)[0] if m.run_id and pusher._state("run", m.run_id) else None
        if target is None:  # MLflow logs a model's metric through a run: this one's run is not there
            pusher.report.notes.append(f"logged model {model.model_id}: metric {m.key} left out (its run "
                                       f"{m.run_id or '-'} was not pushed)")
            continue
        by_run.setdefault(target, []).append(MlflowMetric(
            m.key, m.value, m.timestamp, m.step, model_id=remote_id, dataset_name=m.dataset_name,
            dataset_digest=m.dataset_digest, run_id=target))
        done.add(fact)
    for target, metrics in by_run.items():
        for i in range(0, len(metrics), 1000):
            remote.log_batch(target, metrics=metrics[i:i + 1000])
    status = str(model.status)
    if status in ("READY", "FAILED") and sent.get("status") != status:
        remote.finalize_logged_model(remote_id, status)
    pusher._save("logged_model", model.model_id, remote_id, {
        "params": dict(model.params), "tags": dict(model.tags), "metrics": sorted(done), "status": status})
    return remote_id


def local_files(local: Any, model_id: str, tmp: str) -> str:
    from pathlib import Path

    from lighttrack.store import logged_models as model_store

    if not model_store.files(local.store.conn, model_id):
        raise LookupError(model_id)
    return str(model_store.download(local.store.conn, model_id, Path(tmp) / "model"))
