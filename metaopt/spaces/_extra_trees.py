"""``extra_trees``: scikit-learn's ExtraTreesClassifier / ExtraTreesRegressor."""

from __future__ import annotations

from metaopt.spaces._forest import ForestSpace

__all__ = ["ExtraTreesSpace"]


class ExtraTreesSpace(ForestSpace):
    """Extremely randomised trees; parameters as in
    :class:`~metaopt.spaces._forest.ForestSpace` (default ``bootstrap=False``)."""

    name = "extra_trees"
    classifier = "sklearn.ensemble.ExtraTreesClassifier"
    regressor = "sklearn.ensemble.ExtraTreesRegressor"
    default_bootstrap = False
