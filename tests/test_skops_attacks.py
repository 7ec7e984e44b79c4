"""Crafted skops files, one per way an adversarial review (2026-12-01) made a received model
file run code, crash, hang or fill memory at load: each is refused with a ModelError, before
anything it asks for happens. Every file here is built for real (a zip with its schema.json);
the review's findings are named in lighttrack/models/skops_schema.py and trust.py."""

from __future__ import annotations

import io
import itertools
import json
import sys
import zipfile

import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

from lighttrack.errors import ModelError
from lighttrack.models.trust import UntrustedModel, is_allowed_class, load_skops

_ids = itertools.count(1000)


def J(value):
    return {"__class__": type(value).__name__, "__module__": "builtins", "__loader__": "JsonNode",
            "content": json.dumps(value), "__id__": next(_ids)}


def node(loader, module, name, **fields):
    return {"__class__": name, "__module__": module, "__loader__": loader, "__id__": next(_ids), **fields}


def L(items):
    return node("ListNode", "builtins", "list", content=items)


def D(mapping, key_type=None):
    key = key_type or node("TypeNode", "builtins", "str")
    return node("DictNode", "builtins", "dict", content=mapping, key_types=L([dict(key) for _ in mapping]))


def skops_file(root, members=None, compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in (members or {}).items():
            archive.writestr(name, data)
        archive.writestr("schema.json", json.dumps({**root, "protocol": 2, "_skops_version": "0.16.0"}))
    return out.getvalue()


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def refused(data, match, kind=ModelError):
    with pytest.raises(kind, match=match):
        load_skops(data, None, "the file")


def test_a_class_whose_state_is_executed_is_not_on_the_list(tmp_path):
    marker = tmp_path / "ran"
    payload = f"open({str(marker)!r}, 'w').write('x')\n"
    distribution = node("ObjectNode", "scipy.stats._continuous_distns", "norm_gen",
                        content=D({"_parse_arg_template": J(payload)}))
    refused(skops_file(distribution), "norm_gen, which are not on lighttrack's list", UntrustedModel)
    assert not marker.exists()


@pytest.mark.parametrize("name, allowed", [
    ("sklearn.ensemble._forest.RandomForestClassifier", True), ("sklearn.tree._tree.Tree", True),
    ("sklearn._loss.loss.HalfBinomialLoss", True), ("sklearn.neural_network._stochastic_optimizers.AdamOptimizer", True),
    ("numpy.ndarray", True), ("numpy.float64", True), ("numpy.random.mtrand.RandomState", True),
    ("scipy.sparse._csr.csr_matrix", True), ("builtins.frozenset", True),
    ("scipy.stats._continuous_distns.norm_gen", False), ("numpy.lib._stride_tricks_impl.DummyArray", False),
    ("numpy.matrix", False), ("numpy._pytesttester.PytestTester", False), ("sklearn.neighbors._kd_tree.KDTree", False),
    ("sklearn.ensemble._hist_gradient_boosting.binning._BinMapper", False),
    ("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", False),
    ("sklearn.utils.tests.test_pprint.LogisticRegression", False), ("numpy.memmap", False),
])
def test_the_list_holds_what_fitted_estimators_are_made_of(name, allowed):
    assert is_allowed_class(name) is allowed


def test_test_modules_are_refused_before_they_are_imported():
    before = "numpy.conftest" in sys.modules
    refused(skops_file(node("ObjectNode", "numpy.conftest", "Nope")), "numpy.conftest.Nope", UntrustedModel)
    assert ("numpy.conftest" in sys.modules) == before


def test_dict_keys_are_made_by_key_types_only():
    instance = node("ObjectNode", "sklearn.linear_model._logistic", "LogisticRegression")
    refused(skops_file(D({"a": J(1)}, key_type=instance)), "keys would be made by .*LogisticRegression")


def test_a_state_may_not_stand_for_another_with_the_same_id():
    first = L([J(1)])
    second = {**L([J(2)]), "__id__": first["__id__"]}
    refused(skops_file(L([first, second])), "two different objects")


def test_constructor_calls_are_made_for_frozensets_only():
    big = node("ConstructorFromReduceNode", "builtins", "bytes",
               content=node("TupleNode", "builtins", "tuple", content=[J(10 ** 12)]))
    refused(skops_file(big), "would call builtins.bytes with arguments the file chooses", UntrustedModel)


def test_one_array_member_cannot_be_several_arrays():
    array = node("NdArrayNode", "numpy", "ndarray", type="numpy", file="a.npy")
    again = {**array, "__id__": next(_ids)}
    refused(skops_file(L([array, again]), {"a.npy": npy(np.zeros(4))}), "member 'a.npy' for two different objects")


def test_a_member_cannot_claim_more_than_deflate_makes_of_it():
    """zipfile inflates a member whole, as big as its directory entry says."""
    array = node("NdArrayNode", "numpy", "ndarray", type="numpy", file="a.npy")
    data = bytearray(skops_file(array, {"a.npy": npy(np.zeros(1000))}, compression=zipfile.ZIP_DEFLATED))
    entry = data.find(b"PK\x01\x02")  # the central directory entry of the first member, a.npy
    data[entry + 24:entry + 28] = (2 ** 31).to_bytes(4, "little")  # its uncompressed size
    refused(bytes(data), "members claim 2,147,483,817 bytes from")


def test_a_random_generator_seed_pool_is_bounded():
    seed = D({"entropy": J(1), "spawn_key": node("TupleNode", "builtins", "tuple", content=[]),
              "pool_size": J(10 ** 7), "n_children_spawned": J(0)})
    generator = node("RandomGeneratorNode", "numpy.random._generator", "Generator",
                     content={"bit_generator": D({"bit_generator": J("PCG64")}), "seed_seq": seed})
    refused(skops_file(generator), "seed pool of 10000000")


def _tree_file(edit) -> bytes:
    X, Y = load_iris(return_X_y=True)
    data = skops.io.dumps(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, Y))
    source = zipfile.ZipFile(io.BytesIO(data))
    members = {name: source.read(name) for name in source.namelist()}
    schema = json.loads(members.pop("schema.json"))
    tree_state = schema["content"]["content"]["tree_"]
    nodes_file = tree_state["content"]["content"]["nodes"]["file"]
    nodes = np.load(io.BytesIO(members[nodes_file]))
    edit(nodes, schema)
    members[nodes_file] = npy(nodes)
    schema = {k: v for k, v in schema.items() if k not in ("protocol", "_skops_version")}
    return skops_file(schema, members)


