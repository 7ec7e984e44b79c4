"""The store sorts through LEFT JOINs (``compile_run_order_joined``): it must give exactly the
order ``compile_run_order``'s subqueries give (the grammar tests pin that one to MLflow's), for
any order_by, and ``reverse`` must give exactly the opposite order (reading the last page)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighttrack.errors import InvalidFilter
from lighttrack.store.search import compile_run_order, compile_run_order_joined
from search_data import ORDERS, db  # noqa: F401  (db is a fixture)

KEYS = ["metrics.acc", "metrics.loss", "metrics.`my metric-1`", "metrics.nope", "params.lr",
        "params.model", "params.`a b`", "params.nope", "tags.note", "tags.`mlflow.user`",
        "tags.group", "status", "run_name", "start_time", "end_time", "duration", "user_id",
        "run_id", "experiment_id"]
ITEMS = st.tuples(st.sampled_from(KEYS), st.sampled_from(["", " ASC", " DESC"])).map("".join)
HEAVY = "CASE WHEN r.status = 'RUNNING' AND r.start_time < ? THEN 'KILLED' ELSE r.status END"


def subqueries(conn, order_by, where="1", **kw) -> list[str]:
    order, params = compile_run_order(order_by, **kw)
    return [r[0] for r in conn.execute(f"SELECT r.uuid FROM runs r WHERE {where} ORDER BY {order}", params)]


def joined(conn, order_by, where="1", reverse=False, **kw) -> list[str]:
    sort = compile_run_order_joined(order_by, **kw)
    order, params = sort.order(reverse)
    sql = f"SELECT r.uuid FROM runs r {sort.joins} WHERE {where} ORDER BY {order}"
    return [r[0] for r in conn.execute(sql, [*sort.join_params, *params])]


@pytest.mark.parametrize("order_by, expected", ORDERS)
def test_joined_order_is_mlflows_order(db, order_by, expected):  # noqa: F811
    assert joined(db, order_by) == expected
    assert joined(db, order_by, reverse=True) == expected[::-1]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(ITEMS, max_size=4), where=st.sampled_from(["1", "r.experiment_id = 1",
                                                                 "r.lifecycle_stage = 'active'"]))
def test_joined_order_equals_subquery_order(db, items, where):  # noqa: F811
    expected = subqueries(db, items, where)
    assert joined(db, items, where) == expected
    assert joined(db, items, where, reverse=True) == expected[::-1]


def test_joined_order_with_a_status_expression(db):  # noqa: F811
    kw = dict(status_sql=HEAVY, status_params=[1250])
    for items in (["status", "metrics.acc DESC"], ["status DESC"], ["params.lr", "status"]):
        assert joined(db, items, **kw) == subqueries(db, items, **kw)


@pytest.mark.parametrize("items", [["bogus"], [""], ["metrics.acc DESCENDING"], ["x"] * 51])
def test_joined_order_refuses_what_the_subquery_order_refuses(items):
    with pytest.raises(InvalidFilter) as joined_error:
        compile_run_order_joined(items)
    with pytest.raises(InvalidFilter) as subquery_error:
        compile_run_order(items)
    assert str(joined_error.value) == str(subquery_error.value)
