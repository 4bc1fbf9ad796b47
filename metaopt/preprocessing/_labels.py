"""LabelEncodedClassifier: fit a classifier on integer class codes, answer in the user's labels.

scikit-learn 1.9's ``RandomForestClassifier`` / ``ExtraTreesClassifier`` with
``class_weight="balanced"`` fail on labels that are strings looking like integers
(``"0"``, ``"1"``; also mixed ones like ``"x0"``, ``"1"``): the balanced weights are
computed per class, then looked up again with ``int(label)`` as the key, and the class
``"0"`` is not found under ``0`` (``ValueError: The classes, [0, 1, 2], are not in
class_weight``). Labels arrive as such strings whenever a target column is read as
text. Fitting the forest on the codes ``0 .. k-1`` gives exactly the same model (the
classes sort the same way, so the codes keep their order) and works for every label
coding; this wrapper does that inside a plain scikit-learn pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

__all__ = ["LabelEncodedClassifier"]


def _inner_has(name: str) -> Any:
    """``available_if`` check: the wrapped (or fitted) estimator has method ``name``."""

    def check(self: LabelEncodedClassifier) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        return hasattr(inner, name)

    return check


class LabelEncodedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """A classifier fitted on integer class codes that predicts the original labels.

    ``fit`` encodes ``y`` with :class:`~sklearn.preprocessing.LabelEncoder` (classes in
    sorted order, as every scikit-learn classifier orders them) and fits a clone of
    ``estimator`` on the codes; ``predict`` maps the codes back. ``predict_proba``,
    ``predict_log_proba`` and ``decision_function`` are the wrapped estimator's, whose
    columns follow :attr:`classes_`. The fitted model equals ``estimator`` fitted on the
    labels directly wherever that works; this wrapper makes it work for every label
    coding (integers, digit strings, other strings, booleans, pandas ``category`` and
    ``string`` dtypes).

    Parameters
    ----------
    estimator
        The classifier to fit on the codes.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    classes_ : ndarray
        The class labels, sorted.
    n_features_in_ : int
        Number of features seen at ``fit`` (the wrapped estimator's).
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncodedClassifier:
        """Fit ``estimator`` on the integer codes of ``y``.

        Parameters
        ----------
        X
            Training features, passed on unchanged.
        y
            Class labels, any coding.
        **fit_params
            Passed on to the wrapped estimator's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        LabelEncodedClassifier
            ``self``.
        """
        labels = column_or_1d(np.asarray(y, dtype=object) if _is_pandas_text(y) else y, warn=True)
        encoder = LabelEncoder()
        codes = encoder.fit_transform(labels)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        self.classes_ = encoder.classes_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class labels, in the coding ``fit`` saw."""
        check_is_fitted(self, "estimator_")
        codes = np.asarray(self.estimator_.predict(X)).astype(np.intp)
        return np.asarray(self.classes_[codes])

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes_`."""
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_proba(X))

    @available_if(_inner_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, columns in the order of :attr:`classes_`."""
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict_log_proba(X))

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """The wrapped estimator's decision function (binary: for ``classes_[1]``)."""
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.decision_function(X))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.classifier_tags = inner.classifier_tags
        return tags


def _is_pandas_text(y: Any) -> bool:
    """A pandas Series of ``string`` / ``category`` dtype (converted to object labels)."""
    dtype = getattr(y, "dtype", None)
    if dtype is None or isinstance(y, np.ndarray):
        return False
    return str(dtype) in ("category", "string", "str") or dtype.name.startswith("string")