@pytest.mark.parametrize("edit, match", [
    (lambda nodes, schema: nodes["left_child"].__setitem__(0, 10 ** 9), "point outside it"),
    (lambda nodes, schema: nodes["left_child"].__setitem__(1, 0), "point outside it"),  # a cycle
    (lambda nodes, schema: nodes["feature"].__setitem__(0, 99), "point outside it"),
    (lambda nodes, schema: schema["content"]["content"].__setitem__("n_features_in_", J(2)), "reads 4 features of the 2"),
])
def test_a_decision_tree_that_points_outside_itself_is_refused(edit, match):
    assert load_skops(_tree_file(lambda nodes, schema: None), None, "the file").predict([[5, 3, 1, 0.2]]).shape == (1,)
    refused(_tree_file(edit), match)


def test_sparse_matrices_are_checked_and_are_what_they_claim():
    import scipy.sparse

    def file(declared, matrix):
        buffer = io.BytesIO()
        scipy.sparse.save_npz(buffer, matrix)
        return skops_file(node("SparseMatrixNode", *declared, type="scipy", file="m.npz"), {"m.npz": buffer.getvalue()})

    good = scipy.sparse.csr_matrix(np.eye(3))
    assert (load_skops(file(("scipy.sparse._csr", "csr_matrix"), good), None, "the file") != good).nnz == 0
    refused(file(("builtins", "int"), good), "builtins.int as a SparseMatrixNode", UntrustedModel)
    refused(file(("scipy.sparse._csc", "csc_matrix"), good), "names a scipy.sparse._csc.csc_matrix whose file holds a csr_matrix")
    bad = scipy.sparse.csr_matrix(np.eye(3))
    bad.indices[0] = 50
    refused(file(("scipy.sparse._csr", "csr_matrix"), bad), "sparse matrix whose indices are not consistent")


@pytest.mark.parametrize("make, match", [
    (lambda: skops_file(node("NdArrayNode", "numpy", "ndarray", type="numpy", file="a.npy"), {"a.npy": b""}), "malformed"),
    (lambda: skops_file(node("NdArrayNode", "numpy", "ndarray", type="numpy", file="a.npy"),
                        {"a.npy": _npz()}), "not one array"),
    (lambda: skops_file(node("NoSuchNode", "builtins", "int")), "builtins.int as a NoSuchNode"),
    (lambda: _flagged(skops_file(J(1)), 0x1), "encrypted"),
    (lambda: b"PK\x05\x06" + b"\0" * 18, "not a skops file"),
])
def test_malformed_files_are_model_errors_never_other_exceptions(make, match):
    refused(make(), match)


def test_what_skops_itself_cannot_load_is_a_model_error_too():
    # a node kind named by the caller's trust goes to skops, whose failure is one ModelError
    with pytest.raises(ModelError, match="could not be loaded by skops"):
        load_skops(skops_file(node("NoSuchNode", "builtins", "int")), ["builtins.int"], "the file")


def _npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.zeros(2))
    return buffer.getvalue()


def _flagged(data: bytes, flag: int) -> bytes:
    """The archive with a general-purpose flag set on every member (central directory too)."""
    raw = bytearray(data)
    for signature, at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            raw[start + at] |= flag
            start += 4
    return bytes(raw)
