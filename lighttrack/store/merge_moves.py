"""The merge rule for run moves: the union of both histories, and the later move wins.

Moves are rows with global ids, so merging copies the source's moves this file does not have.
Which experiment a run ends up in is decided by its latest move over the union (by time, then
id, so both directions of a merge decide alike), whatever the run's content rule decided:

- the source moved a run this file did not move (or moved earlier): the run moves here too;
- this file moved it later than the source did: it stays, and the report says so;
- a re-merge finds every move present and changes nothing.

Runs of the same experiment name with other ids follow the experiment rule of ``merge``: a
move to a source experiment goes to the experiment it was merged into.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lighttrack.store.merge import MergeReport


def has_table(conn: sqlite3.Connection, schema: str, table: str) -> bool:
    """Whether an attached file has a table: a source written before a migration lacks it."""
    return conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                        (table,)).fetchone() is not None


def has_column(conn: sqlite3.Connection, schema: str, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA {schema}.table_info({table})"))


def merge_moves(conn: sqlite3.Connection, report: MergeReport) -> None:
    """Inside merge's transaction, after runs and experiments are settled (``temp.sel`` holds
    the chosen source runs, ``temp.exp_map`` source experiment -> this file's)."""
    if not has_table(conn, "src", "run_moves"):
        return
    conn.execute("CREATE TEMP TABLE moved_runs (dst_id INTEGER PRIMARY KEY)")
    conn.execute(
        "INSERT OR IGNORE INTO temp.moved_runs SELECT d.id FROM src.run_moves m"
        " JOIN src.runs s ON s.id = m.run_id JOIN main.runs d ON d.uuid = s.uuid"
        " WHERE s.id IN (SELECT src_id FROM temp.sel)"
        " AND NOT EXISTS (SELECT 1 FROM main.run_moves x WHERE x.uuid = m.uuid)"
    )
    conn.execute(
        "INSERT INTO main.run_moves (uuid, run_id, from_experiment, from_name, to_experiment, to_name,"
        " moved_time, user_id, host, with_parent)"
        " SELECT m.uuid, d.id, m.from_experiment, m.from_name, m.to_experiment, m.to_name, m.moved_time,"
        " m.user_id, m.host, m.with_parent FROM src.run_moves m JOIN src.runs s ON s.id = m.run_id"
        " JOIN main.runs d ON d.uuid = s.uuid WHERE s.id IN (SELECT src_id FROM temp.sel)"
        " AND NOT EXISTS (SELECT 1 FROM main.run_moves x WHERE x.uuid = m.uuid) ORDER BY m.moved_time, m.id"
    )
    for pk, uid, current, mine_before in conn.execute(
        "SELECT r.id, r.uuid, r.experiment_id, (SELECT count(*) FROM main.run_moves x WHERE x.run_id = r.id"
        " AND NOT EXISTS (SELECT 1 FROM src.run_moves y WHERE y.uuid = x.uuid))"
        " FROM main.runs r WHERE r.id IN (SELECT dst_id FROM temp.moved_runs)"
    ).fetchall():
        latest_uuid, to_experiment, to_name, moved_time = conn.execute(
            "SELECT uuid, to_experiment, to_name, moved_time FROM main.run_moves WHERE run_id = ?"
            " ORDER BY moved_time DESC, uuid DESC LIMIT 1", (pk,),
        ).fetchone()
        from_source = conn.execute("SELECT 1 FROM src.run_moves WHERE uuid = ?", (latest_uuid,)).fetchone()
        if not from_source:
            report.note(f"run {uid} was moved on both sides: kept this file's later move to {to_name!r}")
            continue
        target = _experiment_here(conn, to_experiment)
        if target is None:
            report.note(f"run {uid} was moved to experiment {to_name!r} ({to_experiment}) in the source,"
                        " which is not in this file: it stays where it is")
            continue
        if target == current:
            continue
        conn.execute("UPDATE main.runs SET experiment_id = ? WHERE id = ?", (target, pk))
        report.runs_moved += 1
        how = "was moved on both sides: the source's move is later" if mine_before else "was moved in the source"
        report.note(f"run {uid} {how}: moved it here too, to {to_name!r} (moved at {moved_time} ms)")
    conn.execute("DROP TABLE temp.moved_runs")


def _experiment_here(conn: sqlite3.Connection, experiment_uuid: str) -> int | None:
    """This file's key of an experiment named by id in the source: the same id here, else the
    experiment the source's was merged into."""
    row = conn.execute("SELECT id FROM main.experiments WHERE uuid = ?", (experiment_uuid,)).fetchone()
    if row is not None:
        return row[0]
    row = conn.execute(
        "SELECT m.dst_id FROM src.experiments e JOIN temp.exp_map m ON m.src_id = e.id WHERE e.uuid = ?",
        (experiment_uuid,),
    ).fetchone()
    return row[0] if row else None
