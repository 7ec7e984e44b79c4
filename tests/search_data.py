"""The small real database the search tests run on (grammar, fuzz, joined order).

The data below is the ground truth twice: it is inserted into SQLite, and a tiny Python oracle
(tests/test_search_fuzz.py) evaluates random filters over the same dicts, so the compiled SQL is
checked against an independent reading of the semantics, not only against itself.
"""

from __future__ import annotations

import sqlite3

import pytest

from lighttrack.store.search import compile_run_filter, compile_run_order

SCHEMA = """
CREATE TABLE experiments (id INTEGER PRIMARY KEY, uuid TEXT, name TEXT, lifecycle_stage TEXT,
    artifact_location TEXT, creation_time INTEGER, last_update_time INTEGER);
CREATE TABLE experiment_tags (experiment_id INTEGER, key TEXT, value TEXT,
    PRIMARY KEY (experiment_id, key));
CREATE TABLE runs (id INTEGER PRIMARY KEY, uuid TEXT, experiment_id INTEGER, name TEXT,
    status TEXT, lifecycle_stage TEXT, start_time INTEGER, end_time INTEGER, user_id TEXT,
    artifact_uri TEXT);
CREATE TABLE params (run_id INTEGER, key TEXT, value TEXT, num REAL, PRIMARY KEY (run_id, key));
CREATE TABLE tags (run_id INTEGER, key TEXT, value TEXT, PRIMARY KEY (run_id, key));
CREATE TABLE metric_keys (id INTEGER PRIMARY KEY, key TEXT UNIQUE);
CREATE TABLE latest_metrics (run_id INTEGER, key_id INTEGER, step INTEGER, timestamp INTEGER,
    value REAL, min REAL, max REAL, count INTEGER, PRIMARY KEY (run_id, key_id));
"""

EXPERIMENTS = [  # id, uuid, name, stage, creation, last update, tags
    (1, "exp-a", "Alpha", "active", 100, 500, {"team": "vision"}),
    (2, "exp-b", "beta", "deleted", 200, 500, {}),
    (3, "exp-c", "Gamma", "active", 300, 900, {"team": "NLP"}),
]
NAN = float("nan")


def _run(i, exp, name, status, start, end, user, params, tags, metrics, stage="active"):
    return dict(id=i, uuid=f"r{i}", exp=exp, name=name, status=status, stage=stage, start=start,
                end=end, user=user, params=params, tags=tags, metrics=metrics)


RUNS = [
    _run(1, 1, "alpha-run", "FINISHED", 1000, 2000, "alice",
         {"lr": "0.01", "model": "cnn", "a b": "x y"},
         {"mlflow.user": "alice", "note": "Hello World", "team/name": "a:b"},
         {"acc": 0.9, "loss": 0.1}),
    _run(2, 1, "Beta run", "FAILED", 1100, 1500, "bob", {"lr": "0.1", "model": "rnn"},
         {"mlflow.user": "bob", "note": "hello*world"}, {"acc": 0.5, "loss": NAN}),
    _run(3, 1, "gamma", "RUNNING", 1200, None, "alice", {"lr": "abc", "model": "CNN"},
         {"mlflow.user": "alice", "note": "HELLO world"}, {"acc": 0.7}),
    _run(4, 2, "delta", "KILLED", 1300, 1400, "carol", {"lr": "1e-3", "model": "cnn"},
         {"note": "x[1]"}, {"acc": 0.95, "loss": 0.05}, stage="deleted"),
    _run(5, 1, "epsilon", "FINISHED", 1400, 4400, "bob", {"lr": "0.5", "model": "mlp"},
         {"note": "50% off"}, {"acc": NAN, "loss": 0.3}),
    _run(6, 3, "zeta", "SCHEDULED", None, None, "dave", {"model": "cnn"},
         {"quote": "it's"}, {}),
    _run(7, 1, "eta", "FINISHED", 1600, 1700, "Alice", {"lr": "2", "a b": "z"},
         {"mlflow.user": "Alice", "note": "hello_world"}, {"acc": 0.9, "my metric-1": 3.0}),
    _run(8, 1, "theta", "RUNNING", 1600, None, "bob", {"lr": "0.01", "model": "Cnn"},
         {"group": "g1"}, {"loss": 0.2}),
]
ALL = {r["uuid"] for r in RUNS}


def _num(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    for eid, uuid, name, stage, created, updated, tags in EXPERIMENTS:
        conn.execute("INSERT INTO experiments VALUES (?,?,?,?,?,?,?)",
                     (eid, uuid, name, stage, f"/art/{uuid}", created, updated))
        conn.executemany("INSERT INTO experiment_tags VALUES (?,?,?)",
                         [(eid, k, v) for k, v in tags.items()])
    key_ids: dict[str, int] = {}
    for r in RUNS:
        conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (r["id"], r["uuid"], r["exp"], r["name"], r["status"], r["stage"],
                      r["start"], r["end"], r["user"], f"file:///art/{r['uuid']}"))
        for k, v in r["params"].items():
            conn.execute("INSERT INTO params VALUES (?,?,?,?)", (r["id"], k, v, _num(v)))
        for k, v in r["tags"].items():
            conn.execute("INSERT INTO tags VALUES (?,?,?)", (r["id"], k, v))
        for k, v in r["metrics"].items():
            if k not in key_ids:
                key_ids[k] = len(key_ids) + 1
                conn.execute("INSERT INTO metric_keys VALUES (?,?)", (key_ids[k], k))
            conn.execute("INSERT INTO latest_metrics VALUES (?,?,0,0,?,?,?,1)",
                         (r["id"], key_ids[k], v, v, v))  # NaN binds as NULL
    return conn


def select(conn, filter_string=None, order_by=None, **kw) -> list[str]:
    where, params = compile_run_filter(filter_string, **kw)
    order, oparams = compile_run_order(order_by, **kw)
    sql = f"SELECT r.uuid FROM runs r WHERE {where} ORDER BY {order}"
    return [row[0] for row in conn.execute(sql, params + oparams)]


def names(*ids: int) -> set[str]:
    return {f"r{i}" for i in ids}


ORDERS = [
    # MLflow's ties: start_time DESC, then run_id; metrics: numbers, then NaN, then missing
    (None, ["r7", "r8", "r5", "r4", "r3", "r2", "r1", "r6"]),  # start_time DESC, run_id ASC
    (["metrics.acc DESC"], ["r4", "r7", "r1", "r3", "r2", "r5", "r8", "r6"]),
    (["metrics.acc"], ["r2", "r3", "r7", "r1", "r4", "r5", "r8", "r6"]),
    (["params.lr"], ["r4", "r8", "r1", "r2", "r5", "r7", "r3", "r6"]),
    (["params.lr DESC"], ["r7", "r5", "r2", "r8", "r1", "r4", "r3", "r6"]),
    (["param.model asc"], ["r3", "r8", "r4", "r1", "r6", "r5", "r2", "r7"]),
    (["start_time ASC"], ["r1", "r2", "r3", "r4", "r5", "r7", "r8", "r6"]),
    (["Created DESC"], ["r7", "r8", "r5", "r4", "r3", "r2", "r1", "r6"]),
    (["tags.mlflow.user DESC", "run_name"], ["r2", "r1", "r3", "r7", "r4", "r5", "r8", "r6"]),
    (["status", "metrics.`loss` DESC"], ["r2", "r5", "r1", "r7", "r4", "r8", "r3", "r6"]),
    (["duration DESC"], ["r5", "r1", "r2", "r7", "r4", "r8", "r3", "r6"]),
]
