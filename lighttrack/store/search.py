"""Compile parsed search filters and order-by lists into parameterised SQLite.

The parser (``search_parse``) knows the grammar; this module knows what each searchable thing
(runs, experiments; later registered models and versions) offers. That knowledge lives in
tables: a ``Scope`` maps attribute names to ``Field`` (trusted SQL expression + kind) and
entities such as ``tags`` to ``Keyed`` (a key/value table reached through the row's id). Adding
a searchable thing means writing a Scope, not a compiler.

Safety rule: user text never becomes SQL text. Keys, values and patterns are always ``?``
parameters; the only SQL spliced in comes from the tables below or from the caller's own code
(``status_sql``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lighttrack.errors import InvalidFilter
from lighttrack.store.search_parse import (
    And, Comparison, Literal, Node, Not, OrderItem, parse_filter, parse_order_item,
)
from lighttrack.store.search_like import like_to_glob, like_to_like

__all__ = [
    "Field", "Keyed", "Related", "Scope", "RUN_STATUSES", "parse_filter", "compile_filter", "compile_order",
    "run_scope", "EXPERIMENT_SCOPE", "compile_run_filter", "compile_run_order",
    "compile_run_order_joined", "JoinedOrder",
    "compile_experiment_filter", "compile_experiment_order", "like_to_glob", "like_to_like",
]

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

#: A filter needing more bound values than this is refused: SQLite builds older than 3.32 stop
#: at 999 variables and newer ones at 32766; the caller adds its own parameters too.
MAX_PARAMETERS = 10_000
#: Comparisons per filter: a chain of N ANDs is N deep for SQLite, whose limit is 1000.
MAX_COMPARISONS = 500
#: Items per order_by; each becomes up to four ORDER BY terms with their own subqueries.
MAX_ORDER_ITEMS = 50
#: SQLite refuses LIKE/GLOB patterns longer than this many bytes (SQLITE_MAX_LIKE_PATTERN_LENGTH).
MAX_PATTERN_BYTES = 50_000

EQ = frozenset({"=", "!="})
ORDERING = frozenset({"<", "<=", ">", ">="})
LIKES = frozenset({"LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"})
INS = frozenset({"IN", "NOT IN"})
NULLS = frozenset({"IS NULL", "IS NOT NULL"})
STRING_OPS = EQ | LIKES | INS | NULLS
NUMBER_OPS = EQ | ORDERING | INS | NULLS
_OP_ORDER = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN",
             "NOT IN", "IS NULL", "IS NOT NULL"]


@dataclass(frozen=True)
class Field:
    """One attribute. ``sql`` is trusted SQL and atomic (a column or parenthesised), so it can
    be followed by any operator; ``params`` bind the ``?`` inside it, if any."""

    sql: str
    kind: str  # "string" or "number": what literal it compares to
    nullable: bool = False  # wrap comparisons so NOT(...) never meets SQL's NULL logic
    upper: bool = False  # upper-case string literals first (run status, as MLflow stores it)
    choices: tuple[str, ...] = ()  # allowed values for = != IN NOT IN, to catch typos
    params: tuple[object, ...] = ()


@dataclass(frozen=True)
class Keyed:
    """A key/value table. ``source`` is ``FROM ... WHERE <row matches> AND <key matches ?>``
    with exactly one ``?`` (the key); ``text``/``num`` are the value columns usable with string
    and numeric literals (None = that kind of literal is refused)."""

    source: str
    text: str | None
    num: str | None
    text_ops: frozenset[str] = STRING_OPS
    num_ops: frozenset[str] = NUMBER_OPS
    nan_is_null: bool = False  # NULL value means NaN: != and NOT IN match it, as in IEEE 754
    #: The same table as a join for sorting, ``{a}`` standing for the join's alias and one
    #: ``?`` for the key, e.g. ``params {a} ON {a}.run_id = r.id AND {a}.key = ?``. The table's
    #: primary key must make it match at most one row; ``text``/``num``/``row`` then name columns
    #: of that alias (``row``: a NOT NULL column, NULL only when the row is missing).
    join: str = ""
    join_text: str | None = None
    join_num: str | None = None
    join_row: str = ""


@dataclass(frozen=True)
class Related:
    """Fields of rows linked to the searched row (a run's dataset inputs). ``source`` is
    ``FROM ... WHERE <linked to the row>`` with no ``?``; ``fields`` maps each key to its
    trusted column. A comparison matches when ANY linked row matches, as MLflow's
    ``datasets.*`` filters do."""

    source: str
    fields: Mapping[str, str]
    ops: frozenset[str]


@dataclass(frozen=True)
class Scope:
    """Everything the compiler needs to know about one searchable thing."""

    noun: str  # "runs", for messages
    id_sql: str  # stable tie-breaker, e.g. "r.id"
    attributes: Mapping[str, Field]
    aliases: Mapping[str, str] = field(default_factory=dict)  # as written -> attribute name
    keyed: Mapping[str, Keyed] = field(default_factory=dict)  # entity -> table
    default_order: str = ""
    #: MLflow's tie-breakers, put after the caller's keys and before ``id_sql``
    tie_order: str = ""
    related: Mapping[str, Related] = field(default_factory=dict)  # entity -> linked rows

    def resolve(self, key: str) -> str | None:
        lowered = key.lower()
        for name in self.attributes:
            if name.lower() == lowered:
                return name
        for alias, name in self.aliases.items():
            if alias.lower() == lowered:
                return name
        return None

    def allowed_attributes(self) -> str:
        parts = []
        for name in self.attributes:
            alias = [a for a, n in self.aliases.items() if n == name]
            parts.append(f"{name} (or {', '.join(alias)})" if alias else name)
        return ", ".join(parts)

    def allowed_fields(self) -> str:
        keyed = ", ".join([*(f"{e}.<key>" for e in self.keyed),
                           *(f"{e}.{k}" for e, r in self.related.items() for k in r.fields)])
        return f"{keyed}, or an attribute: {self.allowed_attributes()}"


# -- boolean structure ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Group:
    """An AND or OR of comparisons (possibly negated) and groups of the other kind."""

    is_and: bool
    items: tuple[_Group | tuple[Comparison, bool], ...]
    depth: int


def _comparisons(node: Node):
    """Every comparison, left to right."""
    if isinstance(node, Comparison):
        yield node
    elif isinstance(node, Not):
        yield from _comparisons(node.item)
    else:
        for item in node.items:
            yield from _comparisons(item)


def _normalize(node: Node, negate: bool = False) -> _Group | tuple[Comparison, bool]:
    """Push NOT down to the comparisons and merge nested groups of one kind, so the SQL nests
    only where AND and OR alternate. De Morgan's laws hold in SQL's three-valued logic too,
    so this never changes which rows match."""
    if isinstance(node, Not):
        return _normalize(node.item, not negate)
    if isinstance(node, Comparison):
        return node, negate
    is_and = isinstance(node, And) != negate
    items: list[_Group | tuple[Comparison, bool]] = []
    for child in node.items:
        n = _normalize(child, negate)
        items.extend(n.items if isinstance(n, _Group) and n.is_and == is_and else [n])
    depth = 1 + max((i.depth for i in items if isinstance(i, _Group)), default=0)
    return _Group(is_and, tuple(items), depth)


# -- the compiler --------------------------------------------------------------------------------
class _Compiler:
    """Turns an AST into SQL. Every piece of SQL travels with its own parameter list and pieces
    are joined together with their lists, so the order of ``?`` always matches the parameters
    however the tree is rearranged."""

    def __init__(self, scope: Scope, text: str, what: str = "filter") -> None:
        self.scope = scope
        self.text = text
        self.what = what

    def error(self, message: str, position: int) -> InvalidFilter:
        return InvalidFilter(f"{self.what}: at position {position}: {message}", self.text, position)

    def compile(self, root: Node) -> tuple[str, list]:
        """Check every comparison in text order (so the first error reported is the leftmost),
        then emit the normalised tree."""
        leaves = list(_comparisons(root))
        if len(leaves) > MAX_COMPARISONS:
            raise self.error(f"expected at most {MAX_COMPARISONS} comparisons in one filter",
                             leaves[MAX_COMPARISONS].position)
        self.leaves = {id(c): self.comparison(c) for c in leaves}
        return self.emit(_normalize(root))

    def emit(self, n: _Group | tuple[Comparison, bool]) -> tuple[str, list]:
        """Flat chains, nested groups first: SQLite's parser stack grows ~1 entry per group
        nested as the left operand but ~3 as the right one, and a flat left-associative chain
        costs none (only expression depth, which ``MAX_COMPARISONS`` bounds)."""
        if isinstance(n, tuple):
            sql, params = self.leaves[id(n[0])]
            return (f"NOT {sql}" if n[1] else sql), params  # NOT binds looser than any operator
        groups = sorted((i for i in n.items if isinstance(i, _Group)), key=lambda g: -g.depth)
        parts = [self.emit(i) for i in [*groups, *(i for i in n.items if isinstance(i, tuple))]]
        word = " AND " if n.is_and else " OR "
        return f"({word.join(sql for sql, _ in parts)})", [p for _, ps in parts for p in ps]

    def resolve(self, entity: str, key: str, key_position: int) -> tuple[str, Field | Keyed | Related]:
        scope = self.scope
        related = scope.related.get(entity)
        if related is not None:
            if key not in related.fields:
                raise self.error(f"expected one of {', '.join(f'{entity}.{k}' for k in related.fields)}, got "
                                 f"unknown {entity} key '{key}'", key_position)
            return f"{entity}.{key}", related
        if entity == "attributes":
            name = scope.resolve(key)
            if name is None:
                raise self.error(f"expected an attribute of {scope.noun}, got unknown attribute "
                                 f"'{key}'; allowed: {scope.allowed_attributes()}", key_position)
            return name, scope.attributes[name]
        if entity not in scope.keyed:
            raise self.error(f"{scope.noun} cannot be searched by {entity}; expected "
                             f"{scope.allowed_fields()}", key_position)
        return entity, scope.keyed[entity]

    def comparison(self, c: Comparison) -> tuple[str, list]:
        name, target = self.resolve(c.entity, c.key, c.key_position)
        values = () if c.value is None else (c.value if isinstance(c.value, tuple) else (c.value,))
        numeric = bool(values) and values[0].is_number
        if isinstance(target, Field):
            return self.attribute(c, name, target, values, numeric)
        if isinstance(target, Related):
            return self.related(c, name, target, values, numeric)
        col = target.num if numeric else target.text
        ops = target.num_ops if numeric else target.text_ops
        if c.op in NULLS:
            exists = f"EXISTS (SELECT 1 {target.source})"
            return (f"NOT {exists}" if c.op == "IS NULL" else exists), [c.key]
        if col is None:
            lit = values[0]
            if numeric:
                message = f"expected a quoted string: {name} compare to strings, got number"
            else:
                message = f"expected a number: {name} compare to numbers, got string"
            raise self.error(f"{message} {lit.raw}", lit.position)
        self.check_op(c, ops, name)
        cond, params = self.condition(col, (), c, values, nan=target.nan_is_null)
        return f"EXISTS (SELECT 1 {target.source} AND {cond})", [c.key, *params]

    def attribute(self, c: Comparison, name: str, f: Field, values: tuple[Literal, ...],
                  numeric: bool) -> tuple[str, list]:
        if c.op in NULLS:
            return f"{f.sql} {c.op}", list(f.params)
        if values and numeric != (f.kind == "number"):
            lit = values[0]
            want = "a number" if f.kind == "number" else "a quoted string"
            got = "number" if numeric else "string"
            raise self.error(f"expected {want}: attribute {name} compares to "
                             f"{f.kind}s, got {got} {lit.raw}", lit.position)
        self.check_op(c, STRING_OPS if f.kind == "string" else NUMBER_OPS, f"attribute {name}")
        if f.upper:
            values = tuple(Literal(str(v.value).upper(), v.position, v.raw) for v in values)
        if f.choices and c.op in EQ | INS:
            for v in values:
                if v.value not in f.choices:
                    raise self.error(f"expected one of {', '.join(f.choices)} for {name}, got "
                                     f"{v.raw}", v.position)
        cond, params = self.condition(f.sql, f.params, c, values)
        if f.nullable:  # so that NOT (end_time > 5) also matches runs with no end_time
            cond = f"IFNULL({cond}, 0)"
        return cond, params

    def related(self, c: Comparison, name: str, target: Related, values: tuple[Literal, ...],
                numeric: bool) -> tuple[str, list]:
        self.check_op(c, target.ops, name)
        if numeric:
            lit = values[0]
            raise self.error(f"expected a quoted string: {name} compares to strings, got number {lit.raw}",
                             lit.position)
        cond, params = self.condition(target.fields[c.key], (), c, values)
        return f"EXISTS (SELECT 1 {target.source} AND {cond})", params

    def check_op(self, c: Comparison, ops: frozenset[str], what: str) -> None:
        if c.op not in ops:
            allowed = ", ".join(o for o in _OP_ORDER if o in ops)
            raise self.error(f"expected one of the operators {allowed} for {what}, got "
                             f"{c.op}", c.op_position)

    def condition(self, col: str, col_params: Sequence[object], c: Comparison,
                  values: tuple[Literal, ...], nan: bool = False) -> tuple[str, list]:
        """``col <op> ?`` for one comparison; ``col_params`` are bound each time ``col`` appears."""
        params: list[object] = list(col_params)
        op = c.op
        if op in LIKES:
            lit = values[0]
            pattern = str(lit.value)
            if "ILIKE" in op:
                converted = like_to_like(pattern)
                sql = f"lower({col}) {op.replace('ILIKE', 'LIKE')} lower(?) ESCAPE '\\'"
            else:
                converted = like_to_glob(pattern)
                sql = f"{col} {op.replace('LIKE', 'GLOB')} ?"
            if len(converted.encode("utf-8")) > MAX_PATTERN_BYTES:
                raise self.error(f"expected a pattern shorter than {MAX_PATTERN_BYTES} bytes",
                                 lit.position)
            return sql, [*params, converted]
        if op in INS:
            marks = ", ".join("?" * len(values))
            sql = f"{col} {op} ({marks})"
        else:
            sql = f"{col} {op} ?"
        if nan and op in ("!=", "NOT IN"):  # NaN differs from every number
            sql = f"({col} IS NULL OR {sql})"
            params = params + params
        return sql, [*params, *(v.value for v in values)]

    # -- order by ------------------------------------------------------------------------------
    def order_terms(self, item: OrderItem) -> list[tuple[str, list]]:
        """Sort keys for one item; missing values (NULL) sort last in both directions."""
        direction = "DESC" if item.descending else "ASC"
        name, target = self.resolve(item.entity, item.key, item.key_position)
        if isinstance(target, Related):
            raise self.error(f"runs cannot be ordered by {name} (a run may have several datasets); order by "
                             "metrics.<key>, params.<key>, tags.<key> or an attribute", item.key_position)
        if isinstance(target, Field):
            p = list(target.params)
            terms = [(f"{target.sql} IS NULL", p)] if target.nullable else []
            return terms + [(f"{target.sql} {direction}", p)]
        key = [item.key]
        text = f"(SELECT {target.text} {target.source})" if target.text else None
        num = f"(SELECT {target.num} {target.source})" if target.num else None
        if text and num:  # params: numbers first, numerically; then the rest as text
            return [(f"{text} IS NULL", key), (f"{num} IS NULL", key),
                    (f"{num} {direction}", key), (f"{text} {direction}", key)]
        only = text or num
        if target.nan_is_null:  # as MLflow: numbers, then NaN (stored NULL), then runs without it
            rank = f"CASE WHEN (SELECT 1 {target.source}) IS NULL THEN 2 WHEN {only} IS NULL THEN 1 ELSE 0 END"
            return [(rank, key + key), (f"{only} {direction}", key)]
        return [(f"{only} IS NULL", key), (f"{only} {direction}", key)]


    def order_join(self, item: OrderItem, alias: str) -> tuple[str, list, list[tuple[str, list, bool]]]:
        """The same sort keys as ``order_terms`` read through one LEFT JOIN instead of up to four
        correlated subqueries a row: (join SQL or "", its parameters, [(term, parameters,
        descending)]). The directions are explicit so the whole order can be reversed."""
        descending = item.descending
        _, target = self.resolve(item.entity, item.key, item.key_position)
        if isinstance(target, Field):
            p = list(target.params)
            terms = [(f"{target.sql} IS NULL", p, False)] if target.nullable else []
            return "", [], terms + [(target.sql, p, descending)]
        if isinstance(target, Related) or not target.join:  # order_terms refuses a Related
            return "", [], [(sql, params, False) for sql, params in self.order_terms(item)]
        text = f"{alias}.{target.join_text}" if target.join_text else None
        num = f"{alias}.{target.join_num}" if target.join_num else None
        join = "LEFT JOIN " + target.join.format(a=alias)
        missing = f"{alias}.{target.join_row} IS NULL"
        if text and num:  # params: numbers first, numerically; then the rest as text
            return join, [item.key], [(missing, [], False), (f"{num} IS NULL", [], False),
                                      (num, [], descending), (text, [], descending)]
        only = text or num
        if target.nan_is_null:  # numbers, then NaN (stored NULL), then runs without it
            rank = f"CASE WHEN {missing} THEN 2 WHEN {only} IS NULL THEN 1 ELSE 0 END"
            return join, [item.key], [(rank, [], False), (only, [], descending)]
        return join, [item.key], [(missing, [], False), (only, [], descending)]


@dataclass(frozen=True)
class JoinedOrder:
    """An order_by compiled for ``SELECT ... FROM <table> <joins> WHERE ... ORDER BY <order>``:
    the joins carry the sort keys, so each row costs one index lookup per item."""

    joins: str
    join_params: list
    terms: list[tuple[str, list, bool]]

    def order(self, reverse: bool = False) -> tuple[str, list]:
        """ORDER BY body and its parameters; ``reverse`` gives exactly the opposite order (what
        reading the last page from the end needs)."""
        parts, params = [], []
        for sql, p, descending in self.terms:
            parts.append(f"{sql} {'ASC' if descending == reverse else 'DESC'}")
            params.extend(p)
        return ", ".join(parts), params


def compile_order_joined(order_by: Sequence[str] | str | None, scope: Scope,
                         default: Sequence[tuple[str, bool]],
                         tie: Sequence[tuple[str, bool]] = ()) -> JoinedOrder:
    """Like ``compile_order`` (same order, same tie-breakers, same errors) but as LEFT JOINs.
    ``default`` and ``tie`` are the scope's ``default_order`` and ``tie_order`` as (SQL,
    descending) pairs."""
    if isinstance(order_by, str):
        order_by = [order_by]
    if len(order_by or ()) > MAX_ORDER_ITEMS:
        raise InvalidFilter(f"order_by: expected at most {MAX_ORDER_ITEMS} items, got "
                            f"{len(order_by or ())}")
    joins: list[str] = []
    join_params: list[object] = []
    terms: list[tuple[str, list, bool]] = []
    descending = False
    for n, raw in enumerate(order_by or ()):
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidFilter(f"order_by: expected items such as 'metrics.acc DESC' naming "
                                f"{scope.allowed_fields()}, got {raw!r}")
        item = parse_order_item(raw)
        join, jp, item_terms = _Compiler(scope, raw, f"order_by item {raw!r}").order_join(item, f"o{n}")
        if join:
            joins.append(join)
            join_params.extend(jp)
        terms.extend(item_terms)
        descending = item.descending
    if not order_by:
        return JoinedOrder("", [], [(sql, [], desc) for sql, desc in default])
    terms.extend((sql, [], desc) for sql, desc in tie)
    terms.append((scope.id_sql, [], descending))
    return JoinedOrder(" ".join(joins), join_params, terms)


def compile_filter(text: str | None, scope: Scope) -> tuple[str, list]:
    """Any scope's filter -> (SQL boolean expression, parameters); ``("1", [])`` when empty."""
    node = parse_filter(text)
    if node is None:
        return "1", []
    sql, params = _Compiler(scope, text or "").compile(node)
    if len(params) > MAX_PARAMETERS:
        raise InvalidFilter(f"filter: expected at most {MAX_PARAMETERS} values and keys, got "
                            f"{len(params)}", text or "", None)
    return sql, params


