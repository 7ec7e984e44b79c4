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

from lighttrack.store.paging import from_the_end
from lighttrack.store.search import Keyed

#: A page this far from the start is read from the end when that is nearer.
FLIP_FROM = 1000
_TIE = (("r.start_time", True), ("r.uuid", False))


#: A value shared by this many rows (in the index, all experiments) is read in the runs' own
#: order, checking each run's value, instead of sorting all of them by the tie-breakers: a
#: param with 5 values over 100k runs holds 20k runs a value, and sorting those cost 0.1-0.3 s.
BIG_GROUP = 2000


@dataclass(frozen=True)
class _Segment:
    source: str  # FROM ... WHERE <segment>, one ``?`` for the key
    terms: tuple[tuple[str, bool], ...]  # ORDER BY terms, (SQL, descending)
    values: tuple[str, ...] = ()  # the value columns of ``terms`` (runs with equal ones tie)
    table: str = ""  # e.g. "params k"
    on: str = ""  # the join condition to runs r, with the key's ``?``
    condition: str = "1"  # what puts a row of ``table`` in this segment


def segments(target: Keyed, descending: bool) -> list[_Segment]:
    """The sort order of one keyed item as consecutive segments, in order."""
    table, on = target.join.format(a="k").split(" ON ", 1)
    present = f"FROM {table} CROSS JOIN runs r ON {on}"  # CROSS JOIN: the index drives the walk
    tie = (*_TIE, ("r.id", descending))
    text = f"k.{target.join_text}" if target.join_text else None
    num = f"k.{target.join_num}" if target.join_num else None
    found: list[_Segment] = []
    def segment(condition: str, values: tuple[str, ...]) -> _Segment:
        return _Segment(f"{present} WHERE {condition}", (*((v, descending) for v in values), *tie), values,
                        table, on, condition)

    if text and num:  # params: numbers numerically, then the rest as text
        found += [segment(f"{num} IS NOT NULL", (num, text)), segment(f"{num} IS NULL", (text,))]
    elif num and target.nan_is_null:  # metrics: numbers, then NaN (stored NULL)
        found += [segment(f"{num} IS NOT NULL", (num,)), segment(f"{num} IS NULL", ())]
    else:
        found.append(segment("1", (text or num,)))
    found.append(_Segment(f"FROM runs r WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {on})", tie,
                          table=table, on=on, condition=""))
    return found


def _order(terms: tuple[tuple[str, bool], ...], reverse: bool) -> str:
    return ", ".join(f"{sql} {'ASC' if desc == reverse else 'DESC'}" for sql, desc in terms)


@dataclass
class _Scope:
    """The experiments-and-view part of a search (SQL over ``runs r``), its size read once."""
    sql: str
    params: list
    size: int | None = None

    def count(self, conn: sqlite3.Connection) -> int:
        if self.size is None:
            (self.size,) = conn.execute(f"SELECT count(*) FROM runs r WHERE {self.sql}", self.params).fetchone()
        return self.size


def _walk(conn: sqlite3.Connection, parts: list[_Segment], key: str, where: str, params: list,
          offset: int, count: int, reverse: bool, scope: _Scope) -> list[int]:
    """``count`` run ids from ``offset`` of the segments read one after the other."""
    found: list[int] = []
    for segment in parts:
        want = count - len(found)
        if want <= 0:
            break
        if segment.table and not segment.condition and _nobody_lacks(conn, segment, key, scope):
            continue  # the runs without the key: none (finding that out by looking costs a scan)
        if segment.values and _big_groups(conn, segment, key, reverse):
            rows, offset = _walk_groups(conn, segment, key, where, params, offset, want, reverse)
            found += rows
            continue
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


def _nobody_lacks(conn, segment: _Segment, key: str, scope: _Scope) -> bool:
    """True when no run in ``scope`` (experiments and view, SQL over ``runs r``) lacks the key,
    found without asking each run in scope (a probe a run: 70-80 ms on 100k runs).

    Every run in the file has it when there are as many rows with the key as runs (two index
    counts). Else, when the scope holds most of the file (one big experiment beside small
    ones), the few runs outside it are asked instead: if they account for every run without
    the key, none is in scope. (A False here only means "look".)"""
    (having,) = conn.execute(f"SELECT count(*) FROM {segment.table} WHERE {_key_condition(segment)}",
                             [key]).fetchone()
    (runs,) = conn.execute("SELECT count(*) FROM runs").fetchone()
    if having == runs:
        return True
    in_scope = scope.count(conn)
    if runs - in_scope > in_scope:
        return False
    (lacking_outside,) = conn.execute(
        f"SELECT count(*) FROM runs r WHERE NOT ({scope.sql}) AND NOT EXISTS (SELECT 1 FROM {segment.table} "
        f"WHERE {segment.on})", [*scope.params, key]).fetchone()
    return lacking_outside == runs - having


