"""Components learned from the knowledge base, each usable and testable on its own.

Normalized targets (``_targets``), the pool table, the learned :class:`TaskSimilarity`,
the :class:`TransferPortfolio` (pool scores + similarity), the :class:`Surrogate`, the
:class:`LearnedOptimizer`, and the benchmark's baselines. What ships is their
composition, :class:`metaopt.recommend.Recommender`; every component saves in the one
format of :mod:`metaopt.learn._saved` (JSON + numpy arrays under a checksummed manifest,
never pickle). Importing this package does not import torch or optuna.
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
from metaopt.learn._optimizer import LearnedOptimizer, OptimizerRun, rollout_regret
from metaopt.learn._pool import PoolTable
from metaopt.learn._portfolio import GreedyPortfolio, family_vote, greedy_portfolio
from metaopt.learn._similarity import TaskSimilarity, rank_discordance
from metaopt.learn._surrogate import (
    MemberKind,
    Surrogate,
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
    "OptimizerRun",
    "PoolTable",
    "RobustScaler",
    "Surrogate",
    "TaskSimilarity",
    "TrainingData",
    "TransferPortfolio",
    "TransferRun",
    "config_table",
    "default_config_id",
    "family_vote",
    "greedy_portfolio",
    "is_default_config",
    "kb_fingerprint",
    "leave_dataset_out",
    "normalized_scores",
    "rank_discordance",
    "reference_shape",
    "regret",
    "rollout_regret",
    "score_matrix",
    "training_data",
    "training_table",
]
