"""The landmarkers' four scikit-learn models, re-implemented in numpy, value for value.

``metaopt suggest`` computes landmarking meta-features, and importing scikit-learn
costs it most of its time budget. The meta-features stored in the knowledge base were
computed with scikit-learn 1.x, so these models reproduce scikit-learn's predictions
exactly (the same landmark values, no meta-feature version bump), not just its
algorithms. ``tests/metafeatures/test_cheap_models.py`` compares them with
scikit-learn. The four models, with the scikit-learn code each one follows:

:class:`DecisionTree`
    ``DecisionTreeClassifier`` / ``DecisionTreeRegressor`` with ``max_depth`` and
    ``random_state`` and every other parameter at its default (``criterion="gini"`` or
    ``"squared_error"``, ``splitter="best"``, ``min_samples_split=2``,
    ``min_samples_leaf=1``, all features). Follows ``tree/_classes.py``, the
    ``BestSplitter`` of ``tree/_splitter.pyx``, the dense partitioner of
    ``tree/_partitioner.pyx``, ``Gini`` and ``MSE`` of ``tree/_criterion.pyx`` and
    the depth-first builder of ``tree/_tree.pyx``:

    * ``X`` is converted to float32 for fitting and for prediction.
    * Candidate thresholds lie between neighbouring sorted values ``a < b`` with
      ``b > a + FEATURE_THRESHOLD`` in float32 arithmetic (``FEATURE_THRESHOLD`` is
      ``float32(1e-7)``); the threshold is ``a / 2.0 + b / 2.0`` in float64.
    * A feature whose node values span at most ``FEATURE_THRESHOLD`` is constant in
      that node (and its descendants) and is never split on.
    * A split's score is scikit-learn's proxy improvement, ``-n_R * gini_R -
      n_L * gini_L`` (classification) or ``s_L**2 / n_L + s_R**2 / n_R``
      (regression), the first best position of a feature wins, and a later feature
      replaces the best only with a strictly larger score.
    * Features are visited in the order scikit-learn's Fisher-Yates draw gives them:
      the splitter's ``rand_r`` state is ``RandomState(random_state).randint(0,
      2**31 - 1)``, each draw is ``our_rand_r`` (xorshift, ``sklearn/utils/_random
      .pxd``), and the ``features`` / ``constant_features`` arrays are permuted in
      place across nodes exactly as in ``node_split_best``. So ties between features
      with exactly equal scores are broken as scikit-learn breaks them.
    * A node is a leaf at ``max_depth``, with fewer than 2 samples, when its impurity
      is ``<= EPSILON`` (``np.finfo(float64).eps``), when every feature is constant, or
      when the split's impurity improvement is below ``-EPSILON``. Nodes are grown
      depth first, left child first (the order matters for the random draws).
    * A leaf predicts the first class with the largest count, or its mean.

    Classification: every quantity is an exact integer count until the last few
    float64 operations, done in scikit-learn's order, so trees are identical bit for
    bit. Regression: the criterion's float sums depend on the order of the samples,
    which scikit-learn's (unstable) introsort and in-place partitions leave. The fast
    path sums in its own order and bounds the difference; it keeps its split only when
    no split that could change a prediction scores within that bound of the best, and
    no leaf test (impurity ``<= EPSILON``, improvement ``< -EPSILON``) is that close.
    Otherwise the node is redone exactly (``_exact``): scikit-learn's sample orders are
    rebuilt (its 3-way introsort, heapsort and insertion sort, ``partition_samples_final``
    and the forward / backward ``update`` paths, emulated in numpy) and its sums formed
    in its order. Equally good splits that put the same rows on each side are settled
    the same way at prediction time, and only if they would send a row elsewhere.
    Leaf means may still differ from scikit-learn's in the last bits (~1e-15
    relative). Targets that are small multiples of a power of two (integers, halves)
    sum exactly in any order and never need the exact path; on the landmarkers' data
    about one regression tree in twenty needs it for one node.

    The input must be finite (the landmarkers' matrix is imputed): scikit-learn's
    missing-value splits are not implemented.

:class:`GaussianNaiveBayes`
    ``GaussianNB()``: per-class mean and variance (``np.var``), variance smoothing
    ``1e-9 * max(np.var(X, axis=0))``, priors from class frequencies, the argmax of
    the joint log-likelihood, with ``naive_bayes.py``'s numpy calls in its order.

:class:`ShrinkageLDA`
    ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")``: class means as in
    ``_class_means``, the priors-weighted within-class covariance of ``_class_cov`` with
    ``_cov(X, "auto")`` (``StandardScaler``'s mean and variance as in
    ``_incremental_mean_and_var``, ``ledoit_wolf`` on the standardised data, rescaled),
    ``coef_`` from LAPACK ``gelsd`` with scipy's default cut-off (``rcond = eps``;
    ``numpy.linalg.lstsq`` then returns what ``scipy.linalg.lstsq`` does), the binary
    and multiclass decision functions. It raises ``ValueError`` where scikit-learn
    does (fewer than 2 samples, as many samples as classes, non-finite values) and
    ``LinAlgError`` when the SVD does not converge.

These are private helpers, not estimators for users: they keep scikit-learn's
``fit`` / ``predict`` shape and trailing-underscore fitted state, but do not derive
from ``BaseEstimator`` (that would import scikit-learn).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["DecisionTree", "GaussianNaiveBayes", "ShrinkageLDA"]

#: ``sklearn/tree/_partitioner.pxd``: ``cdef const float32_t FEATURE_THRESHOLD = 1e-7``.
FEATURE_THRESHOLD = np.float32(1e-7)
#: ``sklearn/tree/_tree.pyx``: ``EPSILON = np.finfo('double').eps``.
EPSILON = float(np.finfo(np.float64).eps)
#: ``sklearn/utils/_random.pxd``: ``RAND_R_MAX = 2**31 - 1``.
RAND_R_MAX = 0x7FFFFFFF
_MASK32 = 0xFFFFFFFF


class _RandR:
    """scikit-learn's ``our_rand_r`` xorshift generator and ``rand_int``."""

    def __init__(self, seed: int) -> None:
        self.state = int(seed) & _MASK32

    def rand_int(self, low: int, high: int) -> int:
        """An integer in ``[low, high)``, as ``sklearn/tree/_utils.pyx``'s ``rand_int``."""
        s = self.state or 1  # DEFAULT_SEED
        s ^= (s << 13) & _MASK32
        s ^= s >> 17
        s ^= (s << 5) & _MASK32
        self.state = s
        return low + (s % (RAND_R_MAX + 1)) % (high - low)


