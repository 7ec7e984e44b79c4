"""The merge's part for dataset inputs: keyed on the digest, never renumbered.

A dataset is matched by (experiment, name, digest) in the experiment its run has here; one
already here is kept as it is (the first logged wins, as in MLflow; a difference is reported).
Inputs are a union: MLflow never removes a run's input, so what either side has the run used,
and an input already here keeps its tags. Running the merge again adds nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def _has_inputs(conn: sqlite3.Connection) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = 'dataset_inputs')"
    ).fetchone()[0]


def merge_inputs(conn: sqlite3.Connection, report: Any) -> None:
    """Copy the datasets and inputs of the selected source runs (``temp.sel``), after the runs."""
    if not _has_inputs(conn):
        return  # a file from before datasets: nothing to copy
    conn.execute("DROP TABLE IF EXISTS temp.input_runs")
    conn.execute(
        "CREATE TEMP TABLE input_runs AS SELECT s.id AS src_id, d.id AS dst_id, d.experiment_id AS dst_exp"
        " FROM src.runs s JOIN main.runs d ON d.uuid = s.uuid"
        " WHERE s.id IN (SELECT src_id FROM temp.sel) AND s.id IN (SELECT run_id FROM src.dataset_inputs)"
    )
    try:
        used = ("FROM src.dataset_inputs i JOIN src.datasets sd ON sd.id = i.dataset_id"
                " JOIN temp.input_runs m ON m.src_id = i.run_id")
        for name, digest, experiment in conn.execute(
            f"SELECT DISTINCT sd.name, sd.digest, e.name {used} JOIN main.datasets dd ON dd.experiment_id = m.dst_exp"
            " AND dd.name = sd.name AND dd.digest = sd.digest JOIN main.experiments e ON e.id = m.dst_exp"
            " WHERE dd.source_type IS NOT sd.source_type OR dd.source IS NOT sd.source"
            " OR dd.schema IS NOT sd.schema OR dd.profile IS NOT sd.profile"
        ).fetchall():
            report.note(f"dataset {name}@{digest} in experiment {experiment!r} is described differently on the "
                        "two sides: kept this file's (the first logged wins, as in MLflow)")
        report.datasets_added += conn.execute(
            "INSERT OR IGNORE INTO main.datasets (experiment_id, name, digest, source_type, source, schema, profile)"
            f" SELECT m.dst_exp, sd.name, sd.digest, sd.source_type, sd.source, sd.schema, sd.profile {used}"
            " ORDER BY i.id"
        ).rowcount
        (before,) = conn.execute("SELECT coalesce(max(id), 0) FROM main.dataset_inputs").fetchone()
        report.inputs_added += conn.execute(
            f"INSERT OR IGNORE INTO main.dataset_inputs (run_id, dataset_id, context) SELECT m.dst_id, dd.id, i.context"
            f" {used} JOIN main.datasets dd ON dd.experiment_id = m.dst_exp AND dd.name = sd.name"
            " AND dd.digest = sd.digest ORDER BY i.id"
        ).rowcount
        conn.execute(
            "INSERT OR IGNORE INTO main.input_tags (input_id, key, value) SELECT di.id, t.key, t.value"
            f" FROM src.input_tags t JOIN src.dataset_inputs i ON i.id = t.input_id"
            " JOIN src.datasets sd ON sd.id = i.dataset_id JOIN temp.input_runs m ON m.src_id = i.run_id"
            " JOIN main.datasets dd ON dd.experiment_id = m.dst_exp AND dd.name = sd.name AND dd.digest = sd.digest"
            " JOIN main.dataset_inputs di ON di.run_id = m.dst_id AND di.dataset_id = dd.id WHERE di.id > ?",
            (before,),
        )
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.input_runs")
