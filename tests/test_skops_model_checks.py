"""Models whose types are all allowed but whose fitted numbers would make scikit-learn's
compiled predict code read or write outside its arrays (lighttrack/models/skops_checks.py).

Each family is tried both ways: the real fitted model loads and predicts as before, and the
same model with one number changed, as a crafted file would carry it, is refused at load with a
ModelError (every one of these crashed the process at predict before, found by an adversarial
review on 2026-12-01). Crafted files are made by changing the fitted object and saving it with
skops, so what is refused is exactly what skops writes."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest
import scipy.sparse
import skops.io
from sklearn.cluster import KMeans
from sklearn.ensemble import (
    AdaBoostClassifier, BaggingClassifier, ExtraTreesRegressor, GradientBoostingClassifier,
    GradientBoostingRegressor, IsolationForest, RandomForestClassifier, RandomTreesEmbedding,
)
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.kernel_approximation import Nystroem
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import (
    KNeighborsClassifier, KNeighborsRegressor, KNeighborsTransformer, LocalOutlierFactor, NearestNeighbors,
    RadiusNeighborsClassifier,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer, OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, OneClassSVM
from sklearn.tree import DecisionTreeClassifier

from lighttrack.errors import ModelError
from lighttrack.models.trust import load_skops

rng = np.random.RandomState(0)
X = rng.normal(size=(40, 4))
Y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
TEXTS = ["red apple", "green apple", "red car", "blue car", "green tree", "blue sky"] * 2
LABELS = [0, 0, 1, 1, 0, 1] * 2
RECORDS = [{"colour": c, "size": s} for c, s in zip("rgbrgbrgbrgb", range(12))]
CATEGORIES = np.array([list("aaaaabbbbccd"), list("xyxyxyxyxyzz")]).T  # c and d are rare


def _load(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_skops(skops.io.dumps(model), None, "the file")


def _fitted():
    """(name, model, input): every family the checks know, fitted for real."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            ("tree", DecisionTreeClassifier(max_depth=3).fit(X, Y), X),
            ("forest", RandomForestClassifier(n_estimators=3, random_state=0).fit(X, Y), X),
            ("extra trees", ExtraTreesRegressor(n_estimators=2, random_state=0).fit(X, X[:, 0]), X),
            ("bagging (feature subsets)", BaggingClassifier(DecisionTreeClassifier(), n_estimators=3, max_features=2,
                                                            bootstrap_features=True, random_state=0).fit(X, Y), X),
            ("isolation forest (feature subsets)", IsolationForest(n_estimators=3, max_features=2, random_state=0).fit(X), X),
            ("adaboost", AdaBoostClassifier(n_estimators=3, random_state=0).fit(X, Y), X),
            ("boosting, binary", GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, Y > 0), X),
            ("boosting, 3 classes", GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, Y), X),
            ("boosting, custom init", GradientBoostingRegressor(n_estimators=3, init=LinearRegression()).fit(X, X[:, 0]), X),
            ("boosting, zero init", GradientBoostingRegressor(n_estimators=3, init="zero").fit(X, X[:, 0]), X),
            ("trees embedding (sparse output)", RandomTreesEmbedding(n_estimators=2, random_state=0).fit(X), X),
            ("svc, 3 classes", SVC().fit(X, Y), X),
            ("svc, probability", SVC(probability=True, random_state=0).fit(X, Y > 0), X),
            ("nu-svc", NuSVC(nu=0.1).fit(X, Y), X),
            ("svr", SVR().fit(X, X[:, 0]), X),
            ("one-class svm", OneClassSVM().fit(X), X),
            ("svc, sparse", SVC().fit(scipy.sparse.csr_matrix(X), Y), scipy.sparse.csr_matrix(X)),
            ("svc, precomputed kernel", SVC(kernel="precomputed").fit(X @ X.T, Y), X[:5] @ X.T),
            ("kmeans", KMeans(3, n_init=1, random_state=0).fit(X), X),
            ("count vectorizer", make_pipeline(CountVectorizer(), LogisticRegression()).fit(TEXTS, LABELS), TEXTS),
            ("tf-idf vectorizer", make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(TEXTS, LABELS), TEXTS),
            ("dict vectorizer", make_pipeline(DictVectorizer(), LogisticRegression()).fit(RECORDS, LABELS), RECORDS),
            ("one-hot", make_pipeline(OneHotEncoder(), LogisticRegression()).fit(CATEGORIES, LABELS), CATEGORIES),
            ("one-hot, drop first", OneHotEncoder(drop="first").fit(CATEGORIES), CATEGORIES),
            ("one-hot, infrequent grouped and dropped", OneHotEncoder(
                min_frequency=3, drop="first", handle_unknown="infrequent_if_exist").fit(CATEGORIES), CATEGORIES),
            ("multilabel binarizer", _binarizer(), [{"a"}, {"b", "c"}]),
            ("one-hot, numbers", make_pipeline(OneHotEncoder(), DecisionTreeClassifier()).fit(
                np.arange(12).reshape(-1, 1) % 5, LABELS), np.arange(12).reshape(-1, 1) % 5),
            ("neighbours, brute manhattan", KNeighborsClassifier(3, algorithm="brute", metric="manhattan").fit(X, Y), X),
            ("neighbours, two outputs", KNeighborsClassifier(3, algorithm="brute").fit(X, np.c_[Y, Y > 0]), X),
            ("radius neighbours", RadiusNeighborsClassifier(3.0, algorithm="brute", metric="manhattan").fit(X, Y), X),
            ("hashing vectorizer", make_pipeline(HashingVectorizer(n_features=64), LogisticRegression()).fit(TEXTS, LABELS), TEXTS),
            ("polynomial features", PolynomialFeatures(3, interaction_only=True).fit(X), X),
            ("nystroem", Nystroem(n_components=5, random_state=0).fit(X), X),
            ("nearest neighbours", NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X), X),
            ("neighbours regressor, sparse", KNeighborsRegressor(3).fit(scipy.sparse.csr_matrix(X), X[:, 0]), X),
            ("neighbours graph", KNeighborsTransformer(n_neighbors=3, algorithm="brute").fit(X), X),
            ("outlier factor", LocalOutlierFactor(n_neighbors=5, novelty=True, algorithm="brute").fit(X), X),
            ("neighbours, precomputed", KNeighborsClassifier(3, metric="precomputed").fit(_distances(X), Y), _distances(X[:5])),
            ("one-vs-rest, multi-label", OneVsRestClassifier(LogisticRegression()).fit(X, np.c_[Y > 0, Y > 1]), X),
            ("neighbours, mahalanobis", NearestNeighbors(n_neighbors=3, algorithm="brute", metric="mahalanobis",
                                                         metric_params={"VI": np.eye(4)}).fit(X), X),
            ("boosting, dummy init", GradientBoostingRegressor(n_estimators=2, init=DummyRegressor()).fit(X, X[:, 0]), X),
            ("one-vs-rest of pipelines", OneVsRestClassifier(make_pipeline(StandardScaler(), SVC())).fit(
                X, np.c_[Y > 0, Y > 1]), X),
            ("dummy, random", DummyClassifier(strategy="uniform", random_state=np.random.RandomState(1)).fit(X, Y), X),
        ]


