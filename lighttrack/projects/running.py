"""Running a project: validate everything, prepare the environment, create the run, start the
command with the run handed over, and record how it ended.

Order matters: nothing is created or executed until the project file, the entry point, every
parameter, the environment file and the environment tool have been checked. The run is then
created here (RUNNING, with its params and tags) *before* the child starts, and handed over
through ``LIGHTTRACK_RUN_ID`` / ``LIGHTTRACK_TRACKING_URI``: the child's ``start_run()``
resumes it. When the child exits, this process writes the final status — whatever the child's
own ``start_run`` block wrote — so a crash reads FAILED and an interrupted run KILLED.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from lighttrack.entities import Param, RunStatus
from lighttrack.projects import environments
from lighttrack.projects.errors import ExecutionError, ProjectError
from lighttrack.projects.git import Checkout, fetch_project, git_tags, is_branch
from lighttrack.projects.params import ResolvedParameters, render_command, resolve
from lighttrack.projects.process import ChildProcess, SignalForwarding, exit_code_for
from lighttrack.projects.spec import EntryPoint, Project, load_project

RUN_ID_ENV = "LIGHTTRACK_RUN_ID"
TRACKING_URI_ENV = "LIGHTTRACK_TRACKING_URI"
EXPERIMENT_ID_ENV = "LIGHTTRACK_EXPERIMENT_ID"


def _echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class SubmittedRun:
    """A project run that was started: MLflow's ``SubmittedRun`` (``run_id``, ``wait()``,
    ``get_status()``, ``cancel()``), plus ``exit_code`` and ``command``."""

    def __init__(self, client, run_id: str, experiment_id: str, command: str) -> None:
        self._cancelled = False
        self._client = client
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.command = command
        self.child: ChildProcess | None = None
        self.returncode: int | None = None
        self._status: str | None = None
        self._done = threading.Event()
        self._cleanup: list = []

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def wait(self) -> bool:
        """Block until the command has exited and its run is recorded; True when FINISHED."""
        while not self._done.wait(0.2):
            pass
        return self._status == RunStatus.FINISHED

    def get_status(self) -> str:
        """RUNNING until the command ends, then FINISHED, FAILED or KILLED."""
        if self._status is not None:
            return self._status
        return self._client.get_run(self.run_id).info.status

    def cancel(self) -> None:
        """Stop the command (SIGTERM to its process group, SIGKILL after a grace period); the
        run is recorded as FAILED, as MLflow's ``cancel()`` does (a signal from outside reads
        KILLED)."""
        if self.child is not None and not self._done.is_set():
            import signal

            self._cancelled = True
            self.child.send(signal.SIGTERM)
        self.wait()

    @property
    def exit_code(self) -> int:
        """What ``lighttrack run`` exits with: the child's code, 128+N after signal N."""
        return exit_code_for(self.returncode, self.child.signalled if self.child else None)

    # ------------------------------------------------------------------ internals
    def _supervise(self, log_dir: Path) -> None:
        try:
            assert self.child is not None
            self.returncode = self.child.wait()
            self._finish(log_dir)
        finally:
            for action in reversed(self._cleanup):
                try:
                    action()
                except Exception:
                    pass
            self._done.set()

    def _finish(self, log_dir: Path) -> None:
        client, run_id = self._client, self.run_id
        assert self.child is not None
        if self._cancelled:
            status = RunStatus.FAILED
        elif self.child.signalled is not None:
            status = RunStatus.KILLED
        elif self.returncode == 0:
            status = RunStatus.FINISHED
        else:
            status = RunStatus.FAILED
        for name in ("stdout.txt", "stderr.txt"):
            try:
                client.log_artifact(run_id, log_dir / name, "logs")
            except Exception as exc:  # keep going: the status matters more than the logs
                _echo(f"lighttrack: could not store logs/{name}: {exc}")
        try:
            client.set_tag(run_id, "lighttrack.project.exitCode", str(self.returncode))
        except Exception:
            pass
        client.set_terminated(run_id, status)
        self._status = status
        word = {"FINISHED": "finished", "FAILED": f"failed (exit code {self.returncode})",
                "KILLED": "was killed"}[status]
        _echo(f"lighttrack: run {run_id} {word}")

    def __repr__(self) -> str:
        return f"<SubmittedRun run_id={self.run_id} status={self.get_status()}>"


