"""Search filter grammar: parser, compilers and the SQL they produce, run on a small real DB.

The data below is the ground truth twice: it is inserted into SQLite, and a tiny Python oracle
evaluates random filters over the same dicts, so the compiled SQL is checked against an
independent reading of the semantics, not only against itself.
"""

from __future__ import annotations

import math
import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighttrack.errors import InvalidFilter
from lighttrack.store.search import (
    MAX_COMPARISONS, compile_experiment_filter, compile_experiment_order, compile_run_filter,
    compile_run_order, like_to_glob, parse_filter,
)
from lighttrack.store.search_parse import MAX_DEPTH, And, Comparison, Literal, Not, Or

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


CASES = [
    # attributes, with and without prefixes and aliases
    ("status = 'FINISHED'", names(1, 5, 7)),
    ("status = 'finished'", names(1, 5, 7)),
    ("attributes.status != 'FINISHED'", names(2, 3, 4, 6, 8)),
    ("attribute.status <> 'FINISHED'", names(2, 3, 4, 6, 8)),
    ("status IN ('RUNNING', 'scheduled')", names(3, 6, 8)),
    ("status NOT IN ('RUNNING')", names(1, 2, 4, 5, 6, 7)),
    ("status LIKE 'fin%'", names(1, 5, 7)),
    ("run_name = 'gamma'", names(3)),
    ("name LIKE '%eta'", names(6, 7, 8)),
    ("attr.run_name ILIKE 'beta%'", names(2)),
    ("run_name LIKE 'beta%'", set()),
    ("run.name NOT LIKE '%a'", names(1, 2, 5)),
    ("runName NOT ILIKE 'BETA%'", ALL - names(2)),
    ("user_id = 'alice'", names(1, 3)),
    ("user ILIKE 'alice'", names(1, 3, 7)),
    ("run_id IN ('r1', 'r4')", names(1, 4)),
    ("id = 'r2'", names(2)),
    ("`run_id` = 'r2'", names(2)),
    ("start_time >= 1400", names(5, 7, 8)),
    ("created < 1200", names(1, 2)),
    ("Created = 1000", names(1)),
    ("start_time IN (1000, 1100)", names(1, 2)),
    ("start_time NOT IN (1000, 1100)", names(3, 4, 5, 7, 8)),
    ("end_time IS NULL", names(3, 6, 8)),
    ("end_time is not null", names(1, 2, 4, 5, 7)),
    ("duration >= 1000", names(1, 5)),
    ("duration = 100", names(4, 7)),
    ("NOT (end_time > 1600)", names(2, 3, 4, 6, 8)),
    ("lifecycle_stage = 'deleted'", names(4)),
    ("experiment_id = 'exp-b'", names(4)),
    ("attributes.experiment_id IN ('exp-a', 'exp-c')", ALL - names(4)),
    ("artifact_uri LIKE 'file:///art/r1'", names(1)),
    # metrics: the latest value; NaN is stored as NULL
    ("metrics.acc > 0.8", names(1, 4, 7)),
    ("metric.acc >= 0.9", names(1, 4, 7)),
    ("metrics.acc = 0.9", names(1, 7)),
    ("metrics.acc != 0.9", names(2, 3, 4, 5)),
    ("metrics.acc < 0.7", names(2)),
    ("metrics.acc <= 0.7", names(2, 3)),
    ("metrics.acc > -1", names(1, 2, 3, 4, 7)),
    ("metrics.acc > 1e-1", names(1, 2, 3, 4, 7)),
    ("metrics.acc>.85", names(1, 4, 7)),
    ("metrics.acc IN (0.5, 0.7)", names(2, 3)),
    ("metrics.acc NOT IN (0.5, 0.7)", names(1, 4, 5, 7)),
    ("metrics.loss IS NULL", names(3, 6, 7)),
    ("metrics.loss IS NOT NULL", names(1, 2, 4, 5, 8)),
    ("metrics.`my metric-1` = 3", names(7)),
    ('metrics."my metric-1" >= 3', names(7)),
    ("NOT metrics.acc > 0.8", names(2, 3, 5, 6, 8)),
    ("METRICS.acc > 0.8", names(1, 4, 7)),
    # params: strings compare as text, numbers compare the parsed number
    ("params.lr = '0.01'", names(1, 8)),
    ("params.lr = 0.01", names(1, 8)),
    ("params.lr < 0.1", names(1, 4, 8)),
    ("params.lr <= 0.1", names(1, 2, 4, 8)),
    ("params.lr > '0.1'", names(3, 4, 5, 7)),
    ("params.lr = 2", names(7)),
    ("params.lr = 2.0", names(7)),
    ("params.lr != '0.01'", names(2, 3, 4, 5, 7)),
    ("NOT params.lr = '0.01'", names(2, 3, 4, 5, 6, 7)),
    ("NOT (params.lr = '0.01')", names(2, 3, 4, 5, 6, 7)),
    ("params.lr IS NULL", names(6)),
    ("param.lr IS NOT NULL", ALL - names(6)),
    ("params.model IN ('cnn', 'mlp')", names(1, 4, 5, 6)),
    ("params.model NOT IN ('cnn')", names(2, 3, 5, 8)),
    ("params.model LIKE 'c%'", names(1, 4, 6)),
    ("params.model ILIKE 'c%'", names(1, 3, 4, 6, 8)),
    ("params.model NOT ILIKE 'c%'", names(2, 5)),
    ("parameters.lr IN (0.01, 2)", names(1, 7, 8)),
    ("parameter.\"a b\" = 'x y'", names(1)),
    ("params.`a b` != 'x y'", names(7)),
    # tags: strings only; LIKE is case-sensitive and literal * [ ? stay literal
    ("tags.mlflow.user = 'alice'", names(1, 3)),
    ("tag.mlflow.user ILIKE 'ALICE'", names(1, 3, 7)),
    ("tags.mlflow.user LIKE 'A%'", names(7)),
    ("tags.note LIKE 'hello%'", names(2, 7)),
    ("tags.note ILIKE 'hello%'", names(1, 2, 3, 7)),
    ("tags.note LIKE '%*%'", names(2)),
    ("tags.note LIKE 'hello*world'", names(2)),
    ("tags.note ILIKE '%*%'", names(2)),
    ("tags.note LIKE '%[%'", names(4)),
    ("tags.note LIKE 'x[1]'", names(4)),
    ("tags.note ILIKE 'X[1]'", names(4)),
    ("tags.note LIKE '%?%'", set()),
    ("tags.note LIKE 'hello_world'", names(2, 7)),
    ("tags.note LIKE 'hello\\_world'", names(7)),
    ("tags.note ILIKE '%\\%%'", names(5)),
    ("tags.note LIKE '50% off'", names(5)),
    ("tags.note NOT LIKE 'hello%'", names(1, 3, 4, 5)),
    ("tags.group IS NULL", ALL - names(8)),
    ("tags.group IS NOT NULL", names(8)),
    ("tags.\"team/name\" = 'a:b'", names(1)),
    ("tags.team/name = 'a:b'", names(1)),
    ('tags.note = "Hello World"', names(1)),
    ("tags.note = 'hello*world'", names(2)),
    ("tags.note != 'x[1]'", names(1, 2, 3, 5, 7)),
    ("tags.note IN ('x[1]', '50% off')", names(4, 5)),
    ("tags.note NOT IN ('x[1]')", names(1, 2, 3, 5, 7)),
    ("tags.quote = 'it\\'s'", names(6)),
    ("tags.quote = 'it''s'", names(6)),
    ("tags.quote = \"it's\"", names(6)),
    # boolean structure and precedence: NOT > AND > OR
    ("status = 'FINISHED' AND metrics.acc > 0.8 OR user_id = 'carol'", names(1, 4, 7)),
    ("status = 'FINISHED' AND (metrics.acc > 0.8 OR user_id = 'bob')", names(1, 5, 7)),
    ("user_id = 'bob' OR user_id = 'carol' AND status = 'FAILED'", names(2, 5, 8)),
    ("(user_id = 'bob' OR user_id = 'carol') AND status = 'FAILED'", names(2)),
    ("NOT status = 'FINISHED' AND user_id = 'bob'", names(2, 8)),
    ("NOT (status = 'FINISHED' AND user_id = 'bob')", ALL - names(5)),
    ("NOT NOT status = 'KILLED'", names(4)),
    ("status = 'FAILED' or status = 'killed' and lifecycle_stage = 'active'", names(2)),
    ("status = 'FAILED' or status = 'killed'", names(2, 4)),
    ("((status = 'FAILED'))", names(2)),
    ("metrics.acc > 0.8 and params.lr < 0.1 and tags.mlflow.user = 'alice'", names(1)),
    ("", ALL),
    ("   \n ", ALL),
    (None, ALL),
]


