"""The fluent API: ``start_run``, ``log_metric``... with an active-run stack per thread.

``log_metric`` is the hot path: it validates (names once, then from a cache), stamps the time
and appends to the file's buffered writer. Everything else writes through at once.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any

from lighttrack import config
from lighttrack.client import LighttrackClient
from lighttrack.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from lighttrack.errors import InvalidArgument, InvalidState, NotFound
from lighttrack.validation import _valid_keys, check_int, check_key, check_metric_value

RUN_ID_ENV = "LIGHTTRACK_RUN_ID"
EXPERIMENT_NAME_ENV = "LIGHTTRACK_EXPERIMENT_NAME"
EXPERIMENT_ID_ENV = "LIGHTTRACK_EXPERIMENT_ID"

_local = threading.local()
_active_experiment_id: str | None = None
_last_active_run_id: str | None = None
_clients: dict[Any, LighttrackClient] = {}
_all_active: dict[str, ActiveRun] = {}
_crashed = False


def _client() -> LighttrackClient:
    path = config.resolve_path()
    client = _clients.get(path)
    if client is None:
        from lighttrack.store.shards import writer_path

        # On a network filesystem this process logs into its own shard (store/shards.py).
        client = _clients[path] = LighttrackClient(writer_path(path))
    return client


def _stack() -> list[ActiveRun]:
    try:
        return _local.stack
    except AttributeError:
        _local.stack = []
        return _local.stack


class ActiveRun:
    """What ``start_run`` returns: a context manager that ends the run on exit, FAILED when an
    exception escaped the block, FINISHED otherwise. ``.info``/``.data`` read the run now."""

    def __init__(self, run_id: str, client: LighttrackClient) -> None:
        self.run_id = run_id
        self._client = client
        self._writer = client.store.writer
        self._system_metrics = None  # the sampler thread, when system metrics are logged

    @property
    def _run(self) -> Run:
        return self._client.get_run(self.run_id)

    @property
    def info(self):
        return self._run.info

    @property
    def data(self):
        self._client.flush()
        return self._run.data

    # MLflow's ActiveRun is a Run, whose fields are _info/_data; code reaches for them
    _info = info
    _data = data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
        if exc_type is KeyboardInterrupt:
            status = RunStatus.KILLED
        if any(r.run_id == self.run_id for r in _stack()):
            end_run(status)
        return False

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.run_id}>"


# --------------------------------------------------------------------------- experiments
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active for new runs, creating it (by name) when it does not exist."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgument("set_experiment takes exactly one of experiment_name or experiment_id")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
        if experiment.lifecycle_stage != "active":
            raise InvalidState(f"experiment {experiment_id} is deleted: restore it before using it")
    else:
        from lighttrack.store.experiments import get_or_create

        experiment = client.get_experiment(get_or_create(client.store.conn, experiment_name))
    _active_experiment_id = experiment.experiment_id
    return experiment


def _resolve_experiment_id(explicit: str | None) -> str:
    if explicit is not None:
        return str(explicit)
    if _active_experiment_id is not None:
        return _active_experiment_id
    client = _client()
    if config.env("EXPERIMENT_ID"):  # LIGHTTRACK_ first, then MLflow's MLFLOW_ spelling
        return config.env("EXPERIMENT_ID")
    if config.env("EXPERIMENT_NAME"):
        from lighttrack.store.experiments import get_or_create

        return get_or_create(client.store.conn, config.env("EXPERIMENT_NAME"))
    from lighttrack.store.experiments import DEFAULT_EXPERIMENT_ID

    return client.get_experiment(DEFAULT_EXPERIMENT_ID).experiment_id


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
    filter_string: str | None = None, order_by: list[str] | None = None,
) -> list[Experiment]:
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_resolve_experiment_id(None), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


# ---------------------------------------------------------------------------------- runs
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id`` (or ``$LIGHTTRACK_RUN_ID``), and make it active."""
    stack = _stack()
    if stack and not nested:
        raise InvalidState(
            f"run {stack[-1].run_id} is already active: end it with end_run() first, or start "
            "a child run with start_run(nested=True)"
        )
    from lighttrack import system_metrics

    # Checked before the run exists: a missing psutil is an error with nothing written.
    sampler = system_metrics.prepare() if system_metrics.wanted(log_system_metrics) else None
    client = _client()
    resume_id = run_id or (config.env("RUN_ID") if not stack else None)
    if resume_id:
        run = _get_or_adopt(client, resume_id)
        if run.info.lifecycle_stage != "active":
            raise InvalidState(f"run {resume_id} is deleted: restore it before resuming it")
        if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
            raise InvalidArgument(
                f"run {resume_id} belongs to experiment {run.info.experiment_id}, not {experiment_id}"
            )
        from lighttrack.store.runs import take_over

        take_over(client.store.conn, resume_id, os.getpid())
        if run_name is not None:
            client.update_run(resume_id, name=run_name)
        extra = dict(tags or {})
        if description is not None:
            extra["mlflow.note.content"] = description
        if extra:
            client.log_batch(resume_id, tags=[RunTag(k, v) for k, v in extra.items()])
        client.store.writer.watch(resume_id)
        active = ActiveRun(resume_id, client)
    else:
        from lighttrack.context import code_folder, system_tags
        from lighttrack.reproduce import snapshot as source_snapshot

        all_tags = system_tags()
        folder = code_folder()
        snapshot = source_snapshot.for_folder(folder, client.path) if folder else None
        if snapshot is not None:
            all_tags.update(snapshot.tags)  # fresher than the commit cached for the process
        all_tags.update(tags or {})
        parent = parent_run_id or (stack[-1].run_id if stack and nested else None)
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        if description is not None:
            all_tags["mlflow.note.content"] = description
        run = client.create_run(_resolve_experiment_id(experiment_id), tags=all_tags, run_name=run_name,
                                 _source=snapshot)
        active = ActiveRun(run.info.run_id, client)
    if sampler is not None:
        # A resumed run's system metrics go on from its last step, as MLflow's do.
        first = 1 + max((m.step for m in client.get_metric_summaries(active.run_id) if m.key.startswith("system/")),
                        default=-1) if resume_id else 0
        active._system_metrics = system_metrics.start_for_run(active.run_id, active._writer.add, sampler, first)
    stack.append(active)
    _all_active[active.run_id] = active
    _install_exit_hooks()
    return active


