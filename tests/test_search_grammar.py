"""Search filter grammar: parser, compilers and the SQL they produce, run on a small real DB.

The data below is the ground truth twice: it is inserted into SQLite, and a tiny Python oracle
evaluates random filters over the same dicts, so the compiled SQL is checked against an
independent reading of the semantics, not only against itself.
"""


from __future__ import annotations

import pytest

from lighttrack.errors import InvalidFilter
from lighttrack.store.search import (
    MAX_COMPARISONS, compile_experiment_filter, compile_experiment_order, compile_run_filter,
    compile_run_order, like_to_glob, parse_filter,
)
from lighttrack.store.search_parse import MAX_DEPTH, And, Comparison, Literal, Not, Or
from search_data import ALL, ORDERS, db, names, select  # noqa: F401  (db is a fixture)


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
