"""Merging another lighttrack file into this one: a union keyed by global ids.

The source is ATTACHed read-only and copied with INSERT ... SELECT joins on uuids, inside one
``BEGIN IMMEDIATE`` transaction: interrupted at any point, the target is as it was; run twice,
the second run finds everything present and changes nothing. The written rules for conflicts:

- an experiment is matched by id, else by name (an active experiment of the same name absorbs
  the source's runs, which keep their ids), else created with the source's id;
- a run present on both sides with different content keeps the side that finished later (a
  finished run beats a running one) whole, and the report says which;
- a tie (both finished at the same millisecond, or both still running with the same heartbeat)
  keeps this file's run and its values, and adds the source's params, tags, metrics and
  artifact paths that this file's run does not have (a key on both sides keeps this file's
  value; an artifact path that would clash with one here is left out and reported);
- a registered model is matched by id, else by name; source versions not present (by id) are
  appended as the next version numbers, and a version whose number changed records where it
  came from in tags ``lighttrack.origin.store`` / ``lighttrack.origin.version``;
- an alias that already points elsewhere in the target is kept, and reported;
- a run moved to another experiment follows its latest move on either side (merge_moves.py).

Export uses the same engine with a chosen set of runs and only the registry entries they use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lighttrack.errors import FileError, InvalidArgument, NotALighttrackFile, SchemaTooNew
from lighttrack.store.db import APPLICATION_ID, SCHEMA_VERSION, check_file, file_uri, write_transaction
from lighttrack.store.merge_inputs import merge_inputs
from lighttrack.store.merge_moves import merge_moves
from lighttrack.store.merge_registry import merge_registry

#: (phase, runs done, runs in all, points=metric points so far): what a bar needs for runs/s and points/s.
Progress = Callable[..., None]
_RUN_FIELDS = ("name", "status", "lifecycle_stage", "start_time", "end_time", "user_id", "host", "pid",
               "heartbeat", "artifact_uri", "deleted_time")
_MAX_NOTES = 50


@dataclass
class MergeReport:
    experiments_created: int = 0
    experiments_matched: int = 0
    runs_added: int = 0
    runs_replaced: int = 0
    runs_kept: int = 0  # on both sides, different, the target's kept (newer, or a tie with nothing to add)
    runs_combined: int = 0  # a tie: the target's kept, the source's missing keys added
    runs_unchanged: int = 0
    metric_points: int = 0
    artifacts: int = 0
    blob_bytes: int = 0
    models_created: int = 0
    versions_added: int = 0
    aliases_added: int = 0
    logged_models_added: int = 0
    datasets_added: int = 0
    inputs_added: int = 0  # dataset inputs of runs (store/merge_inputs.py)
    runs_moved: int = 0  # on both sides, now in the experiment the source's later move chose
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def note(self, text: str) -> None:
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(text)
        elif len(self.notes) == _MAX_NOTES:
            self.notes.append("(more notes left out)")

    @property
    def changed(self) -> bool:
        return bool(self.experiments_created or self.runs_added or self.runs_replaced or self.runs_combined
                    or self.versions_added or self.aliases_added or self.models_created
                    or self.logged_models_added or self.inputs_added or self.runs_moved)


def _source_has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = ?)", (name,)
    ).fetchone()[0]


def _attach(conn: sqlite3.Connection, source: Path) -> int:
    """Attach the source read-only; returns its schema version."""
    state = check_file(source)  # refuses foreign, truncated and too-new files before SQLite reads them
    if state == "new":
        raise FileError(f"{source} does not exist or is empty: nothing to merge")
    try:
        conn.execute("ATTACH DATABASE ? AS src", (file_uri(source, mode="ro"),))
        conn.execute("SELECT count(*) FROM src.sqlite_master").fetchone()
    except sqlite3.OperationalError:
        _detach(conn)
        journal = Path(f"{source}-journal")
        if journal.exists() and journal.stat().st_size > 0:
            # A hot journal: a writer died inside a transaction whose pages may already be in
            # the file. Only a writer can roll it back; read as it lies, it is half a transaction.
            raise FileError(f"{source} was left mid-transaction (hot journal {journal.name}): open it once "
                            "with write access (lighttrack merge --shards does this for shards whose "
                            "writer is gone) so SQLite rolls the unfinished transaction back, then merge")
        # A WAL file on read-only media cannot get its -shm: read it as immutable instead.
        conn.execute("ATTACH DATABASE ? AS src", (file_uri(source, mode="ro", immutable="1"),))
    (app_id,) = conn.execute("PRAGMA src.application_id").fetchone()
    (version,) = conn.execute("PRAGMA src.user_version").fetchone()
    if app_id != APPLICATION_ID:
        _detach(conn)
        raise NotALighttrackFile(f"{source} is not a lighttrack database; it was left untouched")
    if version > SCHEMA_VERSION:
        _detach(conn)
        raise SchemaTooNew(
            f"{source} has schema version {version}, newer than this lighttrack's {SCHEMA_VERSION}: "
            "upgrade lighttrack to merge it"
        )
    return version


def _detach(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("DETACH DATABASE src")
    except sqlite3.OperationalError:
        pass


def merge(
    conn: sqlite3.Connection,
    target: Path,
    source: Path,
    *,
    run_ids: Iterable[str] | None = None,
    registry: str = "all",
    progress: Progress | None = None,
) -> MergeReport:
    """Copy ``source`` into the file of ``conn``. ``run_ids`` limits which runs (export);
    ``registry`` is "all", "referenced" (versions of the copied runs) or "none"."""
    import time

    if registry not in ("all", "referenced", "none"):
        raise InvalidArgument(f"registry must be 'all', 'referenced' or 'none', not {registry!r}")
    if source.resolve() == target.resolve():
        raise InvalidArgument(f"cannot merge {source} into itself")
    started = time.perf_counter()
    side_files = _side_files(source)
    version = _attach(conn, source)
    report = MergeReport()
    tick = _counting(progress, conn, report)
    try:
        with write_transaction(conn):
            _select_runs(conn, run_ids)
            tick("experiments", 0, 1)
            _merge_experiments(conn, report, only_selected=run_ids is not None)
            tick("runs", 0, 1)
            ties = _merge_runs(conn, report)
            _note_experiments_joined(conn, report)
            tick("metrics and artifacts", 0, 1)
            _copy_run_contents(conn, report)
            _combine_ties(conn, report, ties)
            merge_inputs(conn, report)
            # by table, not user_version: migrations from parallel branches land in any order
            if _source_has_table(conn, "logged_models"):  # MLflow 3's logged models (0004)
                from lighttrack.store.merge_logged import merge_logged_models

                tick("logged models", 0, 1)
                merge_logged_models(conn, report, only_selected=run_ids is not None)
            merge_moves(conn, report)
            if version >= 2 and registry != "none":
                tick("registry", 0, 1)
                merge_registry(conn, report, referenced_only=registry == "referenced")
            tick("done", 1, 1)
            _drop_temp(conn)
    finally:
        _drop_temp(conn)
        _detach(conn)
        _remove_side_files(source, side_files)
    report.seconds = time.perf_counter() - started
    return report


def _side_files(path: Path) -> set[str]:
    return {suffix for suffix in ("-wal", "-shm") if Path(f"{path}{suffix}").exists()}


def _remove_side_files(source: Path, before: set[str]) -> None:
    """Reading a WAL-mode file, even read-only, makes SQLite create SOURCE-wal and -shm, and a
    read-only connection cannot remove them. When they were not there before, a plain open and
    close lets SQLite itself remove them: it checkpoints (an empty WAL: nothing is written) and
    deletes them only when no other connection, in any process, still has the file open."""
    if _side_files(source) <= before:
        return
    try:
        other = sqlite3.connect(source, timeout=0.5)
        try:
            other.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            other.close()
    except sqlite3.Error:  # read-only media, or busy: leave them, SQLite's own files
        pass


def _drop_temp(conn: sqlite3.Connection) -> None:
    for table in ("sel", "exp_map", "exp_by_name", "new_runs", "copy_map", "key_map", "need_blobs", "tie_map",
                  "model_map", "moved_runs"):
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


def _select_runs(conn: sqlite3.Connection, run_ids: Iterable[str] | None) -> None:
    conn.execute("CREATE TEMP TABLE sel (src_id INTEGER PRIMARY KEY)")
    if run_ids is None:
        conn.execute("INSERT INTO temp.sel SELECT id FROM src.runs")
        return
    conn.execute("CREATE TEMP TABLE wanted (uuid TEXT PRIMARY KEY)")
    conn.executemany("INSERT OR IGNORE INTO temp.wanted VALUES (?)", [(r,) for r in run_ids])
    conn.execute("INSERT INTO temp.sel SELECT id FROM src.runs WHERE uuid IN (SELECT uuid FROM temp.wanted)")
    conn.execute("DROP TABLE temp.wanted")


# ------------------------------------------------------------------------- experiments
def _merge_experiments(conn: sqlite3.Connection, report: MergeReport, only_selected: bool) -> None:
    scope = " WHERE id IN (SELECT experiment_id FROM src.runs WHERE id IN (SELECT src_id FROM temp.sel))" \
        if only_selected else ""
    conn.execute("CREATE TEMP TABLE exp_map (src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)")
    conn.execute("CREATE TEMP TABLE exp_by_name (src_id INTEGER PRIMARY KEY, name TEXT)")
    rows = conn.execute(
        "SELECT id, uuid, name, lifecycle_stage, artifact_location, creation_time, last_update_time"
        f" FROM src.experiments{scope}"
    ).fetchall()
    for src_id, uid, name, stage, location, created, updated in rows:
        found = conn.execute("SELECT id FROM main.experiments WHERE uuid = ?", (uid,)).fetchone()
        if found is None and stage == "active":
            found = conn.execute(
                "SELECT id FROM main.experiments WHERE name = ? AND lifecycle_stage = 'active'", (name,)
            ).fetchone()
            if found is not None:
                conn.execute("INSERT INTO temp.exp_by_name VALUES (?, ?)", (src_id, name))
        if found is not None:
            report.experiments_matched += 1
            dst_id = found[0]
        else:
            dst_id = conn.execute(
                "INSERT INTO main.experiments (uuid, name, lifecycle_stage, artifact_location, creation_time,"
                " last_update_time) VALUES (?, ?, ?, ?, ?, ?)",
                (uid, name, stage, location, created, updated),
            ).lastrowid
            report.experiments_created += 1
        conn.execute("INSERT INTO temp.exp_map VALUES (?, ?)", (src_id, dst_id))
    conn.execute(
        "INSERT OR IGNORE INTO main.experiment_tags (experiment_id, key, value)"
        " SELECT m.dst_id, t.key, t.value FROM src.experiment_tags t JOIN temp.exp_map m ON m.src_id = t.experiment_id"
    )


def _note_experiments_joined(conn: sqlite3.Connection, report: MergeReport) -> None:
    """Said only when runs actually joined: a re-merge that adds nothing says nothing."""
    for name, joined in conn.execute(
        "SELECT b.name, count(n.src_id) FROM temp.exp_by_name b JOIN src.runs s ON s.experiment_id = b.src_id"
        " JOIN temp.new_runs n ON n.src_id = s.id GROUP BY b.src_id ORDER BY b.name"
    ).fetchall():
        report.note(f"experiment {name!r} exists here with another id: its {joined} new run(s) joined the existing one")


# -------------------------------------------------------------------------------- runs
def _contents(conn: sqlite3.Connection, db: str, ids: list[int]) -> dict[int, tuple]:
    """Everything that makes a run's content, to tell identical runs from diverged ones."""
    out: dict[int, list] = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        marks = ",".join("?" * len(part))
        for row in conn.execute(f"SELECT id, {', '.join(_RUN_FIELDS)} FROM {db}.runs WHERE id IN ({marks})", part):
            out[row[0]] = [row[1:], {}, {}, {}, {}]
        for index, sql in (
            (1, f"SELECT run_id, key, value FROM {db}.params WHERE run_id IN ({marks})"),
            (2, f"SELECT run_id, key, value FROM {db}.tags WHERE run_id IN ({marks})"),
            (3, f"SELECT lm.run_id, k.key, lm.count || ':' || lm.step || ':' || lm.timestamp || ':' ||"
                f" coalesce(lm.value, 'nan') FROM {db}.latest_metrics lm JOIN {db}.metric_keys k ON k.id = lm.key_id"
                f" WHERE lm.run_id IN ({marks})"),
            (4, f"SELECT run_id, path, sha256 FROM {db}.artifacts WHERE run_id IN ({marks})"),
        ):
            for run_id, key, value in conn.execute(sql, part):
                out[run_id][index][key] = value
    return {k: tuple(v[0]) + tuple(tuple(sorted(d.items())) for d in v[1:]) for k, v in out.items()}


