"""Reading a skops file of plain scikit-learn parts, in a third of the time skops takes.

skops loads a file in three passes: it builds a tree of node objects from ``schema.json``,
audits the tree, then constructs the objects; and it parses each array's ``.npy`` header with
``ast.literal_eval``. For a 100-tree forest that is ~130 ms, most of a model load. By the time
this reader runs, the loader (``lighttrack.models.trust``) has already checked every type the
schema names against the allow-list, so this reader builds the objects in one pass over the
schema, and it builds nothing whose type is not on the list it was handed (``approved``):
every class it imports goes through ``_Reader.type_named``.

It understands the node kinds skops writes for estimators, arrays, dicts, lists, tuples,
types, trees, losses, random states and sparse matrices, each built the way skops builds it
(``skops/io/_general.py``, ``_numpy.py``, ``_sklearn.py``, ``_scipy.py``, protocol 2). A file
holding anything else (functions, methods, partials, bytes, masked arrays, generators, another
protocol) raises ``NotHandled`` and the caller hands it to skops, whose audit then decides as
before (what was built until then is of approved types only, and dropped). ``tests/test_skops_reader.py`` compares what both build,
object by object, for a corpus of estimators.
"""

from __future__ import annotations

import gc
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from lighttrack.errors import ModelError

PROTOCOL = 2  # skops' persistence protocol this reader follows (skops 0.10-0.16 write it)

#: numpy's own limit on a header (``numpy.lib.format``), against headers built to be slow.
_MAX_HEADER = 10_000
_HEADER = re.compile(
    r"\{'descr': (?P<descr>.+), 'fortran_order': (?P<fortran>True|False), "
    r"'shape': \((?P<shape>[0-9]+(?:, [0-9]+)*,?)?\), \}[ \n]*\Z", re.S)


class NotHandled(Exception):
    """The file holds a node kind (or protocol) this reader leaves to skops."""


class SkopsFile:
    """A skops archive with its schema parsed once (``lighttrack.models.skops_schema``): every
    type the schema names (``types``, what the trust check sees), the classes it would call
    with its own arguments (``constructed``), and the tree the reader builds from."""

    def __init__(self, data: bytes, what: str = "the skops file") -> None:
        from lighttrack.models.skops_schema import Schema

        self.what = what
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(data))
            self.members = _Members(self.archive, data)
            with _no_collection():
                schema = Schema(self.members.read("schema.json"), what)
            for name in sorted(schema.archives):
                self.members.check_nested(name)
        except ModelError:
            raise
        except (Exception, MemoryError) as exc:  # a crafted archive or schema: never a traceback
            raise ModelError(f"{what} is not a skops file ({type(exc).__name__}: {exc}); "
                             "it was not loaded") from None
        self.schema = schema.tree
        self.types = sorted(schema.types)
        self.constructed = sorted(schema.constructed)
        self.kinds = schema.kinds

    def build(self, approved: list[str]) -> Any:
        """The object the file holds, built from the types in ``approved`` only.

        Raises ``NotHandled`` when the file needs skops itself, ``UntrustedModel`` when it
        names a type that is not in ``approved``, ``ModelError`` when it is malformed.
        """
        schema = self.schema
        protocol = schema.get("protocol") if isinstance(schema, dict) else None
        if type(protocol) is not int or protocol != PROTOCOL:
            raise NotHandled(f"protocol {protocol!r}")
        try:
            with _no_collection():
                return _Reader(self.members, approved, self.what).build(schema)
        except (ModelError, NotHandled):
            raise
        except (Exception, MemoryError) as exc:
            raise ModelError(f"{self.what} is malformed ({type(exc).__name__}: {exc}); "
                             "it was not loaded") from None


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while a schema is parsed or a model built: both make tens of
    thousands of acyclic objects, so the collections they trigger free nothing, and in a
    process holding a framework's heap (torch, TensorFlow) they were a third of a load."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def load(data: bytes, approved: list[str], what: str = "the skops file") -> Any:
    """``SkopsFile(data, what).build(approved)``."""
    return SkopsFile(data, what).build(approved)


