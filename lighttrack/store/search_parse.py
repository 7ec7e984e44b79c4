"""Tokenizer, recursive-descent parser and AST of the search filter language.

The language is MLflow's filter grammar (``metrics.acc > 0.9 and params.lr = '0.01'``) grown
up: OR, NOT, parentheses, IS NULL, NOT LIKE, quoted keys, entity aliases. This module only
knows the *shape* of a filter; it does not know which attributes exist or which operators a
given entity supports. That is the compiler's job (``search.py``), driven by per-entity field
tables, so runs, experiments and later the model registry share one parser.

Every error is an ``InvalidFilter`` naming the 0-based character position and what was
expected there: a filter is typed by a person, and "syntax error" alone is not fixable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from lighttrack.errors import InvalidFilter

#: Entity prefixes users may write (lower-cased) -> the canonical entity name.
ENTITY_ALIASES: dict[str, str] = {
    "metrics": "metrics", "metric": "metrics",
    "params": "params", "param": "params", "parameters": "params", "parameter": "params",
    "tags": "tags", "tag": "tags",
    "attributes": "attributes", "attribute": "attributes", "attr": "attributes",
    "run": "attributes",
    "datasets": "datasets", "dataset": "datasets",
}

#: What the "expected a comparison operator" message lists, in the order people think of them.
OPERATORS_HELP = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS"

#: Deeper nesting than this is refused: SQLite's parser stack is small (100 entries in the
#: builds before 3.46 that we must support) and no person nests 20 levels on purpose.
MAX_DEPTH = 20

_SPACE = re.compile(r"\s+")
# A plain name starts with a letter or underscore; dots, dashes, slashes and colons may follow
# (``tags.mlflow.user``, ``metrics.train/loss``): the grammar has no arithmetic, so they are
# never ambiguous. Anything else (spaces, quotes...) needs `backticks` or "double quotes".
_WORD = re.compile(r"[^\W\d][\w.\-/:]*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OP = re.compile(r"<=|>=|<>|!=|==|=|<|>")
_CANONICAL_OP = {"<>": "!=", "==": "="}
_SINGLE = {"(": "(", ")": ")", ",": ","}


@dataclass(frozen=True)
class Token:
    """One lexical unit; ``start``/``end`` index the original text so errors can point at it."""

    kind: str  # word | qkey | string | number | op | ( | ) | , | end
    value: object  # unescaped text, the number, or the canonical operator
    start: int
    end: int
    raw: str


@dataclass(frozen=True)
class Literal:
    """A quoted string or a number; keeps its position for "metrics compare to numbers" errors."""

    value: str | int | float
    position: int
    raw: str

    @property
    def is_number(self) -> bool:
        return not isinstance(self.value, str)


@dataclass(frozen=True)
class Comparison:
    """``<entity>.<key> <op> <value>``; ``value`` is a Literal, a tuple for IN, None for IS."""

    entity: str  # canonical: metrics | params | tags | attributes | datasets
    key: str
    op: str  # = != < <= > >= LIKE ILIKE NOT LIKE NOT ILIKE IN NOT IN IS NULL IS NOT NULL
    value: Literal | tuple[Literal, ...] | None
    position: int  # where the field starts
    key_position: int
    op_position: int
    field_text: str  # the field as written, for messages


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True)
class Not:
    item: Node
    position: int


Node = Union[Comparison, And, Or, Not]


@dataclass(frozen=True)
class OrderItem:
    """One ``order_by`` entry: ``<entity>.<key> [ASC|DESC]``."""

    entity: str
    key: str
    descending: bool
    key_position: int
    field_text: str
    text: str  # the whole item, for messages


def _scan_quoted(text: str, start: int, quote: str, what: str) -> tuple[str, int]:
    """Read a quoted run starting at ``start``. A quote is escaped by doubling it (SQL) or by
    a backslash (MLflow users write ``\\'``); ``\\\\`` is one backslash. Any other backslash is
    kept as is, so LIKE patterns can say ``\\%`` for a literal percent sign."""
    out: list[str] = []
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            if i + 1 < n and text[i + 1] == quote:
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise InvalidFilter(
        f"{what}: at position {start}: unterminated {'key' if quote == '`' else 'string'}: "
        f"expected a closing {quote} for the one opened here",
        text, start,
    )


def _number(raw: str) -> int | float:
    """Integers stay exact (timestamps in ms); huge ones become floats so SQLite can bind them
    and Python's int-parsing digit limit is never hit."""
    if re.fullmatch(r"[+-]?\d{1,18}", raw):
        return int(raw)
    return float(raw)


def tokenize(text: str, what: str = "filter") -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token."""
    for i, c in enumerate(text):
        # A lone surrogate cannot be encoded for SQLite; a NUL ends C strings inside SQLite's
        # LIKE/GLOB, so a pattern would silently mean less than it says.
        if c == "\0" or "\ud800" <= c <= "\udfff":
            got = "a NUL character" if c == "\0" else "an unpaired surrogate character"
            raise InvalidFilter(f"{what}: at position {i}: expected text, got {got}", text, i)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        m = _SPACE.match(text, i)
        if m:
            i = m.end()
        if i >= n:
            tokens.append(Token("end", None, n, n, ""))
            return tokens
        c = text[i]
        if c in ("'", '"', "`"):
            value, end = _scan_quoted(text, i, c, what)
            if c == "`" and text[end:end + 1] == "." and str(value).lower() in ENTITY_ALIASES:
                # MLflow accepts a backticked entity: `metrics`.acc, `tags`.`my tag`
                m = _WORD.match(text, end + 1)
                stop = m.end() if m else end + 1
                tokens.append(Token("word", f"{value}.{m.group() if m else ''}", i, stop, text[i:stop]))
                end = stop
            else:
                tokens.append(Token("qkey" if c == "`" else "string", value, i, end, text[i:end]))
        elif c in _SINGLE:
            tokens.append(Token(c, c, i, i + 1, c))
            end = i + 1
        elif (m := _OP.match(text, i)) is not None:
            end = m.end()
            tokens.append(Token("op", _CANONICAL_OP.get(m.group(), m.group()), i, end, m.group()))
        elif (m := _NUMBER.match(text, i)) is not None:
            end = m.end()
            tokens.append(Token("number", _number(m.group()), i, end, m.group()))
        elif (m := _WORD.match(text, i)) is not None:
            end = m.end()
            tokens.append(Token("word", m.group(), i, end, m.group()))
        else:
            raise InvalidFilter(
                f"{what}: at position {i}: unexpected character {c!r}; expected a name, a quoted "
                "string, a number, an operator or a parenthesis", text, i)
        i = end


class _Parser:
    """Recursive descent over the token list; precedence NOT > AND > OR."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what
        self.tokens = tokenize(text, what)
        self.i = 0
        self.depth = 0

    # -- helpers -------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def is_keyword(self, *words: str) -> bool:
        return self.tok.kind == "word" and str(self.tok.value).upper() in words

    def got(self, tok: Token | None = None) -> str:
        tok = tok or self.tok
        if tok.kind == "end":
            return f"end of {'filter' if self.what == 'filter' else 'item'}"
        raw = tok.raw if len(tok.raw) <= 30 else tok.raw[:27] + "..."
        return f"'{raw}'"

    def error(self, message: str, position: int | None = None) -> InvalidFilter:
        pos = self.tok.start if position is None else position
        return InvalidFilter(f"{self.what}: at position {pos}: {message}", self.text, pos)

    def enter(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expected at most {MAX_DEPTH} levels of nesting (NOT and "
                             "parentheses)", position)

    # -- grammar -------------------------------------------------------------------------------
    def parse_or(self) -> Node:
        start = self.tok.start
        items = [self.parse_and()]
        while self.is_keyword("OR"):
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items), start)

    def parse_and(self) -> Node:
        start = self.tok.start
        items = [self.parse_not()]
        while self.is_keyword("AND"):
            self.advance()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else And(tuple(items), start)

    def parse_not(self) -> Node:
        if self.is_keyword("NOT"):
            start = self.advance().start
            self.enter(start)
            item = self.parse_not()
            self.depth -= 1
            return Not(item, start)
        return self.parse_primary()

    def parse_primary(self) -> Node:
        tok = self.tok
        if tok.kind == "(":
            self.advance()
            self.enter(tok.start)
            node = self.parse_or()
            self.depth -= 1
            if self.tok.kind != ")":
                raise self.error(f"expected AND, OR or ')' to close the '(' at position "
                                 f"{tok.start}, got {self.got()}")
            self.advance()
            return node
        if tok.kind in ("word", "qkey") and not self.is_keyword("AND", "OR"):
            return self.parse_comparison()
        raise self.error("expected a comparison (such as metrics.acc > 0.9), NOT or '(', "
                         f"got {self.got()}")

    def parse_field(self) -> tuple[str, str, int, str]:
        """-> (entity, key, key_position, field_text). A bare name is an attribute."""
        tok = self.advance()
        if tok.kind == "qkey":
            if not tok.value:
                raise self.error("expected a key inside the backticks, got an empty one", tok.start)
            return "attributes", str(tok.value), tok.start, tok.raw
        word = str(tok.value)
        prefix, dot, key = word.partition(".")
        if not dot:
            return "attributes", word, tok.start, word
        entity = ENTITY_ALIASES.get(prefix.lower())
        if entity is None:
            raise self.error(
                f"expected an entity before the dot (metrics, params, tags, attributes or datasets), got "
                f"'{prefix}' in '{word}'; a tag is written tags.{word}", tok.start)
        if key:
            return entity, key, tok.start + len(prefix) + 1, word
        nxt = self.tok
        if nxt.kind == "qkey" or (nxt.kind == "string" and nxt.raw.startswith('"')):
            self.advance()
            if nxt.value:
                return entity, str(nxt.value), nxt.start, self.text[tok.start:nxt.end]
        raise self.error(f"expected a key after '{word}' (a name, `backticked` or "
                         f'"double-quoted"), got {self.got(nxt)}', nxt.start)

    def parse_operator(self, field_text: str) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return str(tok.value)
        if self.is_keyword("LIKE", "ILIKE", "IN"):
            return str(self.advance().value).upper()
        if self.is_keyword("NOT"):
            self.advance()
            if self.is_keyword("LIKE", "ILIKE", "IN"):
                return "NOT " + str(self.advance().value).upper()
            raise self.error(f"expected LIKE, ILIKE or IN after NOT, got {self.got()}")
        if self.is_keyword("IS"):
            self.advance()
            negated = self.is_keyword("NOT")
            if negated:
                self.advance()
            if self.is_keyword("NULL"):
                self.advance()
                return "IS NOT NULL" if negated else "IS NULL"
            raise self.error(f"expected {'NULL' if negated else 'NULL or NOT NULL'} after "
                             f"{'IS NOT' if negated else 'IS'}, got {self.got()}")
        raise self.error(f"expected a comparison operator ({OPERATORS_HELP}) after "
                         f"'{field_text}', got {self.got()}")

    def parse_literal(self, after: str) -> Literal:
        tok = self.tok
        if tok.kind in ("string", "number"):
            self.advance()
            return Literal(tok.value, tok.start, tok.raw)  # type: ignore[arg-type]
        if self.is_keyword("NULL"):
            raise self.error("expected a value; NULL is only allowed as IS NULL or IS NOT NULL")
        raise self.error(f"expected a value (a quoted string or a number) after {after}, "
                         f"got {self.got()}")

    def parse_comparison(self) -> Comparison:
        start = self.tok.start
        entity, key, key_pos, field_text = self.parse_field()
        op_pos = self.tok.start
        op = self.parse_operator(field_text)
        value: Literal | tuple[Literal, ...] | None = None
        if op in ("IN", "NOT IN"):
            if self.tok.kind != "(":
                raise self.error(f"expected '(' and a list of values after {op}, got {self.got()}")
            self.advance()
            values = [self.parse_literal(f"'{op} ('")]
            while self.tok.kind == ",":
                self.advance()
                values.append(self.parse_literal("','"))
            if self.tok.kind != ")":
                raise self.error(f"expected ',' or ')' in the {op} list, got {self.got()}")
            self.advance()
            for lit in values[1:]:
                if lit.is_number != values[0].is_number:
                    raise self.error("expected every value of an IN list to be of one kind; "
                                     "this list mixes strings and numbers", lit.position)
            value = tuple(values)
        elif op not in ("IS NULL", "IS NOT NULL"):
            value = self.parse_literal(f"'{op}'")
        return Comparison(entity, key, op, value, start, key_pos, op_pos, field_text)


