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
from metaopt.learn._blend import PRIOR_WEIGHTS, choose_prior_weights, leave_group_out_prior
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
from metaopt.learn._similarity import TaskSimilarity, rank_discordance
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
from metaopt.learn._transfer import TransferPortfolio, TransferRun

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
    "PRIOR_WEIGHTS",
    "OptimizerRun",
    "PoolTable",
    "RobustScaler",
    "SURROGATE_ENV",
    "Surrogate",
    "TaskSimilarity",
    "TrainingData",
    "TransferPortfolio",
    "TransferRun",
    "choose_prior_weights",
    "config_table",
    "default_config_id",
    "default_optimizer_path",
    "default_surrogate_path",
    "greedy_portfolio",
    "is_default_config",
    "kb_fingerprint",
    "leave_group_out_prior",
    "leave_dataset_out",
    "load_optimizer",
    "normalized_scores",
    "rank_discordance",
    "reference_shape",
    "regret",
    "rollout_regret",
    "score_matrix",
    "training_data",
    "training_table",
]
