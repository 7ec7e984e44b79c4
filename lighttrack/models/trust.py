"""What a model file may make Python build: decided here, in the loader, never by the file.

A model file comes from anyone (files are merged and copied between machines), and MLmodel is
not signed: whoever writes the file can write any list of "trusted" types into it and fresh
hashes beside them. So the types a skops file names are checked against:

* a built-in allow-list of the kinds of class a fitted estimator is made of: scikit-learn
  estimators (and the trees, losses and links inside them), numpy arrays, scalar types,
  dtypes and random generators, scipy sparse matrices, builtin containers. Never functions or
  methods, never a bare module prefix (that would admit ``numpy.load`` and friends), never
  "any class of these libraries" (some run what their state says: see ``is_allowed_class``);
* plus what the caller names explicitly (``trusted_types=``, the CLI's ``--trust TYPE``).

Anything else is refused before any object is built, naming the types; what MLmodel records
(``skops_trusted_types``) is quoted in that message, never trusted on its own.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from lighttrack.errors import ModelError

#: Libraries whose classes may be rebuilt from a model file.
ALLOWED_ROOTS = ("sklearn", "numpy", "scipy")
#: Plain values and containers skops writes for any estimator.
BUILTIN_TYPES = frozenset(
    f"builtins.{name}" for name in
    ("int", "float", "complex", "str", "bytes", "bool", "list", "tuple", "dict", "set", "frozenset",
     "slice", "NoneType", "bytearray")
)
#: Classes (or whole modules) of those libraries that read or write files, or exist to test code.
_REFUSED_PARTS = (
    "numpy.memmap", "numpy.lib.npyio", "numpy.lib._npyio_impl", "numpy.lib._datasource", "numpy.DataSource",
    "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.ctypeslib", "numpy.vectorize",
    "numpy.lib._function_base_impl.vectorize", "scipy.io", "scipy._lib", "sklearn.utils._testing",
    "sklearn.externals", "sklearn.datasets",
    # skops refuses it too: its node array is indexed without bounds checks (a crafted file
    # crashes the process at predict), see skops' UNTRUSTED_TYPE_REASONS.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)
#: Parts of a dotted name that mark test code (checked before anything is imported: importing
#: ``numpy.conftest`` alone pulls in pytest and sets environment variables).
_TEST_NAMES = frozenset({"tests", "test", "testing", "_testing", "conftest", "_pytesttester", "_mocking"})
#: scikit-learn classes that fitted estimators hold but that are not estimators: trees, the
#: losses and links of gradient boosting and SGD, an MLP's optimiser (numbers and arrays only).
#: Not the neighbours' KDTree/BallTree: like HistGradientBoosting's TreePredictor, their index
#: arrays are used unchecked (skops refuses them by default too); name them to load one.
_SKLEARN_PARTS = ("sklearn.tree._tree.Tree", "sklearn._loss.", "sklearn.linear_model._sgd_fast.",
                  "sklearn.neural_network._stochastic_optimizers.")


class UntrustedModel(ModelError):
    """A model file names types lighttrack will not build without the caller's explicit trust."""


def _refused_by_name(name: str) -> bool:
    if _TEST_NAMES.intersection(name.split(".")):
        return True
    return any(name == part or name.startswith(part + ".") for part in _REFUSED_PARTS)


@lru_cache(maxsize=4096)
def is_allowed_class(name: str) -> bool:
    """True when ``name`` ("module.Class") is one of the kinds of class a fitted estimator is
    made of: a scikit-learn estimator (or a tree, loss or link inside one), a numpy array,
    scalar type, dtype or random generator, a scipy sparse matrix, a builtin container.

    Being defined in those libraries is not enough: a file builds its objects by calling the
    class or its ``__setstate__`` with values it chooses, and some classes do anything with
    them (scipy.stats' distributions ``exec`` a string of their state; numpy's DummyArray turns
    a number into a pointer). The module is imported only when it belongs to those libraries.
    """
    if name in BUILTIN_TYPES:
        return True
    if name.split(".", 1)[0] not in ALLOWED_ROOTS or _refused_by_name(name):
        return False
    module_name, _, attr = name.rpartition(".")
    obj = _resolve(module_name, attr)
    if not isinstance(obj, type):
        return False  # functions, ufuncs, methods, modules: never from the allow-list
    real = f"{obj.__module__}.{obj.__qualname__}"
    if real.split(".", 1)[0] not in ALLOWED_ROOTS or _refused_by_name(real):
        return False
    return _is_model_part(obj, real)