@pytest.mark.parametrize("filter_string, expected", CASES)
def test_run_filters_select_the_expected_runs(db, filter_string, expected):
    assert set(select(db, filter_string)) == expected


def test_empty_filter_compiles_to_true():
    assert compile_run_filter("  ") == ("1", [])
    assert parse_filter("") is None


def test_parse_builds_frozen_ast_with_positions():
    node = parse_filter("NOT tags.mlflow.user = 'x' OR metrics.`a b` IN (1, 2)")
    assert isinstance(node, Or) and isinstance(node.items[0], Not)
    cmp_ = node.items[0].item
    assert cmp_ == Comparison("tags", "mlflow.user", "=", Literal("x", 23, "'x'"), 4, 9, 21,
                              "tags.mlflow.user")
    assert node.items[1].value == (Literal(1, 48, "1"), Literal(2, 51, "2"))
    with pytest.raises(AttributeError):
        cmp_.key = "y"  # type: ignore[misc]
    assert isinstance(parse_filter("a = 'x' and b = 'y' and c = 'z'"), And)


def test_like_to_glob_escapes_glob_metacharacters():
    assert like_to_glob("a*b?c[d]%_") == "a[*]b[?]c[[]d]*?"
    assert like_to_glob("100\\%\\_\\\\x") == "100%_\\x"


