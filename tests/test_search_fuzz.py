"""Search property tests: any text compiles or is refused with a position, and generated valid
filters select exactly what a tiny Python oracle over the same data (tests/search_data.py) says."""

from __future__ import annotations

import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lighttrack.errors import InvalidFilter
from lighttrack.store.search import compile_run_filter, compile_run_order, parse_filter
from lighttrack.store.search_parse import And, Not, Or
from search_data import RUNS, _num, db, select  # noqa: F401  (db is a fixture)


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