def _finish_time(fields: tuple) -> tuple[int, int]:
    """(finished?, when): a finished run beats a running one, then the later one wins."""
    record = dict(zip(_RUN_FIELDS, fields))
    if record["end_time"] is not None:
        return 1, record["end_time"]
    return 0, record["heartbeat"] or record["start_time"] or 0


def _merge_runs(conn: sqlite3.Connection, report: MergeReport) -> list[tuple[int, int, str, str]]:
    """Add new runs and settle runs on both sides; returns the ties (src id, dst id, uuid)."""
    conn.execute("CREATE TEMP TABLE new_runs (src_id INTEGER PRIMARY KEY)")
    conn.execute(
        "INSERT INTO temp.new_runs SELECT s.id FROM src.runs s WHERE s.id IN (SELECT src_id FROM temp.sel)"
        " AND NOT EXISTS (SELECT 1 FROM main.runs d WHERE d.uuid = s.uuid)"
    )
    both = conn.execute(
        "SELECT s.id, d.id, s.uuid, s.experiment_id FROM src.runs s JOIN main.runs d ON d.uuid = s.uuid"
        " WHERE s.id IN (SELECT src_id FROM temp.sel)"
    ).fetchall()
    replaced: list[tuple[int, int]] = []
    ties: list[tuple[int, int, str, str]] = []
    if both:
        src_contents = _contents(conn, "src", [b[0] for b in both])
        dst_contents = _contents(conn, "main", [b[1] for b in both])
        for src_id, dst_id, uid, _ in both:
            mine, theirs = dst_contents[dst_id], src_contents[src_id]
            if mine == theirs:
                report.runs_unchanged += 1
                continue
            theirs_finished = _finish_time(theirs[:len(_RUN_FIELDS)])
            mine_finished = _finish_time(mine[:len(_RUN_FIELDS)])
            if theirs_finished > mine_finished:
                replaced.append((src_id, dst_id))
                report.runs_replaced += 1
                report.note(f"run {uid} differs on the two sides: kept the source's, which finished later")
            elif theirs_finished < mine_finished:
                report.runs_kept += 1
                report.note(f"run {uid} differs on the two sides: kept this file's, which finished later")
            else:
                finished, at = mine_finished
                ties.append((src_id, dst_id, uid, f"both finished at {at} ms" if finished
                             else f"both are still RUNNING with a last heartbeat at {at} ms"))
    for src_id, dst_id in replaced:
        for table in ("params", "tags", "metric_chunks", "latest_metrics", "artifacts"):
            conn.execute(f"DELETE FROM main.{table} WHERE run_id = ?", (dst_id,))
        assignments = ", ".join(f"{f} = s.{f}" for f in _RUN_FIELDS)
        conn.execute(
            f"UPDATE main.runs SET {assignments} FROM (SELECT * FROM src.runs WHERE id = ?) AS s WHERE main.runs.id = ?",
            (src_id, dst_id),
        )
    conn.execute(
        f"INSERT INTO main.runs (uuid, experiment_id, {', '.join(_RUN_FIELDS)})"
        f" SELECT s.uuid, m.dst_id, {', '.join('s.' + f for f in _RUN_FIELDS)} FROM src.runs s"
        " JOIN temp.exp_map m ON m.src_id = s.experiment_id WHERE s.id IN (SELECT src_id FROM temp.new_runs)"
    )
    report.runs_added = conn.execute("SELECT count(*) FROM temp.new_runs").fetchone()[0]
    conn.execute("CREATE TEMP TABLE copy_map (src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)")
    conn.execute(
        "INSERT INTO temp.copy_map SELECT s.id, d.id FROM src.runs s JOIN main.runs d ON d.uuid = s.uuid"
        " WHERE s.id IN (SELECT src_id FROM temp.new_runs)"
    )
    conn.executemany("INSERT INTO temp.copy_map VALUES (?, ?)", replaced)
    return ties