def _distances(rows):
    from sklearn.metrics import pairwise_distances

    return pairwise_distances(rows, X)


def _binarizer():
    binarizer = MultiLabelBinarizer(sparse_output=True).fit([{"a", "b"}, {"c"}])
    binarizer.transform([{"a"}])  # builds the cached label numbers, which are saved too
    return binarizer


def _outputs(model, data):
    if type(model).__name__ == "NearestNeighbors":
        return model.kneighbors_graph(data).toarray()
    for method in ("predict", "transform", "score_samples"):
        if hasattr(model, method):
            out = getattr(model, method)(data)
            return out.toarray() if scipy.sparse.issparse(out) else np.asarray(out)
    raise AssertionError(f"{model!r} has no method to compare")


@pytest.mark.parametrize("name, model, data", _fitted(), ids=[case[0] for case in _fitted()])
def test_real_models_of_every_checked_family_load_and_predict_as_before(name, model, data):
    np.testing.assert_array_equal(_outputs(_load(model), data), _outputs(model, data))


def _changed(model, edit):
    model = copy.deepcopy(model)
    edit(model)
    return model


def _by_name(name):
    return next(model for case, model, _ in _fitted() if case == name)


def _set_tree_feature(tree, feature):
    state = tree.__getstate__()
    state["nodes"]["feature"][0] = feature
    tree.__setstate__(state)


def _wider_tree(estimator, width=2 ** 30):
    """The estimator's tree rebuilt to read ``width`` features (its root reads the last)."""
    from sklearn.tree._tree import Tree

    old = estimator.tree_
    state = old.__getstate__()
    state["nodes"]["feature"][0] = width - 1
    tree = Tree(width, np.asarray(old.n_classes, dtype=np.intp), old.n_outputs)
    tree.__setstate__(state)
    estimator.tree_ = tree