def _experiment_id(client, experiment_name: str | None, experiment_id: str | None) -> str:
    if experiment_name and experiment_id:
        raise ProjectError("give --experiment-name or --experiment-id, not both")
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    elif experiment_name:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            from lighttrack.errors import AlreadyExists

            try:
                return client.create_experiment(experiment_name)
            except AlreadyExists:  # another run made it just now
                experiment = client.get_experiment_by_name(experiment_name)
    elif os.environ.get(EXPERIMENT_ID_ENV):
        experiment = client.get_experiment(os.environ[EXPERIMENT_ID_ENV])
    elif os.environ.get("LIGHTTRACK_EXPERIMENT_NAME"):
        return _experiment_id(client, os.environ["LIGHTTRACK_EXPERIMENT_NAME"], None)
    else:
        experiment = client.get_experiment("0")
    if experiment.lifecycle_stage != "active":
        raise ProjectError(
            f"experiment {experiment.name!r} is deleted: restore it (lighttrack experiments restore) "
            "or choose another"
        )
    return experiment.experiment_id


def _tags(project: Project, checkout: Checkout, entry_point: EntryPoint, manager: str,
          environment: environments.Environment, command: str) -> dict[str, str]:
    from lighttrack.util import hostname, user_name

    tags = {
        "mlflow.user": user_name(),
        "mlflow.source.name": checkout.source_name,
        "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": entry_point.name,
        "mlflow.project.env": manager,
        "mlflow.project.backend": "local",
        "lighttrack.project.name": project.name,
        "lighttrack.host": hostname(),
        "lighttrack.pid": str(os.getpid()),
    }
    if len(command) <= 8000:
        tags["lighttrack.project.command"] = command
    if checkout.version:
        tags["lighttrack.project.version"] = checkout.version
    if environment.prefix is not None:
        tags["lighttrack.project.envPath"] = str(environment.prefix)
    if environment.docker is not None:
        tags["mlflow.docker.image.name"] = environment.docker.image
    tags.update(git_tags(project.directory, checkout.repo_url))
    if checkout.version and is_branch(project.directory, checkout.version):
        tags["mlflow.source.git.branch"] = checkout.version  # MLflow tags the branch asked for
        tags["mlflow.gitBranchName"] = checkout.version
    from lighttrack import fluent

    active = fluent.active_run()
    if active is not None:  # started inside a run: a child of it, as in MLflow
        tags["mlflow.parentRunId"] = active.run_id
    return tags


def prepare(uri: str, entry_point: str, parameters: dict[str, Any] | None, env_manager: str | None,
            version: str | None, download: Any = None, client: Any = None):
    """Everything that can be checked without side effects: returns what ``launch`` needs.
    The checkout (a temporary worktree or clone for ``version``, or a run's rebuilt tree when
    ``version`` is a run id of ``client``'s file) is closed on error."""
    checkout = fetch_project(str(uri), version, client)
    try:
        project = load_project(checkout.directory)
        ep = project.entry_point(entry_point)
        params = resolve(ep, parameters, project.directory, download=download)
        manager = environments.choose_manager(project, env_manager)
        env_plan = environments.plan(project, manager)
        return checkout, project, ep, params, env_plan, render_command(ep, params)
    except BaseException:
        checkout.close()
        raise


def launch(
    uri: str = ".",
    entry_point: str = "main",
    parameters: dict[str, Any] | None = None,
    env_manager: str | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    version: str | None = None,
    synchronous: bool = True,
    tracking_uri: str | os.PathLike[str] | None = None,
    run_id: str | None = None,
) -> SubmittedRun:
    """Start a project run; with ``synchronous`` wait for it (forwarding Ctrl-C / SIGTERM to
    the command). Never raises because the command failed: look at the returned run.
    ``run_id`` runs the project in that existing (active) run instead of a new one."""
    from lighttrack.client import LighttrackClient

    client = LighttrackClient(tracking_uri)
    if run_id is not None:
        existing = client.get_run(run_id)  # NotFound before anything runs
        if existing.info.lifecycle_stage != "active":
            raise ProjectError(f"run {run_id} is deleted: restore it before running a project in it")
        experiment_id = experiment_id or existing.info.experiment_id
        if existing.info.experiment_id != str(experiment_id):
            raise ProjectError(f"run {run_id} belongs to experiment {existing.info.experiment_id}, not {experiment_id}")
    staging = Path(tempfile.mkdtemp(prefix="lighttrack-params-"))

    def download(value: str) -> str:
        from lighttrack.artifacts import split_artifact_uri

        source_run, path = split_artifact_uri(value)
        return client.download_artifacts(source_run, path, staging / str(len(list(staging.iterdir()))))

    try:
        checkout, project, ep, params, env_plan, command = prepare(
            uri, entry_point, parameters, env_manager, version, download, client)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log_dir = None
    try:
        exp_id = _experiment_id(client, experiment_name, experiment_id)
        environment = environments.build(env_plan, project, _echo)
        tags = _tags(project, checkout, ep, env_plan.manager, environment, command)
        log_dir = Path(tempfile.mkdtemp(prefix="lighttrack-logs-"))
        forwarding = SignalForwarding() if synchronous else None
        if forwarding is not None:
            forwarding.__enter__()
        try:
            submitted = _start(client, exp_id, run_name, tags, params, environment, project, command,
                               log_dir, forwarding, run_id)
            submitted._cleanup += [checkout.close, lambda: shutil.rmtree(log_dir, ignore_errors=True),
                                   lambda: shutil.rmtree(staging, ignore_errors=True)]
            supervisor = threading.Thread(target=submitted._supervise, args=(log_dir,),
                                          name=f"lighttrack-run-{submitted.run_id[:8]}", daemon=True)
            supervisor.start()
            if synchronous:
                submitted.wait()
        finally:
            if forwarding is not None:
                forwarding.__exit__(None, None, None)
        return submitted
    except BaseException:
        checkout.close()
        shutil.rmtree(staging, ignore_errors=True)
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)
        raise