def parse_filter(text: str | None) -> Node | None:
    """Parse a filter; ``None`` for an empty or blank one (which means "everything")."""
    if text is not None and not isinstance(text, str):
        raise InvalidFilter(f"filter: expected a string, got {type(text).__name__}")
    if text is None or not text.strip():
        return None
    p = _Parser(text, "filter")
    node = p.parse_or()
    if p.tok.kind != "end":
        if p.tok.kind == ")":
            raise p.error("expected AND, OR or end of filter, got ')' that closes nothing")
        raise p.error(f"expected AND, OR or end of filter, got {p.got()}")
    return node


def parse_order_item(text: str) -> OrderItem:
    """Parse one ``order_by`` entry such as ``metrics.`val loss` DESC``."""
    p = _Parser(text, f"order_by item {text!r}")
    if p.tok.kind not in ("word", "qkey"):
        raise p.error(f"expected a field such as metrics.acc or start_time, got {p.got()}")
    entity, key, key_pos, field_text = p.parse_field()
    descending = False
    if p.is_keyword("ASC", "DESC"):
        descending = str(p.advance().value).upper() == "DESC"
    if p.tok.kind != "end":
        raise p.error(f"expected ASC, DESC or end of item after '{field_text}', got {p.got()}")
    return OrderItem(entity, key, descending, key_pos, field_text, text)