CRAFTED = [
    ("a tree without n_features_in_", "tree", lambda m: (_wider_tree(m), delattr(m, "n_features_in_")),
     "does not record how many features"),
    ("a forest member wider than the forest", "forest",
     lambda m: (_wider_tree(m.estimators_[1]), delattr(m.estimators_[1], "n_features_in_")),
     "reads 1073741824 features of the 4"),
    ("a forest member reading more than the forest hands it", "forest",
     lambda m: (_wider_tree(m.estimators_[1]), setattr(m.estimators_[1], "n_features_in_", 2 ** 30)),
     "reads 1073741824 features of the 4"),
    ("an isolation-forest tree wider than its feature subset", "isolation forest (feature subsets)",
     lambda m: (_wider_tree(m.estimators_[0], 4), setattr(m.estimators_[0], "n_features_in_", 4)),
     "reads 4 features of the 2"),
    ("a bagging tree wider than its feature subset", "bagging (feature subsets)",
     lambda m: (_wider_tree(m.estimators_[0], 4), setattr(m.estimators_[0], "n_features_in_", 4)),
     "reads 4 features of the 2"),
    ("a boosting grid wider than its start", "boosting, binary",
     lambda m: setattr(m, "estimators_", np.repeat(m.estimators_, 50, axis=1)), "50 trees a stage, not its 1"),
    ("a boosting grid and per-stage count both widened", "boosting, binary",
     lambda m: (setattr(m, "estimators_", np.repeat(m.estimators_, 50, axis=1)),
                setattr(m, "n_trees_per_iteration_", 50)), "starting predictions for 1 rows are \\(1, 1\\), not \\(1, 50\\)"),
    ("a boosting stage wider than the first", "boosting, 3 classes",
     lambda m: (_wider_tree(m.estimators_[2, 1]), setattr(m.estimators_[2, 1], "n_features_in_", 4)),
     "reads 1073741824 features of the 4"),
    ("a boosting init that is a crafted tree", "boosting, custom init",
     lambda m: setattr(m, "init_", _changed(_by_name("tree"), lambda t: _set_tree_feature(t.tree_, 10 ** 6))),
     "nodes point outside it"),
    ("svc counts larger than its support vectors", "svc, 3 classes",
     lambda m: setattr(m, "_n_support", np.full(3, 10 ** 7, dtype=np.int32)), "do not agree"),
    ("svc with no support vectors left", "svc, 3 classes",
     lambda m: setattr(m, "support_vectors_", np.zeros((0, 4))), "do not agree"),
    ("sparse svc counts larger than its support vectors", "svc, sparse",
     lambda m: setattr(m, "_n_support", np.full(3, 10 ** 7, dtype=np.int32)), "do not agree"),
    ("svc support indices outside its training rows", "svc, precomputed kernel",
     lambda m: m.support_.__setitem__(0, 10 ** 6), "do not agree"),
    ("svc coefficients for fewer vectors", "svc, probability",
     lambda m: setattr(m, "_dual_coef_", m._dual_coef_[:, :3].copy()), "do not agree"),
    ("svc dense vectors marked sparse", "svc, 3 classes", lambda m: setattr(m, "_sparse", True), "not arrays"),
    ("k-means centres narrower than its input", "kmeans",
     lambda m: setattr(m, "cluster_centers_", np.zeros((4_000, 1))), "centres are not as wide"),
    ("a vocabulary number past the vocabulary", "count vectorizer",
     lambda m: m.steps[0][1].vocabulary_.__setitem__("red", 10 ** 8), "0 to n-1"),
    ("a negative vocabulary number", "tf-idf vectorizer",
     lambda m: m.steps[0][1].vocabulary_.__setitem__("red", -1), "0 to n-1"),
    ("a dict vocabulary longer than its names", "dict vectorizer",
     lambda m: m.steps[0][1].feature_names_.pop(), "0 to n-1"),
    ("one-hot widths that jump past the output", "one-hot",
     lambda m: setattr(m.steps[0][1], "_n_features_outs", [10 ** 9, -10 ** 9 + 5]), "widths do not hold"),
    ("a one-hot width below its categories", "one-hot, drop first",
     lambda m: m._n_features_outs.__setitem__(0, 1), "widths do not hold"),
    ("a negative dropped category", "one-hot, drop first",
     lambda m: m._drop_idx_after_grouping.__setitem__(0, -5), "widths do not hold"),
    ("an infrequent-category number past the width", "one-hot, infrequent grouped and dropped",
     lambda m: m._default_to_infrequent_mappings[0].__setitem__(0, 10 ** 6), "widths do not hold"),
    ("cached label numbers past the labels", "multilabel binarizer",
     lambda m: m._cached_dict.__setitem__("a", 10 ** 8), "0 to n-1"),
    ("neighbour labels past the classes", "neighbours, brute manhattan",
     lambda m: m._y.__setitem__(0, 10 ** 9), "fitted rows do not agree"),
    ("negative neighbour labels", "radius neighbours",
     lambda m: m._y.__setitem__(0, -10 ** 9), "fitted rows do not agree"),
    ("fewer neighbour labels than fitted rows", "neighbours, brute manhattan",
     lambda m: setattr(m, "_y", m._y[:1].copy()), "fitted rows do not agree"),
    ("a second output's labels past its classes", "neighbours, two outputs",
     lambda m: m._y.__setitem__((0, 1), 7), "fitted rows do not agree"),
    ("sparse svc coefficients with none stored", "svc, sparse",
     lambda m: setattr(m, "_dual_coef_", scipy.sparse.csr_matrix(m._dual_coef_.shape)), "do not agree"),
    ("a boosting stage of no classes (an empty value array)", "boosting, zero init",
     lambda m: _no_class_tree(m.estimators_[1, 0]), "0 classes"),
    ("a tree of no classes", "tree", lambda m: _no_class_tree(m), "0 classes"),
    ("unsorted numeric categories", "one-hot, numbers",
     lambda m: setattr(m.steps[0][1], "categories_", [np.array([4, 0, 1, 2, 3])]), "widths do not hold"),
    ("a hashing vectorizer of no features (a division by zero)", "hashing vectorizer",
     lambda m: setattr(m.steps[0][1], "n_features", 0), "must be an int in the range"),
    ("polynomial degrees past what it makes", "polynomial features",
     lambda m: setattr(m, "_max_degree", 10 ** 15), "degrees"),
    ("a neighbours graph narrower than its fitted rows", "nearest neighbours",
     lambda m: setattr(m, "n_samples_fit_", 2), "fitted rows do not agree"),
    ("fitted rows wider than the input (sparse)", "neighbours regressor, sparse",
     lambda m: setattr(m, "_fit_X", scipy.sparse.random(40, 50_000, density=1e-4, format="csr", random_state=0)),
     "fitted rows do not agree"),
    ("fitted rows narrower than the input", "outlier factor",
     lambda m: setattr(m, "_fit_X", m._fit_X[:, :1].copy()), "fitted rows do not agree"),
    ("precomputed claimed by one of the two metric names", "neighbours, brute manhattan",
     lambda m: (setattr(m, "effective_metric_", "precomputed"), setattr(m, "_fit_X", m._fit_X[:, :1].copy())),
     "fitted rows do not agree"),
    ("a boosting start that ignores the row count", "boosting, custom init",
     lambda m: (setattr(m.init_, "coef_", np.zeros(4)), setattr(m.init_, "intercept_", np.zeros((1, 1)))),
     "starting predictions for 3 rows are"),
    ("a tree deeper than its recorded depth", "tree", lambda m: _depth_zero(m.tree_), "deeper than its recorded depth of 0"),
    ("a sparse svm on a precomputed kernel", "svc, sparse", lambda m: setattr(m, "kernel", "precomputed"), "do not agree"),
    ("a two-class linear model with a row per class", "one-vs-rest, multi-label",
     lambda m: setattr(m.estimators_[0], "coef_", np.zeros((50, 4))), "not one row per class"),
    ("a multi-label one-vs-rest member of three classes", "one-vs-rest, multi-label",
     lambda m: m.estimators_.__setitem__(0, _by_name("svc, 3 classes")), "member of other than two classes"),
    ("an inverse covariance smaller than the input", "neighbours, mahalanobis",
     lambda m: (setattr(m, "metric_params", {"VI": np.eye(1)}), setattr(m, "effective_metric_params_", {"VI": np.eye(1)})),
     "fitted rows do not agree"),
    ("precomputed norms in a distance's parameters", "nearest neighbours",
     lambda m: setattr(m, "effective_metric_params_", {"X_norm_squared": np.zeros(1)}), "fitted rows do not agree"),
    ("a boosting start from a model whose predict is compiled code", "boosting, dummy init",
     lambda m: setattr(m, "init_", _by_name("nearest neighbours")), "start comes from a sklearn.neighbors._unsupervised.NearestNeighbors"),
    ("a one-vs-rest member whose scores are not one a row", "one-vs-rest, multi-label",
     lambda m: m.estimators_.__setitem__(0, _two_class_claim(_by_name("one-vs-rest, multi-label"))),
     "with a OneVsRestClassifier member"),
    ("a random state past its key", "dummy, random", lambda m: _far_position(m.random_state), "position is outside"),
    ("k-means without centres", "kmeans", lambda m: setattr(m, "cluster_centers_", np.zeros((0, 4))), "centres"),
    ("a sparse matrix index past its width", "trees embedding (sparse output)",
     lambda m: setattr(m, "extra_", _bad_csr()), "indices are not consistent"),
    ("a sparse matrix in a format fitted models do not hold", "tree",
     lambda m: setattr(m, "extra_", scipy.sparse.dia_matrix(np.eye(3))), "'dia' format"),
]