def test_status_sql_is_substituted_everywhere(db):
    dead = "CASE WHEN r.status = 'RUNNING' AND r.id = 8 THEN 'KILLED' ELSE r.status END"
    assert set(select(db, "status = 'KILLED'", status_sql=dead)) == names(4, 8)
    assert set(select(db, "status IN ('RUNNING')", status_sql=dead)) == names(3)
    assert set(select(db, "NOT status = 'KILLED'", status_sql=dead)) == ALL - names(4, 8)
    late = "CASE WHEN r.status = 'RUNNING' AND r.start_time < ? THEN 'KILLED' ELSE r.status END"
    got = select(db, "status = 'KILLED' OR status = 'RUNNING'", ["status DESC"],
                 status_sql=late, status_params=[1650])
    assert got == ["r8", "r4", "r3"]
    sql, params = compile_run_filter("status = 'FAILED' OR status = 'KILLED'", status_sql=late,
                                     status_params=[7])
    assert late in sql and params == [7, "FAILED", 7, "KILLED"]
    with pytest.raises(ValueError):
        compile_run_filter("status = 'FAILED'", status_sql=late)


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


@pytest.mark.parametrize("order_by, expected", ORDERS)
def test_run_order(db, order_by, expected):
    assert select(db, None, order_by) == expected


def test_order_is_stable_for_paging(db):
    sql, params = compile_run_order(["params.model"])
    assert sql.endswith("r.id ASC")
    full = [r[0] for r in db.execute(f"SELECT uuid FROM runs r ORDER BY {sql}", params)]
    pages = []
    for offset in range(0, 8, 3):
        pages += [r[0] for r in db.execute(
            f"SELECT uuid FROM runs r ORDER BY {sql} LIMIT 3 OFFSET ?", [*params, offset])]
    assert pages == full == ["r3", "r8", "r4", "r1", "r6", "r5", "r2", "r7"]
    assert select(db, "metrics.acc = 0.9", ["metrics.acc DESC"]) == ["r7", "r1"]


def test_filter_and_order_combine(db):
    assert select(db, "params.lr < 1 AND status != 'KILLED'", ["params.lr DESC"]) == \
        ["r5", "r2", "r8", "r1"]


@pytest.mark.parametrize("item, position, phrase", [
    ("metrics.acc DESCENDING", 12, "expected ASC, DESC or end of item"),
    ("bogus", 0, "unknown attribute 'bogus'"),
    ("metrics.", 8, "expected a key"),
    ("(start_time)", 0, "expected a field"),
    ("start_time; DROP TABLE runs", None, "unexpected character"),
])
def test_bad_order_items(item, position, phrase):
    with pytest.raises(InvalidFilter) as e:
        compile_run_order(["start_time", item])
    assert phrase in str(e.value) and item in str(e.value)
    if position is not None:
        assert e.value.position == position


