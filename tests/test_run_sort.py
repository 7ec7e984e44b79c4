"""A search sorted by one metric, param or tag walks an index (store/run_sort.py), and a page
past the middle is read from the end: every page must hold exactly the runs, in exactly the
order, of the general query (all runs sorted at once), in both directions, with filters, runs
missing the key, NaN metrics, text and numeric params mixed, deleted runs and ties."""

from __future__ import annotations

import math
import random

import pytest

from lighttrack import LighttrackClient
from lighttrack.entities import Metric, Param, RunTag, ViewType
from lighttrack.store import run_sort
from lighttrack.store.runs import _joined_page, _scope, status_sql
from lighttrack.store.search import compile_run_filter, compile_run_order_joined


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    rng = random.Random(3)
    client = LighttrackClient(tmp_path_factory.mktemp("sort") / "t.db")
    exps = [client.create_experiment("a"), client.create_experiment("b")]
    for i in range(260):
        run = client.create_run(rng.choice(exps), start_time=1000 + rng.randint(0, 40),  # many ties
                                run_name=f"r{i}")
        metrics, params, tags = [], [], []
        params.append(Param("seed", str(i % 7)))  # every run has it: no look for runs without
        if rng.random() < 0.8:
            metrics.append(Metric("acc", rng.choice([0.5, 0.7, 0.9, math.nan, rng.random()]), 0, 0))
        if rng.random() < 0.85:
            params.append(Param("lr", rng.choice(["0.1", "0.01", "1e-3", "abc", "x", "2"])))
        if rng.random() < 0.7:
            tags.append(RunTag("team", rng.choice(["ana", "bo", "Chen"])))
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        if rng.random() < 0.1:
            client.delete_run(run.info.run_id)
    return client, exps


ORDERS = ["metrics.acc", "metrics.acc DESC", "params.lr", "params.lr DESC", "tags.team",
          "tags.team DESC", "params.nope", "metrics.nope DESC", "params.seed", "params.seed DESC"]


def _general(conn, where, params, order_by):
    sort = compile_run_order_joined([order_by], status_sql=status_sql(conn))
    return _joined_page(conn, sort, where, params, 0, None)


@pytest.mark.parametrize("big_group", [2000, 3])  # 3: values read group by group in the runs' order
@pytest.mark.parametrize("order_by", ORDERS)
@pytest.mark.parametrize("filter_string, view", [("", ViewType.ACTIVE_ONLY), ("params.lr != '2'", ViewType.ALL),
                                                 ("metrics.acc > 0.6 OR tags.team = 'bo'", ViewType.ACTIVE_ONLY)])
def test_index_walk_pages_equal_the_general_order(client, order_by, filter_string, view, big_group, monkeypatch):
    c, exps = client
    monkeypatch.setattr(run_sort, "BIG_GROUP", big_group)
    conn = c._conn
    status = status_sql(conn)
    where, params = compile_run_filter(filter_string, status_sql=status)
    for experiment_ids in ([exps[0]], exps):
        clauses, scope = _scope(conn, experiment_ids, view, where)
        sql, args = " AND ".join(clauses), [*scope, *params]
        expected = _general(conn, sql, args, order_by)
        target, key, descending = _keyed(order_by)
        monkeypatch.setattr(run_sort, "FLIP_FROM", 7)  # small pages reach the reversed reading
        for size in (1, 7, 50):
            pages = []
            for offset in range(0, len(expected) + size, size):
                pages += run_sort.page(conn, target, key, descending, sql, args, offset, size,
                                       scope=(" AND ".join(clauses[:-1]), list(scope)))
            assert pages == expected, (order_by, size)
        assert run_sort.page(conn, target, key, descending, sql, args, len(expected) + 3, 5) == []


def _keyed(order_by):
    from lighttrack.store.search import single_keyed_run_order

    return single_keyed_run_order([order_by])


