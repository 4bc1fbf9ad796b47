"""scikit-learn estimators that choose their model with metaopt.

:class:`MetaoptClassifier` and :class:`MetaoptRegressor`: ``fit(X, y)`` suggests
configurations for the data with the trained :class:`~metaopt.recommend.Recommender`,
cross-validates the top ones with :mod:`metaopt.evaluation` (in parallel, within a time
budget), optionally tunes more with the learned Optuna sampler, and refits the best on
every row. They are plain scikit-learn estimators: they go into a ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``, and pass ``parametrize_with_checks``.

Importing this package imports scikit-learn (``import metaopt`` does not).
"""

from metaopt.estimators._classifier import MetaoptClassifier
from metaopt.estimators._regressor import MetaoptRegressor

__all__ = ["MetaoptClassifier", "MetaoptRegressor"]
