"""A decision tree from a received file, checked before anything predicts with it.

scikit-learn's tree code follows child and feature numbers and reads node values by node
number, all without bounds checks (why skops does not trust ``Tree`` by default); a crafted
tree crashes the process at predict. ``check_tree`` refuses one that fit could not have made.
"""

from __future__ import annotations

from typing import Any

from lighttrack.errors import ModelError


def check_tree(tree: Any, what: str) -> None:
    """Refuse a decision tree whose nodes point outside it: scikit-learn follows child and
    feature indices without bounds checks, so a crafted one crashes the process at predict
    (why skops does not trust ``Tree`` by default)."""
    import numpy as np

    count = tree.node_count
    classes = np.asarray(tree.n_classes)
    outputs, most = tree.n_outputs, tree.max_n_classes
    if not (outputs >= 1 and most >= 1 and classes.shape == (outputs,) and classes.min() >= 1
            and classes.max() <= most):
        raise ModelError(f"{what} holds a decision tree of {outputs} outputs and {most} classes; "
                         "it was not loaded")
    if not 0 < count <= tree.capacity:
        raise ModelError(f"{what} holds a decision tree of {count} nodes in room for {tree.capacity}; "
                         "it was not loaded")
    if tree.value.shape != (count, outputs, most):  # predict reads a node's values by its number
        raise ModelError(f"{what} holds a decision tree whose values do not fit its nodes; it was not loaded")
    left, right = tree.children_left[:count], tree.children_right[:count]
    feature = tree.feature[:count]
    leaf = left == -1
    node = np.arange(count)
    # scikit-learn numbers a node's children after it, so every path down ends (no cycles)
    ok = (np.array_equal(leaf, right == -1)
          and bool(np.all(leaf | ((left > node) & (left < count) & (right > node) & (right < count))))
          and bool(np.all(leaf | ((feature >= 0) & (feature < tree.n_features)))))
    if not ok:
        raise ModelError(f"{what} holds a decision tree whose nodes point outside it; it was not loaded")
    # decision_path allocates 1 + max_depth entries a sample and writes one per node on the
    # way down; the nodes are in range and numbered downwards now, so they can be followed
    if int(tree.compute_node_depths().max()) - 1 > tree.max_depth:  # (the root's depth is 1)
        raise ModelError(f"{what} holds a decision tree deeper than its recorded depth of "
                         f"{tree.max_depth}; it was not loaded")