def test_bad_order_lists_allowed_fields():
    with pytest.raises(InvalidFilter, match="metrics.<key>.*run_name"):
        compile_run_order([""])
    with pytest.raises(InvalidFilter, match="experiments cannot be searched by metrics"):
        compile_experiment_order(["metrics.acc"])


def experiments(db, filter_string=None, order_by=None) -> list[str]:
    where, params = compile_experiment_filter(filter_string)
    order, oparams = compile_experiment_order(order_by)
    return [r[0] for r in db.execute(
        f"SELECT e.uuid FROM experiments e WHERE {where} ORDER BY {order}", params + oparams)]


def test_experiment_filter_and_order(db):
    assert experiments(db) == ["exp-c", "exp-a", "exp-b"]  # last_update DESC, then id
    assert experiments(db, "name = 'Alpha'") == ["exp-a"]
    assert experiments(db, "name ILIKE 'a%' OR name LIKE 'b%'") == ["exp-a", "exp-b"]
    assert experiments(db, "tags.team = 'NLP'") == ["exp-c"]
    assert experiments(db, "tags.team IS NULL") == ["exp-b"]
    assert experiments(db, "creation_time > 150", ["name"]) == ["exp-c", "exp-b"]
    assert experiments(db, "attributes.experiment_id = 'exp-b'") == ["exp-b"]
    assert experiments(db, "lifecycle_stage = 'active' AND NOT tags.team = 'vision'") == ["exp-c"]
    assert experiments(db, None, ["tags.team DESC"]) == ["exp-a", "exp-c", "exp-b"]
    assert experiments(db, None, ["last_update_time"]) == ["exp-a", "exp-b", "exp-c"]
    for bad, phrase in [("metrics.acc > 1", "cannot be searched by metrics"),
                        ("params.x = '1'", "cannot be searched by params"),
                        ("status = 'FINISHED'", "unknown attribute 'status'")]:
        with pytest.raises(InvalidFilter, match=phrase):
            compile_experiment_filter(bad)


ERRORS = [
    ("metrics.acc foo", 12, "expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, "
                            "IN, NOT IN, IS) after 'metrics.acc', got 'foo'"),
    ("metrics.acc = 'x'", 14, "metrics compare to numbers"),
    ("status = ", 9, "expected a value (a quoted string or a number)"),
    ("(status = 'FAILED'", 18, "to close the '(' at position 0"),
    ("status = 'FAILED')", 17, "')' that closes nothing"),
    ("status = 'FAILED' AND", 21, "expected a comparison"),
    ("status = 'FAILED' AND AND x = 1", 22, "expected a comparison"),
    ("foo.bar = 1", 0, "expected an entity before the dot"),
    ("params.lr IN 1", 13, "expected '('"),
    ("params.lr IN ('a' 'b')", 18, "expected ',' or ')'"),
    ("run_id IN ()", 11, "expected a value"),
    ("params.lr IN (1, 'b')", 17, "mixes strings and numbers"),
    ("tags.x IS 'a'", 10, "expected NULL or NOT NULL after IS"),
    ("tags.x IS NOT 'a'", 14, "expected NULL after IS NOT"),
    ("tags.x NOT = 'a'", 11, "expected LIKE, ILIKE or IN after NOT"),
    ("name = 'abc", 7, "unterminated string"),
    ("metrics.`abc = 1", 8, "unterminated key"),
    ("metrics. = 1", 9, "expected a key after 'metrics.'"),
    ("params.'lr' = 1", 7, "expected a key after 'params.'"),
    ("bogus = 'x'", 0, "unknown attribute 'bogus'; allowed: run_id"),
    ("tags.x > 'a'", 7, "expected one of the operators =, !=, LIKE"),
    ("tags.x = 5", 9, "expected a quoted string"),
    ("start_time = 'yesterday'", 13, "expected a number"),
    ("run_name < 'b'", 9, "expected one of the operators"),
    ("name = 'a' # x", 11, "unexpected character '#'"),
    ("metrics.acc = NULL", 14, "IS NULL"),
    ("params.lr LIKE 1", 10, "expected one of the operators"),
    ("name = 'x' name = 'y'", 11, "expected AND, OR or end of filter"),
    ("AND name = 'x'", 0, "expected a comparison"),
    ("NOT", 3, "got end of filter"),
    ("name = 'x' OR", 13, "got end of filter"),
    ("(" * 40 + "name = 'x'" + ")" * 40, 20, "levels of nesting"),
    ("NOT " * 25 + "name = 'x'", 80, "levels of nesting"),
    ("\ud800", 0, "surrogate"),
]


