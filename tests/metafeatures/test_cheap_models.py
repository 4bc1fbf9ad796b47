"""The numpy landmark models give scikit-learn's predictions, so the landmarks don't move.

The knowledge base stores landmarking meta-features computed with scikit-learn; the
numpy re-implementations in ``metaopt.metafeatures._cheap_models`` must reproduce them
(same meta-feature version). Every test that fits a scikit-learn model is skipped when
scikit-learn is not installed.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt.metafeatures import Context
from metaopt.metafeatures._cheap_models import (
    DecisionTree,
    GaussianNaiveBayes,
    ShrinkageLDA,
    _pull_partition,
    _sk_sort,
)
from metaopt.metafeatures._landmarking import (
    Fit,
    LandmarkingGroup,
    _balanced_accuracy,
    _one_nn,
    _r2,
    _ridge,
)
from metaopt.tasks import Task, load_task, load_xy

needs_sklearn = pytest.mark.skipif(
    importlib.util.find_spec("sklearn") is None, reason="compares with scikit-learn"
)
ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "datasets" / "examples" / "penguins.csv"


# ----------------------------------------------------------------- reference
class _SklearnLandmarking(LandmarkingGroup):
    """The landmarking group as it was before the numpy models: the reference."""

    def _models(self, ctx: Context, n_cols: int) -> dict[str, Fit | None]:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
        from sklearn.naive_bayes import GaussianNB
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        seed = ctx.random_state
        tree = DecisionTreeClassifier if ctx.is_classification else DecisionTreeRegressor
        col = int(np.random.default_rng(seed + 2).integers(n_cols))

        def sk(make: Callable[[], object], cols: slice | list[int] = slice(None)) -> Fit:
            def fit(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
                model = make()
                model.fit(xtr[:, cols], ytr)  # type: ignore[attr-defined]
                return model.predict(xte[:, cols])  # type: ignore[attr-defined]

            return fit

        return {
            "lm_stump": sk(lambda: tree(max_depth=1, random_state=seed)),
            "lm_random_stump": sk(lambda: tree(max_depth=1, random_state=seed), [col]),
            "lm_tree_depth3": sk(lambda: tree(max_depth=3, random_state=seed)),
            "lm_naive_bayes": sk(GaussianNB) if ctx.is_classification else None,
            "lm_linear": (
                sk(lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
                if ctx.is_classification
                else _ridge
            ),
            "lm_1nn": _one_nn,
        }

    def compute(self, ctx: Context) -> Mapping[str, float]:
        X, y, folds = ctx.landmark_data
        if X.shape[1] == 0 or X.shape[0] < 2 * ctx.limits.n_folds:
            return {}
        score = _balanced_accuracy if ctx.is_classification else _r2
        splits = []
        for f in range(ctx.limits.n_folds):
            test = folds == f
            if test.any() and (~test).any():
                splits.append((~test, test))
        out: dict[str, float] = {}
        for name, fit in self._models(ctx, X.shape[1]).items():
            if fit is None:
                continue
            scores = []
            for train, test in splits:
                if ctx.is_classification and np.unique(y[train]).size < 2:
                    continue
                try:
                    pred = fit(X[train], y[train], X[test])
                except (ValueError, np.linalg.LinAlgError):
                    continue
                scores.append(score(y[test], pred))
            s = np.asarray(scores, dtype=np.float64)
            s = s[np.isfinite(s)]
            if s.size:
                out[name] = float(s.mean())
        return out


def _assert_same_landmarks(task: Task, random_state: int = 0) -> None:
    import warnings

    new = LandmarkingGroup().compute(Context(task, random_state=random_state))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = _SklearnLandmarking().compute(Context(task, random_state=random_state))
    assert set(new) == set(old)
    for name, value in old.items():
        # 1e-12 absolute; relative for values beyond 1 (an R² can be -5e4)
        assert abs(new[name] - value) <= 1e-12 * max(1.0, abs(value)), (name, value, new[name])


# ------------------------------------------------------------------ datasets
def _matrix(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    """Columns of every kind the landmarkers meet, and those that make ties."""
    X = np.empty((n, p))
    for j in range(p):
        r = rng.random()
        if r < 0.2:
            X[:, j] = rng.integers(0, 2, n)  # one-hot / binary
        elif r < 0.3 and j:
            X[:, j] = 1.0 - X[:, j - 1]  # complementary
        elif r < 0.4 and j:
            X[:, j] = X[:, int(rng.integers(j))]  # duplicated
        elif r < 0.5:
            X[:, j] = rng.integers(0, int(rng.integers(2, 30)), n)  # ordinal, ties
        elif r < 0.55:
            X[:, j] = 3.0  # constant
        elif r < 0.6:
            X[:, j] = 1.0 + rng.integers(0, 3, n) * 1.2e-7  # constant within 1e-7
        elif r < 0.7:
            X[:, j] = np.round(rng.normal(size=n), 1)  # ties
        else:
            X[:, j] = rng.normal(size=n)
    return X


def _classes(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    k = int(rng.choice([2, 2, 3, 5, 9]))
    w = rng.random(k) ** 3 + 0.01  # often very imbalanced
    y = np.asarray(rng.choice(k, size=X.shape[0], p=w / w.sum()))
    if rng.random() < 0.7:  # some signal
        y = np.where(X[:, 0] > np.median(X[:, 0]), y, (y + 1) % k)
    return y


def _target(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    base = X[:, 0] * rng.normal() + rng.normal(size=X.shape[0])
    r = rng.random()
    if r < 0.15:
        return 1e6 + base  # huge offset: scikit-learn's choices are decided by rounding
    if r < 0.3:
        return np.round(base, 1)  # repeated values that do not sum exactly
    if r < 0.4:
        return np.exp(2 * base)  # heavy tail: outliers isolated in tiny nodes
    if r < 0.5:
        return 1e-9 * base  # every impurity below EPSILON
    if r < 0.6:
        return rng.choice([0.1, 0.2, 0.3], X.shape[0])
    if r < 0.7:
        return np.round(base)  # integers: exact sums
    return base


def _split(rng: np.random.Generator, n: int) -> np.ndarray:
    train = rng.random(n) < 0.7
    train[:2] = True
    train[2] = False
    return train


SIZES = (6, 9, 16, 40, 150, 700)


# ---------------------------------------------------------------------- trees
@needs_sklearn
@pytest.mark.parametrize("seed", range(40))
def test_classification_tree_predicts_like_sklearn(seed: int) -> None:
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(seed)
    X = _matrix(rng, SIZES[seed % len(SIZES)], int(rng.integers(1, 16)))
    y = _classes(rng, X)
    train = _split(rng, X.shape[0])
    if np.unique(y[train]).size < 2:
        y[np.flatnonzero(train)[:1]] = y.max() + 1
    X_eval = np.vstack([X[~train], X[train]])
    for depth in (1, 3):
        for state in (0, 1, 7):
            want = DecisionTreeClassifier(max_depth=depth, random_state=state).fit(
                X[train], y[train]
            )
            got = DecisionTree(depth, True, random_state=state).fit(X[train], y[train])
            np.testing.assert_array_equal(got.predict(X_eval), want.predict(X_eval))
            # the tree itself: scikit-learn's nodes in scikit-learn's order
            np.testing.assert_array_equal(got.feature_, want.tree_.feature)
            np.testing.assert_array_equal(got.threshold_, want.tree_.threshold)


@needs_sklearn
@pytest.mark.parametrize("seed", range(40))
def test_regression_tree_predicts_like_sklearn(seed: int) -> None:
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(1000 + seed)
    X = _matrix(rng, SIZES[seed % len(SIZES)], int(rng.integers(1, 16)))
    y = _target(rng, X)
    train = _split(rng, X.shape[0])
    X_eval = np.vstack([X[~train], X[train]])
    for depth in (1, 2, 3):
        for state in (0, 3):
            want = (
                DecisionTreeRegressor(max_depth=depth, random_state=state)
                .fit(X[train], y[train])
                .predict(X_eval)
            )
            got = DecisionTree(depth, False, random_state=state).fit(X[train], y[train])
            np.testing.assert_allclose(got.predict(X_eval), want, rtol=1e-12, atol=1e-300)


@needs_sklearn
@pytest.mark.parametrize("classification", [True, False])
def test_ties_between_features_are_broken_like_sklearn(classification: bool) -> None:
    """Two columns split the training rows alike but the new rows differently: which
    one scikit-learn keeps depends on its random feature order (``rand_r``)."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    rng = np.random.default_rng(5)
    n = 60
    a = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([rng.normal(size=n), a, a, 1.0 - a, a, rng.normal(size=n)])
    X_new = X.copy()
    X_new[:, 2] = rng.integers(0, 2, n)  # column 2 agrees with 1 and 4 on training only
    X_new[:, 4] = rng.integers(0, 2, n)
    y = a + 0.01 * X[:, 0] if not classification else a.astype(int)
    make = DecisionTreeClassifier if classification else DecisionTreeRegressor
    kept = set()
    for state in range(24):
        for depth in (1, 3):
            want = make(max_depth=depth, random_state=state).fit(X, y)
            got = DecisionTree(depth, classification, random_state=state).fit(X, y)
            np.testing.assert_allclose(got.predict(X_new), want.predict(X_new), rtol=1e-12)
            kept.add(int(want.tree_.feature[0]))
    assert len(kept) >= 3  # the tie really is broken differently by different seeds