def compile_order(order_by: Sequence[str] | str | None, scope: Scope) -> tuple[str, list]:
    """Any scope's order_by list -> (ORDER BY body, parameters), with ``id_sql`` appended as a
    tie-breaker in the last item's direction so paging never skips or repeats rows."""
    if isinstance(order_by, str):
        order_by = [order_by]
    if not order_by:
        return scope.default_order, []
    if len(order_by) > MAX_ORDER_ITEMS:
        raise InvalidFilter(f"order_by: expected at most {MAX_ORDER_ITEMS} items, got "
                            f"{len(order_by)}")
    parts: list[str] = []
    params: list[object] = []
    descending = False
    for raw in order_by:
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidFilter(f"order_by: expected items such as 'metrics.acc DESC' naming "
                                f"{scope.allowed_fields()}, got {raw!r}")
        item = parse_order_item(raw)
        compiler = _Compiler(scope, raw, f"order_by item {raw!r}")
        for sql, p in compiler.order_terms(item):
            parts.append(sql)
            params.extend(p)
        descending = item.descending
    if scope.tie_order:
        parts.append(scope.tie_order)
    parts.append(f"{scope.id_sql} {'DESC' if descending else 'ASC'}")
    return ", ".join(parts), params


# -- runs ----------------------------------------------------------------------------------------
RUN_TAGS = Keyed("FROM tags t WHERE t.run_id = r.id AND t.key = ?", text="t.value", num=None,
                 join="tags {a} ON {a}.run_id = r.id AND {a}.key = ?", join_text="value",
                 join_row="run_id")
