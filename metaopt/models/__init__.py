"""Estimators metaopt trains itself: torch MLPs whose architecture is a hyperparameter.

``import metaopt.models`` does not import torch; fitting does.

* :class:`MLPClassifier`, :class:`MLPRegressor`: scikit-learn estimators (CUDA when
  available), saved and loaded without pickle (safetensors + JSON).
* :func:`train_population`: train many MLP configurations at once, stacked on one
  device, with the same result per configuration as the estimator.
"""

from metaopt.models._mlp import FORMAT_VERSION, MLPClassifier, MLPRegressor
from metaopt.models._population import PopulationResult, train_population

__all__ = [
    "FORMAT_VERSION",
    "MLPClassifier",
    "MLPRegressor",
    "PopulationResult",
    "train_population",
]