class _Members:
    """The files in a skops archive. skops writes them uncompressed: those are sliced out of
    the archive's bytes (checked against the central directory's size and CRC, as ``zipfile``
    checks them), which costs a tenth of opening each through ``zipfile``; any other member is
    read by ``zipfile``."""

    def __init__(self, archive: zipfile.ZipFile, data: bytes) -> None:
        self.archive, self.data = archive, data
        # deflate makes at most ~1,032 bytes of one: what the whole file may inflate to, its
        # sparse matrices' own compressed arrays included (checked before anything is read)
        self.budget = 1032 * len(data) + (1 << 20)
        self.claimed = sum(info.file_size for info in archive.infolist()
                           if info.compress_type != zipfile.ZIP_STORED)
        if self.claimed > self.budget:
            raise zipfile.BadZipFile(f"its members claim {self.claimed:,} bytes from {len(data):,}")

    def check_nested(self, name: str) -> None:
        """A member that is itself an archive (a sparse matrix's .npz) inflates within the
        same budget."""
        with zipfile.ZipFile(io.BytesIO(self.read(name))) as inner:
            self.claimed += sum(info.file_size for info in inner.infolist()
                                if info.compress_type != zipfile.ZIP_STORED)
        if self.claimed > self.budget:
            raise zipfile.BadZipFile(f"member {name!r} holds arrays that inflate past what the file "
                                     f"can hold ({self.claimed:,} bytes from {len(self.data):,})")

    def read(self, name: str) -> bytes:
        info = self.archive.getinfo(name)
        if info.flag_bits & 0x1:
            raise zipfile.BadZipFile(f"member {name!r} is encrypted")
        if info.compress_type == zipfile.ZIP_DEFLATED:
            return self.archive.read(name)  # what it claims is within the file's budget (__init__)
        if info.compress_type != zipfile.ZIP_STORED:
            raise zipfile.BadZipFile(f"member {name!r} is compressed with method {info.compress_type} "
                                     "(skops writes stored or deflated members)")
        offset = info.header_offset
        header = self.data[offset:offset + 30]
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {name!r}")
        name_size, extra_size = struct.unpack("<HH", header[26:30])
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if self.data[offset + 30:offset + 30 + name_size] != info.orig_filename.encode(encoding):
            raise zipfile.BadZipFile(f"member {name!r} has another name in its local header")
        start = offset + 30 + name_size + extra_size
        content = self.data[start:start + info.compress_size]
        if len(content) != info.file_size or zlib.crc32(content) != info.CRC:
            raise zipfile.BadZipFile(f"bad CRC or size for {name!r}")
        return content


_UNSET = object()
_BUILDING = object()  # an id whose object is being built (a reference back to it is a cycle)