def _get_or_adopt(client: LighttrackClient, run_id: str) -> Run:
    """The run to resume; in shard mode it may live in the main file: copy it into our shard."""
    try:
        return client.get_run(run_id)
    except NotFound:
        from lighttrack.store import shards

        if not shards.is_shard(client.path) or not shards.adopt_run(client.store.conn, client.path, run_id):
            raise
        return client.get_run(run_id)


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the innermost active run (flushing its metrics first). No active run: nothing."""
    global _last_active_run_id
    stack = _stack()
    if not stack:
        return
    active = stack[-1]
    _stop_system_metrics(active)
    active._client.set_terminated(active.run_id, status)
    stack.pop()
    _all_active.pop(active.run_id, None)
    _last_active_run_id = active.run_id


def _stop_system_metrics(active: ActiveRun) -> None:
    monitor, active._system_metrics = active._system_metrics, None
    if monitor is not None:
        monitor.stop()  # its last points go into the buffer that set_terminated flushes


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The run that is active, else the last one that ended in this process."""
    stack = _stack()
    if stack:
        return stack[-1]._run
    if _last_active_run_id is None:
        return None
    return _client().get_run(_last_active_run_id)


def _current() -> ActiveRun:
    stack = _stack()
    if stack:
        return stack[-1]
    return start_run()  # MLflow starts a run when you log without one


def _target(run_id: str | None) -> tuple[LighttrackClient, str]:
    if run_id is not None:
        return _client(), str(run_id)
    active = _current()
    return active._client, active.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


# ------------------------------------------------------------------------------ logging
def log_metric(
    key: str, value: float, step: int | None = None, synchronous: bool | None = None,
    timestamp: int | None = None, run_id: str | None = None, model_id: str | None = None,
    dataset: Any = None, **_: Any,
) -> Any:
    """Buffered: costs about a microsecond; written within ``FLUSH_SECONDS`` or at end_run.
    With ``model_id`` (MLflow 3) the point is also written, at once, as the logged model's metric
    on ``dataset``."""
    stack = getattr(_local, "stack", None)
    if run_id is None and stack:
        active = stack[-1]
    else:
        active = None
        client, run_id = _target(run_id)
    if key not in _valid_keys:
        check_key(key, "metric")
    if type(value) is not float:
        value = check_metric_value(key, value)
    if step is None:
        step = 0
    elif type(step) is not int or not -(2**63) <= step < 2**63:
        step = check_int(step, "metric step")
    if timestamp is None:
        timestamp = time.time_ns() // 1_000_000
    elif type(timestamp) is not int or not -(2**63) <= timestamp < 2**63:
        timestamp = check_int(timestamp, "metric timestamp")
    if model_id is not None:  # checked and written before the run's point is buffered
        from lighttrack.fluent_models import model_metric

        model_metric(key, value, timestamp, step, active.run_id if active else run_id, model_id, dataset)
    if active is not None:
        active._writer.add(active.run_id, key, value, timestamp, step)
    else:
        client.store.writer.add(run_id, key, value, timestamp, step)
    if synchronous:
        flush()
    elif synchronous is False:
        return _pending()