@pytest.mark.parametrize("text, position, phrase", ERRORS)
def test_malformed_filters_say_where_and_what(text, position, phrase):
    with pytest.raises(InvalidFilter) as e:
        compile_run_filter(text)
    assert e.value.position == position
    assert phrase in str(e.value)
    assert str(e.value).startswith(f"filter: at position {position}: ")


# SQLite's parser stack has ~100 entries (before 3.46) and expressions may be 1000 deep: whatever
# the parser accepts must still run, even wrapped in the kind of query the store builds.
HEAVY = "CASE WHEN r.status = 'RUNNING' AND r.start_time < ? THEN 'KILLED' ELSE r.status END"
HEAVY_LEAVES = ["metrics.`my metric-1` NOT IN (1, 2)", "status NOT IN ('KILLED', 'FAILED')",
                "params.lr NOT ILIKE '%a%'", "duration NOT IN (5, 6)"]


def _run_like_the_store(db, text):
    where, params = compile_run_filter(text, status_sql=HEAVY, status_params=[1650])
    order, oparams = compile_run_order(["metrics.acc DESC", "status"], status_sql=HEAVY,
                                       status_params=[1650])
    sql = (f"SELECT count(*) FROM (SELECT r.id FROM runs r WHERE r.experiment_id IN (1, 2, 3) "
           f"AND r.lifecycle_stage = 'active' AND ({where}) ORDER BY {order} LIMIT ? OFFSET ?)")
    return db.execute(sql, [*params, *oparams, 5, 0]).fetchone()[0]


def _nest(levels: int, bottom: str, i: int = 0) -> str:
    for level in range(levels):
        word = "AND" if (level + i) % 2 else "OR"
        bottom = f"({HEAVY_LEAVES[level % 4]} {word} {bottom})"
    return bottom


def _balanced(levels: int, n: list[int]) -> str:
    if levels == 0:
        n[0] += 1
        return HEAVY_LEAVES[n[0] % 4]
    word = "AND" if levels % 2 else "OR"
    return f"({_balanced(levels - 1, n)} {word} {_balanced(levels - 1, n)})"


def test_deepest_accepted_filters_execute(db):
    for leaf in HEAVY_LEAVES:
        _run_like_the_store(db, _nest(MAX_DEPTH, leaf))
    _run_like_the_store(db, _nest(MAX_DEPTH - 1, "NOT " + HEAVY_LEAVES[0]))
    with pytest.raises(InvalidFilter, match="levels of nesting"):
        compile_run_filter(_nest(MAX_DEPTH + 1, HEAVY_LEAVES[0]))
    # both operands nested at every level: the right one is the expensive path for SQLite
    _run_like_the_store(db, _nest(MAX_DEPTH - 8, _balanced(8, [0]), 1))
    chain = " AND ".join(HEAVY_LEAVES[i % 4] for i in range(MAX_COMPARISONS - MAX_DEPTH))
    _run_like_the_store(db, _nest(MAX_DEPTH - 1, f"({chain})"))
    _run_like_the_store(db, " OR ".join(["NOT (run_id = 'x' AND status = 'FAILED')"] * 250))
    too_many = " OR ".join(["run_id = 'x'"] * (MAX_COMPARISONS + 1))
    with pytest.raises(InvalidFilter, match="at most 500 comparisons") as e:
        compile_run_filter(too_many)
    assert e.value.position == MAX_COMPARISONS * len("run_id = 'x' OR ")


def test_not_is_pushed_down_without_changing_results(db):
    text = "NOT (status = 'FINISHED' OR NOT (metrics.loss > 0.1 AND NOT tags.group IS NULL))"
    sql, _ = compile_run_filter(text)
    assert "NOT (" not in sql
    assert set(select(db, text)) == names(8)