def _no_class_tree(estimator):
    from sklearn.tree._tree import Tree

    old = estimator.tree_
    state = old.__getstate__()
    state["values"] = np.zeros((old.node_count, old.n_outputs, 0))
    tree = Tree(old.n_features, np.zeros(old.n_outputs, dtype=np.intp), old.n_outputs)
    tree.__setstate__(state)
    estimator.tree_ = tree


def _two_class_claim(model):
    model = copy.deepcopy(model)
    model.classes_ = np.array([0, 1])
    return model


def _depth_zero(tree):
    state = tree.__getstate__()
    state["max_depth"] = 0
    tree.__setstate__(state)


def _far_position(generator):
    name, key, _, gauss, cached = generator.get_state()
    generator.set_state((name, key, 10 ** 8, gauss, cached))


def _bad_csr():
    matrix = scipy.sparse.csr_matrix(np.eye(3))
    matrix.indices[1] = 2 ** 31 - 1
    return matrix


@pytest.mark.parametrize("what, family, edit, match", CRAFTED, ids=[case[0] for case in CRAFTED])
def test_fitted_numbers_that_would_index_outside_their_arrays_are_refused(what, family, edit, match):
    crafted = _changed(_by_name(family), edit)
    with pytest.raises(ModelError, match=match):
        _load(crafted)