class _Reader:
    def __init__(self, archive: _Members, approved: list[str], what: str) -> None:
        self.archive = archive
        self.what = what
        self.approved = frozenset(approved)
        self.types: dict[tuple[str, str], Any] = {}  # approved classes already imported
        self.json: dict[str, Any] = {}  # JSON text -> its value, for immutable values only
        self.memo: dict[Any, Any] = {}  # __id__ -> object, as skops' LoadContext.memo
        self.kinds = {
            "JsonNode": self.json_value, "DictNode": self.dict_value, "ListNode": self.list_value,
            "SetNode": self.list_value, "TupleNode": self.tuple_value, "TypeNode": self.type_value,
            "NdArrayNode": self.array_value, "DTypeNode": self.dtype_value,
            "ObjectNode": self.object_value, "ConstructorFromReduceNode": self.constructed_value,
            "TreeNode": self.tree_value, "LossNode": self.loss_value,
            "RandomStateNode": self.random_state_value, "SparseMatrixNode": self.sparse_value,
            "SliceNode": self.slice_value,
        }

    def type_named(self, module: str, name: str) -> Any:
        """The class ``module.name``: only one the loader approved."""
        found = self.types.get((module, name))
        if found is not None:
            return found
        if f"{module}.{name}" not in self.approved:
            from lighttrack.models.trust import UntrustedModel

            raise UntrustedModel(f"{self.what} would build {module}.{name}, which lighttrack's type "
                                 "check did not approve; it was not loaded")
        import importlib

        found = self.types[module, name] = getattr(importlib.import_module(module), name)
        return found

    def build(self, state: dict[str, Any]) -> Any:
        # skops memoizes by the saved object id: a later state with an id seen before *is* that
        # object (its own content is not read), which is how shared references come back.
        if state["__loader__"] == "CachedNode":
            found = self.memo.get(state.get("__id__"), _UNSET)
            if found is _UNSET:
                raise ModelError(f"{self.what} refers to an unknown object id {state.get('__id__')!r}; "
                                 "it was not loaded")
            return self._finished(found)
        saved_id = state.get("__id__")
        if saved_id:
            found = self.memo.get(saved_id, _UNSET)
            if found is not _UNSET:
                return self._finished(found)
            self.memo[saved_id] = _BUILDING
        kind = self.kinds.get(state["__loader__"])
        if kind is None:
            raise NotHandled(state["__loader__"])
        value = kind(state, state["__module__"], state["__class__"])
        if saved_id:
            self.memo[saved_id] = value
        return value

    @staticmethod
    def _finished(found: Any) -> Any:
        if found is _BUILDING:
            raise ModelError("a skops file holds an object that contains itself; it was not loaded")
        return found

    # -- one method per node kind, each as skops constructs it --------------------------------

    def json_value(self, state: dict, module: str, name: str) -> Any:
        text = state["content"]
        value = self.json.get(text, _UNSET)
        if value is _UNSET:
            value = json.loads(text)
            if type(value) in (int, float, str, bool, type(None)):  # a list must not be shared
                self.json[text] = value
        return value

    def dict_value(self, state: dict, module: str, name: str) -> Any:
        import numpy as np

        key_types = self.build(state["key_types"])
        if not all(key_type in (str, int, float, bool) or (isinstance(key_type, type) and issubclass(key_type, np.generic))
                   for key_type in key_types):
            raise ModelError(f"{self.what} holds a dict whose keys are not made by str, int, float, bool "
                             "or a numpy scalar type; it was not loaded")
        result = self.type_named(module, name)()
        for key_type, (key, value) in zip(key_types, state["content"].items()):
            result[key_type(key)] = self.build(value)
        return result

    def list_value(self, state: dict, module: str, name: str) -> Any:
        kind = self.type_named(module, name)
        if kind not in (list, set):  # skops writes these two kinds for lists and sets only
            raise ModelError(f"{self.what} would build a {module}.{name} from a list; it was not loaded")
        return kind([self.build(item) for item in state["content"]])

    def tuple_value(self, state: dict, module: str, name: str) -> Any:
        kind = self.type_named(module, name)
        items = tuple(self.build(item) for item in state["content"])
        return kind(*items) if _is_namedtuple(kind) else items

    def type_value(self, state: dict, module: str, name: str) -> Any:
        return self.type_named(module, name)

    def array_value(self, state: dict, module: str, name: str) -> Any:
        import numpy as np

        kind = self.type_named(module, name)
        if not (kind is np.ndarray or (isinstance(kind, type) and issubclass(kind, np.generic))):
            raise ModelError(f"{self.what} would call {module}.{name} on an array; it was not loaded")
        if state["type"] == "numpy":
            array = read_npy(self.archive.read(state["file"]))
            if type(array) is not np.ndarray:  # np.load of a zip member gives an NpzFile
                raise ModelError(f"{self.what} holds an array file that is not one array; it was not loaded")
            return array if kind is np.ndarray else kind(array)  # else a numpy scalar, e.g. float64
        if state["type"] != "json":
            raise ValueError(f"unknown array storage {state['type']!r}")
        items = [self.build(item) for item in state["content"]]
        shape = self.build(state["shape"])
        if len(shape) == 1:
            array = np.ndarray(shape=len(items), dtype="O")
            for i, item in enumerate(items):
                array[i] = item
            return array
        return np.array(items, dtype="O")

    def dtype_value(self, state: dict, module: str, name: str) -> Any:
        self.type_named(module, name)
        return self.build(state["content"]).dtype

    def object_value(self, state: dict, module: str, name: str) -> Any:
        kind = self.type_named(module, name)
        instance = kind.__new__(kind)
        content = state.get("content")
        if content is None:
            return instance
        attrs = self.build(content)
        if attrs is not None:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            else:
                instance.__dict__.update(attrs)
        return instance

    def constructed_value(self, state: dict, module: str, name: str) -> Any:
        kind = self.type_named(module, name)
        return kind(*self.build(state["content"]))

    def tree_value(self, state: dict, module: str, name: str) -> Any:
        # skops builds a TreeNode with scikit-learn's Tree as the constructor, whatever it names
        # (its nodes are checked with the rest of the model: lighttrack.models.skops_checks)
        return self._reduced(state, "sklearn.tree._tree", "Tree")

    def loss_value(self, state: dict, module: str, name: str) -> Any:
        return self._reduced(state, module, name)

    def _reduced(self, state: dict, module: str, name: str) -> Any:
        self.type_named(state["__module__"], state["__class__"])
        attrs_state, args_state = state["content"], state["__reduce__"]["args"]
        attrs = self.build(attrs_state)  # skops reads the state before the arguments
        args = self.build(args_state)
        instance = self.type_named(module, name)(*args)
        if not attrs:
            return instance
        if hasattr(instance, "__setstate__"):
            instance.__setstate__(attrs)
        elif isinstance(attrs, dict) and not isinstance(args, tuple):
            instance.__dict__.update(attrs)
        else:
            raise ModelError(f"{self.what} holds a {module}.{name} that cannot take its saved state; "
                             "it was not loaded")
        return instance

    def random_state_value(self, state: dict, module: str, name: str) -> Any:
        import numpy as np

        kind = self.type_named(module, name)
        if not (isinstance(kind, type) and issubclass(kind, np.random.RandomState)):
            raise ModelError(f"{self.what} holds a random state of type {module}.{name}; it was not loaded")
        generator = kind()
        generator.set_state(self.build(state["content"]))
        return generator

    def sparse_value(self, state: dict, module: str, name: str) -> Any:
        kind = self.type_named(module, name)
        if state["type"] != "scipy":
            raise ValueError(f"unknown sparse storage {state['type']!r}")
        from scipy.sparse import load_npz  # numpy's allow_pickle=False underneath

        matrix = load_npz(io.BytesIO(self.archive.read(state["file"])))
        if not (isinstance(kind, type) and isinstance(matrix, kind)):
            raise ModelError(f"{self.what} names a {module}.{name} whose file holds a "
                             f"{type(matrix).__name__}; it was not loaded")
        return matrix  # its indices are checked with the rest of the model (skops_checks)

    def slice_value(self, state: dict, module: str, name: str) -> Any:
        self.type_named(module, name)
        content = state["content"]
        return slice(content["start"], content["stop"], content["step"])


