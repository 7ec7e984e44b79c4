"""A run's move from one experiment to another (MLflow has no such thing: mlflow#1028, #7444)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunMove:
    """One move, as ``lighttrack runs show`` lists it. Experiments are given by id and by the
    name they had when the run moved (the experiment may since be renamed, or not be in this
    file at all after a merge). ``with_parent`` is the run whose move carried this one along
    (a child run follows its parent), None when this run was moved itself."""

    run_id: str
    from_experiment_id: str
    from_experiment_name: str
    to_experiment_id: str
    to_experiment_name: str
    timestamp: int
    user_id: str
    host: str
    with_parent: str | None = None