@pytest.mark.parametrize("flip_from", [1000, 7])  # 7: pages past the middle read from the end
@pytest.mark.parametrize("big_group", [2000, 3])
def test_search_runs_pages_are_the_same_with_the_index_walk(client, flip_from, big_group, monkeypatch):
    c, exps = client
    monkeypatch.setattr(run_sort, "FLIP_FROM", flip_from)
    monkeypatch.setattr(run_sort, "BIG_GROUP", big_group)
    for order_by in ORDERS + ["start_time", "duration DESC", "run_name"]:
        everything = [r.info.run_id for r in c.search_runs(exps, order_by=[order_by], max_results=None)]
        paged, token = [], None
        while True:
            page = c.search_runs(exps, order_by=[order_by], max_results=30, page_token=token)
            paged += [r.info.run_id for r in page]
            token = page.token
            if token is None:
                break
        assert paged == everything, order_by
        last = c.search_runs(exps, order_by=[order_by], max_results=30,
                             page_token=c.page_token_at(len(everything) - 10))
        assert [r.info.run_id for r in last] == everything[-10:] and last.token is None


def _trace(conn):
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    return statements


@pytest.mark.parametrize("one_in_scope_lacks", [False, True])
def test_runs_lacking_the_key_outside_a_big_experiment_are_not_looked_for_in_it(tmp_path, one_in_scope_lacks,
                                                                                monkeypatch):
    """One big experiment whose runs all have ``acc`` beside a small one whose runs lack it: the
    last page is read without asking each run of the big one whether it lacks the key, and is
    still exactly the general order's; when one run in scope does lack it, it is found."""
    c = LighttrackClient(tmp_path / "t.db")
    big, small = c.create_experiment("big"), c.create_experiment("small")
    for i in range(40):
        run = c.create_run(big, start_time=1000 + i)
        if not (one_in_scope_lacks and i == 17):
            c.log_metric(run.info.run_id, "acc", (i * 7) % 11 / 10)
    for i in range(4):
        c.create_run(small, start_time=2000 + i)
    monkeypatch.setattr(run_sort, "FLIP_FROM", 7)
    everything = [r.info.run_id for r in c.search_runs([big], order_by=["metrics.acc DESC"], max_results=None)]
    statements = _trace(c._conn)
    last = c.search_runs([big], order_by=["metrics.acc DESC"], max_results=5, page_token=c.page_token_at(35))
    c._conn.set_trace_callback(None)
    assert [r.info.run_id for r in last] == everything[35:]
    asked_each_run = any("FROM runs r WHERE NOT EXISTS" in s for s in statements)
    assert asked_each_run == one_in_scope_lacks
    if one_in_scope_lacks:  # runs without the metric sort last in MLflow's order
        assert last[-1].data.metrics == {}


def test_a_lone_odd_value_first_does_not_hide_big_groups_behind_it(tmp_path, monkeypatch):
    """Tag values: one run with "root", then many runs each of three users. Read from the end
    (DESC reversed), "root" comes first: the walk must still go group by group (no sort of a
    whole user's runs), and give the general order's page."""
    c = LighttrackClient(tmp_path / "t.db")
    exp = c.create_experiment("e")
    for i in range(60):
        run = c.create_run(exp, start_time=1000 + i % 13)
        c.set_tag(run.info.run_id, "user", "root" if i == 5 else ["ana", "bo", "chen"][i % 3])
    monkeypatch.setattr(run_sort, "BIG_GROUP", 10)
    monkeypatch.setattr(run_sort, "FLIP_FROM", 7)
    for order_by in ("tags.user", "tags.user DESC"):
        everything = [r.info.run_id for r in c.search_runs([exp], order_by=[order_by], max_results=None)]
        statements = _trace(c._conn)
        last = c.search_runs([exp], order_by=[order_by], max_results=6, page_token=c.page_token_at(54))
        c._conn.set_trace_callback(None)
        assert [r.info.run_id for r in last] == everything[54:], order_by
        group_reads = [s for s in statements if "k.value = " in s and s.lstrip().startswith("SELECT r.id")]
        assert group_reads, "the page was not read group by group"
