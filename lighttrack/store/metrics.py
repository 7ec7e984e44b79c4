"""Metric histories as packed chunks, and the per-(run, metric) summary search reads.

Appending never re-encodes a long history: each write adds a new chunk, and once a series has
``_MAX_OPEN`` partly-filled chunks at its end they are merged. A metric logged one point per
flush therefore costs a bounded number of small rows, and a bulk write of a million points is
~120 full chunks.
"""

from __future__ import annotations

import math
import sqlite3
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from lighttrack.entities import Metric, MetricSummary
from lighttrack.errors import DamagedFile
from lighttrack.store import codec

_MAX_OPEN = 8


def key_id(conn: sqlite3.Connection, key: str, *, create: bool) -> int | None:
    row = conn.execute("SELECT id FROM metric_keys WHERE key = ?", (key,)).fetchone()
    if row:
        return row[0]
    if not create:
        return None
    return conn.execute("INSERT INTO metric_keys (key) VALUES (?)", (key,)).lastrowid


def append(
    conn: sqlite3.Connection,
    run_pk: int,
    key: str,
    steps: Sequence[int],
    timestamps: Sequence[int],
    values: Sequence[float],
    key_ids: dict[str, int] | None = None,
    prepared: Prepared | None = None,
) -> None:
    """Add points to a series. Call inside a write transaction; inputs are already validated.

    ``key_ids`` caches metric-name ids across calls; its owner must clear it if the
    transaction rolls back (an id inserted by a rolled-back transaction does not exist).
    ``prepared`` is ``prepare(steps, timestamps, values)`` done before the transaction, so the
    write lock is not held while the points are compressed."""
    count = len(values)
    if not count:
        return
    kid = key_ids.get(key) if key_ids is not None else None
    if kid is None:
        kid = key_id(conn, key, create=True)
        if key_ids is not None:
            key_ids[key] = kid
    tail = conn.execute(
        "SELECT id, seq, count FROM metric_chunks WHERE run_id = ? AND key_id = ? ORDER BY seq DESC LIMIT ?",
        (run_pk, kid, _MAX_OPEN),
    ).fetchall()
    next_seq = tail[0][1] + 1 if tail else 0
    open_chunks = []
    for chunk_id, seq, size in tail:
        if size >= codec.CHUNK_POINTS:
            break
        open_chunks.append((chunk_id, seq))
    if prepared is None:
        prepared = prepare(steps, timestamps, values, encode=False)
    steps, timestamps, values = prepared.steps, prepared.timestamps, prepared.values
    new_steps, new_ts, new_values = steps, timestamps, values
    if len(open_chunks) < _MAX_OPEN - 1 and prepared.chunks is not None:
        conn.executemany(
            "INSERT INTO metric_chunks (run_id, key_id, seq, count, min_step, max_step, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_pk, kid, next_seq + i, *chunk) for i, chunk in enumerate(prepared.chunks)],
        )
        _update_latest(conn, run_pk, kid, prepared)
        return
    if len(open_chunks) >= _MAX_OPEN - 1:
        # Merge the open tail with the new points so a series never grows endless tiny rows.
        new_steps, new_ts, new_values = array("q"), array("q"), array("d")
        open_chunks.reverse()
        for chunk_id, _ in open_chunks:
            (data,) = conn.execute("SELECT data FROM metric_chunks WHERE id = ?", (chunk_id,)).fetchone()
            s, t, v = _decode(conn, data, run_pk, key)
            new_steps.extend(s)
            new_ts.extend(t)
            new_values.extend(v)
        new_steps.extend(steps)
        new_ts.extend(timestamps)
        new_values.extend(values)
        conn.executemany("DELETE FROM metric_chunks WHERE id = ?", [(c,) for c, _ in open_chunks])
        next_seq = open_chunks[0][1]
    rows = []
    size = codec.CHUNK_POINTS
    for start in range(0, len(new_values), size):
        s = new_steps[start:start + size]
        rows.append(
            (run_pk, kid, next_seq, len(s), min(s), max(s),
             codec.encode(s, new_ts[start:start + size], new_values[start:start + size]))
        )
        next_seq += 1
    conn.executemany(
        "INSERT INTO metric_chunks (run_id, key_id, seq, count, min_step, max_step, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    _update_latest(conn, run_pk, kid, prepared)


@dataclass(frozen=True)
class Prepared:
    """Points of one series made ready for ``append`` outside any transaction."""

    steps: array
    timestamps: array
    values: array
    last: tuple[int, int, float]
    finite_range: tuple[float | None, float | None]
    chunks: list[tuple[int, int, int, bytes]] | None  # (count, min step, max step, data)


def prepare(steps: Sequence[int], timestamps: Sequence[int], values: Sequence[float], *,
            encode: bool = True) -> Prepared:
    """Everything about new points that does not depend on what the file holds: the arrays,
    the latest point and min/max, and (``encode``) the compressed chunks."""
    steps, timestamps, values = array("q", steps), array("q", timestamps), array("d", values)
    chunks = None
    if encode:
        size = codec.CHUNK_POINTS
        chunks = []
        for start in range(0, len(values), size):
            s = steps[start:start + size]
            chunks.append((len(s), min(s), max(s),
                           codec.encode(s, timestamps[start:start + size], values[start:start + size])))
    return Prepared(steps, timestamps, values, _last_point(steps, timestamps, values),
                    _finite_range(values), chunks)


def _finite_range(values: array) -> tuple[float | None, float | None]:
    """min and max ignoring NaN (the sum is NaN only when a NaN, or +inf and -inf, is present)."""
    if not math.isnan(sum(values)):
        return min(values), max(values)
    real = [v for v in values if not math.isnan(v)]
    return (min(real), max(real)) if real else (None, None)


def _last_point(steps: array, timestamps: array, values: array) -> tuple[int, int, float]:
    """MLflow's 'latest': the largest step, then the latest timestamp, then the largest value."""
    top_step = max(steps)
    if steps[-1] == top_step and timestamps[-1] == max(timestamps):
        return steps[-1], timestamps[-1], values[-1]
    best = max(
        (s, t, (-math.inf if math.isnan(v) else v), i)
        for i, (s, t, v) in enumerate(zip(steps, timestamps, values)) if s == top_step
    )
    i = best[3]
    return steps[i], timestamps[i], values[i]


def _update_latest(conn, run_pk, kid, prepared: Prepared) -> None:
    step, ts, value = prepared.last
    low, high = prepared.finite_range
    values = prepared.values
    old = conn.execute(
        "SELECT step, timestamp, value, min, max, count FROM latest_metrics WHERE run_id = ? AND key_id = ?",
        (run_pk, kid),
    ).fetchone()
    count = len(values)
    if old is not None:
        o_step, o_ts, o_value, o_min, o_max, o_count = old
        o_value = math.nan if o_value is None else o_value
        if (o_step, o_ts) > (step, ts) or ((o_step, o_ts) == (step, ts) and o_value > value):
            step, ts, value = o_step, o_ts, o_value
        low = o_min if low is None else (low if o_min is None else min(low, o_min))
        high = o_max if high is None else (high if o_max is None else max(high, o_max))
        count += o_count
    conn.execute(
        "INSERT OR REPLACE INTO latest_metrics (run_id, key_id, step, timestamp, value, min, max, count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (run_pk, kid, step, ts, None if math.isnan(value) else value, low, high, count),
    )


def latest_values(conn: sqlite3.Connection, run_pks: list[int]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {pk: {} for pk in run_pks}
    for start in range(0, len(run_pks), 900):
        part = run_pks[start:start + 900]
        for pk, key, value in conn.execute(
            "SELECT lm.run_id, k.key, lm.value FROM latest_metrics lm JOIN metric_keys k ON k.id = lm.key_id"
            f" WHERE lm.run_id IN ({','.join('?' * len(part))})",
            part,
        ):
            out[pk][key] = math.nan if value is None else value
    return out


def summaries(conn: sqlite3.Connection, run_pk: int) -> list[MetricSummary]:
    return [
        MetricSummary(key=key, value=math.nan if value is None else value, step=step,
                      timestamp=ts, min=low, max=high, count=count)
        for key, value, step, ts, low, high, count in conn.execute(
            "SELECT k.key, lm.value, lm.step, lm.timestamp, lm.min, lm.max, lm.count FROM latest_metrics lm"
            " JOIN metric_keys k ON k.id = lm.key_id WHERE lm.run_id = ? ORDER BY k.key",
            (run_pk,),
        )
    ]


def _decode(conn: sqlite3.Connection, data: bytes, run_pk: int, key: str, *, numpy: bool = False):
    """codec.decode, with a damaged chunk reported as the file, run and metric it belongs to."""
    try:
        return codec.decode_numpy(data) if numpy else codec.decode(data)
    except codec.DamagedChunk as exc:
        raise damaged_series(conn, run_pk, key, str(exc)) from None


def damaged_series(conn: sqlite3.Connection, run_pk: int, key: str, why: str) -> DamagedFile:
    row = conn.execute("SELECT uuid FROM runs WHERE id = ?", (run_pk,)).fetchone()
    run = row[0] if row else f"#{run_pk}"
    path = getattr(conn, "path", "the file")
    return DamagedFile(
        f"{path}: metric {key!r} of run {run} is damaged ({why}); the rest of the file is readable "
        f"(`lighttrack info --full` lists every damaged part)"
    )


def _chunks(conn: sqlite3.Connection, run_pk: int, key: str) -> list[bytes]:
    kid = key_id(conn, key, create=False)
    if kid is None:
        return []
    return [
        data for (data,) in conn.execute(
            "SELECT data FROM metric_chunks WHERE run_id = ? AND key_id = ? ORDER BY seq", (run_pk, kid)
        )
    ]


def history(conn: sqlite3.Connection, run_pk: int, run_id: str, key: str) -> list[Metric]:
    """Every point of a series in the order it was logged, as Metric entities."""
    out: list[Metric] = []
    seen: set[tuple] = set()  # MLflow keeps one of identical (step, timestamp, value) points
    for data in _chunks(conn, run_pk, key):
        steps, timestamps, values = _decode(conn, data, run_pk, key)
        for s, t, v in zip(steps, timestamps, values):
            point = (s, t, v if v == v else "nan")
            if point not in seen:
                seen.add(point)
                out.append(Metric(key=key, value=v, timestamp=t, step=s, run_id=run_id))
    return out


def history_arrays(conn: sqlite3.Connection, run_pk: int, key: str, *, numpy: bool = True):
    """(steps, timestamps, values) as numpy arrays (or array.array without numpy): the fast path."""
    chunks = _chunks(conn, run_pk, key)
    if numpy:
        try:
            import numpy as np
        except ImportError:
            numpy = False
    if numpy:
        if not chunks:
            return np.zeros(0, "<i8"), np.zeros(0, "<i8"), np.zeros(0, "<f8")
        parts = [_decode(conn, data, run_pk, key, numpy=True) for data in chunks]
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
    steps, timestamps, values = array("q"), array("q"), array("d")
    for data in chunks:
        s, t, v = _decode(conn, data, run_pk, key)
        steps.extend(s)
        timestamps.extend(t)
        values.extend(v)
    return steps, timestamps, values


def keys(conn: sqlite3.Connection, run_pk: int) -> list[str]:
    return [
        key for (key,) in conn.execute(
            "SELECT k.key FROM latest_metrics lm JOIN metric_keys k ON k.id = lm.key_id"
            " WHERE lm.run_id = ? ORDER BY k.key",
            (run_pk,),
        )
    ]