INJECTIONS = [
    "tags.x = '; DROP TABLE runs; --'",
    "params.lr = '\\'; DROP TABLE params; --'",
    "metrics.`x\"; DROP` > 0",
    "params.\"a'; DROP TABLE params; --\" = 'x'",
    "run_name = 'x' ; DROP TABLE runs",
    "'; DROP TABLE runs; --",
    "name = 'x') OR 1=1 --",
    "name = 'x' OR 1=1",
    "tags.`x` LIKE '%' ESCAPE '' OR name = name",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_is_inert(db, text):
    try:
        sql, params = compile_run_filter(text)
    except InvalidFilter:
        pass
    else:
        assert "DROP" not in sql
        assert db.execute(f"SELECT uuid FROM runs r WHERE {sql}", params).fetchall() == []
    for item in (text, "metrics.`acc; DROP TABLE runs` DESC"):
        try:
            order, params = compile_run_order([item])
        except InvalidFilter:
            continue
        assert "DROP" not in order
        db.execute(f"SELECT uuid FROM runs r ORDER BY {order}", params).fetchall()
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"runs", "params", "tags", "latest_metrics", "metric_keys"} <= tables
    assert len(select(db)) == 8


# -- property tests ------------------------------------------------------------------------------
FRAGMENTS = st.sampled_from([
    " ", "(", ")", "'", '"', "`", ".", ",", "=", "!=", "<", ">=", "%", "_", "*", "[", "\\",
    "AND ", "OR ", "NOT ", "IN ", "IS ", "NULL", "LIKE ", "ILIKE ", "metrics.", "params.",
    "tags.", "status", "run_name", "acc", "lr", "1", "-2.5e3", "'a'", "'FINISHED'", "x",
])
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=30)  # NUL and lone surrogates are refused by the tokenizer


def _check_executes_or_invalid(db, text):
    try:
        sql, params = compile_run_filter(text)
    except InvalidFilter as e:
        assert e.position is None or 0 <= e.position <= len(text)
        return
    db.execute(f"SELECT r.uuid FROM runs r WHERE {sql}", params).fetchall()


@FUZZ
@given(text=st.text(max_size=60) | st.lists(FRAGMENTS, max_size=25).map("".join))
def test_fuzz_any_text_compiles_or_is_invalid(db, text):
    _check_executes_or_invalid(db, text)


@FUZZ
@given(items=st.lists(st.text(max_size=20) | st.lists(FRAGMENTS, max_size=6).map("".join),
                      max_size=3))
def test_fuzz_any_order_by_compiles_or_is_invalid(db, items):
    try:
        order, params = compile_run_order(items)
    except InvalidFilter:
        return
    db.execute(f"SELECT r.uuid FROM runs r ORDER BY {order}", params).fetchall()


def quote(value: str, q: str = "'") -> str:
    return q + value.replace("\\", "\\\\").replace(q, q + q) + q


STRINGS = st.sampled_from(["cnn", "CNN", "0.01", "alice", "hello*world", "x[1]", "50% off",
                           "it's", "FINISHED", "r1", "exp-a", "h%", "%o%", "_n_", "%\\_%"]) | \
    TEXT.map(lambda s: s[:8])
NUMBERS = st.sampled_from([0.01, 0.1, 0.9, 1000, 1400, -1, 3, 2]) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**20, 10**20)
KEYS = {"metrics": ["acc", "loss", "my metric-1", "nope"], "params": ["lr", "model", "a b"],
        "tags": ["mlflow.user", "note", "group", "team/name"]}
ATTRS = {"status": "s", "run_name": "s", "user_id": "s", "run_id": "s", "experiment_id": "s",
         "start_time": "n", "end_time": "n", "duration": "n"}