RUN_PARAMS = Keyed("FROM params p WHERE p.run_id = r.id AND p.key = ?", text="p.value",
                   num="p.num", text_ops=STRING_OPS | ORDERING,
                   join="params {a} ON {a}.run_id = r.id AND {a}.key = ?", join_text="value",
                   join_num="num", join_row="run_id")
# The key is resolved by a constant scalar subquery, which SQLite evaluates once per statement.
# MLflow's dataset comparators (SearchUtils.VALID_DATASET_COMPARATORS), plus the NOT LIKE /
# NOT ILIKE every lighttrack string field has.
RUN_DATASETS = Related(
    "FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id WHERE di.run_id = r.id",
    {"name": "d.name", "digest": "d.digest", "context": "di.context"},
    EQ | LIKES | INS,
)
RUN_METRICS = Keyed("FROM latest_metrics lm WHERE lm.run_id = r.id AND lm.key_id = "
                    "(SELECT id FROM metric_keys WHERE key = ?)", text=None, num="lm.value",
                    nan_is_null=True,
                    join="latest_metrics {a} ON {a}.run_id = r.id AND {a}.key_id = "
                         "(SELECT id FROM metric_keys WHERE key = ?)", join_num="value",
                    join_row="run_id")


def run_scope(status_sql: str = "r.status", status_params: tuple[object, ...] = ()) -> Scope:
    """The run search scope. ``status_sql`` is the caller's trusted expression of the
    *effective* status (a RUNNING run whose process died reads as KILLED)."""
    if status_sql.count("?") != len(status_params):
        raise ValueError(f"status_sql has {status_sql.count('?')} '?' but "
                         f"{len(status_params)} status_params were given")
    attributes = {
        "run_id": Field("r.uuid", "string"),
        "run_name": Field("r.name", "string"),
        "status": Field(f"({status_sql})", "string", nullable=True, upper=True,
                        params=status_params),  # any text, as MLflow: status != 'blah' matches all
        "user_id": Field("r.user_id", "string"),
        "start_time": Field("r.start_time", "number", nullable=True),
        "end_time": Field("r.end_time", "number", nullable=True),
        "duration": Field("(r.end_time - r.start_time)", "number", nullable=True),
        "artifact_uri": Field("r.artifact_uri", "string"),
        "lifecycle_stage": Field("r.lifecycle_stage", "string"),
        "experiment_id": Field("(SELECT uuid FROM experiments WHERE id = r.experiment_id)",
                               "string"),
    }
    aliases = {"id": "run_id", "name": "run_name", "runName": "run_name", "user": "user_id",
               "created": "start_time", "run name": "run_name"}  # MLflow's `Run name` spellings
    return Scope("runs", "r.id", attributes, aliases,
                 {"metrics": RUN_METRICS, "params": RUN_PARAMS, "tags": RUN_TAGS},
                 default_order="r.start_time DESC, r.uuid ASC, r.id ASC",
                 tie_order="r.start_time DESC, r.uuid ASC",  # MLflow's ties: newest first, then run_id
                 related={"datasets": RUN_DATASETS})