def _as_finite_float32(X: np.ndarray, what: str) -> np.ndarray:
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    if X32.ndim != 2:
        raise ValueError(f"{what} must be a 2-d array, not one of shape {X32.shape}")
    if not np.isfinite(X32).all():
        raise ValueError(
            f"{what} contains NaN, infinity or a value too large for float32; "
            "impute and scale the matrix first"
        )
    return X32


# ------------------------------------------------------------------------------------
# scikit-learn's sample order, reproduced exactly (used only to settle near-ties of the
# regression criterion, whose float sums depend on the order the samples are in).
# ------------------------------------------------------------------------------------
def _seq_sum(a: np.ndarray) -> float:
    """``0.0 + a[0] + a[1] + ...`` left to right, as a C loop sums (``np.cumsum`` is
    sequential, ``np.sum`` is pairwise)."""
    if a.size == 0:
        return 0.0
    return float(np.cumsum(np.concatenate(([0.0], a)))[-1])


def _pull_partition(to_back: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Layout after scikit-learn's in-place scan that swaps each 'back' element to the end.

    The scan (``partition_samples_final`` and the ``>`` branch of the 3-way partition)
    examines position ``i``; a 'back' element is swapped with the last unexamined one,
    which is examined next, otherwise ``i`` advances. Returns the original positions of
    what ends in ``[0, T)`` (in examination order) and in ``[T, n)`` (by final
    position), ``T`` being the number of 'front' elements.
    """
    n = to_back.size
    T = n - int(np.count_nonzero(to_back))
    front = np.arange(T)
    left_g = np.flatnonzero(to_back[:T])
    right_ng = np.flatnonzero(~to_back[T:])[::-1] + T
    front[left_g] = right_ng  # the k-th 'back' on the left meets the k-th 'front' from the right
    gpos = np.flatnonzero(to_back)
    if gpos.size == 0:
        return front, gpos
    # Examination order of the 'back' elements: the k-th one found on the left, then the
    # 'back' ones met from the right while looking for the k-th 'front' from the right;
    # finally those left between T and the last 'front' found: T first, then downwards.
    is_left = gpos < T
    group = np.empty(gpos.size, dtype=np.intp)
    second = np.empty(gpos.size, dtype=np.float64)
    group[is_left] = np.arange(left_g.size)
    second[is_left] = -np.inf
    rj = gpos[~is_left]
    ascending = right_ng[::-1]
    group[~is_left] = ascending.size - np.searchsorted(ascending, rj, side="right")
    sec = -rj.astype(np.float64)
    sec[rj == T] = -np.inf
    second[~is_left] = sec
    examined = gpos[np.lexsort((second, group))]
    return front, examined[::-1]  # the t-th examined lands at n - 1 - t


def _partition3(v: np.ndarray, pivot: np.float32) -> tuple[np.ndarray, int, int]:
    """scikit-learn's 3-way partition (``introsort_3way``): permutation, ``l``, ``r``."""
    front, back = _pull_partition(v > pivot)
    less = v[front] < pivot
    equal = ~less
    n_less = int(np.count_nonzero(less))
    # The 'equal' block [l, i) is a queue: an 'equal' element joins at the back, a
    # 'less' element (when the block is not empty) moves the front element to the back.
    e_before = np.cumsum(equal) - equal
    push = equal | (less & (e_before > 0))
    element = front[push]
    new = equal[push]
    ptr = np.where(new, np.arange(new.size), np.cumsum(~new) - 1)
    while True:
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    n_rot = int(np.count_nonzero(~new))
    n_equal = int(np.count_nonzero(equal))
    queue = element[ptr][n_rot : n_rot + n_equal]
    return np.concatenate((front[less], queue, back)), n_less, n_less + n_equal


def _median3(v: np.ndarray, n: int) -> np.float32:
    a, b, c = v[0], v[n // 2], v[n - 1]
    if a < b:
        if b < c:
            return b
        return c if a < c else a
    if b < c:
        return a if a < c else c
    return b


def _heapsort_perm(values: np.ndarray) -> np.ndarray:
    v = values.tolist()
    idx = list(range(len(v)))
    n = len(v)

    def sift_down(start: int, end: int) -> None:
        root = start
        while True:
            child = root * 2 + 1
            maxind = root
            if child < end and v[maxind] < v[child]:
                maxind = child
            if child + 1 < end and v[maxind] < v[child + 1]:
                maxind = child + 1
            if maxind == root:
                return
            v[root], v[maxind] = v[maxind], v[root]
            idx[root], idx[maxind] = idx[maxind], idx[root]
            root = maxind

    start = (n - 2) // 2
    while True:
        sift_down(start, n)
        if start == 0:
            break
        start -= 1
    end = n - 1
    while end > 0:
        v[0], v[end] = v[end], v[0]
        idx[0], idx[end] = idx[end], idx[0]
        sift_down(0, end)
        end -= 1
    return np.asarray(idx, dtype=np.intp)


def _py_introsort(v: list[float], ix: list[int], b: int, n: int, depth: int) -> None:
    """``introsort_3way`` on Python lists, in place: faster than numpy for small blocks."""
    while n > 15:
        if depth <= 0:
            perm = _heapsort_perm(np.asarray(v[b : b + n], dtype=np.float32))
            block_v, block_ix = v[b : b + n], ix[b : b + n]
            v[b : b + n] = [block_v[q] for q in perm]
            ix[b : b + n] = [block_ix[q] for q in perm]
            return
        depth -= 1
        x, m, c = v[b], v[b + n // 2], v[b + n - 1]  # median of 3
        if x < m:
            pivot = m if m < c else (c if x < c else x)
        else:
            pivot = (x if x < c else c) if m < c else m
        i = lo = b
        r = b + n
        while i < r:
            vi = v[i]
            if vi < pivot:
                v[i], v[lo] = v[lo], vi
                ix[i], ix[lo] = ix[lo], ix[i]
                i += 1
                lo += 1
            elif vi > pivot:
                r -= 1
                v[i], v[r] = v[r], vi
                ix[i], ix[r] = ix[r], ix[i]
            else:
                i += 1
        _py_introsort(v, ix, b, lo - b, depth)
        n -= r - b
        b = r
    for i in range(b + 1, b + n):  # insertion sort
        tv, ti = v[i], ix[i]
        j = i
        while j > b and v[j - 1] > tv:
            v[j] = v[j - 1]
            ix[j] = ix[j - 1]
            j -= 1
        v[j] = tv
        ix[j] = ti


#: Blocks up to this size are sorted by the list-based introsort.
_PY_SORT_MAX = 768


def _sk_sort(
    vals: np.ndarray, idx: np.ndarray, maxd: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``simultaneous_sort(vals, idx, use_three_way_partition=True)`` of scikit-learn.

    Introsort with median-of-3 pivots and 3-way partitions, heapsort once ``maxd``
    (``2 * floor(log2(n))``) levels are used up, insertion sort (stable) below 16
    elements. A block of equal values is left as it is by a partition, and a block of
    distinct values has one sorted order whatever the algorithm.
    """
    vals = vals.copy()
    idx = idx.copy()
    n = vals.size
    if n < 2:
        return vals, idx
    stack = [(0, n, 2 * int(math.log2(n)) if maxd is None else maxd)]
    while stack:
        lo, k, depth = stack.pop()
        while k > 1:
            sub = vals[lo : lo + k]
            srt = np.sort(sub)
            if k <= 15 or bool(np.all(srt[1:] > srt[:-1])):
                perm = np.argsort(sub, kind="stable")
            elif srt[0] == srt[-1] and depth > 0:
                break
            elif k <= _PY_SORT_MAX:
                v, ix = sub.tolist(), idx[lo : lo + k].tolist()
                _py_introsort(v, ix, 0, k, depth)
                vals[lo : lo + k] = v
                idx[lo : lo + k] = ix
                break
            elif depth <= 0:
                perm = _heapsort_perm(sub)
            else:
                depth -= 1
                perm, left, right = _partition3(sub, _median3(sub, k))
                vals[lo : lo + k] = sub[perm]
                idx[lo : lo + k] = idx[lo : lo + k][perm]
                if left > 1:
                    stack.append((lo, left, depth))
                lo, k = lo + right, k - right
                continue
            vals[lo : lo + k] = sub[perm]
            idx[lo : lo + k] = idx[lo : lo + k][perm]
            break
    return vals, idx


def _chain_sums(ys: np.ndarray, cand: np.ndarray, sum_total: float) -> np.ndarray:
    """``sum_left`` at each candidate position as ``RegressionCriterion.update`` gets it.

    ``update(p)`` adds ``ys[pos:p]`` to the running sum, unless the way back from the end
    is shorter: then it restarts from ``sum_total`` and subtracts ``ys[p:]`` backwards.
    """
    m = ys.size
    out = np.empty(cand.size)
    prev = np.concatenate(([0], cand[:-1]))
    rev = (cand - prev) > (m - cand)
    starts = np.flatnonzero(rev)
    if starts.size:
        back = np.cumsum(np.concatenate(([sum_total], -ys[::-1])))
    bounds = np.concatenate(([0], starts, [cand.size]))
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if a == b:
            continue
        if rev[a]:
            value, p0 = float(back[m - cand[a]]), int(cand[a])
            out[a] = value
            a += 1
        else:
            value, p0 = 0.0, 0
        if a < b:
            acc = np.cumsum(np.concatenate(([value], ys[p0 : cand[b - 1]])))
            out[a:b] = acc[cand[a:b] - p0]
    return out


def _exact_dyadic_sums(y: np.ndarray) -> bool:
    """True when every sum the MSE criterion forms is exact in any order.

    That holds when ``y * 2**k`` is integral for a small ``k`` and small enough that
    sums, their squares and the sums of squares stay below 2**52.
    """
    a = np.abs(y)
    for k in range(11):
        z = a * float(2**k)
        if np.all(z == np.floor(z)):
            total = float(z.sum())
            return total < 2.0**26 and float(np.dot(z, z)) < 2.0**52
    return False


def _argsort_rows(XT: np.ndarray) -> np.ndarray:
    """``np.argsort(XT, axis=1)``, faster for two-valued (one-hot) rows, in any tie order."""
    lo = XT.min(axis=1, keepdims=True)
    high = XT != lo
    binary = np.all(high | (XT == lo), axis=1) if XT.size else np.zeros(0, dtype=bool)
    binary &= np.all(~high | (XT == XT.max(axis=1, keepdims=True)), axis=1)
    if not binary.any():
        return np.argsort(XT, axis=1)
    if binary.all():
        return np.argsort(high, axis=1, kind="stable")
    order = np.empty(XT.shape, dtype=np.intp)
    order[binary] = np.argsort(high[binary], axis=1, kind="stable")
    if not binary.all():
        order[~binary] = np.argsort(XT[~binary], axis=1)
    return order


class _Node:
    """One node while the tree grows (scikit-learn's stack record and split record)."""

    __slots__ = (
        "samples",
        "depth",
        "parent",
        "is_left",
        "n_known",
        "impurity",
        "imp_err",
        "sort_seq",
        "distinct",
        "uniform",
        "feature",
        "pos",
        "threshold",
        "children",
        "value",
        "alternatives",
        "entry",
        "final",
        "exact",
        "child_entries",
    )

    def __init__(
        self,
        samples: np.ndarray,
        depth: int,
        parent: int,
        is_left: bool,
        n_known: int,
        impurity: float | None,
        imp_err: float,
    ) -> None:
        self.samples = samples  # row indices, ascending
        self.depth = depth
        self.parent = parent
        self.is_left = is_left
        self.n_known = n_known  # n_constant_features on entry
        self.impurity = impurity
        self.imp_err = imp_err  # bound on |impurity - scikit-learn's|
        self.sort_seq: list[tuple[int, bool]] = []  # (feature, constant here), sort order
        self.distinct = np.zeros(0, dtype=bool)  # per feature: all values different
        self.uniform = np.zeros(0, dtype=bool)  # per feature: all values equal
        self.feature = -2
        self.pos = -1
        self.threshold = -2.0
        self.children = (-1, -1)
        self.value = 0.0
        # Equally good splits with the same left set: (feature, threshold, mirrored).
        self.alternatives: list[tuple[int, float, bool]] = []
        self.entry: np.ndarray | None = None  # scikit-learn's samples order on entry
        self.final: np.ndarray | None = None  # ... after the split search
        self.exact: _ExactSplit | None = None
        self.child_entries: tuple[np.ndarray, np.ndarray] | None = None


class _ExactSplit:
    """scikit-learn's split of a node, found on its sample orders with its float sums."""

    __slots__ = ("feature", "pos", "threshold", "imp_left", "imp_right", "entries")

    def __init__(
        self,
        feature: int,
        pos: int,
        threshold: float,
        imp_left: float,
        imp_right: float,
        entries: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.feature = feature
        self.pos = pos
        self.threshold = threshold
        self.imp_left = imp_left
        self.imp_right = imp_right
        self.entries = entries  # the children's samples orders on entry


class DecisionTree:
    """A depth-limited CART tree identical to scikit-learn's ``DecisionTree*``.

    Parameters
    ----------
    max_depth
        Depth of the tree (1: a stump).
    classification
        Gini criterion and majority-class leaves (``DecisionTreeClassifier``), else
        squared error and mean leaves (``DecisionTreeRegressor``).
    random_state
        The integer seed given to scikit-learn; decides which of several features
        with exactly equal scores is split on.
    """

    def __init__(self, max_depth: int, classification: bool, random_state: int = 0) -> None:
        self.max_depth = max_depth
        self.classification = classification
        self.random_state = random_state

    # ------------------------------------------------------------------- fit
    def fit(self, X: np.ndarray, y: np.ndarray) -> DecisionTree:
        """Grow the tree on ``X`` (n, p) and ``y`` (n,); returns ``self``."""
        X32 = _as_finite_float32(X, "X")
        n, p = X32.shape
        y = np.asarray(y).ravel()
        if n < 1 or p < 1 or y.shape[0] != n:
            raise ValueError(f"X of shape {X32.shape} and y of {y.shape[0]} values do not fit")
        if self.classification:
            self.classes_, codes = np.unique(y, return_inverse=True)
            small = np.uint8 if self.classes_.size <= 255 else np.intp
            self._codes = codes.astype(small).ravel()
            self._n_classes = int(self.classes_.size)
            self._exact_sums = True
        else:
            self._y = np.ascontiguousarray(y, dtype=np.float64)
            if not np.isfinite(self._y).all():
                raise ValueError("y contains NaN or infinity")
            self._y2 = self._y * self._y
            self._exact_sums = _exact_dyadic_sums(self._y)
        self._X32 = X32
        self._n_total = float(n)
        seed = np.random.RandomState(self.random_state).randint(0, RAND_R_MAX)
        self._rng = _RandR(int(seed))
        self._features = list(range(p))
        self._constant_features = [0] * p
        self._cols = np.arange(p)
        self._row_starts = self._cols * n
        self._nodes: list[_Node] = []
        root = _Node(np.arange(n), 0, -1, False, 0, None, 0.0)
        root.entry = np.arange(n)
        # Rows by value, feature by feature (p, n): the order of tied values does not
        # matter here (see _exact for where it does).
        self._XT = np.ascontiguousarray(X32.T)
        self._grow(root, _argsort_rows(self._XT))
        self._pack()
        del self._rng, self._features, self._constant_features, self._XT
        if self._exact_sums:  # nothing left to settle at predict time
            del self._X32, self._nodes
            if self.classification:
                del self._codes
            else:
                del self._y, self._y2
        return self

    def _pack(self) -> None:
        nodes = self._nodes
        self.feature_ = np.asarray([nd.feature for nd in nodes], dtype=np.intp)
        self.threshold_ = np.asarray([nd.threshold for nd in nodes], dtype=np.float64)
        self.children_ = np.asarray([nd.children for nd in nodes], dtype=np.intp).reshape(-1, 2)
        self.value_ = np.asarray([nd.value for nd in nodes], dtype=np.float64)
        self.missing_go_to_left_ = np.asarray(
            [nd.pos > nd.samples.size - nd.pos for nd in nodes], dtype=bool
        )

    def _stats(self, node: _Node) -> Any:
        """Class counts, or (sum, sum of squares) in scikit-learn's order when known."""
        if self.classification:
            return np.bincount(self._codes[node.samples], minlength=self._n_classes)
        rows = node.entry if node.entry is not None else node.samples
        return _seq_sum(self._y[rows]), _seq_sum(self._y2[rows])

    def _impurity(self, stats: Any, m: int) -> float:
        """``node_impurity`` (only the root's is computed; children inherit theirs)."""
        mf = float(m)
        if self.classification:
            sq = 0.0
            for c in stats.tolist():
                sq += float(c) * float(c)
            return 1.0 - sq / (mf * mf)
        s, sq = stats
        return sq / mf - (s / mf) ** 2.0

    def _grow(self, node: _Node, order: np.ndarray) -> int:
        """Grow ``node`` (its rows sorted per feature in ``order``, shape (p, m))."""
        index = len(self._nodes)
        self._nodes.append(node)
        m = node.samples.size
        stats = self._stats(node)
        if node.impurity is None:  # the root
            node.impurity = self._impurity(stats, m)
        if self.classification:
            node.value = float(np.argmax(stats))
        else:
            node.value = stats[0] / float(m)
        if node.depth >= self.max_depth or m < 2 or node.impurity <= EPSILON:
            return index

        constant, best, best_pos, xs, score = self._scores(order, stats)
        if not self._exact_sums:  # what _sorted needs to skip sorting, should it have to
            node.distinct = np.all(xs[:, 1:] > xs[:, :-1], axis=1)
            node.uniform = xs[:, -1] == xs[:, 0]
        f = self._draw(node, constant, best)
        if f < 0:  # every feature is constant here
            return index
        pos = int(best_pos[f])
        threshold = float(xs[f, pos - 1]) / 2.0 + float(xs[f, pos]) / 2.0
        left_rows, right_rows = order[f, :pos], order[f, pos:]
        imp_left, imp_right, err_left, err_right = self._children_impurity(
            stats, left_rows, right_rows, node
        )
        improvement = self._improvement(node.impurity, imp_left, imp_right, pos, m)
        exact = None
        if not self._exact_sums:
            go_left = np.zeros(self._X32.shape[0], dtype=bool)
            go_left[left_rows] = True
            unsettled, alternatives = self._near_ties(node, order, score, xs, f, pos, go_left)
            for n_child, imp, err in ((pos, imp_left, err_left), (m - pos, imp_right, err_right)):
                if node.depth + 1 < self.max_depth and n_child >= 2:
                    unsettled = unsettled or abs(imp - EPSILON) <= 2.0 * err
            imp_bound = 2.0 * (m / self._n_total) * (node.imp_err + err_left + err_right)
            if abs(improvement + EPSILON) <= imp_bound + 8 * EPSILON * abs(improvement):
                unsettled = True
                if node.imp_err > 0:  # the node's own impurity must be exact too
                    node.impurity = self._exact_child_impurity(node)
                    node.imp_err = 0.0
            if unsettled:
                exact = self._exact(node)
                f, pos, threshold = exact.feature, exact.pos, exact.threshold
                imp_left, imp_right = exact.imp_left, exact.imp_right
                err_left = err_right = 0.0
                improvement = self._improvement(node.impurity, imp_left, imp_right, pos, m)
                left_rows, right_rows = exact.entries
                alternatives = []
            node.alternatives = alternatives
        if improvement + EPSILON < 0.0:
            return index

        node.feature, node.pos, node.threshold = f, pos, threshold
        left_samples, right_samples = np.sort(left_rows), np.sort(right_rows)
        if node.depth + 1 < self.max_depth:
            go = np.zeros(self._X32.shape[0], dtype=bool)
            go[left_samples] = True
            mask = go[order]
            left_order = order[mask].reshape(order.shape[0], pos)
            right_order = order[~mask].reshape(order.shape[0], m - pos)
        else:  # the children are leaves: no need to sort them
            left_order = right_order = order[:, :0]
        n_constant = node.n_known  # updated by _draw
        left = _Node(left_samples, node.depth + 1, index, True, n_constant, imp_left, err_left)
        right = _Node(right_samples, node.depth + 1, index, False, n_constant, imp_right, err_right)
        if exact is not None:
            left.entry, right.entry = exact.entries
        left_index = self._grow(left, left_order)
        node.children = (left_index, self._grow(right, right_order))
        return index

    def _improvement(
        self, impurity: float, imp_left: float, imp_right: float, pos: int, m: int
    ) -> float:
        """``Criterion.impurity_improvement``."""
        mf, n_left, n_right = float(m), float(pos), float(m - pos)
        return (mf / self._n_total) * (
            impurity - (n_right / mf * imp_right) - (n_left / mf * imp_left)
        )

    def _children_impurity(
        self, stats: Any, left_rows: np.ndarray, right_rows: np.ndarray, node: _Node
    ) -> tuple[float, float, float, float]:
        """``children_impurity`` of a split, and bounds on its rounding differences."""
        n_left, n_right = float(left_rows.size), float(right_rows.size)
        if self.classification:
            left = np.bincount(self._codes[left_rows], minlength=self._n_classes)
            sq_left = sq_right = 0.0
            for cl, ct in zip(left.tolist(), stats.tolist(), strict=True):
                sq_left += float(cl) * float(cl)
                sq_right += float(ct - cl) * float(ct - cl)
            gini_left = 1.0 - sq_left / (n_left * n_left)
            gini_right = 1.0 - sq_right / (n_right * n_right)
            return gini_left, gini_right, 0.0, 0.0
        s_total, sq_total = stats
        s_left = _seq_sum(self._y[left_rows])
        s_right = s_total - s_left
        sq_left = _seq_sum(self._y2[left_rows])
        sq_right = sq_total - sq_left
        imp_left = sq_left / n_left - (s_left / n_left) ** 2.0
        imp_right = sq_right / n_right - (s_right / n_right) ** 2.0
        if self._exact_sums:
            return imp_left, imp_right, 0.0, 0.0
        err_s, err_q, y_max, q = self._error_scales(node)
        errs = [
            (2.0 * err_q + 4.0 * y_max * err_s) / nc + 8.0 * EPSILON * (q / nc + y_max * y_max)
            for nc in (n_left, n_right)
        ]
        return imp_left, imp_right, errs[0], errs[1]

    def _error_scales(self, node: _Node) -> tuple[float, float, float, float]:
        """Bounds on how much two summation orders of the node's sums can differ."""
        ys = self._y[node.samples]
        m = float(ys.size)
        a = float(np.abs(ys).sum())
        q = float(np.dot(ys, ys))
        return 2.0 * m * EPSILON * a, 2.0 * m * EPSILON * q, float(np.abs(ys).max()), q

    def _scores(
        self, order: np.ndarray, stats: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Per feature: constant?, best proxy score, its position; sorted values; scores.

        ``order`` and the sorted values are (p, m): feature by feature, rows by value.
        Scores are computed only where scikit-learn evaluates a split (between values
        more than ``FEATURE_THRESHOLD`` apart) and returned as ``(feature, n_left,
        score)`` arrays, sorted by feature then position.
        """
        p, m = order.shape
        xs = self._XT.ravel()[order + self._row_starts[:, None]]
        constant = xs[:, -1] <= xs[:, 0] + FEATURE_THRESHOLD
        valid = xs[:, 1:] > xs[:, :-1] + FEATURE_THRESHOLD  # a split before value i + 1
        flat = np.flatnonzero(valid)
        n_valid = np.count_nonzero(valid, axis=1)
        fi = np.repeat(self._cols, n_valid)
        pi = flat - fi * (m - 1)
        n_left = np.arange(1.0, float(m))[pi]
        n_right = float(m) - n_left
        if self.classification:
            totals = stats.tolist()
            big = int(np.argmax(stats))
            # Class counts left of each split, exact (int32 while m <= 46340), kept only
            # where a split is evaluated.
            itype: Any = np.int32 if m <= 46_000 else np.int64
            codes = self._codes[order[:, :-1]]
            n_left_i = (pi + 1).astype(itype)
            rest = np.zeros(flat.size, dtype=itype)
            sq_left = np.zeros(flat.size, dtype=itype)
            sq_right = np.zeros(flat.size, dtype=itype)
            for c, total in enumerate(totals):
                if total == 0 or c == big:
                    continue  # absent classes add exact zeros; the largest comes last
                cl = np.cumsum(codes == c, axis=1, dtype=itype).ravel()[flat]
                rest += cl
                sq_left += cl * cl
                cl -= total
                sq_right += cl * cl
            cl = n_left_i - rest
            sq_left += cl * cl
            cl -= totals[big]
            sq_right += cl * cl
            # -(n_R * (1 - sq_R / n_R**2)) - n_L * (1 - sq_L / n_L**2), op by op.
            left = sq_left.astype(np.float64)
            left /= n_left * n_left
            np.subtract(1.0, left, out=left)
            left *= n_left
            score = sq_right.astype(np.float64)
            score /= n_right * n_right
            np.subtract(1.0, score, out=score)
            score *= n_right
            np.negative(score, out=score)
            score -= left
        else:
            s_total = stats[0]
            s_left = np.cumsum(self._y[order[:, :-1]], axis=1).ravel()[flat]
            s_right = s_total - s_left
            # s_L * s_L / n_L + s_R * s_R / n_R, op by op.
            score = s_left * s_left
            score /= n_left
            s_right *= s_right
            s_right /= n_right
            score += s_right
        best = np.full(p, -np.inf)
        best_pos = np.zeros(p, dtype=np.intp)
        if fi.size:
            starts = np.flatnonzero(np.concatenate(([True], fi[1:] != fi[:-1])))
            top = np.maximum.reduceat(score, starts)
            segment = np.repeat(np.arange(starts.size), np.diff(np.append(starts, fi.size)))
            hits = np.flatnonzero(score == top[segment])
            _, first = np.unique(segment[hits], return_index=True)
            feats = fi[starts]
            best[feats] = top
            best_pos[feats] = pi[hits[first]] + 1
        return constant, best, best_pos, xs, (fi, pi + 1, score)

    def _draw(self, node: _Node, constant: np.ndarray, best: np.ndarray) -> int:
        """``node_split_best``'s Fisher-Yates draw over the features; the best feature.

        Records the features scikit-learn sorts, in order, in ``node.sort_seq`` and
        leaves ``node.n_known`` at the node's ``n_total_constants`` (its children's).
        """
        features = self._features
        constant_features = self._constant_features
        rng = self._rng
        n_features = len(features)
        n_known = node.n_known
        f_i = n_features
        n_visited = n_found = n_drawn = 0
        n_total = n_known
        chosen = -1
        best_score = -np.inf
        while f_i > n_total and (n_visited < n_features or n_visited <= n_found + n_drawn):
            n_visited += 1
            f_j = rng.rand_int(n_drawn, f_i - n_found)
            if f_j < n_known:
                features[n_drawn], features[f_j] = features[f_j], features[n_drawn]
                n_drawn += 1
                continue
            f_j += n_found
            feat = features[f_j]
            if constant[feat]:
                node.sort_seq.append((feat, True))
                features[f_j], features[n_total] = features[n_total], features[f_j]
                n_found += 1
                n_total += 1
                continue
            node.sort_seq.append((feat, False))
            f_i -= 1
            features[f_i], features[f_j] = features[f_j], features[f_i]
            if best[feat] > best_score:
                best_score = float(best[feat])
                chosen = feat
        features[:n_known] = constant_features[:n_known]
        constant_features[n_known : n_known + n_found] = features[n_known : n_known + n_found]
        node.n_known = n_total
        return chosen

    # ------------------------------------------------- near-ties (regression)
    def _near_ties(
        self,
        node: _Node,
        order: np.ndarray,
        score: tuple[np.ndarray, ...],
        xs: np.ndarray,
        f: int,
        pos: int,
        go_left: np.ndarray,
    ) -> tuple[bool, list[tuple[int, float, bool]]]:
        """Whether scikit-learn's rounding could pick another split than ours.

        Returns (unsettled, alternatives): splits that score within the rounding bound
        of the best and put the same rows on the left (or, above two leaves, the same
        rows on the other side) are alternatives that only matter at prediction time;
        any other close split leaves the choice unsettled.
        """
        m = order.shape[1]
        err_s, _, y_max, _ = self._error_scales(node)
        feats, n_lefts, values = score
        top = float(values[(feats == f) & (n_lefts == pos)][0])
        tol = 4.0 * (6.0 * y_max * err_s + err_s * err_s + 8.0 * EPSILON * abs(top))
        near = values >= top - tol
        if np.count_nonzero(near) > 256:
            return True, []
        terminal = node.depth + 1 >= self.max_depth
        alternatives = []
        for g, q in zip(feats[near].tolist(), n_lefts[near].tolist(), strict=True):
            if g == f and q == pos:
                continue
            side = go_left[order[g, :q]]
            thr = float(xs[g, q - 1]) / 2.0 + float(xs[g, q]) / 2.0
            if q == pos and side.all():
                alternatives.append((g, thr, False))
            elif terminal and q == m - pos and not side.any():
                alternatives.append((g, thr, True))
            else:
                return True, []
        return False, alternatives

    def _entry(self, node: _Node) -> np.ndarray:
        """scikit-learn's samples order on entering ``node``."""
        if node.entry is None:
            parent = self._nodes[node.parent]
            if parent.child_entries is None:
                final = self._final(parent)
                go_left = self._X32[final, parent.feature] <= parent.threshold
                front, back = _pull_partition(~go_left)
                parent.child_entries = (final[front], final[back])
            node.entry = parent.child_entries[0 if node.is_left else 1]
        return node.entry

    def _sorted(self, node: _Node, feature: int, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vals = self._X32[S, feature]
        if node.uniform[feature]:
            return vals, S
        if node.distinct[feature]:
            perm = np.argsort(vals, kind="stable")
            return vals[perm], S[perm]
        return _sk_sort(vals, S)

    def _final(self, node: _Node) -> np.ndarray:
        """scikit-learn's samples order after ``node``'s split search (before partition)."""
        if node.final is None:
            seq = node.sort_seq
            start = 0
            S = None
            for k in range(len(seq) - 1, -1, -1):
                if node.distinct[seq[k][0]]:
                    start = k
                    S = node.samples
                    break
            if S is None:
                S = self._entry(node)
            for feat, _ in seq[start:]:
                S = self._sorted(node, feat, S)[1]
            node.final = S
        return node.final

    def _exact(self, node: _Node) -> _ExactSplit:
        """``node_split_best`` on scikit-learn's sample orders, with its float sums."""
        if node.exact is not None:
            return node.exact
        S = self._entry(node)
        m = S.size
        y, y2 = self._y, self._y2
        sum_total, sq_total = _seq_sum(y[S]), _seq_sum(y2[S])
        best = -np.inf
        bf = bp = -1
        bthr = 0.0
        for feat, is_constant in node.sort_seq:
            vals, S = self._sorted(node, feat, S)
            if is_constant:
                continue
            cand = np.flatnonzero(vals[1:] > vals[:-1] + FEATURE_THRESHOLD) + 1
            if cand.size == 0:
                continue
            s_left = _chain_sums(y[S], cand, sum_total)
            n_left = cand.astype(np.float64)
            n_right = float(m) - n_left
            s_right = sum_total - s_left
            proxy = s_left * s_left / n_left + s_right * s_right / n_right
            k = int(np.argmax(proxy))
            if proxy[k] > best:
                best = float(proxy[k])
                bf, bp = feat, int(cand[k])
                bthr = float(vals[bp - 1]) / 2.0 + float(vals[bp]) / 2.0
        node.final = S
        go_left = self._X32[S, bf] <= bthr
        front, back = _pull_partition(~go_left)
        part = np.concatenate((S[front], S[back]))
        # criterion.reset(); criterion.update(pos); criterion.children_impurity(...)
        if bp <= m - bp:
            sum_left = _seq_sum(y[part[:bp]])
        else:
            sum_left = _seq_sum(np.concatenate(([sum_total], -y[part[bp:][::-1]])))
        sum_right = sum_total - sum_left
        sq_left = _seq_sum(y2[part[:bp]])
        sq_right = sq_total - sq_left
        nl, nr = float(bp), float(m - bp)
        imp_left = sq_left / nl - (sum_left / nl) ** 2.0
        imp_right = sq_right / nr - (sum_right / nr) ** 2.0
        node.child_entries = (part[:bp], part[bp:])
        node.exact = _ExactSplit(bf, bp, bthr, imp_left, imp_right, node.child_entries)
        return node.exact

    def _exact_child_impurity(self, node: _Node) -> float:
        exact = self._exact(self._nodes[node.parent])
        return exact.imp_left if node.is_left else exact.imp_right

    # --------------------------------------------------------------- predict
    def apply(self, X: np.ndarray, depth: int | None = None) -> np.ndarray:
        """Index of the leaf each row of ``X`` falls in.

        With ``depth``, the tree is read as if grown to that depth only: scikit-learn
        grows a tree with a smaller ``max_depth`` (and the same seed) identically down to
        it, so a depth-3 tree read at depth 1 is the stump.
        """
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        if np.isinf(X32).any():
            raise ValueError("X contains infinity or a value too large for float32")
        node = np.zeros(X32.shape[0], dtype=np.intp)
        rows = np.arange(X32.shape[0])
        for _ in range(self.max_depth if depth is None else min(depth, self.max_depth)):
            left = self.children_[node, 0]
            internal = left >= 0
            if not internal.any():
                break
            if not self._exact_sums:
                self._settle(X32, np.where(internal, node, -1))
                left = self.children_[node, 0]
            v = X32[rows, np.where(internal, self.feature_[node], 0)]
            go_left = np.where(
                np.isnan(v), self.missing_go_to_left_[node], v <= self.threshold_[node]
            )
            node = np.where(internal, np.where(go_left, left, self.children_[node, 1]), node)
        return node

    def _settle(self, X32: np.ndarray, at: np.ndarray) -> None:
        """Pick scikit-learn's split among equally good ones where the rows of X32 care.

        ``at`` is the node each row is at (-1: at a leaf). Alternatives that send every
        row there the same way as the chosen split need no settling.
        """
        for i in np.unique(at[at >= 0]).tolist():
            nd = self._nodes[i]
            if not nd.alternatives:
                continue
            rows = X32[at == i]
            mine = rows[:, nd.feature] <= nd.threshold
            if all(
                np.array_equal(mine, (rows[:, g] <= t) != mirrored)
                for g, t, mirrored in nd.alternatives
            ):
                continue
            exact = self._exact(nd)
            nd.alternatives = []
            if exact.feature == nd.feature:
                continue
            same_side = bool(np.all(self._X32[exact.entries[0], nd.feature] <= nd.threshold))
            nd.feature, nd.threshold = exact.feature, exact.threshold
            self.feature_[i], self.threshold_[i] = exact.feature, exact.threshold
            if not same_side:  # mirrored: the children are leaves, swap them
                nd.children = (nd.children[1], nd.children[0])
                nd.pos = nd.samples.size - nd.pos
                self.children_[i] = nd.children
                self.missing_go_to_left_[i] = nd.pos > nd.samples.size - nd.pos

    def predict(self, X: np.ndarray, depth: int | None = None) -> np.ndarray:
        """Predicted class labels or values for the rows of ``X`` (see :meth:`apply`)."""
        leaf_values = self.value_[self.apply(X, depth)]
        if self.classification:
            return self.classes_[leaf_values.astype(np.intp)]
        return leaf_values


class GaussianNaiveBayes:
    """scikit-learn's ``GaussianNB()`` (``var_smoothing=1e-9``, fitted priors)."""

    var_smoothing = 1e-9

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianNaiveBayes:
        """Per-class means and variances; returns ``self``."""
        X = _as_finite_float64(X)
        y = np.asarray(y).ravel()
        self.classes_ = np.unique(y)
        self.epsilon_ = self.var_smoothing * np.max(np.var(X, axis=0))
        k, p = self.classes_.shape[0], X.shape[1]
        self.theta_ = np.zeros((k, p))
        self.var_ = np.zeros((k, p))
        self.class_count_ = np.zeros(k)
        for i, c in enumerate(self.classes_):
            X_i = X[y == c]
            self.theta_[i, :] = np.mean(X_i, axis=0)
            self.var_[i, :] = np.var(X_i, axis=0, ddof=0.0)
            self.class_count_[i] += X_i.shape[0]
        self.var_[:, :] += self.epsilon_
        self.class_prior_ = self.class_count_ / np.sum(self.class_count_)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class with the largest joint log-likelihood."""
        X = _as_finite_float64(X)
        jll = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(self.classes_.shape[0]):
                jointi = np.log(self.class_prior_[i])
                n_ij = -0.5 * np.sum(np.log(2.0 * np.pi * self.var_[i, :]))
                n_ij = n_ij - 0.5 * np.sum(
                    ((X - self.theta_[i, :]) ** 2) / (self.var_[i, :]), axis=1
                )
                jll.append(jointi + n_ij)
        return self.classes_[np.argmax(np.stack(jll).T, axis=1)]


def _as_finite_float64(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-d array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity; impute the matrix first")
    return X


def _standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``StandardScaler().fit_transform(X)`` and its ``scale_``, operation for operation."""
    n, p = X.shape
    last_sample_count = np.zeros(p)
    last_sum = 0.0 * last_sample_count
    new_sum = np.sum(X, axis=0)
    new_sample_count = n - np.sum(np.isnan(X).astype(X.dtype), axis=0)
    updated_sample_count = last_sample_count + new_sample_count
    mean = (last_sum + new_sum) / updated_sample_count
    T = new_sum / new_sample_count
    temp = X - T
    correction = np.sum(temp, axis=0)
    temp **= 2
    new_unnormalized_variance = np.sum(temp, axis=0)
    new_unnormalized_variance -= correction**2 / new_sample_count
    var = new_unnormalized_variance / updated_sample_count
    n_seen = updated_sample_count[0]
    eps = np.finfo(np.float64).eps
    constant = var <= n_seen * eps * var + (n_seen * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    Xt = np.array(X, copy=True)
    Xt -= mean
    Xt /= scale
    return Xt, scale


def _ledoit_wolf_shrinkage(X: np.ndarray, block_size: int = 1000) -> float:
    """``ledoit_wolf_shrinkage(X, assume_centered=True)``."""
    n_samples, n_features = X.shape
    n_splits = int(n_features / block_size)
    X2 = X**2
    emp_cov_trace = np.sum(X2, axis=0) / n_samples
    mu = np.sum(emp_cov_trace) / n_features
    beta_ = 0.0
    delta_ = 0.0
    end = block_size * n_splits
    for i in range(n_splits):
        rows = slice(block_size * i, block_size * (i + 1))
        for j in range(n_splits):
            cols = slice(block_size * j, block_size * (j + 1))
            beta_ += np.sum(np.dot(X2.T[rows], X2[:, cols]))
            delta_ += np.sum(np.dot(X.T[rows], X[:, cols]) ** 2)
        beta_ += np.sum(np.dot(X2.T[rows], X2[:, end:]))
        delta_ += np.sum(np.dot(X.T[rows], X[:, end:]) ** 2)
    for j in range(n_splits):
        cols = slice(block_size * j, block_size * (j + 1))
        beta_ += np.sum(np.dot(X2.T[end:], X2[:, cols]))
        delta_ += np.sum(np.dot(X.T[end:], X[:, cols]) ** 2)
    delta_ += np.sum(np.dot(X.T[end:], X[:, end:]) ** 2)
    delta_ /= n_samples**2
    beta_ += np.sum(np.dot(X2.T[end:], X2[:, end:]))
    beta = 1.0 / (n_features * n_samples) * (beta_ / n_samples - delta_)
    delta = delta_ - 2.0 * mu * emp_cov_trace.sum() + n_features * mu**2
    delta /= n_features
    beta = min(beta, delta)
    return 0 if beta == 0 else beta / delta


def _ledoit_wolf(X: np.ndarray) -> np.ndarray:
    """``ledoit_wolf(X)[0]`` (``LedoitWolf(store_precision=False).fit(X).covariance_``)."""
    X = X - X.mean(0)
    if X.shape[1] == 1:
        return np.atleast_2d((X**2).mean())
    n_features = X.shape[1]
    shrinkage = _ledoit_wolf_shrinkage(X)
    emp_cov = np.dot(X.T, X) / X.shape[0]
    mu = np.sum(np.trace(emp_cov)) / n_features
    shrunk_cov = (1.0 - shrinkage) * emp_cov
    shrunk_cov.flat[:: n_features + 1] += shrinkage * mu
    return shrunk_cov


def _shrunk_cov(X: np.ndarray) -> np.ndarray:
    """``discriminant_analysis._cov(X, shrinkage="auto")``."""
    Xt, scale = _standardize(X)
    s = _ledoit_wolf(Xt)
    return scale[:, np.newaxis] * s * scale[np.newaxis, :]


class ShrinkageLDA:
    """scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")``."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> ShrinkageLDA:
        """Class means, shrunk pooled covariance, ``coef_`` and ``intercept_``."""
        X = _as_finite_float64(X)
        y = np.asarray(y).ravel()
        if X.shape[0] < 2:
            raise ValueError(f"LDA needs at least 2 samples, got {X.shape[0]}")
        self.classes_, y_idx, counts = np.unique(y, return_inverse=True, return_counts=True)
        n_samples = X.shape[0]
        if n_samples == self.classes_.shape[0]:
            raise ValueError("The number of samples must be more than the number of classes.")
        self.priors_ = counts.astype(X.dtype) / float(n_samples)
        y_idx = y_idx.reshape(y.shape)
        # _class_means
        means = np.zeros((self.classes_.shape[0], X.shape[1]), dtype=X.dtype)
        np.add.at(means, y_idx, X)
        means /= np.bincount(y_idx)[:, None]
        self.means_ = means
        # _class_cov
        cov = np.zeros(shape=(X.shape[1], X.shape[1]))
        for idx, group in enumerate(self.classes_):
            cov += self.priors_[idx] * np.atleast_2d(_shrunk_cov(X[y == group, :]))
        self.covariance_ = cov
        if not (np.isfinite(cov).all() and np.isfinite(means).all()):
            raise ValueError("array must not contain infs or NaNs")
        # scipy.linalg.lstsq's default: gelsd with cond = eps.
        coef = np.linalg.lstsq(cov, means.T, rcond=np.finfo(np.float64).eps)[0].T
        intercept = -0.5 * np.diag(np.dot(means, coef.T)) + np.log(self.priors_)
        if self.classes_.shape[0] == 2:
            coef = np.reshape(np.asarray(coef[1, :] - coef[0, :], dtype=X.dtype), (1, -1))
            intercept = np.reshape(np.asarray(intercept[1] - intercept[0], dtype=X.dtype), (1,))
        self.coef_ = coef
        self.intercept_ = intercept
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """``X @ coef_.T + intercept_``; one column (the log-odds) for two classes."""
        X = _as_finite_float64(X)
        scores = X @ self.coef_.T + self.intercept_
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The class with the largest decision value (log-odds > 0 for two classes)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_.take((scores > 0).astype(np.intp), axis=0)
        return self.classes_.take(np.argmax(scores, axis=1), axis=0)
