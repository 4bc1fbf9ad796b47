"""Models learned from the knowledge base: normalized targets, baselines, surrogate.

Everything here is trained on a :class:`~metaopt.kb.KnowledgeBase` and stored as JSON
(and plain numpy arrays), never pickle. Importing this package does not import torch
or optuna.
"""

from metaopt.learn._targets import (
    config_table,
    default_config_id,
    is_default_config,
    normalized_scores,
    regret,
    score_matrix,
)

__all__ = [
    "config_table",
    "default_config_id",
    "is_default_config",
    "normalized_scores",
    "regret",
    "score_matrix",
]