def _is_model_part(obj: type, real: str) -> bool:
    root = real.split(".", 1)[0]
    if root == "sklearn":
        from sklearn.base import BaseEstimator

        # public estimators only: the private ones (a binner, a calibration step) live inside
        # estimators that are refused or built whole, and each is compiled code to check
        return (issubclass(obj, BaseEstimator) and not obj.__name__.startswith("_")) or any(
            real == part or (part.endswith(".") and real.startswith(part)) for part in _SKLEARN_PARTS)
    if root == "numpy":
        import numpy as np

        return (obj in (np.ndarray, np.ma.MaskedArray, np.random.RandomState, np.random.Generator)
                or issubclass(obj, (np.generic, np.dtype, np.random.BitGenerator)))
    import scipy.sparse

    sparse = tuple(t for t in (getattr(scipy.sparse, "spmatrix", None), getattr(scipy.sparse, "sparray", None)) if t)
    return bool(sparse) and issubclass(obj, sparse)


def _resolve(module_name: str, attr: str) -> Any:
    # A dotted path may name a nested attribute (module.Class.Inner); try the longest module first.
    parts = module_name.split(".")
    for cut in range(len(parts), 0, -1):
        mod_path = ".".join(parts[:cut])
        try:
            obj: Any = sys.modules.get(mod_path) or importlib.import_module(mod_path)
        except Exception:  # not a module (or not importable here): try a shorter prefix
            continue
        for piece in parts[cut:] + [attr]:
            obj = getattr(obj, piece, None)
            if obj is None:
                return None
        return obj
    return None


def skops_types(data: bytes) -> list[str]:
    """Every type a skops file would make skops build, read from its schema without skops."""
    from lighttrack.models.skops_reader import SkopsFile

    return SkopsFile(data).types


def load_skops(data: bytes, trusted_types: Iterable[str] | None, what: str,
               recorded: Iterable[str] | None = None) -> Any:
    """The object a skops file holds, if every type it names passes ``check_types``.

    The schema is parsed once: its type list is checked here, then lighttrack's reader builds
    the object from exactly the accepted types. A file with parts the reader leaves to skops
    (functions, methods ...) goes to skops, which audits it again against the same list.
    """
    from lighttrack.models.skops_reader import NotHandled, SkopsFile

    from lighttrack.models.skops_schema import CONSTRUCTED

    file = SkopsFile(data, what)
    trusted = check_types(file.types, trusted_types, what, recorded)
    called = sorted(set(file.constructed) - CONSTRUCTED - set(trusted_types or ()))
    if called:
        raise UntrustedModel(f"{what} would call {', '.join(called)} with arguments the file chooses "
                             "(skops writes such calls for frozensets only). It was not loaded. If you "
                             "trust where it came from, name them: trusted_types=[...] (CLI: --trust TYPE)")
    check_node_kinds(file.kinds, trusted_types, what)
    try:
        model = file.build(trusted)
    except NotHandled:
        model = _skops_loads(data, trusted, what)
    from lighttrack.models.skops_checks import check_model

    try:
        check_model(model, what, trusted_types or ())
    except ModelError:
        raise
    except (Exception, MemoryError) as exc:  # a crafted object that even the checks trip on
        raise ModelError(f"{what} holds an estimator that cannot be checked ({type(exc).__name__}: "
                         f"{exc}); it was not loaded") from None
    return model


def _skops_loads(data: bytes, trusted: list[str], what: str) -> Any:
    from lighttrack.models.skops_import import skops_io

    skops = skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return skops.loads(data, trusted=trusted)
    except UntrustedTypesFoundException as exc:
        raise UntrustedModel(f"{what} was refused by skops' own audit ({exc}); it was not loaded") from None
    except (Exception, MemoryError) as exc:  # skops' loader on a crafted file: never a traceback
        raise ModelError(f"{what} could not be loaded by skops ({type(exc).__name__}: {exc})") from None


