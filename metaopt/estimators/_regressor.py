"""``MetaoptRegressor``: metaopt's suggestions, cross-validated and refitted, as a regressor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin
from sklearn.utils.validation import column_or_1d

from metaopt._exceptions import DataFormatError, TargetError
from metaopt.estimators._base import MetaoptEstimator, _target_missing
from metaopt.estimators._params_doc import ATTRIBUTES, PARAMETERS

__all__ = ["MetaoptRegressor"]


class MetaoptRegressor(RegressorMixin, MetaoptEstimator):
    __doc__ = (
        """A regressor that picks its model with metaopt: suggest, cross-validate, refit.

    ``fit(X, y)`` loads the data as a :class:`metaopt.tasks.Task` (the same coercion
    and errors as ``metaopt suggest``), ranks the ``top`` configurations with the trained
    :class:`~metaopt.recommend.Recommender`, cross-validates them (``n_jobs`` in
    parallel, within ``time_budget``), optionally tunes ``n_trials`` more with the
    learned sampler, and refits the best (or the average of the best ``ensemble``) on
    every row. Targets of any scale are fine: the pipelines standardise them where the
    model needs it.

    Parameters
    ----------
"""
        + PARAMETERS
        + """
    Attributes
    ----------
"""
        + ATTRIBUTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from metaopt import MetaoptRegressor
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> reg = MetaoptRegressor(top=3, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> reg.best_params_["algorithm"], reg.best_score_  # doctest: +SKIP
"""
    )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        frame = self._prepared(X)
        return np.asarray(self.best_estimator_.predict(frame), dtype=float)

    # -- MetaoptEstimator -----------------------------------------------------------------

    def _check_y(self, y: Any, n_rows: int) -> tuple[pd.Series, Any]:
        """(the target for the task, the target the final model is fitted on): float64."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        raw = column_or_1d(np.asarray(y, dtype=object) if isinstance(y, pd.Series) and not isinstance(y.dtype, np.dtype) else y, warn=True)
        if raw.shape[0] != n_rows:
            raise DataFormatError(
                f"X has {n_rows} rows but y has {raw.shape[0]} values",
                "pass X and y with one target value per row of X",
            )
        missing = _target_missing(raw)
        if missing is not None:
            raise missing
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            examples = ", ".join(repr(v) for v in pd.unique(pd.Series(raw, dtype=object))[:3])
            raise TargetError(
                f"y holds values that are not numbers ({examples}, ...) and cannot be a regression target",
                "use MetaoptClassifier for class labels, or pass numbers",
            ) from None
        missing = _target_missing(values)
        if missing is not None:
            raise missing
        return pd.Series(values, name="target"), values

    def _kind(self, y: pd.Series) -> str:
        return "regression"

    def _final(self, named: list[tuple[str, Any]], frame: pd.DataFrame, y: Any, seed: int) -> Any:
        from sklearn.ensemble import VotingRegressor

        if len(named) == 1:
            return named[0][1].fit(frame, y)
        return VotingRegressor(named).fit(frame, y)
