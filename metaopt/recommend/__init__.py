"""Recommendations for a new dataset: ranked, diversified, explained suggestions.

:func:`suggest` is the entry point; :func:`train_models` / :func:`load_models` write
and read the models directory it uses; :func:`rank_candidates` is the surrogate
ranking with diversification across algorithms. Importing this package (and calling
:func:`suggest`) imports neither torch nor optuna; prediction is pure numpy.
"""

from metaopt.recommend._models import (
    MODELS_ENV,
    ModelBundle,
    default_models_path,
    load_models,
    train_models,
)
from metaopt.recommend._rank import Ranked, diversify_order, rank_candidates
from metaopt.recommend._suggest import Evidence, Suggestion, suggest, suggestions_document

__all__ = [
    "MODELS_ENV",
    "Evidence",
    "ModelBundle",
    "Ranked",
    "Suggestion",
    "default_models_path",
    "diversify_order",
    "load_models",
    "rank_candidates",
    "suggest",
    "suggestions_document",
    "train_models",
]