def _start(client, exp_id: str, run_name: str | None, tags: dict[str, str], params: ResolvedParameters,
           environment: environments.Environment, project: Project, command: str, log_dir: Path,
           forwarding: SignalForwarding | None, existing_run_id: str | None = None) -> SubmittedRun:
    from lighttrack.reproduce import snapshot as source_snapshot

    # a bad limit is an error before the run exists
    source = source_snapshot.for_folder(project.directory, client.path)
    if existing_run_id is not None:
        from lighttrack.entities import RunTag

        client.update_run(existing_run_id, status=RunStatus.RUNNING, name=run_name)
        client.log_batch(existing_run_id, tags=[RunTag(k, v) for k, v in tags.items()
                                                if k != "mlflow.parentRunId"])
        run = client.get_run(existing_run_id)
    else:
        run = client.create_run(exp_id, tags=tags, run_name=run_name)
    run_id = run.info.run_id
    _record_source(client, run_id, source)
    submitted = SubmittedRun(client, run_id, exp_id, command)
    try:
        if params.logged:
            client.log_batch(run_id, params=[Param(k, v) for k, v in params.logged.items()])
        if forwarding is not None and forwarding.pending is not None:
            raise KeyboardInterrupt
        run_env = {RUN_ID_ENV: run_id, TRACKING_URI_ENV: str(client.path), EXPERIMENT_ID_ENV: exp_id}
        base = {k: v for k, v in os.environ.items() if k != "LIGHTTRACK_EXPERIMENT_NAME"}
        base.update(run_env)
        base.setdefault("PYTHONUNBUFFERED", "1")
        argv = environment.argv(command, project.directory, run_env, client.path, name=f"lighttrack-{run_id[:12]}")
        experiment = client.get_experiment(exp_id).name
        _echo(f"lighttrack: run {run_id} ({run.info.run_name}) in experiment {experiment!r}: {command}")
        try:
            submitted.child = ChildProcess(argv, project.directory, environment.child_env(base), log_dir)
        except OSError as exc:
            raise ExecutionError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    except BaseException as exc:
        status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        client.set_terminated(run_id, status)
        raise
    if forwarding is not None:
        forwarding.attach(submitted.child)
    return submitted


def _record_source(client, run_id: str, taken) -> None:
    """The project's code as it is now (commit + diff + untracked files), as a script's own
    run records it: recorded here because the child resumes this run instead of starting one."""
    from lighttrack.entities import RunTag
    from lighttrack.store.runs import run_pk

    if taken is None:
        return
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in taken.tags.items()])
    taken.attach(client.store.conn, run_pk(client.store.conn, run_id))


def run(
    uri: str = ".",
    entry_point: str = "main",
    parameters: dict[str, Any] | None = None,
    env_manager: str | None = None,
    experiment_name: str | None = None,
    run_name: str | None = None,
    version: str | None = None,
    synchronous: bool = True,
    *,
    experiment_id: str | None = None,
    tracking_uri: str | os.PathLike[str] | None = None,
    backend: str | None = "local",
    backend_config: dict[str, Any] | None = None,
    run_id: str | None = None,
    storage_dir: str | None = None,
    **_: Any,
) -> SubmittedRun:
    """Run a project (a folder with an MLproject file, a git URL, ``--version`` of a repo),
    as ``mlflow.projects.run``: returns the ``SubmittedRun``; with ``synchronous=True`` (the
    default) waits and raises ``ExecutionError`` when the command failed or was killed."""
    if backend not in (None, "local"):
        raise ProjectError(
            f"backend {backend!r} is not available: lighttrack runs projects on this machine (backend='local'); "
            "Databricks and Kubernetes backends need MLflow itself"
        )
    submitted = launch(uri, entry_point, parameters, env_manager, experiment_name, experiment_id,
                       run_name, version, synchronous, tracking_uri, run_id=run_id)
    if synchronous and submitted.get_status() != RunStatus.FINISHED:
        error = ExecutionError(
            f"run {submitted.run_id} {submitted.get_status()} (exit code {submitted.returncode}): "
            "see its logs/stderr.txt artifact"
        )
        error.submitted_run = submitted  # type: ignore[attr-defined]
        raise error
    return submitted
