"""Gradient-boosted trees as plain numpy arrays: export from scikit-learn, predict in numpy.

Training uses :class:`sklearn.ensemble.HistGradientBoostingRegressor`; a fitted model is
exported with :func:`export_hgb` to a :class:`TreeArrays` (flat node arrays, no
Python objects), which :func:`predict_trees` evaluates with vectorised numpy. The
numpy predictor reproduces ``est.predict`` exactly (same routing of NaN, same
summation order), so saved surrogates need neither scikit-learn nor pickle.

Node routing (as in scikit-learn's ``TreePredictor``): at an internal node, a sample
goes left when its value is NaN and ``missing_go_to_left``, or when it is not NaN and
``value <= num_threshold``; otherwise right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TreeArrays", "export_hgb", "predict_trees"]


@dataclass(frozen=True)
class TreeArrays:
    """A boosted tree ensemble (one model) as flat arrays.

    Attributes
    ----------
    baseline
        The model's constant initial prediction.
    roots
        ``(n_trees,)`` index of each tree's root in the node arrays.
    feature, threshold, missing_left, left, right, is_leaf, value
        Per node: split feature index, numeric threshold, NaN goes left (bool), absolute
        indices of the children (-1 at leaves), leaf flag, leaf value (already scaled by
        the learning rate).
    depths
        ``(n_trees,)`` depth of each tree (its deepest root-to-leaf path, in edges).
    max_depth
        The deepest root-to-leaf path of all trees.
    """

    baseline: float
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    depths: np.ndarray
    max_depth: int

    _FIELDS = (
        "roots",
        "depths",
        "feature",
        "threshold",
        "missing_left",
        "left",
        "right",
        "is_leaf",
        "value",
    )

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The arrays under ``prefix + name`` keys (for ``np.savez``)."""
        out = {}
        for name in self._FIELDS:
            a = np.asarray(getattr(self, name))
            out[prefix + name] = a.astype(np.int32) if a.dtype == np.int64 else a  # halves the file
        out[prefix + "meta"] = np.array([self.baseline, float(self.max_depth)], dtype=np.float64)
        return out

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> TreeArrays:
        """Inverse of :meth:`to_arrays`."""
        meta = np.asarray(arrays[prefix + "meta"], dtype=np.float64)
        kwargs = {name: np.asarray(arrays[prefix + name]) for name in cls._FIELDS}
        for name in ("roots", "depths", "feature", "left", "right"):
            kwargs[name] = kwargs[name].astype(np.int64)
        kwargs["missing_left"] = kwargs["missing_left"].astype(bool)
        kwargs["is_leaf"] = kwargs["is_leaf"].astype(bool)
        if meta.shape != (2,) or not np.isfinite(meta).all():
            raise ValueError(f"tree ensemble {prefix!r}: meta {meta!r} is not (baseline, depth)")
        trees = cls(baseline=float(meta[0]), max_depth=int(meta[1]), **kwargs)
        trees.check(prefix)
        return trees

    def check(self, name: str = "") -> None:
        """Raise ValueError unless the arrays form a valid ensemble (damaged or crafted files)."""
        nodes = {f: getattr(self, f).shape for f in self._FIELDS[2:]}
        n = self.is_leaf.size
        problems = []
        if any(shape != (n,) for shape in nodes.values()):
            problems.append(f"node arrays of different shapes {nodes}")
        elif self.roots.shape != self.depths.shape or self.roots.ndim != 1:
            problems.append(f"{self.roots.shape} roots but {self.depths.shape} depths")
        else:
            inner = ~self.is_leaf
            if ((self.roots < 0) | (self.roots >= max(n, 1))).any() and self.roots.size:
                problems.append("a root outside the node arrays")
            for side in (self.left, self.right):
                if ((side[inner] < 0) | (side[inner] >= n)).any():
                    problems.append("a child outside the node arrays")
                    break
            if (self.feature[inner] < 0).any():
                problems.append("a negative split feature")
            if self.depths.size and (self.depths.max() > self.max_depth or self.depths.min() < 0):
                problems.append("tree depths beyond max_depth")
            if not 0 <= self.max_depth <= max(n, 1):
                problems.append(f"max_depth {self.max_depth} for {n} nodes")
        if problems:
            raise ValueError(f"tree ensemble {name!r} is inconsistent: {problems[0]}")