def compile_run_filter(text: str | None, *, status_sql: str = "r.status",
                       status_params: Sequence[object] = ()) -> tuple[str, list]:
    """Run filter -> SQL over ``runs r``. ``status_params`` bind any ``?`` in ``status_sql``
    (e.g. a heartbeat deadline); they are repeated wherever the status is used."""
    return compile_filter(text, run_scope(status_sql, tuple(status_params)))


def single_keyed_run_order(order_by: list[str] | None) -> tuple[Keyed, str, bool] | None:
    """(table, key, descending) when ``order_by`` is one metric, param or tag: the sorts
    ``store/run_sort.py`` reads by walking an index. Call after compiling it (which checks it)."""
    if not order_by or len(order_by) != 1 or not isinstance(order_by[0], str):
        return None
    item = parse_order_item(order_by[0])
    target = run_scope().keyed.get(item.entity)
    if target is None or not target.join:
        return None
    return target, item.key, item.descending


#: ``run_scope``'s default_order and tie_order, term by term (for ``compile_run_order_joined``).
RUN_DEFAULT_TERMS = (("r.start_time", True), ("r.uuid", False), ("r.id", False))
RUN_TIE_TERMS = (("r.start_time", True), ("r.uuid", False))


def compile_run_order_joined(order_by: list[str] | None, *, status_sql: str = "r.status",
                             status_params: Sequence[object] = ()) -> JoinedOrder:
    """The order ``compile_run_order`` gives, through LEFT JOINs on ``runs r`` (what the store's
    search uses: a param sort read 4 subqueries per run, ~0.7 s on 100k runs)."""
    return compile_order_joined(order_by, run_scope(status_sql, tuple(status_params)),
                                RUN_DEFAULT_TERMS, RUN_TIE_TERMS)


