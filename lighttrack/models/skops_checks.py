"""What a model built from a received file must hold to before anything predicts with it.

Every type in a loaded model is on the allow-list, and still a crafted file can crash the
process (or write past a buffer) at predict time: scikit-learn's compiled code trusts a fitted
estimator's own numbers. A decision tree's child and feature numbers, a gradient-boosting
model's grid of stages, an SVM's support-vector counts, a neighbours classifier's label
numbers, a vectorizer's vocabulary, a one-hot encoder's sorted categories and a sparse
matrix's indices are all used as memory offsets without bounds checks. So after a model is
built, by lighttrack's reader or by skops, ``check_model`` walks everything in it and checks
those numbers against the arrays they index, as the estimator's own ``fit`` would have made
them, and every estimator's parameters against scikit-learn's own constraints; a model that
fails is refused with a ``ModelError``. Two run-time settings are this machine's, not the
file's: OpenMP thread counts and ``n_jobs`` above the processor count.

Found by adversarial reviews of the loader (2026-12-01); each check has a crafted file in
``tests/test_skops_model_checks.py``. The estimators covered are those whose compiled
predict code was found to read or write by fitted numbers: trees and every tree ensemble
(forests, bagging, isolation forests, gradient boosting), SVMs (libsvm), k-means, Birch,
every neighbours model, linear classifiers inside one-vs-rest, the text, dict and hashing
vectorizers, one-hot encoders, polynomial features, multi-label binarizers, single-linkage
trees, random generators and sparse matrices. Elsewhere predict is numpy code, which checks
its indices, or compiled code nobody has yet shown to trust a fitted number. Checks that run
the model's own code (a boosting model's start) run last, once everything else has passed.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from typing import Any

from lighttrack.errors import ModelError
from lighttrack.models.tree_check import check_tree

#: Values that hold nothing to check.
_PLAIN = (str, bytes, int, float, bool, type(None), type)
#: The sparse formats fitted estimators hold; their indices are checked here.
_SPARSE_FORMATS = ("csr", "csc", "coo")
#: Above this many features a gradient-boosting model's start is computed on a sparse row.
_DENSE_PROBE_FEATURES = 65_536


def check_model(model: Any, what: str, trusted: Iterable[str] = ()) -> None:
    """Raise ``ModelError`` when anything in ``model`` would make predict read or write
    outside its arrays (see the module's text). ``trusted``: the types the caller named, whose
    own code may run to check the model (a boosting model's custom start)."""
    checker = _Checker(what, frozenset(trusted))
    seen: set[int] = set()
    stack = [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _PLAIN):
            continue
        seen.add(id(obj))
        stack.extend(checker.check(obj))
    for probe in checker.later:  # they run the model's own code: only once all of it is checked
        probe()


class _Checker:
    def __init__(self, what: str, trusted: frozenset = frozenset()) -> None:
        import numpy as np
        import scipy.sparse
        from sklearn.base import BaseEstimator
        from sklearn.tree._tree import Tree

        self.what, self.np, self.sparse, self.trusted = what, np, scipy.sparse, trusted
        self.Tree, self.BaseEstimator = Tree, BaseEstimator
        self.valid: set[tuple] = set()  # parameter sets already checked
        self.later: list = []  # checks that run the model's code, after the walk
        self.cpus = os.cpu_count() or 1

    def refuse(self, why: str) -> ModelError:
        return ModelError(f"{self.what} holds {why}; it was not loaded")

    def check(self, obj: Any) -> list[Any]:
        """Check one object; returns what it holds, to be checked in turn."""
        np = self.np
        if isinstance(obj, dict):
            return [*obj.keys(), *obj.values()]
        if isinstance(obj, (list, tuple, set, frozenset)):
            return list(obj)
        if isinstance(obj, np.ndarray):
            return list(obj.flat) if obj.dtype.hasobject else []
        if isinstance(obj, self.Tree):
            check_tree(obj, self.what)
            return []
        if isinstance(obj, (np.random.RandomState, np.random.Generator, np.random.BitGenerator)):
            self.random_state(obj)
            return []
        if self.sparse.issparse(obj):
            self.sparse_matrix(obj)
            return []
        if isinstance(obj, self.BaseEstimator):
            self.estimator(obj)
        held = getattr(obj, "__dict__", None)
        if not isinstance(held, dict):
            return []
        return [value for value in held.values() if not isinstance(value, _PLAIN)]

    def random_state(self, generator: Any) -> None:
        """numpy restores a generator's position unchecked, and the next draw reads the key
        from there (a position of 10**8 crashed a dummy classifier's predict)."""
        np = self.np
        bits = generator if isinstance(generator, np.random.BitGenerator) else getattr(
            generator, "bit_generator", None) if isinstance(generator, np.random.Generator) else None
        state = bits.state if bits is not None else generator.get_state(legacy=False)
        inner = state.get("state", {})
        ok = True
        if state.get("bit_generator") == "MT19937":
            key = np.asarray(inner.get("key"))
            ok = key.shape == (624,) and isinstance(inner.get("pos"), (int, np.integer)) and 0 <= inner["pos"] <= 624
        elif state.get("bit_generator") == "Philox":
            ok = isinstance(state.get("buffer_pos"), (int, np.integer)) and 0 <= state["buffer_pos"] <= 4
        if ok and "has_gauss" in state:
            ok = state["has_gauss"] in (0, 1)
        if not ok:
            raise self.refuse("a random generator whose position is outside its state")

    def sparse_matrix(self, matrix: Any) -> None:
        form = getattr(matrix, "format", None)
        if form not in _SPARSE_FORMATS:
            raise self.refuse(f"a sparse matrix in {form!r} format (fitted estimators hold "
                              f"{', '.join(_SPARSE_FORMATS)})")
        try:
            if form == "coo":
                matrix._check()
            else:
                matrix.check_format(full_check=True)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise self.refuse(f"a sparse matrix whose indices are not consistent ({exc})") from None

    # -- estimators -----------------------------------------------------------------------

    def estimator(self, est: Any) -> None:
        from sklearn.cluster._kmeans import _BaseKMeans
        from sklearn.ensemble import BaseEnsemble
        from sklearn.svm._base import BaseLibSVM

        state = vars(est)
        self.parameters(est)
        jobs, cpus = state.get("n_jobs"), self.cpus
        if isinstance(jobs, numbers.Integral) and not isinstance(jobs, bool) and int(jobs) > cpus:
            # joblib starts that many workers at predict (a file asked for 100,000 threads);
            # more than this machine's processors changes no result
            est.n_jobs = cpus
        if "_n_threads" in state:
            # an OpenMP thread count chosen where it was fitted, given straight to libgomp
            # (a negative one asks it for a terabyte): this machine's own count instead
            from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

            est._n_threads = _openmp_effective_n_threads()
        if isinstance(state.get("tree_"), self.Tree):
            self.tree_width(est, self.width(est, "a tree's"))
        if isinstance(est, BaseEnsemble) and "estimators_" in state:
            self.ensemble(est)
        if isinstance(est, BaseLibSVM) and "support_" in state:
            self.svm(est)
        if isinstance(est, _BaseKMeans) and "cluster_centers_" in state:
            centers = state["cluster_centers_"]
            if not (isinstance(centers, self.np.ndarray) and centers.ndim == 2 and centers.shape[0] >= 1
                    and centers.shape[1] == self.width(est, "a k-means")):
                raise self.refuse(f"a {type(est).__name__} whose centres are not as wide as its input")
        if "vocabulary_" in state and type(est).__module__.startswith("sklearn.feature_extraction"):
            self.vocabulary(est, state["vocabulary_"])
        from sklearn.neighbors._base import NeighborsBase

        if isinstance(est, NeighborsBase) and "_fit_X" in state:
            self.neighbours(est)
        if "_subcluster_norms" in state:
            self.birch(est)
        if "_single_linkage_tree_" in state:
            self.linkage(est, state["_single_linkage_tree_"])
        self.linear(est)
        if type(est).__name__ == "OneVsRestClassifier" and "estimators_" in state:
            self.one_vs_rest(est)
        kind = f"{type(est).__module__}.{type(est).__name__}"
        if kind == "sklearn.preprocessing._encoders.OneHotEncoder" and "categories_" in state:
            self.one_hot(est)
        if kind == "sklearn.preprocessing._polynomial.PolynomialFeatures" and "_max_degree" in state:
            self.polynomial(est)
        if kind == "sklearn.preprocessing._label.MultiLabelBinarizer" and state.get("_cached_dict") is not None:
            self.vocabulary(est, state["_cached_dict"], len(state.get("classes_", ())))

    def width(self, est: Any, kind: str) -> int:
        """The input width the estimator checks at predict (without it, it checks none)."""
        width = vars(est).get("n_features_in_")
        if type(width) is not int and not isinstance(width, self.np.integer):
            raise self.refuse(f"{kind} {type(est).__name__} that does not record how many "
                              "features it reads (n_features_in_)")
        return int(width)

    def tree_width(self, est: Any, width: int) -> None:
        tree = vars(est).get("tree_")
        if not isinstance(tree, self.Tree) or tree.n_features != width:
            got = tree.n_features if isinstance(tree, self.Tree) else type(tree).__name__
            raise self.refuse(f"a {type(est).__name__} whose tree reads {got} features of the {width} "
                              "it is given")

    def ensemble(self, est: Any) -> None:
        """Tree ensembles call their trees with ``check_input=False``: each tree must read no
        more columns than the ensemble hands it."""
        from sklearn.ensemble import BaseEnsemble
        from sklearn.ensemble._bagging import BaseBagging
        from sklearn.ensemble._forest import BaseForest
        from sklearn.ensemble._gb import BaseGradientBoosting

        members = vars(est)["estimators_"]
        name = type(est).__name__
        if isinstance(est, BaseGradientBoosting):
            self.boosting(est, members)
            return
        if isinstance(est, BaseForest):
            width = self.width(est, "a forest")
            for member in _listed(members, self.refuse, name):
                if "tree_" in vars(member):
                    self.tree_width(member, width)
        elif isinstance(est, BaseBagging):
            width = self.width(est, "a bagging")
            features = vars(est).get("estimators_features_")
            every = getattr(est, "_max_features", None) == width
            for i, member in enumerate(_listed(members, self.refuse, name)):
                if "tree_" not in vars(member):
                    continue  # its own predict checks its input
                try:
                    subset = width if every else len(features[i])
                except (TypeError, IndexError):
                    raise self.refuse(f"a {name} without the feature subset of each member") from None
                self.tree_width(member, subset)
        elif isinstance(est, BaseEnsemble):
            _listed(members, self.refuse, name)  # AdaBoost & co.: members check their own input

    def boosting(self, est: Any, stages: Any) -> None:
        """``predict_stages`` adds stage ``[i, k]`` into column ``k`` of the start it is handed,
        unchecked: the grid must be as wide as that start, and every tree as wide as the input
        the first stage checks."""
        np = self.np
        name = type(est).__name__
        if not (isinstance(stages, np.ndarray) and stages.dtype.hasobject and stages.ndim == 2
                and stages.shape[0] > 0 and stages.shape[1] > 0):
            raise self.refuse(f"a {name} whose stages are not a grid of trees")
        per_stage = vars(est).get("n_trees_per_iteration_")
        if per_stage != stages.shape[1]:
            raise self.refuse(f"a {name} of {stages.shape[1]} trees a stage, not its "
                              f"{per_stage!r} (n_trees_per_iteration_)")
        first = stages[0, 0]
        if not isinstance(first, self.BaseEstimator) or "tree_" not in vars(first):
            raise self.refuse(f"a {name} whose first stage is not a tree")
        width = self.width(first, "a boosting stage")
        if self.width(est, "a gradient-boosting") != width:
            raise self.refuse(f"a {name} whose first stage reads another number of features than it")
        for member in stages.flat:
            if not isinstance(member, self.BaseEstimator) or "tree_" not in vars(member):
                raise self.refuse(f"a {name} with a stage that is not a tree")
            self.tree_width(member, width)
            tree = vars(member)["tree_"]
            if tree.n_outputs != 1 or tree.max_n_classes != 1:  # predict_stages reads one value a node
                raise self.refuse(f"a {name} with a stage tree of {tree.n_outputs} outputs and "
                                  f"{tree.max_n_classes} classes (boosting stages have one of each)")
        self.later.append(lambda: self.boosting_start(est, width, stages.shape[1]))

    def boosting_start(self, est: Any, width: int, per_stage: int) -> None:
        """The model's own start (``init_``) on all-zero rows must be one row of
        ``per_stage`` numbers per input row: a custom ``init`` can make it any shape (a
        linear model's intercept broadcast a 3-row input into one row), so it is computed for
        two row counts rather than guessed."""
        from sklearn.dummy import DummyClassifier, DummyRegressor
        from sklearn.linear_model._base import LinearClassifierMixin, LinearModel

        np = self.np
        name = type(est).__name__
        init = vars(est).get("init_")
        # the probe runs the start's predict while loading: only starts whose predict is numpy
        # code (a neighbours start ran a crafted metric's compiled code inside the load)
        kind = f"{type(init).__module__}.{type(init).__qualname__}"
        if not (init == "zero" or kind in self.trusted or isinstance(
                init, (DummyClassifier, DummyRegressor, LinearModel, LinearClassifierMixin))):
            raise self.refuse(f"a {name} whose start comes from a {kind} (lighttrack loads boosting "
                              "models started by init='zero', a dummy or a linear model; name that type "
                              "in trusted_types (CLI: --trust) to let its predict run while loading)")
        for rows in (1, 3):
            data = (np.zeros((rows, width), dtype=np.float32) if width <= _DENSE_PROBE_FEATURES
                    else self.sparse.csr_matrix((rows, width), dtype=np.float32))
            try:
                start = np.asarray(est._raw_predict_init(data))
            except Exception as exc:  # a start that cannot be computed cannot be predicted with
                raise self.refuse(f"a {name} whose starting predictions cannot be computed "
                                  f"({type(exc).__name__}: {exc})") from None
            if start.shape != (rows, per_stage):
                raise self.refuse(f"a {name} whose starting predictions for {rows} rows are "
                                  f"{start.shape}, not ({rows}, {per_stage}) for its trees")

    def svm(self, est: Any) -> None:
        """libsvm rebuilds its model from these arrays and indexes them by each other."""
        np = self.np
        state = vars(est)
        name = type(est).__name__
        try:
            counts = state["_n_support"]
            support, vectors = state["support_"], state["support_vectors_"]
            dual, intercept = state["_dual_coef_"], state["_intercept_"]
            prob_a, prob_b = state["_probA"], state["_probB"]
            fitted_rows = int(state["shape_fit_"][0])
            is_sparse = bool(state["_sparse"])
        except (KeyError, TypeError, IndexError, ValueError):
            raise self.refuse(f"a {name} without the arrays libsvm predicts from") from None
        arrays = (counts, support, intercept, prob_a, prob_b)
        # fitted on sparse input, the vectors and coefficients are sparse matrices
        if (not all(isinstance(a, np.ndarray) for a in arrays)
                or is_sparse != self.sparse.issparse(vectors)
                or not (isinstance(dual, np.ndarray) or (is_sparse and self.sparse.issparse(dual)))):
            raise self.refuse(f"a {name} whose libsvm arrays are not arrays")
        n_sv = support.shape[0] if support.ndim == 1 else -1
        classifying = est._impl in ("c_svc", "nu_svc")
        n_class = counts.shape[0] if counts.ndim == 1 else -1
        if classifying:
            pairs = n_class * (n_class - 1) // 2
            ok = (n_class >= 2 and int(counts.sum()) == n_sv and bool(np.all(counts >= 0))
                  and dual.shape == (n_class - 1, n_sv) and intercept.shape == (pairs,)
                  and len(getattr(est, "classes_", ())) == n_class)
        else:
            pairs = 1
            ok = (n_class == 2 and dual.shape == (1, n_sv) and intercept.shape == (1,))
        ok = ok and n_sv >= 0 and prob_a.shape == prob_b.shape and prob_a.shape in ((0,), (pairs,))
        if ok and n_sv:
            ok = bool(support.min() >= 0 and support.max() < fitted_rows)
        width = self.width(est, "an SVM")
        if est.kernel == "precomputed":
            ok = ok and width == fitted_rows
        elif ok:
            ok = (getattr(vectors, "ndim", 0) == 2 and vectors.shape == (n_sv, width))
        if ok and is_sparse and est.kernel == "precomputed":
            ok = False  # fit refuses it; libsvm's sparse kernel would index queries by stored values
        if ok and is_sparse:
            # libsvm copies every coefficient out of the csr's data and walks the vectors as csr
            ok = (getattr(dual, "format", None) == "csr" and dual.data.size == dual.shape[0] * dual.shape[1]
                  and getattr(vectors, "format", None) == "csr")
        if not ok:
            raise self.refuse(f"a {name} whose support vectors, their counts, coefficients and "
                              "intercepts do not agree")

    def vocabulary(self, est: Any, vocabulary: Any, size: int | None = None) -> None:
        """Feature numbers become sparse column indices unchecked: they must be 0..n-1."""
        np = self.np
        ok = isinstance(vocabulary, dict) and all(
            type(n) is int or isinstance(n, np.integer) for n in vocabulary.values())
        if ok and sorted(int(n) for n in vocabulary.values()) != list(range(len(vocabulary))):
            ok = False
        if ok and "feature_names_" in vars(est):
            ok = len(vars(est)["feature_names_"]) == len(vocabulary)
        if ok and size is not None:
            ok = size == len(vocabulary)
        if not ok:
            raise self.refuse(f"a {type(est).__name__} whose vocabulary does not number its "
                              "features 0 to n-1")

    def one_hot(self, est: Any) -> None:
        """A one-hot column's code plus the widths of the columns before it is a sparse column
        index, unchecked: every code a column can produce (its categories, after grouping the
        infrequent ones and dropping one) must be below its recorded width."""
        np = self.np
        state = vars(est)
        categories = state["categories_"]
        widths = state.get("_n_features_outs")
        drops = state.get("_drop_idx_after_grouping")
        mappings = state.get("_default_to_infrequent_mappings") if state.get("_infrequent_enabled") else None
        try:
            ok = len(widths) == len(categories) and (drops is None or len(drops) == len(categories))
            ok = ok and (mappings is None or len(mappings) == len(categories))
            for i, cats in enumerate(categories if ok else ()):
                if not _sorted_categories(np, cats):
                    ok = False
                    break
                width = widths[i]
                mapping = None if mappings is None else mappings[i]
                drop = None if drops is None else drops[i]
                if not (isinstance(width, (int, np.integer)) and width >= 0):
                    ok = False
                    break
                if mapping is not None:
                    mapping = np.asarray(mapping)
                    if mapping.dtype.kind not in "iu" or mapping.shape != (len(cats),) or (
                            mapping.size and mapping.min() < 0):
                        ok = False
                        break
                top = (int(mapping.max()) if mapping.size else -1) if mapping is not None else len(cats) - 1
                if drop is not None:
                    if not (isinstance(drop, (int, np.integer)) and drop >= 0):
                        ok = False
                        break
                    top -= 1 if drop <= top else 0
                if top >= width:
                    ok = False
                    break
        except (TypeError, ValueError, IndexError):
            ok = False
        if not ok:
            raise self.refuse(f"a {type(est).__name__} whose column widths do not hold its category codes")

    def neighbours(self, est: Any) -> None:
        """A neighbours search returns row numbers of ``_fit_X`` as sparse column indices of a
        graph ``n_samples_fit_`` wide, and reads a query's columns by ``_fit_X``'s; a
        classifier adds each neighbour's vote at ``class_scores[i][_y[j]]``; all unchecked."""
        np = self.np
        state = vars(est)
        fitted = state["_fit_X"]
        name = type(est).__name__
        rows = getattr(fitted, "shape", (None,))[0]
        ok = getattr(fitted, "ndim", 0) == 2 and state.get("n_samples_fit_") == rows
        # predict picks its path by the parameter; the exemption needs both to say so
        precomputed = state.get("metric") == "precomputed" and state.get("effective_metric_") == "precomputed"
        if ok:
            ok = self.width(est, "a neighbours") == (rows if precomputed else fitted.shape[1])
        if ok:
            ok = self.metric_params(state, fitted.shape[1])
        labels, classes = state.get("_y"), state.get("classes_")
        if ok and classes is not None and labels is not None:
            ok = (isinstance(labels, np.ndarray) and labels.dtype.kind in "iu"
                  and labels.ndim in (1, 2) and labels.shape[0] == rows)
            if ok:
                columns = [labels] if labels.ndim == 1 else list(labels.T)
                counts = [len(classes)] if labels.ndim == 1 else [len(c) for c in classes]
                ok = len(columns) == len(counts) and all(
                    column.size == 0 or (column.min() >= 0 and column.max() < count)
                    for column, count in zip(columns, counts))
        if not ok:
            raise self.refuse(f"a {name} whose fitted rows do not agree with their count, width, labels "
                              "or classes")

    def metric_params(self, state: dict, width: int) -> bool:
        """A distance's weights and (inverse) covariance are read as ``width`` (square)
        numbers by scipy's fallback unchecked, and precomputed norms (``X_norm_squared``) one
        per row: only the first, of the right shapes."""
        np = self.np
        shapes = {"w": ((width,),), "V": ((width,), (width, width)), "VI": ((width, width),)}
        for name in ("metric_params", "effective_metric_params_"):
            params = state.get(name)
            if params is None:
                continue
            if not isinstance(params, dict):
                return False
            for key, value in params.items():
                if key == "p":
                    continue
                if key not in shapes or np.shape(value) not in shapes[key]:
                    return False
        return True

    def birch(self, est: Any) -> None:
        """Birch hands its centres' squared norms to the distance code, one read per centre."""
        np = self.np
        state = vars(est)
        centres, norms = state.get("subcluster_centers_"), state["_subcluster_norms"]
        ok = (isinstance(centres, np.ndarray) and centres.ndim == 2
              and centres.shape[1] == self.width(est, "a clustering")
              and isinstance(norms, np.ndarray) and norms.dtype == np.float64
              and norms.shape == (centres.shape[0],))
        if not ok:
            raise self.refuse(f"a {type(est).__name__} whose centres and their norms do not agree")

    def linkage(self, est: Any, tree: Any) -> None:
        """A single-linkage tree's row i merges two earlier clusters: numbers below n + i."""
        np = self.np
        try:
            left, right = np.asarray(tree["left_node"]), np.asarray(tree["right_node"])
            limit = len(left) + 1 + np.arange(len(left))
            ok = left.shape == right.shape == limit.shape and bool(
                np.all((left >= 0) & (left < limit) & (right >= 0) & (right < limit)))
        except (KeyError, ValueError, TypeError, IndexError):
            ok = False
        if not ok:
            raise self.refuse(f"a {type(est).__name__} whose linkage tree merges clusters it does not have")

    def linear(self, est: Any) -> None:
        """A linear classifier's decision has one column per coefficient row; callers (one-vs-
        rest) turn them into row numbers: one row for two classes, else one per class."""
        from sklearn.linear_model._base import LinearClassifierMixin

        state = vars(est)
        if not (isinstance(est, LinearClassifierMixin) and "coef_" in state and "classes_" in state):
            return
        coef, classes = state["coef_"], state["classes_"]
        multilabel = str(getattr(state.get("_label_binarizer"), "y_type_", "")).startswith("multilabel")
        rows = 1 if len(classes) == 2 and not multilabel else len(classes)  # a ridge's labels: one row each
        intercept = state.get("intercept_", 0.0)
        ok = getattr(coef, "shape", None) == (rows, self.width(est, "a linear")) and (
            isinstance(intercept, (int, float)) or getattr(intercept, "shape", None) in ((rows,), ()))
        if not ok:
            raise self.refuse(f"a {type(est).__name__} whose coefficients are not one row per class "
                              f"({rows} for its {len(classes)} classes)")

    def one_vs_rest(self, est: Any) -> None:
        """Multi-label one-vs-rest takes each member's scores as row numbers: one a row, so
        every member must be a two-class classifier."""
        binarizer = vars(est).get("label_binarizer_")
        if not str(getattr(binarizer, "y_type_", "")).startswith("multilabel"):
            return
        from sklearn.ensemble._gb import BaseGradientBoosting
        from sklearn.linear_model._base import LinearClassifierMixin
        from sklearn.svm._base import BaseLibSVM

        for member in _listed(vars(est)["estimators_"], self.refuse, type(est).__name__):
            if len(getattr(member, "classes_", ())) != 2:
                raise self.refuse(f"a multi-label {type(est).__name__} with a member of other than two classes")
            last = member.steps[-1][1] if type(member).__name__ == "Pipeline" else member
            # a member without decision_function gives predict_proba(X)[:, 1], one a row; with
            # one, only those whose decision width the checks above fix (a nested one-vs-rest
            # claiming two classes gave 50 scores a row)
            if hasattr(last, "decision_function") and not isinstance(
                    last, (LinearClassifierMixin, BaseLibSVM, BaseGradientBoosting)):
                raise self.refuse(f"a multi-label {type(est).__name__} with a {type(last).__name__} member "
                                  "(its members' scores must be one a row: linear models, SVMs, boosting, "
                                  "or models without decision_function)")

    def polynomial(self, est: Any) -> None:
        """Its transform loops once per degree up to ``_max_degree``: the degrees must be
        the ones ``degree`` names, and no more than the features it makes."""
        state = vars(est)
        degree = state.get("degree")
        low, high = state.get("_min_degree"), state.get("_max_degree")
        expected = (0, degree) if isinstance(degree, int) else tuple(degree) if isinstance(degree, (tuple, list)) else None
        made = state.get("n_output_features_")
        if expected != (low, high) or not isinstance(made, int) or not isinstance(high, int) or high > made + 1:
            raise self.refuse(f"a {type(est).__name__} whose degrees ({low!r}, {high!r}) are not the "
                              f"{degree!r} it was made with, or exceed the {made!r} features it makes")

    def parameters(self, est: Any) -> None:
        """scikit-learn's own constraints on the estimator's parameters, as ``fit`` checks
        them (a hashing vectorizer of 0 features divides by zero in compiled code). Estimators
        with the same plain parameters, a forest's trees, are checked once."""
        from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

        constraints = getattr(type(est), "_parameter_constraints", None)
        if not isinstance(constraints, dict):
            return
        state = vars(est)
        params = {k: state[k] for k in constraints if k in state}
        key = _plain_key(type(est), params)
        if key is not None and key in self.valid:
            return
        try:
            validate_parameter_constraints(constraints, params, caller_name=type(est).__name__)
        except InvalidParameterError as exc:
            raise self.refuse(f"a {type(est).__name__} with a parameter scikit-learn does not allow ({exc})") from None
        if key is not None:
            self.valid.add(key)


def _plain_key(kind: type, params: dict) -> tuple | None:
    """A hashable key of parameters made of plain values only (else None: not cached). The
    random state is left out: checked alike for every tree of a forest, it differs in each."""
    items = []
    for name, value in sorted(params.items()):
        if name == "random_state" and (value is None or type(value) is int):
            continue
        if value is not None and type(value) not in (str, int, float, bool):
            return None
        items.append((name, type(value).__name__, value))
    return (kind, tuple(items))


def _sorted_categories(np: Any, categories: Any) -> bool:
    """Numeric categories are looked up with ``searchsorted``, which assumes them sorted as
    ``fit`` leaves them (a missing value last); strings are looked up in a dict."""
    cats = np.asarray(categories)
    if cats.ndim != 1 or cats.dtype.kind in "OUS":
        return cats.ndim == 1
    if cats.dtype.kind == "f":
        missing = np.isnan(cats)
        if missing.any():
            if not (missing[-1] and missing.sum() == 1):
                return False
            cats = cats[:-1]
    return bool(np.all(cats[1:] > cats[:-1]))


def _listed(members: Any, refuse, name: str) -> list[Any]:
    if not isinstance(members, (list, tuple)):
        raise refuse(f"a {name} whose members are not a list")
    return list(members)