def _is_namedtuple(kind: Any) -> bool:
    bases = getattr(kind, "__bases__", ())
    fields = getattr(kind, "_fields", None)
    return (len(bases) == 1 and bases[0] is tuple and isinstance(fields, tuple)
            and all(isinstance(f, str) for f in fields))


def read_npy(raw: bytes) -> Any:
    """``numpy.load(io.BytesIO(raw), allow_pickle=False)``, with the usual header read without
    ``ast.literal_eval`` (its compile is most of the cost of a small array). Any header that is
    not in the exact form numpy writes goes to ``numpy.load`` itself."""
    import numpy as np

    fast = _fast_npy(raw)
    if fast is not None:
        return fast
    return np.load(io.BytesIO(raw), allow_pickle=False)


def _fast_npy(raw: bytes) -> Any:
    import numpy as np

    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        return None
    major = raw[6]
    if major == 1:
        size, start = int.from_bytes(raw[8:10], "little"), 10
    elif major in (2, 3):
        size, start = int.from_bytes(raw[8:12], "little"), 12
    else:
        return None
    if size > _MAX_HEADER:
        return None
    try:
        header = raw[start:start + size].decode("utf8" if major == 3 else "latin1")
    except UnicodeDecodeError:
        return None
    match = _HEADER.match(header)
    if match is None:
        return None
    dtype = _dtype(match["descr"])
    if dtype is None or dtype.hasobject or dtype.itemsize == 0:
        return None
    shape = tuple(int(n) for n in (match["shape"] or "").split(",") if n.strip())
    count = 1
    for n in shape:
        count *= n
    offset = start + size
    order = "F" if match["fortran"] == "True" else "C"
    if count == 0:
        return np.empty(shape, dtype=dtype, order=order)
    if len(raw) - offset < count * dtype.itemsize:
        return None  # numpy.load says what is missing
    flat = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order=order).copy(order="K")  # writable, as np.load's


@lru_cache(maxsize=256)
def _dtype(descr: str) -> Any:
    """The dtype a header's ``descr`` text names (the same few recur across a model's arrays)."""
    import ast

    import numpy as np

    try:
        return np.lib.format.descr_to_dtype(ast.literal_eval(descr))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
