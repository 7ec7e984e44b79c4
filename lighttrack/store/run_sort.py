"""One page of a run search sorted by one metric, param or tag, read by walking an index.

Why: the general query (``search.compile_run_order_joined``) gives every run in scope its sort
key and sorts them all; on 100k runs that is 0.1-0.7 s a page whichever page is asked for. Here
the order is split into the segments MLflow's order has (for a param: numeric values, then
text values, then runs without it), each read in index order (``params_sort``,
``latest_metrics_by_key``, ``tags_by_key``) and stopped after the page, so the first pages cost
a few milliseconds. A page past the middle is read from the other end, in the exact reverse
order, so the last page is as cheap as the first. The rows and their order are the general
query's (tests/test_run_sort.py compares the two page by page).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from lighttrack.store.search import Keyed

#: A page this far from the start is read from the end when that is nearer.
FLIP_FROM = 1000
_TIE = (("r.start_time", True), ("r.uuid", False))


@dataclass(frozen=True)
class _Segment:
    source: str  # FROM ... WHERE <segment>, one ``?`` for the key
    terms: tuple[tuple[str, bool], ...]  # ORDER BY terms, (SQL, descending)


def segments(target: Keyed, descending: bool) -> list[_Segment]:
    """The sort order of one keyed item as consecutive segments, in order."""
    table, on = target.join.format(a="k").split(" ON ", 1)
    present = f"FROM {table} CROSS JOIN runs r ON {on}"  # CROSS JOIN: the index drives the walk
    tie = (*_TIE, ("r.id", descending))
    text = f"k.{target.join_text}" if target.join_text else None
    num = f"k.{target.join_num}" if target.join_num else None
    found: list[_Segment] = []
    if text and num:  # params: numbers numerically, then the rest as text
        found += [_Segment(f"{present} WHERE {num} IS NOT NULL", ((num, descending), (text, descending), *tie)),
                  _Segment(f"{present} WHERE {num} IS NULL", ((text, descending), *tie))]
    elif num and target.nan_is_null:  # metrics: numbers, then NaN (stored NULL)
        found += [_Segment(f"{present} WHERE {num} IS NOT NULL", ((num, descending), *tie)),
                  _Segment(f"{present} WHERE {num} IS NULL", tie)]
    else:
        only = text or num
        found.append(_Segment(f"{present} WHERE 1", ((only, descending), *tie)))
    found.append(_Segment(f"FROM runs r WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {on})", tie))
    return found


def _order(terms: tuple[tuple[str, bool], ...], reverse: bool) -> str:
    return ", ".join(f"{sql} {'ASC' if desc == reverse else 'DESC'}" for sql, desc in terms)


def _walk(conn: sqlite3.Connection, parts: list[_Segment], key: str, where: str, params: list,
          offset: int, count: int, reverse: bool) -> list[int]:
    """``count`` run ids from ``offset`` of the segments read one after the other."""
    found: list[int] = []
    for segment in parts:
        want = count - len(found)
        if want <= 0:
            break
        rows = conn.execute(
            f"SELECT r.id {segment.source} AND {where} ORDER BY {_order(segment.terms, reverse)} LIMIT ? OFFSET ?",
            [key, *params, want, offset]).fetchall()
        found += [pk for (pk,) in rows]
        if rows:
            offset = 0
        elif offset:  # the page starts after this segment: skip its rows
            (size,) = conn.execute(f"SELECT count(*) {segment.source} AND {where}", [key, *params]).fetchone()
            offset -= size
    return found


def page(conn: sqlite3.Connection, target: Keyed, key: str, descending: bool, where: str, params: list,
         offset: int, limit: int) -> list[int]:
    """Run ids ``offset`` .. ``offset + limit`` (fewer at the end) of the runs matching ``where``
    (SQL over ``runs r`` with ``params``), in ``order_by=[f"<entity>.{key} {direction}"]`` order."""
    parts = segments(target, descending)
    if offset >= FLIP_FROM:
        (total,) = conn.execute(f"SELECT count(*) FROM runs r WHERE {where}", params).fetchone()
        if offset >= total:
            return []
        end = min(offset + limit, total)
        if total - end < offset:  # nearer the end: read the reversed order from there
            return _walk(conn, parts[::-1], key, where, params, total - end, end - offset, True)[::-1]
    return _walk(conn, parts, key, where, params, offset, limit, False)
