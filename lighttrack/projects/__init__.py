"""``lighttrack.projects``: run packaged ML code reproducibly, as ``mlflow.projects``.

A project is a folder (or a git repository) with an ``MLproject`` file in MLflow's format —
entry points with typed parameters and a command, and a ``python_env``, ``conda_env`` or
``docker_env`` — or, without one, any ``.py``/``.sh`` file with a ``python_env.yaml`` or
``conda.yaml`` beside it::

    import lighttrack
    submitted = lighttrack.projects.run("sample_projects/iris_forest", parameters={"n_estimators": 50},
                                        env_manager="local")
    submitted.run_id, submitted.get_status()

The modules: ``spec`` (reading and checking the MLproject), ``params`` (types and the command
line), ``envfiles`` / ``environments`` / ``runtime`` (local, virtualenv, conda, docker),
``git`` (source tags, ``version`` checkouts), ``process`` (the child, its output and signals),
``running`` (the whole run).
"""

from __future__ import annotations

from lighttrack.projects.errors import EnvironmentUnavailable, ExecutionError, ProjectError
from lighttrack.projects.running import SubmittedRun, launch, run
from lighttrack.projects.spec import EntryPoint, Parameter, Project, load_project

__all__ = [
    "run", "launch", "SubmittedRun", "load_project", "Project", "EntryPoint", "Parameter",
    "ProjectError", "ExecutionError", "EnvironmentUnavailable",
]
