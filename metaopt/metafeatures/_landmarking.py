"""Landmarkers: cross-validated scores of very cheap models on a small sample."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from metaopt.metafeatures._base import MetaFeatureGroup
from metaopt.metafeatures._context import Context

__all__ = ["LandmarkingGroup"]

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


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


def _ridge(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
    mu_x, mu_y = xtr.mean(0), ytr.mean()
    a = xtr - mu_x
    w = np.linalg.solve(a.T @ a + np.eye(a.shape[1]), a.T @ (ytr - mu_y))
    return (xte - mu_x) @ w + mu_y


class LandmarkingGroup(MetaFeatureGroup):
    """Stratified 3-fold CV of cheap models on at most 2,000 rows and 64 columns.

    Score: balanced accuracy for classification, R² for regression (mean over
    folds). Inputs are standardised, imputed with the mean and categoricals one-hot /
    frequency encoded (see ``Context.landmark_data``). All models are single-threaded.
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

        models: dict[str, Fit | None] = {
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
        return models

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
