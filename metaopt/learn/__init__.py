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
from metaopt.learn._encoding import ConfigEncoder, reference_shape
from metaopt.learn._neighbors import NearestDatasets, RobustScaler
from metaopt.learn._optimizer import (
    OPTIMIZER_ENV,
    LearnedOptimizer,
    OptimizerRun,
    default_optimizer_path,
    load_optimizer,
    rollout_regret,
)
from metaopt.learn._pool import PoolTable
from metaopt.learn._portfolio import GreedyPortfolio, greedy_portfolio
from metaopt.learn._surrogate import (
    SURROGATE_ENV,
    MemberKind,
    Surrogate,
    default_surrogate_path,
    kb_fingerprint,
    leave_dataset_out,
    training_table,
)
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
    "ConfigEncoder",
    "GreedyPortfolio",
    "LearnedOptimizer",
    "LibraryDefaults",
    "MemberKind",
    "NearestDatasets",
    "OPTIMIZER_ENV",
    "OptimizerRun",
    "PoolTable",
    "RobustScaler",
    "SURROGATE_ENV",
    "Surrogate",
    "TrainingData",
    "config_table",
    "default_config_id",
    "default_optimizer_path",
    "default_surrogate_path",
    "greedy_portfolio",
    "is_default_config",
    "kb_fingerprint",
    "leave_dataset_out",
    "load_optimizer",
    "normalized_scores",
    "reference_shape",
    "regret",
    "rollout_regret",
    "score_matrix",
    "training_data",
    "training_table",
]