def _copy_run_contents(conn: sqlite3.Connection, report: MergeReport) -> None:
    conn.execute(
        "INSERT INTO main.params (run_id, key, value, num)"
        " SELECT m.dst_id, p.key, p.value, p.num FROM src.params p JOIN temp.copy_map m ON m.src_id = p.run_id"
    )
    conn.execute(
        "INSERT INTO main.tags (run_id, key, value)"
        " SELECT m.dst_id, t.key, t.value FROM src.tags t JOIN temp.copy_map m ON m.src_id = t.run_id"
    )
    conn.execute(
        "INSERT OR IGNORE INTO main.metric_keys (key) SELECT DISTINCT k.key FROM src.metric_keys k"
        " JOIN src.latest_metrics lm ON lm.key_id = k.id JOIN temp.copy_map m ON m.src_id = lm.run_id"
    )
    conn.execute(
        "CREATE TEMP TABLE key_map AS SELECT sk.id AS src_id, mk.id AS dst_id"
        " FROM src.metric_keys sk JOIN main.metric_keys mk ON mk.key = sk.key"
    )
    conn.execute(
        "INSERT INTO main.metric_chunks (run_id, key_id, seq, count, min_step, max_step, data)"
        " SELECT m.dst_id, k.dst_id, c.seq, c.count, c.min_step, c.max_step, c.data FROM src.metric_chunks c"
        " JOIN temp.copy_map m ON m.src_id = c.run_id JOIN temp.key_map k ON k.src_id = c.key_id"
    )
    conn.execute(
        "INSERT INTO main.latest_metrics (run_id, key_id, step, timestamp, value, min, max, count)"
        " SELECT m.dst_id, k.dst_id, l.step, l.timestamp, l.value, l.min, l.max, l.count FROM src.latest_metrics l"
        " JOIN temp.copy_map m ON m.src_id = l.run_id JOIN temp.key_map k ON k.src_id = l.key_id"
    )
    report.metric_points = conn.execute(
        "SELECT coalesce(sum(l.count), 0) FROM src.latest_metrics l JOIN temp.copy_map m ON m.src_id = l.run_id"
    ).fetchone()[0]
    conn.execute(
        "CREATE TEMP TABLE need_blobs AS SELECT DISTINCT a.sha256 FROM src.artifacts a"
        " JOIN temp.copy_map m ON m.src_id = a.run_id WHERE a.sha256 NOT IN (SELECT sha256 FROM main.blobs)"
    )
    conn.execute(
        "INSERT OR IGNORE INTO main.blob_chunks (sha256, seq, data) SELECT c.sha256, c.seq, c.data"
        " FROM src.blob_chunks c WHERE c.sha256 IN (SELECT sha256 FROM temp.need_blobs)"
    )
    conn.execute(
        "INSERT OR IGNORE INTO main.blobs (sha256, size, chunk_count) SELECT b.sha256, b.size, b.chunk_count"
        " FROM src.blobs b WHERE b.sha256 IN (SELECT sha256 FROM temp.need_blobs)"
    )
    report.blob_bytes = conn.execute(
        "SELECT coalesce(sum(size), 0) FROM src.blobs WHERE sha256 IN (SELECT sha256 FROM temp.need_blobs)"
    ).fetchone()[0]
    cur = conn.execute(
        "INSERT INTO main.artifacts (uuid, run_id, path, sha256, size, created_time)"
        " SELECT a.uuid, m.dst_id, a.path, a.sha256, a.size, a.created_time FROM src.artifacts a"
        " JOIN temp.copy_map m ON m.src_id = a.run_id"
    )
    report.artifacts = cur.rowcount


