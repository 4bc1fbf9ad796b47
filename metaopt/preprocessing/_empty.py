"""EmptyColumnFiller: numeric columns with no value at ``fit`` become a constant 0."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["EmptyColumnFiller"]


class EmptyColumnFiller(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Replace the numeric columns that were entirely missing at ``fit`` by zeros.

    scikit-learn's ``HistGradientBoosting*`` fail to bin a numeric column without a
    single value ("window shape cannot be larger than input array shape", scikit-learn
    1.9), although such a column carries no information and the loader deliberately
    keeps it (its meta-features count it). The ``hgb`` space puts this step in front of
    the model: a column empty at ``fit`` is constant 0 in ``fit`` and ``transform``
    alike, so the model ignores it, and every other value passes through unchanged
    (NaN included, which the model handles natively).

    Attributes
    ----------
    empty_ : ndarray of bool
        Which input columns had no value at ``fit``.
    n_features_in_ : int
        Number of columns seen at ``fit``.
    """

    def fit(self, X: Any, y: Any = None) -> EmptyColumnFiller:
        """Record which columns of ``X`` hold no value at all."""
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=True)
        self.empty_ = np.isnan(X).all(axis=0) if X.shape[0] else np.zeros(X.shape[1], dtype=bool)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``X`` as float64, with the columns empty at ``fit`` set to 0."""
        check_is_fitted(self, "empty_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False, copy=True)
        if self.empty_.any():
            X[:, self.empty_] = 0.0
        return X

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