@st.composite
def comparisons(draw) -> str:
    entity = draw(st.sampled_from(["metrics", "params", "tags", "attributes"]))
    if entity == "attributes":
        field = draw(st.sampled_from(sorted(ATTRS)))
        kind = ATTRS[field]
        prefix = draw(st.sampled_from(["", "attributes.", "attr.", "run."]))
        if field == "status":
            ops = ["=", "!=", "IN", "NOT IN", "IS NULL"]
            values = st.sampled_from(["FINISHED", "running", "KILLED", "FAILED"])
        else:
            ops = ["=", "!=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
            ops += ["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"] if kind == "s" else \
                ["<", "<=", ">", ">="]
            values = STRINGS if kind == "s" else NUMBERS
        lhs = prefix + field
    else:
        key = draw(st.sampled_from(KEYS[entity]))
        style = draw(st.sampled_from(["plain", "back", "dq"]))
        if " " in key and style == "plain":
            style = "back"
        lhs = entity + "." + {"plain": key, "back": f"`{key}`", "dq": f'"{key}"'}[style]
        kind = "n" if entity == "metrics" else "s" if entity == "tags" else \
            draw(st.sampled_from("sn"))
        ops = ["=", "!=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
        ops += ["<", "<=", ">", ">="] if kind == "n" or entity == "params" else []
        ops += ["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"] if kind == "s" else []
        values = STRINGS if kind == "s" else NUMBERS
    op = draw(st.sampled_from(ops))

    def lit(v) -> str:
        return quote(v, draw(st.sampled_from("'\""))) if isinstance(v, str) else repr(v)

    if op.startswith("IS"):
        return f"{lhs} {op}"
    if op.endswith("IN"):
        listed = draw(st.lists(values, min_size=1, max_size=3))
        return f"{lhs} {op} ({', '.join(lit(v) for v in listed)})"
    return f"{lhs} {op} {lit(draw(values))}"


def _combine(children):
    word = st.sampled_from(["AND", "and", "OR", "or"])
    return st.one_of(
        st.tuples(children, word, children).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(children, word, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"NOT ({c})"),
    )


VALID_FILTERS = st.recursive(comparisons(), _combine, max_leaves=8)


def _like(pattern: str, value: str, ci: bool) -> bool:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    regex = "".join(out)
    if ci:  # SQLite folds ASCII letters only
        return re.fullmatch(_ascii_lower(regex), _ascii_lower(value), re.S) is not None
    return re.fullmatch(regex, value, re.S) is not None


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def _compare(op: str, a, values) -> bool:
    v = values[0]
    return {"=": a == v, "!=": a != v, "<": a < v, "<=": a <= v, ">": a > v, ">=": a >= v,
            "IN": a in values, "NOT IN": a not in values,
            "LIKE": isinstance(v, str) and _like(v, a, False),
            "NOT LIKE": isinstance(v, str) and not _like(v, a, False),
            "ILIKE": isinstance(v, str) and _like(v, a, True),
            "NOT ILIKE": isinstance(v, str) and not _like(v, a, True)}[op]


def oracle(node, run) -> bool:
    """An independent, deliberately naive reading of the filter semantics."""
    if isinstance(node, And):
        return all(oracle(n, run) for n in node.items)
    if isinstance(node, Or):
        return any(oracle(n, run) for n in node.items)
    if isinstance(node, Not):
        return not oracle(node.item, run)
    c = node
    values = [] if c.value is None else [v.value for v in
                                         (c.value if isinstance(c.value, tuple) else (c.value,))]
    if c.entity == "attributes":
        key = {"run_name": "name", "user_id": "user", "run_id": "uuid", "start_time": "start",
               "end_time": "end"}.get(c.key, c.key)
        if key == "duration":
            a = None if run["end"] is None or run["start"] is None else run["end"] - run["start"]
        elif key == "experiment_id":
            a = f"exp-{'abc'[run['exp'] - 1]}"
        else:
            a = run[key]
        if key == "status":
            values = [str(v).upper() for v in values]
        if c.op.startswith("IS"):
            return (a is None) == (c.op == "IS NULL")
        return a is not None and _compare(c.op, a, values)
    table = run[c.entity]
    if c.op.startswith("IS"):
        return (c.key in table) == (c.op == "IS NOT NULL")
    if c.key not in table:
        return False
    a = table[c.key]
    if c.entity == "metrics":
        if math.isnan(a):
            return c.op in ("!=", "NOT IN")
    elif c.entity == "params" and not isinstance(values[0], str):
        a = _num(a)
        if a is None:
            return False
    return _compare(c.op, a, values)


@FUZZ
@given(text=VALID_FILTERS)
def test_generated_valid_filters_compile_execute_and_agree_with_oracle(db, text):
    node = parse_filter(text)
    expected = {r["uuid"] for r in RUNS if oracle(node, r)}
    assert set(select(db, text)) == expected, compile_run_filter(text)


@FUZZ
@given(value=TEXT, q=st.sampled_from("'\""))
def test_string_literals_round_trip(value, q):
    node = parse_filter(f"tags.k = {quote(value, q)}")
    assert node.value.value == value
