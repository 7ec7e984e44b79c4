"""``LighttrackClient``: the explicit, id-based API in ``MlflowClient``'s shape.

Every call writes through at once (unlike the fluent ``log_metric``, which buffers). One
client may be used from many threads: each thread gets its own SQLite connection.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lighttrack import artifact_formats
from lighttrack.config import resolve_path
from lighttrack.entities import (
    Experiment, FileInfo, LifecycleStage, Metric, MetricSummary, Page, Param, Run, RunData, RunInfo,
    RunStatus, RunTag, ViewType,
)
from lighttrack.errors import InvalidArgument, NotFound
from lighttrack.logged_models_client import LoggedModelsMixin
from lighttrack.registry_client import RegistryMixin
from lighttrack.store import Store, get_store
from lighttrack.store import artifacts as artifact_store
from lighttrack.store import experiments as experiment_store
from lighttrack.store import metrics as metric_store
from lighttrack.store import runs as run_store
from lighttrack.store.db import write_transaction
from lighttrack.util import now_ms, user_name
from lighttrack.validation import (
    check_int, check_key, check_metric_value, check_name, check_time_ms, checked_mapping, experiment_tag_value,
    param_value,
    tag_value, unique,
)


class LighttrackClient(RegistryMixin, LoggedModelsMixin):
    """Talk to one lighttrack file by ids. ``LighttrackClient("runs.db")`` or no argument for
    the file the fluent API uses (set_tracking_uri > LIGHTTRACK_TRACKING_URI > ./lighttrack.db)."""

    def __init__(
        self, tracking_uri: str | os.PathLike[str] | None = None, registry_uri: str | None = None, *,
        readonly: bool = False,
    ):
        # readonly: never create, migrate or write the file (what read commands use).
        self.path = resolve_path(tracking_uri)
        self.store: Store = get_store(self.path, readonly=readonly)

    @classmethod
    def for_viewing(cls, tracking_uri: str | os.PathLike[str] | None = None) -> LighttrackClient:
        """A client for a viewer (the TUI). In shard mode it only reads: it follows the shards
        live through a private copy and never writes the file or its shards (DESIGN.md section
        10); a viewer that edits opens an ordinary client for that. Elsewhere, the ordinary
        client (which creates a missing file and upgrades an old one, as opening from Python does)."""
        from lighttrack.store import shards

        path = resolve_path(tracking_uri)
        return cls(path, readonly=shards.enabled(path) and (path.exists() or shards.folder(path).is_dir()))

    @property
    def readonly(self) -> bool:
        """True for a client that never writes (read commands, a viewer in shard mode)."""
        return self.store.readonly

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.path}"

    @property
    def _conn(self):
        return self.store.conn

    # ----------------------------------------------------------------- experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        check_name(name, "experiment")
        checked = checked_mapping(tags, "tag", experiment_tag_value)
        return experiment_store.create(self._conn, name, artifact_location, checked)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return experiment_store.get(self._conn, str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return experiment_store.get_by_name(self._conn, name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> Page:
        found, token = experiment_store.search(
            self._conn, view_type, max_results, filter_string, order_by, page_token
        )
        return Page(found, token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        experiment_store.rename(self._conn, str(experiment_id), check_name(new_name, "experiment"))

    def delete_experiment(self, experiment_id: str) -> None:
        experiment_store.set_lifecycle(self._conn, str(experiment_id), LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        experiment_store.set_lifecycle(self._conn, str(experiment_id), LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        key = check_key(key, "tag")
        experiment_store.set_tag(self._conn, str(experiment_id), key, experiment_tag_value(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        experiment_store.delete_tag(self._conn, str(experiment_id), key)

    # ------------------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        *,
        _source: Any = None,
    ) -> Run:
        """Create a RUNNING run. Its heartbeat is kept by this process until it is terminated.
        (``_source``: the fluent API's source snapshot, stored in the same transaction.)"""
        from lighttrack.naming import generate_run_name

        checked = checked_mapping(tags, "tag", tag_value)
        name = run_name or checked.get("mlflow.runName") or generate_run_name()
        check_name(name, "run")
        user = checked.get("mlflow.user") or user_name()
        checked.setdefault("mlflow.user", user)
        checked["mlflow.runName"] = name
        info = run_store.create(
            self._conn, str(experiment_id), name, user_id=user,
            start_time=None if start_time is None else check_time_ms(start_time, "start_time"),
            tags=checked, pid=os.getpid(), artifacts=list(_source.files) if _source is not None else None,
        )
        self.store.writer.watch(info.run_id)
        return Run(info=info, data=RunData(tags=checked))

    def get_run(self, run_id: str) -> Run:
        return run_store.get(self._conn, str(run_id))

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if name is not None:
            check_name(name, "run")
        run_store.update(self._conn, str(run_id), status=status, run_name=name)
        if status is not None and status != RunStatus.RUNNING:
            self.store.writer.unwatch(str(run_id))

    def set_terminated(self, run_id: str, status: str | None = "FINISHED", end_time: int | None = None) -> None:
        """End a run: flush its buffered metrics, then write status and end time."""
        status = status or RunStatus.FINISHED
        if status not in RunStatus.TERMINATED:
            raise InvalidArgument(f"a run ends as one of {', '.join(RunStatus.TERMINATED)}, not {status!r}")
        end = now_ms() if end_time is None else check_time_ms(end_time, "end_time")
        pk = run_store.run_pk(self._conn, str(run_id))
        self.store.writer.flush(also=run_store.updating(pk, status=status, end_time=end))
        self.store.writer.unwatch(str(run_id))

    def delete_run(self, run_id: str) -> None:
        run_store.set_lifecycle(self._conn, str(run_id), LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        run_store.set_lifecycle(self._conn, str(run_id), LifecycleStage.ACTIVE)

    def move_run(self, run_id: str | Sequence[str], experiment_id: str, *, include_children: bool = True) -> list[str]:
        """Move a run (or several: a list of ids) to another experiment, in one transaction,
        recorded in each run's history (``get_run_moves``). Its child runs move with it unless
        ``include_children=False``. Returns the ids of every run moved. MLflow has no such call."""
        from lighttrack.store import moves

        ids = [run_id] if isinstance(run_id, str) else list(run_id)
        return moves.move_runs(self._conn, ids, str(experiment_id), user_name(), include_children)

    def get_run_moves(self, run_id: str):
        """The run's moves between experiments, oldest first (``RunMove`` entities)."""
        from lighttrack.store import moves

        return moves.history(self._conn, str(run_id))

    def mark_dead_runs_killed(self) -> list[str]:
        """Write KILLED on RUNNING runs whose process is gone or heartbeat stale; returns their ids."""
        return run_store.mark_dead_runs_killed(self._conn)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str | None = None,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> Page:
        """Runs matching the filter, ``max_results`` at a time; ``.token`` fetches the next page."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        found, token = run_store.search(
            self._conn, list(experiment_ids) if experiment_ids else None, filter_string,
            run_view_type, max_results, order_by, page_token,
        )
        return Page(found, token)

    def count_runs(
        self,
        experiment_ids: Sequence[str] | str | None = None,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
    ) -> int:
        """How many runs ``search_runs`` would return over all its pages."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return run_store.count_matching(
            self._conn, list(experiment_ids) if experiment_ids else None, filter_string, run_view_type
        )

    def run_keys(self, experiment_ids: Sequence[str] | str | None = None) -> dict[str, list[str]]:
        """{"metrics": [...], "params": [...], "tags": [...]}: every name the experiments' runs use."""
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return run_store.keys_in_use(self._conn, list(experiment_ids) if experiment_ids else None)

    def page_token_at(self, offset: int) -> str | None:
        """The page token of the search page that starts at result number ``offset`` (0: the
        first page, None). What "jump to the last page" needs without reading every page;
        the token stays opaque to callers."""
        from lighttrack.store.paging import encode_token

        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidArgument(f"offset must be a non-negative integer, not {offset!r}")
        return encode_token(offset) if offset else None

    def experiment_activity(self) -> dict[str, tuple[int, int | None]]:
        """experiment id -> (number of active runs, start time of its latest run)."""
        return run_store.experiment_activity(self._conn)

    def data_version(self) -> int:
        """A number that changes whenever another connection or process commits to the file
        (SQLite's ``PRAGMA data_version``, per thread): poll it to refresh views live. In shard
        mode polling is also what makes a reader follow the shards (store/live_view.py)."""
        return self.store.data_version()

    # ------------------------------------------------------------ params, tags, metrics
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self.log_batch(run_id, params=[Param(key, value)])
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.log_batch(run_id, tags=[RunTag(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        run_store.delete_tag(self._conn, str(run_id), key)

    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None,
        step: int | None = None, synchronous: bool | None = None, dataset_name: str | None = None,
        dataset_digest: str | None = None, model_id: str | None = None,
    ) -> None:
        """With ``model_id`` (MLflow 3) the point is also the logged model's metric, on the
        dataset named by ``dataset_name``/``dataset_digest``."""
        # ``is None``, not ``or``: timestamp=0 and step=0 are values, not "unset".
        self.log_batch(run_id, metrics=[Metric(key, value, now_ms() if timestamp is None else timestamp,
                                               0 if step is None else step, model_id=model_id,
                                               dataset_name=dataset_name, dataset_digest=dataset_digest)])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Metrics, params and tags in one transaction: everything is checked first, and either
        all of it is written or none of it."""
        checked_params = {}
        for p in params:
            key = check_key(p.key, "param")
            checked_params[key] = param_value(key, p.value)
        unique([p.key for p in params], "param")
        checked_tags = {check_key(t.key, "tag"): tag_value(t.key, t.value) for t in tags}
        series: dict[str, tuple[list[int], list[int], list[float]]] = {}
        now = None
        linked: list[Metric] = []  # MLflow 3: metrics that also belong to a logged model
        for m in metrics:
            key = check_key(m.key, "metric")
            value = check_metric_value(key, m.value)
            if m.timestamp is None:
                now = now or now_ms()
            timestamp = now if m.timestamp is None else check_int(m.timestamp, "metric timestamp")
            step = 0 if m.step is None else check_int(m.step, "metric step")
            entry = series.get(key)
            if entry is None:
                entry = series[key] = ([], [], [])
            entry[0].append(step)
            entry[1].append(timestamp)
            entry[2].append(value)
            if getattr(m, "model_id", None) is not None:
                linked.append(Metric(key, value, timestamp, step, str(run_id), str(m.model_id),
                                     m.dataset_name, m.dataset_digest))
        conn = self._conn
        pk = run_store.run_pk(conn, str(run_id), for_write=True)
        with write_transaction(conn):
            run_store.log_params(conn, pk, str(run_id), checked_params)
            run_store.write_tags(conn, pk, checked_tags)
            for key, (steps, timestamps, values) in series.items():
                metric_store.append(conn, pk, key, steps, timestamps, values)
            if linked:
                from lighttrack.store.logged_models import insert_metrics

                insert_metrics(conn, linked)

    def log_inputs(self, run_id: str, datasets: Sequence[Any] | None = None, models: Sequence[Any] | None = None) -> None:
        """Record the datasets (``DatasetInput``) a run used, all or nothing. A dataset is stored
        once per (experiment, name, digest); logging one the run already has changes nothing."""
        from lighttrack.store import datasets as dataset_store

        if models:
            raise InvalidArgument("log_inputs: model inputs (models=) are not supported by this lighttrack; "
                                  "log datasets with datasets=[DatasetInput(...)]")
        checked = dataset_store.check_inputs(list(datasets) if isinstance(datasets, tuple) else datasets)
        conn = self._conn
        pk = run_store.run_pk(conn, str(run_id), for_write=True)
        if not checked:
            return
        with write_transaction(conn):
            dataset_store.log_inputs(conn, pk, checked)

    def log_metric_series(
        self,
        run_id: str,
        key: str,
        values: Sequence[float],
        steps: Sequence[int] | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> int:
        """Bulk path: a whole series (lists, arrays or numpy arrays) in one call; returns the count.

        Steps default to 0..n-1 and timestamps to now. This is how millions of points a second
        go in; ``log_batch`` with Metric objects costs about a microsecond a point more.
        """
        key = check_key(key, "metric")
        count = len(values)
        vals = _as_floats(key, values)
        step_list = list(range(count)) if steps is None else _as_ints(steps, "step")
        ts_list = [now_ms()] * count if timestamps is None else _as_ints(timestamps, "timestamp")
        if not (len(step_list) == len(ts_list) == count):
            raise InvalidArgument(
                f"metric {key!r}: values ({count}), steps ({len(step_list)}) and timestamps "
                f"({len(ts_list)}) must have the same length"
            )
        conn = self._conn
        pk = run_store.run_pk(conn, str(run_id), for_write=True)
        with write_transaction(conn):
            metric_store.append(conn, pk, key, step_list, ts_list, vals)
        return count

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.store.writer.flush()
        pk = run_store.run_pk(self._conn, str(run_id))
        return metric_store.history(self._conn, pk, str(run_id), key)

    def metric_history_arrays(self, run_id: str, key: str, *, numpy: bool = True):
        """The fast path for long series: (steps, timestamps, values) as numpy arrays
        (``array.array`` when numpy is missing or ``numpy=False``), in logged order."""
        self.store.writer.flush()
        pk = run_store.run_pk(self._conn, str(run_id))
        return metric_store.history_arrays(self._conn, pk, key, numpy=numpy)

    def get_metric_summaries(self, run_id: str) -> list[MetricSummary]:
        """Each metric's latest value, step and time, with its min, max and point count."""
        self.store.writer.flush()
        return metric_store.summaries(self._conn, run_store.run_pk(self._conn, str(run_id)))

    # -------------------------------------------------------------------- artifacts
    def _write_pk(self, run_id: str) -> int:
        return run_store.run_pk(self._conn, str(run_id), for_write=True)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        local = Path(local_path)
        if not local.exists():
            raise NotFound(f"cannot log {local}: no such file or folder")
        if local.is_dir():
            folder = artifact_store.normalise_path(artifact_path)
            return self.log_artifacts(run_id, local, artifact_store.posix_join(folder, local.name))
        dest = artifact_store.posix_join(artifact_store.normalise_path(artifact_path), local.name)
        artifact_store.put_file(self._conn, self._write_pk(run_id), artifact_store.normalise_path(dest), local)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Log every file under ``local_dir``, all or nothing (see ``folder_files`` for symlinks)."""
        root = Path(local_dir)
        if not root.is_dir():
            raise NotFound(f"cannot log {root}: not a folder")
        base = artifact_store.normalise_path(artifact_path)
        pk = self._write_pk(run_id)
        planned = [
            (artifact_store.normalise_path(artifact_store.posix_join(base, rel)), local)
            for rel, local in folder_files(root)
        ]
        artifact_store.put_files(self._conn, pk, planned)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        path = artifact_store.normalise_path(artifact_file, allow_empty=False)
        artifact_store.put_bytes(self._conn, self._write_pk(run_id), path, bytes(data))

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        if not isinstance(text, str):
            raise InvalidArgument(f"log_text takes a str, not {type(text).__name__}")
        self.log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        self.log_bytes(run_id, artifact_formats.dict_bytes(dictionary, artifact_file), artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
        self.log_bytes(run_id, artifact_formats.figure_bytes(figure, artifact_file), artifact_file)

    def log_image(self, run_id: str, image: Any, artifact_file: str | None = None, **_: Any) -> None:
        if artifact_file is None:
            raise InvalidArgument("log_image needs artifact_file, e.g. 'images/sample.png'")
        self.log_bytes(run_id, artifact_formats.image_bytes(image, artifact_file), artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Write or append to a JSON table (MLflow's format and its mlflow.loggedArtifacts tag)."""
        from lighttrack.fluent_compat import log_table

        log_table(self, run_id, data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        pk = run_store.run_pk(self._conn, str(run_id))
        return artifact_store.list_dir(self._conn, pk, artifact_store.normalise_path(path))

    def list_artifact_files(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """Every file at or below ``path`` (recursive), for trees and exports."""
        pk = run_store.run_pk(self._conn, str(run_id))
        return [
            FileInfo(path=p, is_dir=False, file_size=size)
            for p, _, size in artifact_store.files(self._conn, pk, artifact_store.normalise_path(path))
        ]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """One artifact file's bytes (for previews; use download_artifacts for big files)."""
        pk = run_store.run_pk(self._conn, str(run_id))
        return artifact_store.read_bytes(self._conn, pk, artifact_store.normalise_path(path, allow_empty=False))

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Write a file or folder of the run's artifacts to ``dst_path`` (a new temp folder by
        default) and return the local path."""
        pk = run_store.run_pk(self._conn, str(run_id))
        target = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="lighttrack-"))
        target.mkdir(parents=True, exist_ok=True)
        return str(artifact_store.download(self._conn, pk, artifact_store.normalise_path(path), target))

    def flush(self) -> None:
        """Write any buffered metrics of this file now."""
        self.store.writer.flush()

    # ------------------------------------------------------------------ maintenance
    def resolve_run_id(self, text: str) -> str:
        """A full run id from a full id, a unique id prefix (4+ characters) or a unique run name."""
        return run_store.resolve(self._conn, text)

    def resolve_experiment_id(self, text: str) -> str:
        """An experiment id from its id or its name (active experiments first)."""
        experiment = experiment_store.get_by_name(self._conn, text)
        if experiment is not None:
            return experiment.experiment_id
        return experiment_store.get(self._conn, text).experiment_id

    def gc(self, older_than_ms: int = 0, progress=None):
        """Permanently remove deleted runs/experiments and unused artifact blobs, then VACUUM.
        ``progress``: see ``store.maintenance.purge`` (the CLI's bar)."""
        from lighttrack.store.maintenance import purge

        self.flush()
        return purge(self._conn, self.path, older_than_ms, progress=progress)

    def file_report(self, full_check: bool = False):
        """Path, schema version, counts, sizes and an integrity check of the file."""
        from lighttrack.store.maintenance import report

        self.flush()
        return report(self._conn, self.path, full_check)


SYMLINK_RULE = (
    "log_artifacts follows a symlink only to a file or folder inside the folder being logged"
)


def folder_files(root: Path) -> list[tuple[str, Path]]:
    """(relative posix path, local path) of every file to log under ``root``, sorted; checked
    whole before anything is stored.

    The symlink rule: a symlink to a file or folder *inside* ``root`` is followed and logged
    under the link's own name (as ``cp -rL`` would); one that points outside ``root``, points
    nowhere, or loops is refused, naming it. Logging a folder never copies what lies beyond
    it (a link to ``~/.ssh`` in a results folder), and never skips anything silently.
    Sockets, FIFOs and devices are refused too: they are not files.
    """
    real_root = root.resolve()
    found: list[tuple[str, Path]] = []

    def refuse(path: Path, why: str) -> InvalidArgument:
        return InvalidArgument(f"cannot log {root}: {path} {why}; {SYMLINK_RULE}, nothing was logged")

    def visit(folder: Path, rel: str, chain: tuple[Path, ...]) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            path = Path(entry.path)
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    raise refuse(path, f"is a symlink to {os.readlink(path)}, which does not exist")
                if not target.is_relative_to(real_root):
                    raise refuse(path, f"is a symlink to {target}, outside the folder")
                if target.is_dir():
                    if target in chain:
                        raise refuse(path, f"is a symlink to {target}, which contains it (a loop)")
                    visit(path, child, (*chain, target))
                elif target.is_file():
                    found.append((child, path))
                else:
                    raise refuse(path, "is a symlink to something that is not a file")
            elif entry.is_dir(follow_symlinks=False):
                visit(path, child, (*chain, path.resolve()))
            elif entry.is_file(follow_symlinks=False):
                found.append((child, path))
            else:
                raise refuse(path, "is not a regular file (a socket, FIFO or device)")

    visit(root, "", (real_root,))
    return found


def _as_floats(key: str, values: Any):
    from array import array

    kind = getattr(getattr(values, "dtype", None), "kind", None)
    if kind is not None and kind in "fiu":
        return array("d", values.astype("float64").tobytes())
    if kind == "b":
        raise InvalidArgument(f"metric {key!r}: values must be real numbers, not an array of bool")
    out = array("d")
    try:
        out.fromlist(values if isinstance(values, list) else list(values))
    except (TypeError, OverflowError):
        out = array("d", (check_metric_value(key, v) for v in values))
    else:
        # fromlist takes bools (and numpy bools) as 1.0/0.0: check what is not a plain number.
        for v in values:
            if type(v) is not float and type(v) is not int:
                check_metric_value(key, v)
    return out


def _as_ints(values: Any, what: str) -> list[int]:
    if hasattr(values, "dtype"):
        if values.dtype.kind not in "iu":
            raise InvalidArgument(f"{what}s must be integers, not {values.dtype}")
        return values.astype("int64").tolist()
    return [check_int(v, what) for v in values]


MlflowClient = LighttrackClient