def test_the_checks_run_on_what_skops_builds_too():
    """A node kind lighttrack's reader leaves to skops (bytes) sends the whole file to skops'
    loader; the model it builds is checked the same way."""
    crafted = _changed(_by_name("tree"), lambda m: (setattr(m, "raw_", b"bytes go to skops"),
                                                    _set_tree_feature(m.tree_, 10 ** 6)))
    with pytest.raises(ModelError, match="nodes point outside it"):
        _load(crafted)
    fine = _changed(_by_name("tree"), lambda m: setattr(m, "raw_", b"bytes go to skops"))
    np.testing.assert_array_equal(_load(fine).predict(X), fine.predict(X))


def _schema_edit(model, edit) -> bytes:
    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(skops.io.dumps(model)))
    members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members.pop("schema.json"))
    edit(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
        target.writestr("schema.json", json.dumps(schema))
    return out.getvalue()


def _find(state, predicate):
    if isinstance(state, dict):
        if predicate(state):
            return state
        items = state.values()
    elif isinstance(state, list):
        items = state
    else:
        return None
    for item in items:
        found = _find(item, predicate)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("family, pick, loader, match", [
    # a tree built by the loss node skips the tree's checks
    ("tree", lambda s: s.get("__loader__") == "TreeNode", "LossNode", "Tree as a LossNode"),
    # a sparse matrix restored from a plain state skips check_format
    ("svc, sparse", lambda s: s.get("__loader__") == "SparseMatrixNode", "ObjectNode", "csr_matrix as a ObjectNode"),
    # an array node calls its class on the array
    ("tree", lambda s: s.get("__loader__") == "NdArrayNode" and s.get("__class__") == "ndarray", None,
     "builtins.bytearray as a NdArrayNode"),
])
def test_a_class_is_built_only_by_the_node_kind_skops_writes_for_it(family, pick, loader, match):
    def edit(schema):
        state = _find(schema, pick)
        if loader is None:
            state["__module__"], state["__class__"] = "builtins", "bytearray"
        else:
            state["__loader__"] = loader
            state.setdefault("__reduce__", {"args": {"__class__": "tuple", "__module__": "builtins",
                                                     "__loader__": "TupleNode", "content": []}})
    with pytest.raises(ModelError, match=match):
        load_skops(_schema_edit(_by_name(family), edit), None, "the file")


def test_thread_and_job_counts_are_this_machines_not_the_files():
    """libgomp took a negative k-means thread count as a request for a terabyte, and joblib
    starts as many workers as n_jobs says: both are run-time settings, not fitted numbers."""
    import os

    kmeans = _load(_changed(_by_name("kmeans"), lambda m: setattr(m, "_n_threads", -5)))
    assert 1 <= kmeans._n_threads <= (os.cpu_count() or 1)
    np.testing.assert_array_equal(kmeans.predict(X), _by_name("kmeans").predict(X))
    nystroem = _load(_changed(_by_name("nystroem"), lambda m: setattr(m, "n_jobs", 100_000)))
    assert nystroem.n_jobs == (os.cpu_count() or 1)
    assert _load(_changed(_by_name("nystroem"), lambda m: setattr(m, "n_jobs", -1))).n_jobs == -1
    assert _load(_changed(_by_name("nystroem"), lambda m: setattr(m, "n_jobs", np.int64(100_000)))).n_jobs == (os.cpu_count() or 1)


def test_checks_that_skops_cannot_write_still_hold_for_what_a_renamed_state_builds():
    """skops cannot save a Birch or an HDBSCAN tree whole, but a file can give their state to
    another allowed class name; the checks look at the numbers, whatever the name."""
    from sklearn.cluster import HDBSCAN, Birch

    from lighttrack.models.skops_checks import check_model

    birch = Birch(n_clusters=None).fit(X)
    check_model(birch, "the file")
    birch._subcluster_norms = birch._subcluster_norms[:1].copy()
    with pytest.raises(ModelError, match="centres and their norms do not agree"):
        check_model(birch, "the file")
    clusters = HDBSCAN(min_cluster_size=5).fit(X)
    check_model(clusters, "the file")
    clusters._single_linkage_tree_["left_node"][0] = 10 ** 9
    with pytest.raises(ModelError, match="merges clusters it does not have"):
        check_model(clusters, "the file")


def test_a_sparse_matrix_cannot_inflate_past_what_its_file_can_hold():
    """A sparse matrix's .npz is an archive of its own, with compressed arrays: a 5 KB file
    inflated to 2.4 GB. Its members claim their sizes up front, within the file's budget."""
    import io
    import struct
    import zipfile

    model = _changed(_by_name("tree"), lambda m: setattr(m, "extra_", scipy.sparse.csr_matrix(np.eye(3))))
    data = skops.io.dumps(model)
    outer = zipfile.ZipFile(io.BytesIO(data))
    members = {name: outer.read(name) for name in outer.namelist()}
    name = next(n for n in members if n.endswith(".npz"))
    inner = bytearray(_deflated_npz(scipy.sparse.csr_matrix(np.eye(3))))
    at = inner.find(b"PK\x01\x02")  # the first central directory entry: claim 2 GB inflated
    inner[at + 24:at + 28] = struct.pack("<I", 2 ** 31)
    members[name] = bytes(inner)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for member, content in members.items():
            target.writestr(member, content)
    with pytest.raises(ModelError, match="inflate past what the file can hold"):
        load_skops(out.getvalue(), None, "the file")
    members[name] = _deflated_npz(scipy.sparse.csr_matrix(np.eye(3)))  # a real compressed one loads
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for member, content in members.items():
            target.writestr(member, content)
    assert (load_skops(out.getvalue(), None, "the file").extra_ != scipy.sparse.csr_matrix(np.eye(3))).nnz == 0


def _deflated_npz(matrix) -> bytes:
    import io

    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, matrix, compressed=True)
    return buffer.getvalue()


def test_a_boosting_start_the_caller_names_may_run_while_loading():
    """A start other than zero, a dummy or a linear model is refused by default, since checking
    it runs its predict inside the load; naming its type lets it."""
    import skops.io as sio

    model = GradientBoostingRegressor(n_estimators=2, init=KNeighborsRegressor(2, algorithm="brute")).fit(X, X[:, 0])
    data = sio.dumps(model)
    with pytest.raises(ModelError, match="name that type in trusted_types"):
        load_skops(data, None, "the file")
    loaded = load_skops(data, ["sklearn.neighbors._regression.KNeighborsRegressor"], "the file")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