def _key_condition(segment: _Segment) -> str:
    """The join condition without its ``k.run_id = r.id`` part: the key's match alone."""
    return segment.on.split(" AND ", 1)[1]


def _next_group(conn, segment: _Segment, key: str, after: tuple | None, reverse: bool) -> tuple | None:
    """The value of the next run group of the segment, in its order (an index seek)."""
    columns = ", ".join(segment.values)
    desc = [d != reverse for _, d in segment.terms[:len(segment.values)]]
    # the value columns of one segment all sort the same way
    word, op = ("DESC", "<") if desc[0] else ("ASC", ">")
    sql = f"SELECT {columns} FROM {segment.table} WHERE {_key_condition(segment)} AND {segment.condition}"
    args: list = [key]
    if after is not None:
        sql += f" AND ({columns}) {op} ({', '.join('?' * len(after))})"
        args += list(after)
    order = ", ".join(f"{c} {word}" for c in segment.values)
    return conn.execute(f"{sql} ORDER BY {order} LIMIT 1", args).fetchone()


def _group_size(conn, segment: _Segment, key: str, group: tuple) -> int:
    same = " AND ".join(f"{c} = ?" for c in segment.values)
    return conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {segment.table} WHERE {_key_condition(segment)} "
                        f"AND {segment.condition} AND {same} LIMIT ?)", [key, *group, BIG_GROUP]).fetchone()[0]


#: How many of a segment's first values ``_big_groups`` looks at: a lone odd value first (one
#: run with user "root" before 33k runs each of three others) must not hide the big groups.
GROUPS_LOOKED_AT = 3


def _big_groups(conn, segment: _Segment, key: str, reverse: bool) -> bool:
    """Is one of the segment's first values shared by many runs? (Then its values are few and
    the walk goes group by group; with many distinct values the sort is cheap anyway.)"""
    group = None
    for _ in range(GROUPS_LOOKED_AT):
        group = _next_group(conn, segment, key, group, reverse)
        if group is None:
            return False
        if _group_size(conn, segment, key, group) >= BIG_GROUP:
            return True
    return False


def _walk_groups(conn, segment: _Segment, key: str, where: str, params: list, offset: int, count: int,
                 reverse: bool) -> tuple[list[int], int]:
    """Like one segment of ``_walk``, one value at a time: a big group is read in the runs'
    tie-breaker order (an index on runs) checking each run's value; a small one through the
    value index and sorted. Returns the ids and the offset left for the next segment."""
    found: list[int] = []
    tie = _order(segment.terms[len(segment.values):], reverse)
    same = " AND ".join(f"{c} = ?" for c in segment.values)
    group = None
    while len(found) < count:
        group = _next_group(conn, segment, key, group, reverse)
        if group is None:
            break
        if _group_size(conn, segment, key, group) >= BIG_GROUP:
            source = f"FROM runs r CROSS JOIN {segment.table} ON {segment.on}"
        else:
            source = f"FROM {segment.table} CROSS JOIN runs r ON {segment.on}"
        condition = f"{segment.condition} AND {same} AND {where}"
        rows = conn.execute(f"SELECT r.id {source} WHERE {condition} ORDER BY {tie} LIMIT ? OFFSET ?",
                            [key, *group, *params, count - len(found), offset]).fetchall()
        found += [pk for (pk,) in rows]
        if rows:
            offset = 0
        elif offset:
            (size,) = conn.execute(f"SELECT count(*) {source} WHERE {condition}", [key, *group, *params]).fetchone()
            offset -= size
    return found, offset


def page(conn: sqlite3.Connection, target: Keyed, key: str, descending: bool, where: str, params: list,
         offset: int, limit: int, scope: tuple[str, list] | None = None) -> list[int]:
    """Run ids ``offset`` .. ``offset + limit`` (fewer at the end) of the runs matching ``where``
    (SQL over ``runs r`` with ``params``), in ``order_by=[f"<entity>.{key} {direction}"]`` order.
    ``scope``: the part of ``where`` that picks experiments and view, without the user's filter
    (SQL, params); when given it makes telling that no run lacks the key cheaper."""
    parts = segments(target, descending)
    matching = _Scope(where, list(params))
    wider = _Scope(scope[0], list(scope[1])) if scope and scope[0] != where else matching
    if offset >= FLIP_FROM:
        where_to_read = from_the_end(matching.count(conn), offset, limit)
        if where_to_read is None:
            return []
        reverse, start, count = where_to_read
        if reverse:  # nearer the end: read the reversed order from there
            return _walk(conn, parts[::-1], key, where, params, start, count, True, wider)[::-1]
    return _walk(conn, parts, key, where, params, offset, limit, False, wider)