@needs_sklearn
def test_feature_threshold_and_float32_rounding() -> None:
    from sklearn.tree import DecisionTreeClassifier

    one_ulp = np.nextafter(np.float32(1.0), np.float32(2.0))  # within 1e-7 in float32
    three = np.nextafter(np.float32(3.0), np.float32(4.0))  # 2.4e-7 above 3: a split
    X = np.array([[1.0, 3.0], [float(one_ulp), float(three)]] * 4)
    y = np.array([0, 1] * 4)
    want = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    got = DecisionTree(1, True).fit(X, y)
    assert got.feature_[0] == want.tree_.feature[0] == 1
    assert got.threshold_[0] == want.tree_.threshold[0]
    X_new = np.array([[1.0, 3.00000005], [1.0, 3.0000002], [1.0, 2.0]])
    np.testing.assert_array_equal(got.predict(X_new), want.predict(X_new))


def test_depth_limited_prediction_is_the_shallower_tree() -> None:
    rng = np.random.default_rng(3)
    X = _matrix(rng, 300, 8)
    for classification in (True, False):
        y = _classes(rng, X) if classification else _target(rng, X)
        deep = DecisionTree(3, classification, random_state=2).fit(X, y)
        stump = DecisionTree(1, classification, random_state=2).fit(X, y)
        np.testing.assert_allclose(deep.predict(X, depth=1), stump.predict(X), rtol=1e-12)


