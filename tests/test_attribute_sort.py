"""Sorting by name, start time, end time, duration or user: pages (read through the 0008
indexes where they exist) hold exactly
MLflow's order (runs without the value last, ties by start time, newest first, then run id), in
both directions, paged from the start and from the end; and the orders the indexes exist for
never sort all runs of the experiment."""

from __future__ import annotations

import random

import pytest

from lighttrack import LighttrackClient
from lighttrack.entities import ViewType
from lighttrack.store import run_sort
from lighttrack.store.runs import _scope, status_sql
from lighttrack.store.search import compile_run_filter, compile_run_order_joined


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    rng = random.Random(11)
    client = LighttrackClient(tmp_path_factory.mktemp("attr-sort") / "t.db")
    exp = client.create_experiment("sweep")
    other = client.create_experiment("other")
    for i in range(240):
        start = 1_000 + rng.randint(0, 60)  # many equal start times
        run = client.create_run(rng.choice([exp, exp, exp, other]), start_time=start,
                                run_name=rng.choice(["alpha", "beta", f"run-{i}", "Gamma"]),
                                tags={"mlflow.user": rng.choice(["ana", "bo", "Chen", "ana"])})
        if rng.random() < 0.8:  # the rest stay RUNNING: no end time, no duration
            client.set_terminated(run.info.run_id, end_time=start + rng.choice([5, 10, 10, 30, rng.randint(1, 99)]))
        if rng.random() < 0.1:
            client.delete_run(run.info.run_id)
    return client, exp


def _expected(client, exp: str, attribute: str, descending: bool) -> list[str]:
    runs = client.search_runs([exp], max_results=None)

    def value(run):
        info = run.info
        if attribute == "run_name":
            return info.run_name
        if attribute == "end_time":
            return info.end_time
        if attribute == "start_time":
            return info.start_time
        if attribute == "user_id":
            return info.user_id
        if attribute == "status":
            return info.status
        return None if info.end_time is None else info.end_time - info.start_time

    present = [r for r in runs if value(r) is not None]
    missing = [r for r in runs if value(r) is None]
    tie = sorted(present + missing, key=lambda r: (-r.info.start_time, r.info.run_id))
    ordered = sorted([r for r in tie if value(r) is not None], key=value, reverse=descending)  # stable
    return [r.info.run_id for r in ordered + [r for r in tie if value(r) is None]]


def _paged(client, exp: str, order: str, size: int) -> list[str]:
    found, token = [], None
    while True:
        page = client.search_runs([exp], max_results=size, order_by=[order], page_token=token)
        found += [r.info.run_id for r in page]
        token = page.token
        if token is None:
            return found


@pytest.mark.parametrize("flip_from", [1000, 20])  # 20: pages past the middle are read from the end
@pytest.mark.parametrize("attribute", ["run_name", "start_time", "end_time", "duration", "user_id", "status"])
@pytest.mark.parametrize("descending", [False, True])
def test_pages_hold_mlflows_order(sweep, attribute, descending, flip_from, monkeypatch):
    client, exp = sweep
    monkeypatch.setattr(run_sort, "FLIP_FROM", flip_from)
    want = _expected(client, exp, attribute, descending)
    order = f"attributes.{attribute} {'DESC' if descending else 'ASC'}"
    assert _paged(client, exp, order, 17) == want


@pytest.mark.parametrize("order", ["attributes.run_name ASC", "attributes.end_time DESC",
                                   "attributes.duration DESC"])
@pytest.mark.parametrize("reverse", [False, True])  # reverse: the last pages, read from the end
def test_the_indexed_orders_never_sort_the_whole_experiment(sweep, order, reverse):
    client, exp = sweep
    conn = client.store.conn
    where, params = compile_run_filter("", status_sql=status_sql(conn))
    clauses, scope = _scope(conn, [exp], ViewType.ACTIVE_ONLY, where)
    sort = compile_run_order_joined([order], status_sql=status_sql(conn))
    terms, term_params = sort.order(reverse)
    plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT r.id FROM runs r {sort.joins} WHERE {' AND '.join(clauses)} "
                        f"ORDER BY {terms} LIMIT 101", [*sort.join_params, *scope, *params, *term_params]).fetchall()
    steps = [row[3] for row in plan]
    attribute = order.split(".")[1].split()[0]
    index = {"run_name": "runs_by_name", "end_time": "runs_by_end_time", "duration": "runs_by_duration"}[attribute]
    assert any(f"INDEX {index} " in step for step in steps), steps
    # Sorting rows of equal (value, start time, id) by the row number is all that is left.
    assert "USE TEMP B-TREE FOR ORDER BY" not in steps, steps


