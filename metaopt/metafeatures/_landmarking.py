"""Landmarkers: cross-validated scores of very cheap models on a small sample."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup
from metaopt.metafeatures._cheap_models import DecisionTree, GaussianNaiveBayes, ShrinkageLDA
from metaopt.metafeatures._context import Context

__all__ = ["LandmarkingGroup"]

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
_Model = DecisionTree | GaussianNaiveBayes | ShrinkageLDA


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean recall over the classes present in ``y_true``."""
    classes = np.unique(y_true)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in classes]
    return float(np.mean(recalls)) if recalls else float("nan")


def _r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    sst = float(np.sum((y_true - y_true.mean()) ** 2))
    if sst <= 0:
        return float("nan")
    return 1.0 - float(np.sum((y_true - y_pred) ** 2)) / sst


def _one_nn(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
    d = (xte * xte).sum(1)[:, None] - 2.0 * (xte @ xtr.T) + (xtr * xtr).sum(1)[None, :]
    return ytr[np.argmin(d, axis=1)]


class _SharedTree:
    """A depth-3 tree per training fold that also answers for the depth-1 stump.

    scikit-learn grows ``max_depth=1`` and ``max_depth=3`` trees with the same seed
    identically down to depth 1, so one fit serves both landmarkers. The tree is
    refitted whenever it is called with another training matrix (by identity).
    """

    def __init__(self, classification: bool, seed: int) -> None:
        self.classification = classification
        self.seed = seed
        self._key: tuple[np.ndarray, np.ndarray] | None = None
        self._tree: DecisionTree | None = None

    def fit(self, depth: int) -> Fit:
        def fit(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
            key = self._key
            if self._tree is None or key is None or key[0] is not xtr or key[1] is not ytr:
                self._tree = None  # a fit that raises leaves no tree of another fold
                self._tree = DecisionTree(3, self.classification, self.seed).fit(xtr, ytr)
                self._key = (xtr, ytr)
            return self._tree.predict(xte, depth=depth)

        return fit


def _ridge(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
    mu_x, mu_y = xtr.mean(0), ytr.mean()
    a = xtr - mu_x
    w = np.linalg.solve(a.T @ a + np.eye(a.shape[1]), a.T @ (ytr - mu_y))
    return (xte - mu_x) @ w + mu_y


class LandmarkingGroup(MetaFeatureGroup):
    """Stratified 3-fold CV of cheap models on at most 2,000 rows and 64 columns.

    Score: balanced accuracy for classification, R² for regression (mean over
    folds). Inputs are standardised, imputed with the mean and categoricals one-hot /
    frequency encoded (see ``Context.landmark_data``). All models are single-threaded
    numpy (``_cheap_models``): they give scikit-learn's predictions, so the values are
    those of scikit-learn's ``DecisionTree*``, ``GaussianNB`` and shrinkage LDA,
    without importing scikit-learn.
    """

    name = "landmarking"
    features = {
        "lm_stump": "CV score of a decision stump (depth-1 tree)",
        "lm_random_stump": "CV score of a decision stump on one randomly chosen column",
        "lm_tree_depth3": "CV score of a depth-3 decision tree",
        "lm_naive_bayes": "CV score of Gaussian naive Bayes (classification; NaN for regression)",
        "lm_linear": "CV score of LDA with shrinkage (classification) or ridge regression",
        "lm_1nn": "CV score of 1-nearest-neighbour on standardised columns",
    }

    def _models(self, ctx: Context, n_cols: int) -> dict[str, Fit | None]:
        seed = ctx.random_state
        classification = ctx.is_classification
        col = int(np.random.default_rng(seed + 2).integers(n_cols))
        tree = _SharedTree(classification, seed)

        def model(make: Callable[[], _Model], cols: slice | list[int] = slice(None)) -> Fit:
            def fit(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
                return make().fit(xtr[:, cols], ytr).predict(xte[:, cols])

            return fit

        models: dict[str, Fit | None] = {
            "lm_stump": tree.fit(depth=1),
            "lm_random_stump": model(
                lambda: DecisionTree(1, classification, random_state=seed), [col]
            ),
            "lm_tree_depth3": tree.fit(depth=3),
            "lm_naive_bayes": model(GaussianNaiveBayes) if classification else None,
            "lm_linear": model(ShrinkageLDA) if classification else _ridge,
            "lm_1nn": _one_nn,
        }
        return models

    def compute(self, ctx: Context) -> Mapping[str, float]:
        X, y, folds = ctx.landmark_data
        if X.shape[1] == 0 or X.shape[0] < 2 * ctx.limits.n_folds:
            return {}
        score = _balanced_accuracy if ctx.is_classification else _r2
        models = {k: f for k, f in self._models(ctx, X.shape[1]).items() if f is not None}
        scores: dict[str, list[float]] = {name: [] for name in models}
        for f in range(ctx.limits.n_folds):
            test = folds == f
            if not (test.any() and (~test).any()):
                continue
            train = ~test
            ytr = y[train]
            if ctx.is_classification and np.unique(ytr).size < 2:
                continue
            # One copy of each part per fold, shared by the models (none modifies it).
            xtr, xte, yte = X[train], X[test], y[test]
            for name, fit in models.items():
                try:
                    pred = fit(xtr, ytr, xte)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                scores[name].append(score(yte, pred))
        out: dict[str, float] = {}
        for name, values in scores.items():
            s = np.asarray(values, dtype=np.float64)
            s = s[np.isfinite(s)]
            if s.size:
                out[name] = float(s.mean())
        return out