def test_trees_reject_non_finite_input() -> None:
    X = np.ones((5, 2))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DecisionTree(1, True).fit(X, np.arange(5) % 2)
    with pytest.raises(ValueError, match="NaN or infinity"):
        DecisionTree(1, False).fit(np.ones((5, 2)), np.array([1.0, 2, np.inf, 3, 4]))


# ------------------------------------------------ naive Bayes and shrinkage LDA
def _linear_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    cases = []
    for seed in range(40):
        rng = np.random.default_rng(2000 + seed)
        X = _matrix(rng, SIZES[seed % len(SIZES)], int(rng.integers(1, 12)))
        cases.append((X, _classes(rng, X)))
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    cases.append((np.ones((30, 3)), rng.integers(0, 2, 30)))  # every column constant
    cases.append((np.column_stack([X, X[:, :2]]), rng.integers(0, 3, 30)))  # singular
    y = rng.integers(0, 2, 30)
    y[0] = 2  # a class with one sample
    cases.append((X, y))
    cases.append((X[:3], np.array([0, 1, 2])))  # as many samples as classes
    cases.append((X[:1], np.array([0])))  # one sample
    return cases


def _outcome(make: Callable[[], object], X: np.ndarray, y: np.ndarray) -> object:
    import warnings

    train = np.arange(X.shape[0]) % 3 != 2
    if train.sum() == X.shape[0] or X.shape[0] < 3:
        train = np.ones(X.shape[0], dtype=bool)
    if np.unique(y[train]).size < 2 and X.shape[0] > 1:
        return None  # the landmarkers skip such folds
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = make().fit(X[train], y[train])  # type: ignore[attr-defined]
            return model.predict(X)  # type: ignore[attr-defined]
    except (ValueError, np.linalg.LinAlgError) as e:
        return type(e)


@needs_sklearn
def test_gaussian_naive_bayes_predicts_like_sklearn() -> None:
    from sklearn.naive_bayes import GaussianNB

    for X, y in _linear_cases():
        if np.unique(y).size < 2:
            continue
        want, got = _outcome(GaussianNB, X, y), _outcome(GaussianNaiveBayes, X, y)
        if want is None or isinstance(want, type):
            assert got is want
        else:
            np.testing.assert_array_equal(got, want)


@needs_sklearn
def test_shrinkage_lda_predicts_like_sklearn() -> None:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    def lda() -> object:
        return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")

    for X, y in _linear_cases():
        want, got = _outcome(lda, X, y), _outcome(ShrinkageLDA, X, y)
        if want is None or isinstance(want, type):
            assert got is want, (want, got)
        else:
            np.testing.assert_array_equal(got, want)