@pytest.mark.parametrize("order", ["attributes.start_time ASC", "attributes.start_time DESC",
                                   "attributes.end_time ASC", "attributes.end_time DESC"])
def test_start_and_end_time_orders_read_two_index_ranges_in_the_general_order(tmp_path, order, monkeypatch):
    """Start/end time orders are read as two segments (runs with the value, then without:
    store/attribute_sort.py); pages from either end equal the general query's, with runs
    whose start time is missing (imported from elsewhere) and RUNNING runs (no end time);
    the segment of runs with the value reads an index range, never a sort of all of them."""
    from lighttrack.store import attribute_sort
    from lighttrack.store.runs import _joined_page

    rng = random.Random(5)
    client = LighttrackClient(tmp_path / "t.db")
    exp, other = client.create_experiment("e"), client.create_experiment("other")
    for i in range(90):
        run = client.create_run(rng.choice([exp, exp, other]), start_time=1_000 + rng.randint(0, 20))
        if rng.random() < 0.7:
            client.set_terminated(run.info.run_id, end_time=2_000 + rng.randint(0, 15))
    conn = client.store.conn
    with conn:
        conn.execute("UPDATE runs SET start_time = NULL WHERE id % 7 = 0")
    where, params = compile_run_filter("", status_sql=status_sql(conn))
    clauses, scope = _scope(conn, [exp], ViewType.ACTIVE_ONLY, where)
    sql, args = " AND ".join(clauses), [*scope, *params]
    sort = compile_run_order_joined([order], status_sql=status_sql(conn))
    expected = _joined_page(conn, sort, sql, args, 0, None)
    parts = attribute_sort.segments(sort)
    assert parts is not None and len(expected) > 30
    for size in (1, 6, 25):
        paged = []
        for offset in range(0, len(expected) + size, size):
            paged += attribute_sort.page(conn, parts, sql, args, offset, size, flip_from=8)[:size]
        assert paged == expected, size
    ids = [r.info.run_id for r in client.search_runs([exp], order_by=[order], max_results=None)]
    pk_of = dict(conn.execute("SELECT uuid, id FROM runs").fetchall())
    assert [pk_of[i] for i in ids] == expected
    condition, present_order = parts[0]
    terms, _ = present_order.order(False)
    plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT r.id FROM runs r WHERE {sql} AND {condition} ORDER BY {terms} "
                        "LIMIT 101", args).fetchall()
    assert "USE TEMP B-TREE FOR ORDER BY" not in [row[3] for row in plan], plan


@pytest.mark.parametrize("order, oldest_first", [
    ("attributes.status ASC", True), ("attributes.user_id DESC", True), ("attributes.duration ASC", True),
    ("attributes.run_name DESC", False), ("attributes.duration DESC", False),  # an index gives these
])
def test_last_pages_of_sorts_no_index_serves_read_the_oldest_runs_first(sweep, order, oldest_first, monkeypatch):
    """Read from the end, SQLite sorts such an order itself; rows arriving oldest first (the
    tie order reversed) are turned away by its page-sized heap at once. Orders an index serves
    keep that index: forcing another one would sort all runs."""
    client, exp = sweep
    monkeypatch.setattr(run_sort, "FLIP_FROM", 20)
    seen: list[str] = []
    client.store.conn.set_trace_callback(seen.append)
    try:
        total = len(client.search_runs([exp], max_results=None))
        token = client.page_token_at(total - 17)
        page = client.search_runs([exp], max_results=17, order_by=[order], page_token=token)
    finally:
        client.store.conn.set_trace_callback(None)
    attribute, direction = order.split(".")[1].split()
    assert [r.info.run_id for r in page] == _expected(client, exp, attribute, direction == "DESC")[total - 17:]
    hinted = [sql for sql in seen if "INDEXED BY runs_in_scope" in sql]
    assert bool(hinted) == oldest_first, seen