def compile_run_order(order_by: list[str] | None, *, status_sql: str = "r.status",
                      status_params: Sequence[object] = ()) -> tuple[str, list]:
    """Run order_by -> ORDER BY body (without the words ORDER BY) and its parameters."""
    return compile_order(order_by, run_scope(status_sql, tuple(status_params)))


# -- experiments ---------------------------------------------------------------------------------
EXPERIMENT_SCOPE = Scope(
    "experiments", "e.id",
    {
        "experiment_id": Field("e.uuid", "string"),
        "name": Field("e.name", "string"),
        "lifecycle_stage": Field("e.lifecycle_stage", "string"),
        "artifact_location": Field("e.artifact_location", "string"),
        "creation_time": Field("e.creation_time", "number", nullable=True),
        "last_update_time": Field("e.last_update_time", "number", nullable=True),
    },
    {"id": "experiment_id", "created": "creation_time"},
    {"tags": Keyed("FROM experiment_tags et WHERE et.experiment_id = e.id AND et.key = ?",
                   text="et.value", num=None)},
    default_order="e.last_update_time DESC, e.id ASC",
)


def compile_experiment_filter(text: str | None) -> tuple[str, list]:
    """Experiment filter -> SQL over ``experiments e``; attributes and tags only."""
    return compile_filter(text, EXPERIMENT_SCOPE)


def compile_experiment_order(order_by: list[str] | None) -> tuple[str, list]:
    """Experiment order_by -> ORDER BY body and parameters."""
    return compile_order(order_by, EXPERIMENT_SCOPE)