@needs_sklearn
def test_shrinkage_lda_coefficients_are_sklearn_s() -> None:
    import warnings

    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = _matrix(rng, 200, 10)
        y = _classes(rng, X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(X, y)
        got = ShrinkageLDA().fit(X, y)
        np.testing.assert_array_equal(got.coef_, want.coef_)
        np.testing.assert_array_equal(got.intercept_, want.intercept_)
        np.testing.assert_array_equal(got.decision_function(X), want.decision_function(X))


# ------------------------------------------- scikit-learn's sample orders
def _literal_sort(values: np.ndarray, maxd: int | None = None) -> np.ndarray:
    """A line-by-line port of scikit-learn's ``simultaneous_sort`` (3-way introsort)."""
    v = values.tolist()
    ix = list(range(len(v)))

    def swap(b: int, i: int, j: int) -> None:
        v[b + i], v[b + j] = v[b + j], v[b + i]
        ix[b + i], ix[b + j] = ix[b + j], ix[b + i]

    def median3(b: int, n: int) -> float:
        a, m, c = v[b], v[b + n // 2], v[b + n - 1]
        if a < m:
            return m if m < c else (c if a < c else a)
        return (a if a < c else c) if m < c else m

    def sift_down(b: int, start: int, end: int) -> None:
        root = start
        while True:
            child, maxind = root * 2 + 1, root
            if child < end and v[b + maxind] < v[b + child]:
                maxind = child
            if child + 1 < end and v[b + maxind] < v[b + child + 1]:
                maxind = child + 1
            if maxind == root:
                return
            swap(b, root, maxind)
            root = maxind

    def heapsort(b: int, n: int) -> None:
        start = (n - 2) // 2
        while True:
            sift_down(b, start, n)
            if start == 0:
                break
            start -= 1
        end = n - 1
        while end > 0:
            swap(b, 0, end)
            sift_down(b, 0, end)
            end -= 1

    def introsort(b: int, n: int, depth: int) -> None:
        while n > 15:
            if depth <= 0:
                heapsort(b, n)
                return
            depth -= 1
            pivot = median3(b, n)
            i = lo = 0
            r = n
            while i < r:
                if v[b + i] < pivot:
                    swap(b, i, lo)
                    i += 1
                    lo += 1
                elif v[b + i] > pivot:
                    r -= 1
                    swap(b, i, r)
                else:
                    i += 1
            introsort(b, lo, depth)
            b += r
            n -= r
        for i in range(1, n):  # insertion sort
            tv, ti, j = v[b + i], ix[b + i], i
            while j > 0 and v[b + j - 1] > tv:
                v[b + j], ix[b + j] = v[b + j - 1], ix[b + j - 1]
                j -= 1
            v[b + j], ix[b + j] = tv, ti

    if v:
        introsort(0, len(v), 2 * int(math.log2(len(v))) if maxd is None else maxd)
    return np.asarray(ix, dtype=np.intp)


def test_sort_reproduces_sklearn_s_order_of_ties() -> None:
    rng = np.random.default_rng(0)
    for t in range(600):
        n = int(rng.integers(0, 300) if t % 4 else rng.integers(300, 1500))
        kind = t % 5
        v: np.ndarray
        if kind == 0:
            v = rng.integers(0, 2, n)
        elif kind == 1:
            v = rng.integers(0, int(rng.integers(1, 40)), n)
        elif kind == 2:
            v = np.round(rng.normal(size=n), 1)
        elif kind == 3:
            v = np.full(n, 2.0)
        else:
            v = rng.normal(size=n)
        v = v.astype(np.float32)
        maxd = None if t % 3 else int(rng.integers(0, 4))  # also force heapsort
        want = _literal_sort(v, maxd)
        vals, idx = _sk_sort(v, np.arange(n), maxd)
        np.testing.assert_array_equal(idx, want)
        np.testing.assert_array_equal(vals, v[want])


def test_partition_reproduces_sklearn_s_order() -> None:
    rng = np.random.default_rng(1)
    for _ in range(500):
        n = int(rng.integers(0, 50))
        to_back = rng.random(n) < rng.random()
        s = list(range(n))  # partition_samples_final, line by line
        start, end = 0, n
        while start < end:
            if not to_back[s[start]]:
                start += 1
            else:
                end -= 1
                s[start], s[end] = s[end], s[start]
        front, back = _pull_partition(to_back)
        np.testing.assert_array_equal(np.concatenate([front, back]), s)


# ---------------------------------------------------------------- landmarks
def _rich_task(kind: str, seed: int, n_rows: int) -> Task:
    """Numeric columns with ties and heavy tails, categoricals of up to 13 levels."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pd.Series] = {}
    signal = np.zeros(n_rows)
    for j in range(int(rng.integers(3, 14))):
        r = rng.random()
        if r < 0.3:
            v = rng.integers(0, int(rng.integers(2, 40)), n_rows).astype(float)
        elif r < 0.45:
            v = np.round(rng.normal(size=n_rows), 1)
        elif r < 0.6:
            v = rng.standard_t(2, size=n_rows)
        else:
            v = rng.normal(size=n_rows)
        signal += v / (v.std() + 1e-9) * rng.normal()
        columns[f"num{j}"] = pd.Series(v)
    for j in range(int(rng.integers(0, 4))):
        k = int(rng.integers(2, 14))
        codes = rng.integers(0, k, n_rows)
        signal += (codes == 0) * rng.normal()
        columns[f"cat{j}"] = pd.Series(
            pd.Categorical.from_codes(codes, [f"l{i}" for i in range(k)])
        )
    X = pd.DataFrame(columns)
    score = signal + rng.normal(size=n_rows)
    if kind == "regression":
        y = pd.Series(np.exp(score / 2) if seed % 2 else score, name="target")
    else:
        k = 2 if kind == "binary" else int(rng.integers(3, 7))
        edges = np.quantile(score, np.sort(rng.uniform(0.05, 0.95, k - 1)))
        labels = np.array([f"c{i}" for i in range(k)], dtype=object)
        y = pd.Series(
            pd.Categorical(labels[np.searchsorted(edges, score)], categories=list(labels)),
            name="target",
        )
    roles = {c: "categorical" if c.startswith("cat") else "numeric" for c in X.columns}
    return Task(
        X=X,
        y=y,
        kind=kind,  # type: ignore[arg-type]
        task_id=f"rich:{seed}",
        name="rich",
        source="frame",
        target="target",
        column_roles=roles,
        provenance={},
    )


KINDS = ("binary", "multiclass", "regression")


@needs_sklearn
@pytest.mark.parametrize("seed", range(36))
def test_landmarks_equal_the_sklearn_ones(make_task: Callable[..., Task], seed: int) -> None:
    kind = KINDS[seed % 3]
    if seed % 2:
        task = make_task(
            kind, n_rows=(8, 30, 120, 400, 900, 2600)[seed % 6], seed=seed, missing=0.1 * (seed % 3)
        )
    else:
        task = _rich_task(kind, seed, n_rows=(12, 60, 300, 1200, 2500)[seed % 5])
    _assert_same_landmarks(task, random_state=seed % 4)


@needs_sklearn
@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes", "penguins"])
def test_landmarks_equal_the_sklearn_ones_on_real_data(name: str) -> None:
    from sklearn import datasets

    if name == "penguins":
        task = load_task(PENGUINS, target="species")
    else:
        loader = getattr(datasets, f"load_{name}")
        bunch = loader(as_frame=True)
        kind = {"iris": "multiclass", "wine": "multiclass", "breast_cancer": "binary"}
        task = load_xy(bunch.data, bunch.target, kind=kind.get(name, "regression"), name=name)
    for state in (0, 1):
        _assert_same_landmarks(task, random_state=state)


def test_landmarks_do_not_import_sklearn() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import numpy as np, pandas as pd
        from metaopt.metafeatures import Context
        from metaopt.metafeatures._landmarking import LandmarkingGroup
        from metaopt.tasks import Task

        rng = np.random.default_rng(0)
        X = pd.DataFrame({{"a": rng.normal(size=300), "b": rng.integers(0, 5, 300) * 1.0,
                          "c": pd.Categorical(rng.choice(["x", "y", "z"], 300))}})
        out = {{}}
        for kind in ("binary", "multiclass", "regression"):
            if kind == "regression":
                y = pd.Series(X["a"] * 2 + rng.normal(size=300), name="t")
            else:
                labels = ["p", "q"] if kind == "binary" else ["p", "q", "r"]
                y = pd.Series(pd.Categorical(rng.choice(labels, 300)), name="t")
            task = Task(X=X, y=y, kind=kind, task_id="x", name="x", source="frame",
                        target="t", column_roles={{"a": "numeric", "b": "numeric",
                        "c": "categorical"}}, provenance={{}})
            out[kind] = LandmarkingGroup().compute(Context(task))
        assert all(len(v) >= 5 for v in out.values()), out
        print("sklearn" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False", result.stdout + result.stderr
