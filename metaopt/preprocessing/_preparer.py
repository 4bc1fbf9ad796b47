"""TabularPreparer: raw table → the prepared form of ``Task.X``.

The scikit-learn face of :class:`metaopt.preprocessing._core.PreparerLogic`, which does
the work (and which the loader uses directly, without importing scikit-learn).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from metaopt.preprocessing._core import ROLES, PreparerLogic

__all__ = ["ROLES", "TabularPreparer"]


class TabularPreparer(TransformerMixin, BaseEstimator, PreparerLogic):
    """Turn a raw table into the prepared form of :attr:`metaopt.tasks.Task.X`.

    The first step of every pipeline that metaopt exports, so that a pipeline fitted on
    ``task.X`` also fits and predicts the user's raw data as read by a plain
    ``pd.read_csv``. It applies the same coercion code as
    :func:`metaopt.tasks.load_task`.

    Parameters
    ----------
    roles
        Raw column name → role (usually ``task.column_roles``):

        ``"numeric"``
            converted to ``float64``; tokens that are not numbers, missing markers
            (``?``, ``NA``, ...) and ±inf become NaN.
        ``"categorical"``
            converted to a pandas ``category`` column of strings; missing stays NaN.
            The categories seen by ``fit`` come first, in sorted order, so codes are
            stable between fit and transform; unseen values are appended.
        ``"datetime"``
            parsed and expanded into ``float64`` columns ``<col>__year``,
            ``__month``, ``__day``, ``__dayofweek``, ``__hour``: those that vary in
            the data given to ``fit`` (``__year`` when none does). The set is decided
            by ``fit`` and kept fixed.

        Columns not named here are dropped. ``None``: every column, numeric dtypes as
        ``"numeric"``, the others as ``"categorical"`` (decided at ``fit``).

    Attributes
    ----------
    roles_ : dict[str, str]
        The roles in use (``roles``, or the ones inferred at ``fit``).
    categories_ : dict[str, list[str]]
        Categories seen at ``fit``, per categorical column.
    datetime_parts_ : dict[str, list[str]]
        Expanded parts per datetime column.
    feature_names_in_ : ndarray of str
        Column names seen at ``fit``.
    n_features_in_ : int
        Number of columns seen at ``fit``.

    Notes
    -----
    Idempotent: applied to an already prepared frame (datetime parts present, the raw
    datetime column absent) it returns the same frame. The output is always a
    DataFrame with the columns in the order of ``roles`` (datetime parts in place of
    their raw column).

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"age": ["31", "?", "47"], "city": ["Oslo", "Bergen", None]})
    >>> TabularPreparer({"age": "numeric", "city": "categorical"}).fit_transform(raw).dtypes
    age      float64
    city    category
    dtype: object
    """

    def __init__(self, roles: dict[str, str] | None = None) -> None:
        self.roles = roles

    # -- estimator API -------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> TabularPreparer:
        """Learn the categories and the datetime parts from ``X``.

        Parameters
        ----------
        X
            The raw (or already prepared) table.
        y
            Ignored.

        Returns
        -------
        TabularPreparer
            ``self``.
        """
        self._fit_frame(X)
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        """Prepare ``X``: coerce, expand datetimes, drop the columns without a role.

        Parameters
        ----------
        X
            The raw (or already prepared) table, with at least the columns in
            ``roles``.

        Returns
        -------
        pandas.DataFrame
            ``float64`` and ``category`` columns, in the order of ``roles``.
        """
        check_is_fitted(self, "roles_")
        return self._transform_frame(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, in order."""
        check_is_fitted(self, "roles_")
        names: list[str] = []
        for col, role in self.roles_.items():
            if role == "datetime":
                names.extend(f"{col}__{p}" for p in self.datetime_parts_[col])
            else:
                names.append(col)
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = []
        return tags
