"""``lighttrack run``: run a project (an MLproject folder, a git URL, a version of a repo)."""

from __future__ import annotations

import sys

import click

ENV_MANAGERS = ("local", "virtualenv", "conda", "docker")


@click.command("run")
@click.argument("project", default=".", metavar="PROJECT_DIR")
@click.option("-e", "--entry-point", default="main", show_default=True,
              help="An entry point of the MLproject, or a .py/.sh file of the project.")
@click.option("-P", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter (repeatable). Undeclared ones are passed as --KEY VALUE.")
@click.option("--env-manager", type=click.Choice(ENV_MANAGERS),
              help="Where to run (default: the project's docker_env, python_env or conda_env, else local).")
@click.option("--experiment-name", metavar="NAME", help="Experiment to run in (created when missing).")
@click.option("--experiment-id", metavar="ID", help="Experiment to run in, by id.")
@click.option("--run-name", metavar="NAME", help="Name of the run (default: a generated one).")
@click.option("--version", "version", metavar="GIT_REF",
              help="Run this commit, branch or tag of the project's git repository (in a temporary worktree), "
                   "or a run id: the project exactly as that run had it (commit + recorded diff).")
@click.pass_context
def run(ctx: click.Context, project: str, entry_point: str, params: tuple[str, ...], env_manager: str | None,
        experiment_name: str | None, experiment_id: str | None, run_name: str | None, version: str | None) -> None:
    """Run a project's entry point as a new run, like `mlflow run`.

    PROJECT_DIR holds an MLproject file (or .py/.sh files with a python_env.yaml or conda.yaml),
    or is a git URL (append #sub/dir for a project in a subdirectory). The run is created first
    and handed to the command through LIGHTTRACK_RUN_ID and LIGHTTRACK_TRACKING_URI; its output
    is shown and stored as logs/stdout.txt and logs/stderr.txt. Exits with the command's code.
    """
    from lighttrack.projects import launch
    from lighttrack.projects.params import parse_assignments

    submitted = launch(
        project, entry_point, parse_assignments(params), env_manager, experiment_name, experiment_id,
        run_name, version, synchronous=True, tracking_uri=(ctx.obj or {}).get("tracking_uri"),
    )
    sys.stdout.flush()
    ctx.exit(submitted.exit_code)
