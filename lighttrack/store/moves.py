"""Moving runs to another experiment, and the history of those moves.

A move changes one column (``runs.experiment_id``): params, metrics, tags and artifacts hang
off the run's own key, and a run's artifact URI names the run, not its experiment, so all of
it stays reachable. Every move is a ``run_moves`` row with a global id, which is what lets
``merge`` settle a run moved differently on two machines (the later move wins).

The rule for nested runs: a run's descendants (``mlflow.parentRunId``, at any depth) move
with it, so a sweep never ends up split across experiments; each gets its own history row
naming the run whose move carried it. ``include_children=False`` moves only the runs given.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence

from lighttrack.entities import LifecycleStage
from lighttrack.entities.run_moves import RunMove
from lighttrack.errors import InvalidArgument, InvalidState, NotFound
from lighttrack.store.db import write_transaction
from lighttrack.store.experiments import experiment_pk
from lighttrack.util import hostname, now_ms


def _descendants(conn: sqlite3.Connection, root_uuids: Sequence[str]) -> dict[str, str]:
    """child run uuid -> the given run whose move carries it (every depth)."""
    carried: dict[str, str] = {}
    frontier = {uid: uid for uid in root_uuids}
    while frontier:
        marks = ",".join("?" * len(frontier))
        rows = conn.execute(
            "SELECT t.value, r.uuid FROM tags t JOIN runs r ON r.id = t.run_id"
            f" WHERE t.key = 'mlflow.parentRunId' AND t.value IN ({marks})", list(frontier),
        ).fetchall()
        following: dict[str, str] = {}
        for parent, child in rows:
            root = frontier[parent]
            if child in carried or child in root_uuids or child == root:
                continue  # given itself, or already reached (a cycle of tags must not loop)
            carried[child] = root
            following[child] = root
        frontier = following
    return carried


def move_runs(
    conn: sqlite3.Connection, run_ids: Sequence[str], experiment_id: str, user: str,
    include_children: bool = True,
) -> list[str]:
    """Move runs (and their descendants) to ``experiment_id`` in one transaction; returns the
    ids of every run moved, the given ones first. Everything is checked before anything is
    written: an unknown or deleted run, an unknown or deleted experiment, a run already there."""
    given = list(dict.fromkeys(str(r) for r in run_ids))
    if not given:
        raise InvalidArgument("give at least one run to move")
    with write_transaction(conn):
        target_pk = experiment_pk(conn, str(experiment_id))
        target_uuid, target_name, target_stage = conn.execute(
            "SELECT uuid, name, lifecycle_stage FROM experiments WHERE id = ?", (target_pk,)
        ).fetchone()
        if target_stage != LifecycleStage.ACTIVE:
            raise InvalidState(
                f"experiment {target_name!r} ({target_uuid}) is deleted: restore it "
                "(lighttrack experiments restore) before moving runs into it"
            )
        runs: dict[str, tuple] = {}
        for run_id in given:
            row = conn.execute(
                "SELECT r.id, r.lifecycle_stage, r.experiment_id, e.uuid, e.name FROM runs r"
                " JOIN experiments e ON e.id = r.experiment_id WHERE r.uuid = ?", (run_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no run with id {run_id!r}: nothing was moved")
            if row[1] != LifecycleStage.ACTIVE:
                raise InvalidState(f"run {run_id} is deleted: restore it before moving it; nothing was moved")
            if row[2] == target_pk:
                raise InvalidArgument(
                    f"run {run_id} is already in experiment {target_name!r}: nothing was moved"
                )
            runs[run_id] = row
        carried = _descendants(conn, given) if include_children else {}
        for child in carried:
            row = conn.execute(
                "SELECT r.id, r.lifecycle_stage, r.experiment_id, e.uuid, e.name FROM runs r"
                " JOIN experiments e ON e.id = r.experiment_id WHERE r.uuid = ?", (child,),
            ).fetchone()
            if row[2] != target_pk:  # a child already there stays, and needs no history row
                runs[child] = row
        when, host = now_ms(), hostname()
        for run_id, (pk, _, _, from_uuid, from_name) in runs.items():
            # Strictly after the run's previous move, even within one millisecond: merge picks
            # the latest move by time, and must pick the one this file ended with.
            (last,) = conn.execute("SELECT max(moved_time) FROM run_moves WHERE run_id = ?", (pk,)).fetchone()
            stamp = when if last is None else max(when, last + 1)
            conn.execute("UPDATE runs SET experiment_id = ? WHERE id = ?", (target_pk, pk))
            conn.execute(
                "INSERT INTO run_moves (uuid, run_id, from_experiment, from_name, to_experiment, to_name,"
                " moved_time, user_id, host, with_parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, pk, from_uuid, from_name, target_uuid, target_name, stamp, user, host,
                 carried.get(run_id)),
            )
    return list(runs)


def history(conn: sqlite3.Connection, run_id: str) -> list[RunMove]:
    """The run's moves, oldest first."""
    row = conn.execute("SELECT id FROM runs WHERE uuid = ?", (str(run_id),)).fetchone()
    if row is None:
        raise NotFound(f"no run with id {run_id!r}")
    return [
        RunMove(str(run_id), *fields)
        for fields in conn.execute(
            "SELECT from_experiment, from_name, to_experiment, to_name, moved_time, user_id, host, with_parent"
            " FROM run_moves WHERE run_id = ? ORDER BY moved_time, id", (row[0],),
        )
    ]
