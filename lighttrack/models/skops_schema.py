"""Reading a skops file's ``schema.json`` once: every type it names (what the trust check
decides on), and the shapes that no type check sees, refused here for lighttrack's reader and
for skops' loader alike.

skops' loader trusts a file in ways its own type audit does not cover, and a crafted file
used each of them (an adversarial review of lighttrack's reader, 2026-12-01):

* **an id that names two different states.** skops builds the first state it meets with a
  given ``__id__`` and reuses it wherever the id appears again, so a harmless-looking state
  could stand for an earlier, different one (a list of instances where a list of key types is
  expected). skops writes one state per live object, so in a real file the states with the
  same id are the same but for the ids of temporaries inside; a file where they differ is
  refused.
* **dict key types.** Each key is rebuilt as ``key_type(key)``, and the key types are
  whatever the file built; skops writes them as the builtin types of JSON keys only.
* **constructor calls.** A ``ConstructorFromReduceNode`` calls an approved class with the
  file's arguments (``bytes(3_000_000_000)`` is 3 GB from a 400-byte file); skops writes it for
  a few builtins only.
* **random generators.** A ``numpy.random.SeedSequence`` pool of size N takes O(N²) to mix:
  the default pool is 4, a file asked for 10**7 (days).
* **a class built by another node kind than its own.** Each node kind builds its class its
  own way: an ``ObjectNode`` calls ``__setstate__`` with the file's state, a ``LossNode`` calls
  the class with the file's arguments, an ``NdArrayNode`` calls it on an array. A sparse
  matrix, a tree or a numpy dtype built by the wrong kind skipped the checks of its own
  (``trust.check_node_kinds``).
* **one array file for several arrays.** Each reference decompresses and copies the member
  again (an 8 KB file grew to 3 GB); skops writes one member per array.
"""

from __future__ import annotations

import json
from typing import Any

from lighttrack.errors import ModelError

#: The classes skops writes as a constructor call (an object whose reduce is its own type and
#: plain arguments): frozensets and complex numbers among what lighttrack allows.
CONSTRUCTED = frozenset({"builtins.frozenset", "builtins.complex"})
#: What ``dict_get_state`` writes as key types: the type of each key, a builtin of JSON keys or
#: a numpy scalar type (``numpy.str_`` keys are common); the allow-list then admits only
#: numpy's scalar, array and dtype classes, each harmless when called with a key.
KEY_TYPES = frozenset({"str", "int", "float", "bool"})
_MAX_SEED_POOL = 64  # numpy's default pool size is 4
_TEMPORARY = {"__id__", "file"}
_FILE_KINDS = ("NdArrayNode", "SparseMatrixNode", "BytesNode", "BytearrayNode")


class Schema:
    """``schema.json`` parsed, with ``types`` (every ``module.Class`` named) and
    ``constructed`` (the classes a constructor call would be made to)."""

    def __init__(self, text: bytes, what: str) -> None:
        self.what = what
        self.types: set[str] = set()
        self.constructed: set[str] = set()
        self.kinds: set[tuple[str, str]] = set()  # (node kind, module.Class) pairs
        self._by_id: dict[Any, dict] = {}
        self._file_of: dict[str, Any] = {}
        self.archives: set[str] = set()  # members that are archives of their own (sparse .npz)
        self.tree = json.loads(text, object_hook=self._note)

    def refuse(self, why: str) -> ModelError:
        return ModelError(f"{self.what} {why}; it was not loaded")

    def _note(self, state: dict) -> dict:
        """Called by the JSON parser for every object, innermost first."""
        module, name = state.get("__module__"), state.get("__class__")
        if type(module) is str and type(name) is str:
            self.types.add(f"{module}.{name}")
            loader = state.get("__loader__")
            self.kinds.add((str(loader), f"{module}.{name}"))
            if loader == "ConstructorFromReduceNode":
                self.constructed.add(f"{module}.{name}")
            elif loader == "DictNode":
                self._check_key_types(state.get("key_types"))
            elif loader == "RandomGeneratorNode":
                self._check_seed(state)
            if loader in _FILE_KINDS and "file" in state:
                self._check_file(state)
                if loader == "SparseMatrixNode":
                    self.archives.add(state["file"])
        saved_id = state.get("__id__")
        if saved_id is not None and "__loader__" in state and state.get("__loader__") != "CachedNode":
            try:
                first = self._by_id.setdefault(saved_id, state)
            except TypeError:
                raise self.refuse(f"has an object id that is not a number ({saved_id!r})") from None
            if first is not state and first != state and not _equal_but_ids(first, state):
                raise self.refuse(f"gives object id {saved_id!r} to two different objects")
        return state

    def _check_key_types(self, key_types: Any) -> None:
        items = key_types.get("content") if isinstance(key_types, dict) else None
        if not (isinstance(key_types, dict) and key_types.get("__loader__") == "ListNode"
                and isinstance(items, list)):
            raise self.refuse("holds a dict whose key types are not a list of types")
        for item in items:
            if not (isinstance(item, dict) and item.get("__loader__") == "TypeNode" and (
                    (item.get("__module__") == "builtins" and item.get("__class__") in KEY_TYPES)
                    or item.get("__module__") == "numpy")):
                raise self.refuse(f"holds a dict whose keys would be made by {_named(item)}, not by "
                                  f"str, int, float, bool or a numpy scalar type")

    def _check_seed(self, state: dict) -> None:
        try:
            pool = json.loads(state["content"]["seed_seq"]["content"]["pool_size"]["content"])
        except (KeyError, TypeError, ValueError):
            return  # skops refuses a generator state it cannot read
        if type(pool) is not int or not 0 < pool <= _MAX_SEED_POOL:
            raise self.refuse(f"holds a random generator with a seed pool of {pool!r} "
                              f"(numpy's is 4; at most {_MAX_SEED_POOL})")

    def _check_file(self, state: dict) -> None:
        file = state["file"]
        owner = state.get("__id__")
        if owner is None:  # (skops writes an id for every state) each such state is its own owner
            owner = ("no id", id(state))
        if not isinstance(file, str):
            raise self.refuse("names an array file that is not a string")
        first = self._file_of.setdefault(file, owner)
        if first != owner:
            raise self.refuse(f"uses its member {file!r} for two different objects")


def _equal_but_ids(a: Any, b: Any) -> bool:
    """Equal states, apart from the ids (and id-named array files) of what was made only to
    write them: an object saved twice (a forest's ``estimator`` and ``estimator_``, the random
    state every boosting stage shares) gets a fresh ``__getstate__`` dict, key-type list and
    state arrays each time. Only the first state is ever built, so only its shape matters."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = a.keys() - _TEMPORARY
        return keys == b.keys() - _TEMPORARY and all(_equal_but_ids(a[k], b[k]) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal_but_ids(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _named(state: Any) -> str:
    if isinstance(state, dict):
        return f"{state.get('__module__')}.{state.get('__class__')} ({state.get('__loader__')})"
    return repr(state)[:60]