#: What each node kind skops writes builds, for the classes on the built-in list. A class the
#: caller names may come in any kind (it is theirs to vouch for).
_NODE_KINDS = {
    "JsonNode": "a builtin value", "TypeNode": "a class (not called)", "CachedNode": "a reference",
    "DictNode": "builtins.dict", "ListNode": "builtins.list", "SetNode": "builtins.set",
    "TupleNode": "builtins.tuple", "SliceNode": "builtins.slice", "BytesNode": "builtins.bytes",
    "BytearrayNode": "builtins.bytearray", "ConstructorFromReduceNode": "a frozenset or complex number",
    "TreeNode": "sklearn.tree._tree.Tree", "LossNode": "a compiled loss of sklearn._loss or SGD",
    "ObjectNode": "a scikit-learn estimator or part", "NdArrayNode": "a numpy array or scalar",
    "DTypeNode": "a numpy dtype", "MaskedArrayNode": "numpy.ma.MaskedArray",
    "RandomStateNode": "numpy's RandomState", "RandomGeneratorNode": "numpy's Generator",
    "SparseMatrixNode": "a scipy sparse matrix",
}
_COMPILED_LOSSES = ("sklearn._loss._loss.", "sklearn.linear_model._sgd_fast.")


def check_node_kinds(kinds: Iterable[tuple[str, str]], trusted_types: Iterable[str] | None, what: str) -> None:
    """Refuse a class built by another node kind than the one skops writes for it: each kind
    builds its class its own way (``__setstate__`` with the file's state, a call with the
    file's arguments, a call on an array), and the checks of a class are made for its own."""
    explicit = set(trusted_types or ())
    for kind, name in sorted(kinds):
        if name not in explicit and not _kind_builds(kind, name):
            raise UntrustedModel(
                f"{what} would build {name} as a {kind}, which builds "
                f"{_NODE_KINDS.get(kind, 'nothing on the built-in list')}. It was not loaded. If you "
                "trust where it came from, name the type: trusted_types=[...] (CLI: --trust TYPE)")


def _kind_builds(kind: str, name: str) -> bool:
    if kind in ("JsonNode", "TypeNode", "CachedNode", "ConstructorFromReduceNode"):
        return True  # a value, a class object, a reference; constructor calls are checked apart
    expected = _NODE_KINDS.get(kind, "")
    if expected.startswith(("builtins.", "sklearn.tree.", "numpy.ma.")):
        return name == expected
    if kind == "LossNode":
        return name.startswith(_COMPILED_LOSSES)
    if kind == "ObjectNode":
        return (name.split(".", 1)[0] == "sklearn" and name != "sklearn.tree._tree.Tree"
                and not name.startswith(_COMPILED_LOSSES))
    cls = _resolve(*name.rsplit(".", 1)) if "." in name else None
    if not isinstance(cls, type):
        return False
    import numpy as np

    if kind == "NdArrayNode":
        return cls is np.ndarray or issubclass(cls, np.generic)
    if kind == "DTypeNode":
        return issubclass(cls, np.dtype)
    if kind == "RandomStateNode":
        return issubclass(cls, np.random.RandomState)
    if kind == "RandomGeneratorNode":
        return issubclass(cls, np.random.Generator)
    if kind == "SparseMatrixNode":
        return name.startswith("scipy.") and _is_model_part(cls, name)
    return False


def check_types(types: Iterable[str], trusted_types: Iterable[str] | None, what: str,
                recorded: Iterable[str] | None = None) -> list[str]:
    """The types to hand to skops as trusted; raises ``UntrustedModel`` naming the others.

    ``recorded`` (what the file's MLmodel claims is trusted) only appears in the message.
    """
    explicit = set(trusted_types or ())
    types = sorted(set(types))
    refused = [t for t in types if t not in explicit and not is_allowed_class(t)]
    if refused:
        claimed = sorted(set(recorded or ()) & set(refused))
        note = (f"; its MLmodel lists {', '.join(claimed)} as trusted, which lighttrack never takes "
                "from the file") if claimed else ""
        raise UntrustedModel(
            f"{what} would build {', '.join(refused)}, which are not on lighttrack's list of what "
            f"fitted estimators are made of{note}. It was not loaded. If you trust where it came from, name them: "
            f"trusted_types=[...] (CLI: --trust TYPE)"
        )
    return types
