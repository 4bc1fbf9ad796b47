"""``random_forest``: scikit-learn's RandomForestClassifier / RandomForestRegressor."""

from __future__ import annotations

from metaopt.spaces._forest import ForestSpace

__all__ = ["RandomForestSpace"]


class RandomForestSpace(ForestSpace):
    """Random forests; parameters as in :class:`~metaopt.spaces._forest.ForestSpace`
    (default ``bootstrap=True``)."""

    name = "random_forest"
    classifier = "sklearn.ensemble.RandomForestClassifier"
    regressor = "sklearn.ensemble.RandomForestRegressor"
    default_bootstrap = True