def log_metrics(
    metrics: dict[str, float], step: int | None = None, synchronous: bool | None = None,
    run_id: str | None = None, timestamp: int | None = None, model_id: str | None = None,
    dataset: Any = None, **_: Any,
) -> Any:
    """All checked first (nothing is buffered if one is bad), then buffered like log_metric."""
    checked = {check_key(k, "metric"): check_metric_value(k, v) for k, v in metrics.items()}
    step = 0 if step is None else check_int(step, "metric step")
    timestamp = time.time_ns() // 1_000_000 if timestamp is None else check_int(timestamp, "metric timestamp")
    client, target = _target(run_id)
    if model_id is not None:
        from lighttrack.fluent_models import model_metric

        for key, value in checked.items():
            model_metric(key, value, timestamp, step, target, model_id, dataset)
    add = client.store.writer.add
    for key, value in checked.items():
        add(target, key, value, timestamp, step)
    if synchronous:
        flush()
    elif synchronous is False:
        return _pending()


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    client, run_id = _target(None)
    logged = client.log_param(run_id, key, value)
    return _pending() if synchronous is False else logged


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> Any:
    client, target = _target(run_id)
    client.log_batch(target, params=[Param(k, v) for k, v in params.items()])
    return _pending() if synchronous is False else None


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> Any:
    client, run_id = _target(None)
    client.set_tag(run_id, key, value)
    return _pending() if synchronous is False else None


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> Any:
    client, run_id = _target(None)
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    return _pending() if synchronous is False else None


def _pending():
    """What MLflow's ``synchronous=False`` returns: ``.wait()`` makes the write durable."""
    from lighttrack.fluent_compat import RunOperations

    return RunOperations()


def delete_tag(key: str) -> None:
    client, run_id = _target(None)
    client.delete_tag(run_id, key)


def flush() -> None:
    """Write every buffered metric of every open file now."""
    from lighttrack.store import flush_all

    flush_all()


# ---------------------------------------------------------------------------- artifacts
def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    client, target = _target(run_id)
    client.log_artifact(target, local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    client, target = _target(run_id)
    client.log_artifacts(target, local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    client, target = _target(run_id)
    client.log_text(target, text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    client, target = _target(run_id)
    client.log_dict(target, dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
    client, target = _target(None)
    client.log_figure(target, figure, artifact_file)


def log_image(image: Any, artifact_file: str | None = None, **kwargs: Any) -> None:
    client, target = _target(None)
    client.log_image(target, image, artifact_file, **kwargs)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    client, target = _target(run_id)
    client.log_table(target, data, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    client, run_id = _target(None)
    base = client.get_run(run_id).info.artifact_uri
    return f"{base}/{artifact_path}" if artifact_path else base


def list_artifacts(run_id: str | None = None, path: str | None = None):
    client, target = _target(run_id)
    return client.list_artifacts(target, path)


def download_artifacts(
    artifact_uri: str | None = None, run_id: str | None = None, artifact_path: str | None = None,
    dst_path: str | None = None,
) -> str:
    """``download_artifacts(run_id=..., artifact_path=...)`` or ``("runs:/<id>/<path>")``."""
    if artifact_uri is not None:
        if not artifact_uri.startswith("runs:/"):
            raise InvalidArgument(f"artifact URI must look like runs:/<run_id>/<path>, not {artifact_uri!r}")
        run_id, _, artifact_path = artifact_uri[len("runs:/"):].partition("/")
    if run_id is None:
        raise InvalidArgument("download_artifacts needs run_id (or an artifact_uri runs:/<run_id>/<path>)")
    return _client().download_artifacts(run_id, artifact_path or "", dst_path)


# ------------------------------------------------------------------------------- search
def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: str = "list",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
):
    """Runs of the given experiments (default: the active one, or all with
    ``search_all_experiments``), as a list of Run, or ``output_format="pandas"`` for MLflow's
    DataFrame (columns run_id, status, metrics.<k>, params.<k>, tags.<k>, ...)."""
    client = _client()
    ids = list(experiment_ids or [])
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:  # unknown names match no runs, as in MLflow
            ids.append(experiment.experiment_id)
    if experiment_names and not ids and not experiment_ids:
        runs: list[Run] = []
        return runs if output_format == "list" else _as_output(runs, output_format)
    if not ids and not search_all_experiments and not experiment_names:
        ids = [_resolve_experiment_id(None)]
    flush()
    runs = list(client.search_runs(ids or None, filter_string, run_view_type, max_results, order_by))
    return _as_output(runs, output_format)


def _as_output(runs: list[Run], output_format: str):
    if output_format == "list":
        return runs
    if output_format == "pandas":
        from lighttrack.tables import runs_to_dataframe

        return runs_to_dataframe(runs)
    raise InvalidArgument(f"output_format must be 'list' or 'pandas', not {output_format!r}")


# --------------------------------------------------------------------- process exit
_hooks_installed = False


def _install_exit_hooks() -> None:
    """On exit, end runs still open: FAILED after an uncaught exception, else FINISHED."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        global _crashed
        _crashed = True
        previous(exc_type, exc, tb)

    sys.excepthook = hook
    atexit.register(_at_exit)


def _at_exit() -> None:
    status = RunStatus.FAILED if _crashed else RunStatus.FINISHED
    for active in reversed(list(_all_active.values())):
        try:
            _stop_system_metrics(active)
            active._client.set_terminated(active.run_id, status)
        except Exception as exc:  # exiting anyway; say what was lost
            print(f"lighttrack: could not end run {active.run_id}: {exc}", file=sys.stderr)
    _all_active.clear()
    try:
        flush()
    except Exception as exc:
        print(f"lighttrack: could not write buffered metrics: {exc}", file=sys.stderr)
