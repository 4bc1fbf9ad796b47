"""``MetaoptClassifier``: metaopt's suggestions, cross-validated and refitted, as a classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from metaopt._exceptions import DataFormatError, TargetError
from metaopt.estimators._base import MetaoptEstimator, _target_missing
from metaopt.estimators._params_doc import ATTRIBUTES, PARAMETERS

__all__ = ["MetaoptClassifier"]


class MetaoptClassifier(ClassifierMixin, MetaoptEstimator):
    __doc__ = (
        """A classifier that picks its model with metaopt: suggest, cross-validate, refit.

    ``fit(X, y)`` loads the data as a :class:`metaopt.tasks.Task` (the same coercion
    and errors as ``metaopt suggest``), ranks the ``top`` configurations with the trained
    :class:`~metaopt.recommend.Recommender`, cross-validates them (``n_jobs`` in
    parallel, within ``time_budget``), optionally tunes ``n_trials`` more with the
    learned sampler, and refits the best (or a soft-voting ensemble of the best
    ``ensemble``) on every row. ``predict_proba`` is always available: a model without
    one is calibrated (:class:`~sklearn.calibration.CalibratedClassifierCV`).

    Labels may be integers, strings (also pandas ``string`` / ``category``), booleans
    or numbers written as strings; ``classes_`` is sorted as scikit-learn sorts it and
    predictions come in the labels' own coding.

    Parameters
    ----------
"""
        + PARAMETERS
        + """
    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted.
"""
        + ATTRIBUTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from metaopt import MetaoptClassifier
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> clf = MetaoptClassifier(top=3, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> clf.best_params_["algorithm"], clf.predict_proba(X[:2]).shape  # doctest: +SKIP
    ('linear', (2, 2))
"""
    )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels (in the coding of ``y``).

        Parameters
        ----------
        X
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        frame = self._prepared(X)
        return np.asarray(self.best_estimator_.predict(frame))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``; rows sum to 1.

        Parameters
        ----------
        X
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        frame = self._prepared(X)
        return np.asarray(self.best_estimator_.predict_proba(frame))

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # -- MetaoptEstimator -----------------------------------------------------------------

    def _check_y(self, y: Any, n_rows: int) -> tuple[pd.Series, Any]:
        """(the class codes for the task, the labels the final model is fitted on)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        labels = column_or_1d(_plain_labels(y) if _is_pandas_labels(y) else y, warn=True)
        if labels.shape[0] != n_rows:
            raise DataFormatError(
                f"X has {n_rows} rows but y has {labels.shape[0]} values",
                "pass X and y with one target value per row of X",
            )
        missing = _target_missing(labels)
        if missing is not None:
            raise missing
        check_classification_targets(labels)
        encoder = LabelEncoder()
        codes = encoder.fit_transform(labels)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise TargetError(
                f"y has a single class ({self.classes_[0]!r}); a classifier needs at least two",
                "pass data with two or more classes",
            )
        return pd.Series(codes, name="target"), labels

    def _kind(self, y: pd.Series) -> str:
        counts = np.bincount(y.to_numpy())
        usable = int((counts >= 2).sum())
        if usable < 2:
            raise TargetError(
                f"only {usable} class(es) of y have two or more rows (class counts "
                f"{dict(zip(self.classes_.tolist(), counts.tolist(), strict=True))}); metaopt needs "
                "two classes with at least two rows each",
                "pass more rows of the rare classes",
            )
        return "binary" if usable == 2 else "multiclass"

    def _final(self, named: list[tuple[str, Any]], frame: pd.DataFrame, y: Any, seed: int) -> Any:
        from sklearn.ensemble import VotingClassifier

        from metaopt.preprocessing import LabelEncodedClassifier

        codes = LabelEncoder().fit_transform(y)
        models = [(name, _with_proba(p, frame, codes)) for name, p in named]
        if len(models) == 1:
            return LabelEncodedClassifier(models[0][1]).fit(frame, y)
        return VotingClassifier(models, voting="soft").fit(frame, y)


def _with_proba(pipeline: Any, frame: pd.DataFrame, codes: np.ndarray) -> Any:
    """``pipeline`` itself when it has ``predict_proba``, else calibrated (sigmoid)."""
    from sklearn.calibration import CalibratedClassifierCV

    if hasattr(pipeline, "predict_proba"):
        return pipeline
    smallest = int(np.bincount(codes).min())
    if smallest >= 2:
        return CalibratedClassifierCV(pipeline, cv=min(3, smallest), ensemble=False)
    from sklearn.frozen import FrozenEstimator  # a class with one row: calibrate on the fit itself

    return CalibratedClassifierCV(FrozenEstimator(pipeline.fit(frame, codes)))


def _plain_labels(y: Any) -> np.ndarray:
    """Pandas labels (``category``, ``string``, nullable ``Int64`` / ``boolean``) as the
    numpy array scikit-learn would see for plain labels: numbers and booleans keep a
    numeric / bool dtype (a ``category`` of ints is not an "unknown" object target),
    text becomes ``object``."""
    values = pd.Series(np.asarray(y, dtype=object)).infer_objects()
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy()
    return values.to_numpy(dtype=object)


def _is_pandas_labels(y: Any) -> bool:
    """A pandas Series of ``string`` / ``category`` / nullable dtype (taken as object labels)."""
    dtype = getattr(y, "dtype", None)
    if dtype is None or isinstance(y, np.ndarray):
        return False
    return isinstance(y, pd.Series | pd.Index | pd.Categorical | pd.api.extensions.ExtensionArray) and not isinstance(
        dtype, np.dtype
    )