def export_hgb(estimator: Any) -> TreeArrays:
    """Export a fitted single-output ``HistGradientBoostingRegressor`` to :class:`TreeArrays`.

    Raises
    ------
    ValueError
        If the model uses categorical splits or has several outputs per iteration
        (neither is used by the surrogate).
    """
    predictors = estimator._predictors
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).ravel()
    if baseline.size != 1 or any(len(p) != 1 for p in predictors):
        raise ValueError("export_hgb supports single-output regressors only")
    if getattr(estimator, "_loss", None) is not None and type(estimator._loss).__name__ not in (
        "HalfSquaredError",
        "AbsoluteError",
        "PinballLoss",
    ):
        raise ValueError(
            f"export_hgb: loss {type(estimator._loss).__name__} has a non-identity link"
        )
    roots, feature, threshold, missing, left, right, leaf, value = ([] for _ in range(8))
    depths: list[int] = []
    offset = 0
    max_depth = 0
    for (pred,) in predictors:
        nodes = pred.nodes
        if np.any(nodes["is_categorical"]):
            raise ValueError("export_hgb: categorical splits are not supported")
        is_leaf = nodes["is_leaf"].astype(bool)
        roots.append(offset)
        feature.append(np.where(is_leaf, 0, nodes["feature_idx"]).astype(np.int64))
        threshold.append(nodes["num_threshold"].astype(np.float64))
        missing.append(nodes["missing_go_to_left"].astype(bool))
        left.append(np.where(is_leaf, -1, nodes["left"].astype(np.int64) + offset))
        right.append(np.where(is_leaf, -1, nodes["right"].astype(np.int64) + offset))
        leaf.append(is_leaf)
        value.append(nodes["value"].astype(np.float64))
        depths.append(int(nodes["depth"].max()) if len(nodes) else 0)
        max_depth = max(max_depth, depths[-1])
        offset += len(nodes)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return TreeArrays(
        baseline=float(baseline[0]),
        roots=np.asarray(roots, dtype=np.int64),
        feature=cat(feature, np.int64),
        threshold=cat(threshold, np.float64),
        missing_left=cat(missing, bool),
        left=cat(left, np.int64),
        right=cat(right, np.int64),
        is_leaf=cat(leaf, bool),
        value=cat(value, np.float64),
        depths=np.asarray(depths, dtype=np.int64),
        max_depth=max_depth,
    )


def predict_trees(trees: TreeArrays, X: np.ndarray) -> np.ndarray:
    """Predictions of an exported ensemble for the rows of ``X`` (float64, NaN allowed).

    All trees advance one level per step, vectorised over samples × trees; the leaf
    values are then added tree by tree in training order, as scikit-learn does, so the
    result equals ``estimator.predict(X)`` bit for bit.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    n = X.shape[0]
    out = np.full(n, trees.baseline, dtype=np.float64)
    if n == 0 or trees.roots.size == 0:
        return out
    # leaves loop onto themselves, so every tree can take max_depth steps unconditionally
    self_index = np.arange(trees.is_leaf.size, dtype=np.int64)
    left = np.where(trees.is_leaf, self_index, trees.left)
    right = np.where(trees.is_leaf, self_index, trees.right)
    children = np.stack([right, left])  # children[go_left, node]
    feature = trees.feature
    threshold = np.where(trees.is_leaf, np.inf, trees.threshold)
    missing_left = trees.missing_left | trees.is_leaf
    # deepest trees first: at step s only the trees deeper than s still move
    order = np.argsort(-trees.depths, kind="stable")
    moving = [int(np.sum(trees.depths > step)) for step in range(trees.max_depth)]
    node = np.broadcast_to(trees.roots[order], (n, order.size)).copy()
    rows = np.arange(n)[:, None]
    for k in moving:
        cur = node[:, :k]
        x = X[rows, feature[cur]]
        go_left = x <= threshold[cur]
        nan = np.isnan(x)
        if nan.any():
            go_left |= nan & missing_left[cur]
        node[:, :k] = children[go_left.view(np.int8), cur]
    node = node[:, np.argsort(order, kind="stable")]  # back to training order
    leaf_values = trees.value[node]
    for t in range(leaf_values.shape[1]):
        out += leaf_values[:, t]
    return out
