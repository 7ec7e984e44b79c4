"""The UI's view of a lighttrack file, composed from the public client API only.

Screens never call the client directly: they call this adapter from thread workers and get
plain view objects back. Where the client lacks a call the UI needs, the composition lives
here (and is listed as a wish for the core).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lighttrack.client import LighttrackClient
from lighttrack.entities import Experiment, FileInfo, MetricSummary, Run, ViewType
from lighttrack.errors import LighttrackError, NotFound

from tui.datasets import InputRow, input_rows
from tui.format import key_ref, quote

PARENT_TAG = "mlflow.parentRunId"
#: An experiment tag naming the metric that matters most (shown first, compared first).
PRIMARY_METRIC_TAG = "lighttrack.primary_metric"
NOTE_TAG = "mlflow.note.content"
CHILDREN_CAP = 1000


@dataclass(frozen=True)
class ExperimentRow:
    experiment: Experiment
    run_count: int
    last_activity: int | None  # start of its latest run (None: no runs yet)

    @property
    def experiment_id(self) -> str:
        return self.experiment.experiment_id


@dataclass(frozen=True)
class RunQuery:
    """What the runs table shows: a snapshot taken when a load starts."""

    experiment_ids: tuple[str, ...]
    filter_text: str = ""
    order_by: tuple[str, ...] = ()
    view_type: int = ViewType.ACTIVE_ONLY
    grouped: bool = False
    page_size: int = 100

    def top_filter(self) -> str:
        """Grouped tables page through top-level runs; each brings its children along."""
        if not self.grouped:
            return self.filter_text
        top = f"{key_ref('tags', PARENT_TAG)} IS NULL"
        return f"({self.filter_text}) AND {top}" if self.filter_text.strip() else top


@dataclass
class RunRow:
    run: Run
    depth: int = 0
    children: int = 0

    @property
    def run_id(self) -> str:
        return self.run.info.run_id


@dataclass
class RunsPage:
    query: RunQuery
    token: str | None
    next_token: str | None
    rows: list[RunRow]
    total: int | None
    primary_metric: str | None = None  # the experiments' PRIMARY_METRIC_TAG (first pages only)


@dataclass
class LoggedModel:
    path: str
    flavors: list[str]
    inputs: str
    outputs: str
    created: str
    versions: list[Any] = field(default_factory=list)
    entity: Any = None  # MLflow 3's LoggedModel (model_id, status, params, metrics) when there is one


@dataclass
class RunDetail:
    run: Run
    experiment_name: str
    parent: Run | None
    summaries: list[MetricSummary]
    artifacts: list[FileInfo]
    models: list[LoggedModel]
    children: list[Run] = field(default_factory=list)  # nested runs, oldest first (up to CHILDREN_CAP)
    inputs: list[InputRow] = field(default_factory=list)  # the datasets the run used


@dataclass
class CompareData:
    runs: list[Run]
    summaries: dict[str, dict[str, MetricSummary]]  # run id -> key -> summary
    experiment_names: dict[str, str]


@dataclass
class ModelDetail:
    model: Any  # RegisteredModel
    versions: list[Any]  # ModelVersion, newest first
    history: list[Any]  # ModelHistoryEvent, oldest first
    run_names: dict[str, str]


@dataclass
class ScatterSample:
    runs: list[Run]
    total: int  # how many runs match; more than len(runs) when sampled
    how: str  # "all", or how the sample was drawn
    primary_metric: str | None = None


@dataclass(frozen=True)
class JumpTarget:
    kind: str  # "experiment" | "run" | "model"
    ident: str
    label: str
    help: str


class TrackingAdapter:
    """Everything the screens read and write, in the words the screens use."""

    def __init__(self, client: LighttrackClient) -> None:
        self.client = client
        self._editor: LighttrackClient | None = None

    @property
    def editor(self) -> LighttrackClient:
        """The client edits go through: the viewing client itself, unless that one only reads
        (shard mode: viewing never writes the file or its shards), then a writing client on
        the same file, opened at the first edit."""
        if not self.client.readonly:
            return self.client
        if self._editor is None:
            self._editor = LighttrackClient(self.client.path)
        return self._editor

    @property
    def path(self):
        return self.client.path

    def data_version(self) -> int:
        return self.client.data_version()

    # ------------------------------------------------------------------ experiments
    def experiments(self, view_type: int = ViewType.ACTIVE_ONLY) -> list[ExperimentRow]:
        found = self.client.search_experiments(view_type, order_by=["name ASC"])
        activity = self.client.experiment_activity()
        rows = []
        for experiment in found:
            count, last = activity.get(experiment.experiment_id, (0, None))
            rows.append(ExperimentRow(experiment, count, last))
        return rows

    def experiment_names(self, ids: list[str] | tuple[str, ...]) -> dict[str, str]:
        names = {}
        for experiment_id in ids:
            try:
                names[experiment_id] = self.client.get_experiment(experiment_id).name
            except NotFound:
                names[experiment_id] = experiment_id
        return names

    def create_experiment(self, name: str, description: str = "") -> str:
        tags = {NOTE_TAG: description} if description else None
        return self.editor.create_experiment(name, tags=tags)

    def rename_experiment(self, experiment_id: str, name: str) -> None:
        self.editor.rename_experiment(experiment_id, name)

    def describe_experiment(self, experiment_id: str, text: str) -> None:
        self.editor.set_experiment_tag(experiment_id, NOTE_TAG, text)

    def delete_experiments(self, ids: list[str]) -> None:
        for experiment_id in ids:
            self.editor.delete_experiment(experiment_id)

    def restore_experiments(self, ids: list[str]) -> None:
        for experiment_id in ids:
            self.editor.restore_experiment(experiment_id)

    # ------------------------------------------------------------------------- runs
    def runs_page(self, query: RunQuery, token: str | None = None, *, with_total: bool = True) -> RunsPage:
        """One page of the table: never more than ``page_size`` top-level runs (plus, when
        grouped, their children), with the total count for the status line."""
        ids = list(query.experiment_ids) or None
        top = query.top_filter()
        found = self.client.search_runs(
            ids, top, query.view_type, query.page_size, list(query.order_by) or None, token
        )
        rows = [RunRow(run) for run in found]
        if query.grouped and rows:
            rows = self._with_children(query, rows)
        total = self.client.count_runs(ids, top, query.view_type) if with_total else None
        primary = self.primary_metric(query.experiment_ids) if token is None else None
        return RunsPage(query, token, found.token, rows, total, primary)

    def primary_metric(self, experiment_ids: tuple[str, ...] | list[str]) -> str | None:
        for experiment_id in experiment_ids:
            try:
                value = self.client.get_experiment(experiment_id).tags.get(PRIMARY_METRIC_TAG)
            except NotFound:
                continue
            if value and value.strip():
                return value.strip()
        return None

    def page_token_at(self, offset: int) -> str | None:
        """The token of the page starting at run number ``offset`` (jump to a page)."""
        return self.client.page_token_at(offset)

    def _with_children(self, query: RunQuery, parents: list[RunRow]) -> list[RunRow]:
        ids = list(query.experiment_ids) or None
        parent_ids = ", ".join(quote(row.run_id) for row in parents)
        children = self.client.search_runs(
            ids, f"{key_ref('tags', PARENT_TAG)} IN ({parent_ids})", query.view_type, CHILDREN_CAP,
            list(query.order_by) or None,
        )
        by_parent: dict[str, list[Run]] = {}
        for child in children:
            by_parent.setdefault(child.data.tags.get(PARENT_TAG, ""), []).append(child)
        rows = []
        for row in parents:
            kids = by_parent.get(row.run_id, [])
            row.children = len(kids)
            rows.append(row)
            rows.extend(RunRow(kid, depth=1) for kid in kids)
        return rows

    def run_keys(self, experiment_ids: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
        return self.client.run_keys(list(experiment_ids) or None)

    def get_run(self, run_id: str) -> Run:
        return self.client.get_run(run_id)

    def rename_run(self, run_id: str, name: str) -> None:
        self.editor.update_run(run_id, name=name)

    def delete_runs(self, ids: list[str]) -> None:
        for run_id in ids:
            self.editor.delete_run(run_id)

    def restore_runs(self, ids: list[str]) -> None:
        for run_id in ids:
            self.editor.restore_run(run_id)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.editor.set_tag(run_id, key, value)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.editor.delete_tag(run_id, key)

    def describe_run(self, run_id: str, text: str) -> None:
        if text.strip():
            self.editor.set_tag(run_id, NOTE_TAG, text)
        else:
            try:
                self.editor.delete_tag(run_id, NOTE_TAG)
            except NotFound:
                pass

    def run_detail(self, run_id: str) -> RunDetail:
        run = self.client.get_run(run_id)
        try:
            experiment_name = self.client.get_experiment(run.info.experiment_id).name
        except NotFound:
            experiment_name = run.info.experiment_id
        parent = None
        parent_id = run.data.tags.get(PARENT_TAG)
        if parent_id:
            try:
                parent = self.client.get_run(parent_id)
            except NotFound:
                parent = None
        summaries = sorted(self.client.get_metric_summaries(run_id), key=lambda s: s.key)
        artifacts = self.client.list_artifact_files(run_id)
        models = self.logged_models(run_id, artifacts)
        children = list(self.client.search_runs(
            [run.info.experiment_id], f"{key_ref('tags', PARENT_TAG)} = {quote(run_id)}", ViewType.ALL,
            CHILDREN_CAP, ["attributes.start_time ASC"]))
        return RunDetail(run, experiment_name, parent, summaries, artifacts, models, children, input_rows(run))

    def save_artifact(self, run_id: str, path: str, folder: str) -> str:
        """Copy one artifact (file or folder) of the run into ``folder``; returns where it went."""
        import os

        os.makedirs(folder, exist_ok=True)
        return self.client.download_artifacts(run_id, path, folder)

    def metric_series(self, run_id: str, key: str, label: str | None = None, colour: int = 0):
        from tui.series import Series

        steps, timestamps, values = self.client.metric_history_arrays(run_id, key)
        return Series(label or key, steps, timestamps, values, colour, run_id)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return self.client.read_artifact(run_id, path)

    def logged_models(self, run_id: str, artifacts: list[FileInfo]) -> list[LoggedModel]:
        """Models logged in the run: its LoggedModel entities (MLflow 3), then any other
        ``MLmodel`` folder of its artifacts (files from before logged models), each with the
        registered versions made from it (when the registry is there)."""
        import yaml

        run = self.client.get_run(run_id)
        entities = list(self.client.search_logged_models(
            [run.info.experiment_id], f"source_run_id = {quote(run_id)}", max_results=1000,
            order_by=[{"field_name": "creation_timestamp", "ascending": True}]))
        models = []
        for entity in entities:
            try:
                spec = yaml.safe_load(self.client.read_logged_model_artifact(entity.model_id, "MLmodel")) or {}
            except (LighttrackError, yaml.YAMLError):
                spec = {}
            models.append(_view(entity.name, spec, entity))
        named = {m.path for m in models}
        for info in artifacts:
            if info.path.rsplit("/", 1)[-1] != "MLmodel":
                continue
            folder = info.path.rsplit("/", 1)[0] if "/" in info.path else ""
            if (folder or ".") in named:
                continue
            try:
                spec = yaml.safe_load(self.client.read_artifact(run_id, info.path)) or {}
            except (LighttrackError, yaml.YAMLError):
                continue
            models.append(_view(folder or ".", spec, None))
        if models and self.has_registry:
            try:
                versions = self.client.search_model_versions(f"run_id = {quote(run_id)}")
            except LighttrackError:
                versions = []
            for model in models:
                model_id = model.entity.model_id if model.entity else None
                model.versions = [v for v in versions if (model_id and v.model_id == model_id)
                                  or _source_matches(v, model.path)] or (list(versions) if len(models) == 1 else [])
        return models

    def experiment_logged_models(self, experiment_ids: list[str] | tuple[str, ...], filter_text: str = "",
                                 cap: int = 1000) -> list[Any]:
        """An experiment's logged models, newest first, filtered with the search grammar."""
        return list(self.client.search_logged_models(list(experiment_ids), filter_text or None, max_results=cap))

    def register_logged_model(self, model_id: str, name: str) -> Any:
        """Register ``models:/<model_id>`` as the next version of ``name`` (created when new)."""
        from lighttrack.models.logged import register_model

        return register_model(f"models:/{model_id}", name, client=self.client)

    # ----------------------------------------------------------------------- compare
    def compare(self, run_ids: list[str]) -> CompareData:
        runs = [self.client.get_run(run_id) for run_id in run_ids]
        summaries = {
            run.info.run_id: {s.key: s for s in self.client.get_metric_summaries(run.info.run_id)}
            for run in runs
        }
        names = self.experiment_names(sorted({run.info.experiment_id for run in runs}))
        return CompareData(runs, summaries, names)

    def runs_for_scatter(self, query: RunQuery, cap: int = 2000, *, seed: int = 0) -> "ScatterSample":
        """The runs matching the table's filter for a scatter: all of them up to ``cap``;
        beyond that a random sample of ``cap``, read as 20 blocks at random places of the
        search (random-access pages, so 100,000 runs cost what 2,000 do)."""
        import random

        ids = list(query.experiment_ids) or None
        order = list(query.order_by) or None
        total = self.client.count_runs(ids, query.filter_text, query.view_type)
        primary = self.primary_metric(query.experiment_ids)
        if total <= cap:
            runs = list(self.client.search_runs(ids, query.filter_text, query.view_type, cap, order))
            return ScatterSample(runs, total, "all", primary)
        blocks, size = 20, cap // 20
        rng = random.Random(seed)
        starts = sorted(rng.sample(range(0, total - size + 1, size), min(blocks, max(1, (total - size) // size + 1))))
        runs = []
        for start in starts:
            runs.extend(self.client.search_runs(ids, query.filter_text, query.view_type, size, order,
                                                self.client.page_token_at(start)))
        return ScatterSample(runs, total, f"{len(starts)} random blocks of {size}", primary)

    # ---------------------------------------------------------------------- registry
    @property
    def has_registry(self) -> bool:
        return hasattr(self.client, "search_registered_models")

    def models(self, cap: int = 5000) -> list[Any]:
        """Registered models by name (every page, up to ``cap``)."""
        found: list[Any] = []
        token = None
        while len(found) < cap:
            page = self.client.search_registered_models(max_results=500, order_by=["name ASC"], page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
        return found

    def model_detail(self, name: str) -> ModelDetail:
        model = self.client.get_registered_model(name)
        versions = list(self.client.search_model_versions(f"name = {quote(name)}"))
        versions.sort(key=lambda v: int(v.version) if str(v.version).isdigit() else 0, reverse=True)
        history = list(self.client.get_model_history(name))
        run_names: dict[str, str] = {}
        for version in versions:
            if version.run_id and version.run_id not in run_names:
                try:
                    run_names[version.run_id] = self.client.get_run(version.run_id).info.run_name
                except NotFound:
                    run_names[version.run_id] = version.run_id[:8] + " (gone)"
        return ModelDetail(model, versions, history, run_names)

    def transition_stage(self, name: str, version: str, stage: str, archive_existing: bool) -> None:
        self.editor.transition_model_version_stage(name, version, stage, archive_existing_versions=archive_existing)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.editor.set_registered_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        self.editor.delete_registered_model_alias(name, alias)

    def describe_version(self, name: str, version: str, text: str) -> None:
        self.editor.update_model_version(name, version, description=text)

    def describe_model(self, name: str, text: str) -> None:
        self.editor.update_registered_model(name, description=text)

    # --------------------------------------------------------------- command palette
    def jump_targets(self, text: str, limit: int = 8) -> list[JumpTarget]:
        """Experiments, runs (by name or id prefix) and models whose name contains ``text``."""
        text = text.strip()
        targets: list[JumpTarget] = []
        if not text:
            return targets
        pattern = quote(f"%{text}%")
        for experiment in self.client.search_experiments(
            ViewType.ACTIVE_ONLY, max_results=limit, filter_string=f"name ILIKE {pattern}"
        ):
            targets.append(JumpTarget("experiment", experiment.experiment_id, experiment.name,
                                      "experiment: open its runs"))
        runs = list(self.client.search_runs(None, f"attributes.run_name ILIKE {pattern}", max_results=limit))
        if len(text) >= 4 and all(c in "0123456789abcdef" for c in text.lower()):
            runs += self.client.search_runs(
                None, f"attributes.run_id LIKE {quote(text.lower() + '%')}", max_results=limit)
        seen = set()
        for run in runs:
            if run.info.run_id in seen:
                continue
            seen.add(run.info.run_id)
            targets.append(JumpTarget("run", run.info.run_id, run.info.run_name,
                                      f"run {run.info.run_id[:8]} · {run.info.status.lower()}"))
        if self.has_registry:
            try:
                for model in self.client.search_registered_models(
                        filter_string=f"name ILIKE {pattern}", max_results=limit):
                    targets.append(JumpTarget("model", model.name, model.name, "registered model"))
            except LighttrackError:
                pass
        return targets


def _schema_text(schema: Any) -> str:
    """An MLmodel signature half (a JSON string of columns) as ``name: type, ...``."""
    if not schema:
        return ""
    try:
        columns = json.loads(schema) if isinstance(schema, str) else schema
    except ValueError:
        return str(schema)
    if not isinstance(columns, list):
        return str(columns)
    parts = []
    for column in columns:
        if isinstance(column, dict):
            kind = column.get("type", "")
            if kind == "tensor":
                info = column.get("tensor-spec", {})
                kind = f"tensor {info.get('dtype', '')}{info.get('shape', '')}"
            parts.append(f"{column['name']}: {kind}" if column.get("name") else str(kind))
    return ", ".join(parts)


def _view(path: str, spec: dict, entity: Any) -> LoggedModel:
    signature = spec.get("signature") or {}
    return LoggedModel(
        path=path, flavors=sorted((spec.get("flavors") or {}).keys()),
        inputs=_schema_text(signature.get("inputs")), outputs=_schema_text(signature.get("outputs")),
        created=str(spec.get("utc_time_created", "")), entity=entity,
    )


def _source_matches(version: Any, path: str) -> bool:
    source = str(getattr(version, "source", "") or "")
    return source.rstrip("/").endswith("/" + path.strip("/")) if path not in ("", ".") else True