def _combine_ties(conn: sqlite3.Connection, report: MergeReport, ties: list[tuple[int, int, str, str]]) -> None:
    """The tie rule: this file's run stays as it is, plus what only the source has."""
    if not ties:
        return
    conn.execute("CREATE TEMP TABLE tie_map (src_id INTEGER PRIMARY KEY, dst_id INTEGER NOT NULL)")
    for src_id, dst_id, uid, tie in ties:
        conn.execute("DELETE FROM temp.tie_map")
        conn.execute("INSERT INTO temp.tie_map VALUES (?, ?)", (src_id, dst_id))
        added = {
            "param": conn.execute(
                "INSERT INTO main.params (run_id, key, value, num) SELECT m.dst_id, p.key, p.value, p.num"
                " FROM src.params p JOIN temp.tie_map m ON m.src_id = p.run_id WHERE NOT EXISTS"
                " (SELECT 1 FROM main.params d WHERE d.run_id = m.dst_id AND d.key = p.key)").rowcount,
            "tag": conn.execute(
                "INSERT INTO main.tags (run_id, key, value) SELECT m.dst_id, t.key, t.value"
                " FROM src.tags t JOIN temp.tie_map m ON m.src_id = t.run_id WHERE NOT EXISTS"
                " (SELECT 1 FROM main.tags d WHERE d.run_id = m.dst_id AND d.key = t.key)").rowcount,
        }
        conn.execute(
            "INSERT OR IGNORE INTO main.metric_keys (key) SELECT DISTINCT k.key FROM src.metric_keys k"
            " JOIN src.latest_metrics lm ON lm.key_id = k.id JOIN temp.tie_map m ON m.src_id = lm.run_id"
        )
        missing = conn.execute(
            "SELECT sk.id, mk.id FROM src.latest_metrics l JOIN temp.tie_map m ON m.src_id = l.run_id"
            " JOIN src.metric_keys sk ON sk.id = l.key_id JOIN main.metric_keys mk ON mk.key = sk.key"
            " WHERE NOT EXISTS (SELECT 1 FROM main.latest_metrics d WHERE d.run_id = m.dst_id AND d.key_id = mk.id)"
        ).fetchall()
        for src_key, dst_key in missing:
            conn.execute(
                "INSERT INTO main.metric_chunks (run_id, key_id, seq, count, min_step, max_step, data)"
                " SELECT ?, ?, seq, count, min_step, max_step, data FROM src.metric_chunks"
                " WHERE run_id = ? AND key_id = ?", (dst_id, dst_key, src_id, src_key))
            conn.execute(
                "INSERT INTO main.latest_metrics (run_id, key_id, step, timestamp, value, min, max, count)"
                " SELECT ?, ?, step, timestamp, value, min, max, count FROM src.latest_metrics"
                " WHERE run_id = ? AND key_id = ?", (dst_id, dst_key, src_id, src_key))
            report.metric_points += conn.execute(
                "SELECT count FROM src.latest_metrics WHERE run_id = ? AND key_id = ?", (src_id, src_key)
            ).fetchone()[0]
        added["metric"] = len(missing)
        # An artifact path is added only when it clashes with nothing here (not the same path,
        # not a file where the other side has a folder, or the reverse).
        clash = ("EXISTS (SELECT 1 FROM main.artifacts d WHERE d.run_id = m.dst_id AND (d.path = a.path"
                 " OR substr(d.path, 1, length(a.path) + 1) = a.path || '/'"
                 " OR substr(a.path, 1, length(d.path) + 1) = d.path || '/'))")
        clashing = conn.execute(
            f"SELECT count(*) FROM src.artifacts a JOIN temp.tie_map m ON m.src_id = a.run_id WHERE {clash}"
            " AND NOT EXISTS (SELECT 1 FROM main.artifacts d WHERE d.run_id = m.dst_id AND d.path = a.path"
            " AND d.sha256 = a.sha256)"
        ).fetchone()[0]
        wanted = f"FROM src.artifacts a JOIN temp.tie_map m ON m.src_id = a.run_id WHERE NOT {clash}"
        conn.execute(
            "INSERT OR IGNORE INTO main.blob_chunks (sha256, seq, data) SELECT c.sha256, c.seq, c.data"
            f" FROM src.blob_chunks c WHERE c.sha256 IN (SELECT a.sha256 {wanted})"
            " AND c.sha256 NOT IN (SELECT sha256 FROM main.blobs)"
        )
        report.blob_bytes += conn.execute(
            f"SELECT coalesce(sum(size), 0) FROM src.blobs WHERE sha256 IN (SELECT a.sha256 {wanted})"
            " AND sha256 NOT IN (SELECT sha256 FROM main.blobs)"
        ).fetchone()[0]
        conn.execute(
            "INSERT OR IGNORE INTO main.blobs (sha256, size, chunk_count) SELECT b.sha256, b.size, b.chunk_count"
            f" FROM src.blobs b WHERE b.sha256 IN (SELECT a.sha256 {wanted})"
        )
        added["artifact"] = conn.execute(
            "INSERT INTO main.artifacts (uuid, run_id, path, sha256, size, created_time)"
            f" SELECT a.uuid, m.dst_id, a.path, a.sha256, a.size, a.created_time {wanted}"
        ).rowcount
        report.artifacts += added["artifact"]
        what = ", ".join(f"{n} {kind}(s)" for kind, n in added.items() if n)
        left_out = f"; {clashing} artifact path(s) that clash with this file's were left out" if clashing else ""
        if what:
            report.runs_combined += 1
            report.note(f"run {uid} differs on the two sides and {tie} (a tie): kept this "
                        f"file's values and added the source's {what} that this file did not have{left_out}")
        else:
            report.runs_kept += 1
            report.note(f"run {uid} differs on the two sides and {tie} (a tie): kept this "
                        f"file's, which already holds every key of the source's{left_out}")


def _counting(progress: Progress | None, conn: sqlite3.Connection, report: MergeReport) -> Callable[[str, int, int], None]:
    """The merge's phase ticks turned into counts for a progress bar: runs handled so far of the
    runs selected, and metric points copied so far. Each phase is one set-based statement, so
    the counts move phase by phase (the bar's clock moves on its own in between)."""
    if progress is None:
        return lambda phase, done, total: None
    selected: list[int] = []

    def tick(phase: str, _done: int, _total: int) -> None:
        if not selected:  # temp.sel exists from the first tick on
            selected.append(conn.execute("SELECT count(*) FROM temp.sel").fetchone()[0])
        runs = selected[0] if phase == "done" else min(selected[0], (
            report.runs_added + report.runs_replaced + report.runs_kept + report.runs_combined
            + report.runs_unchanged))
        progress(phase, runs, selected[0], points=report.metric_points)

    return tick
