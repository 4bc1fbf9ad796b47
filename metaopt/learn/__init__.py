"""Models learned from the knowledge base: normalized targets, baselines, surrogate.

Everything here is trained on a :class:`~metaopt.kb.KnowledgeBase` and stored as JSON
(and plain numpy arrays), never pickle. Importing this package does not import torch
or optuna.
"""

from metaopt.learn._baselines import (
    BaseBaseline,
    BestDefault,
    LibraryDefaults,
    TrainingData,
    training_data,
)
from metaopt.learn._neighbors import NearestDatasets, RobustScaler
from metaopt.learn._portfolio import GreedyPortfolio, greedy_portfolio
from metaopt.learn._targets import (
    config_table,
    default_config_id,
    is_default_config,
    normalized_scores,
    regret,
    score_matrix,
)

__all__ = [
    "BaseBaseline",
    "BestDefault",
    "GreedyPortfolio",
    "LibraryDefaults",
    "NearestDatasets",
    "RobustScaler",
    "TrainingData",
    "greedy_portfolio",
    "training_data",
    "config_table",
    "default_config_id",
    "is_default_config",
    "normalized_scores",
    "regret",
    "score_matrix",
]
