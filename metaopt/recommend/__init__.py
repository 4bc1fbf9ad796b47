"""Recommendations for a new dataset: the trained :class:`Recommender` and :func:`suggest`.

:class:`Recommender` is the one trained object (``metaopt train`` is
``Recommender().fit(kb).save(dir)``): its :meth:`~Recommender.rank` orders the
knowledge base's config pool for a dataset and is what :func:`suggest`, the Optuna
sampler's transfer stage (through its :attr:`~Recommender.optimizer_`) and the
leave-dataset-out benchmark call. :func:`suggest` loads the data, extracts its
meta-features and turns the ranking into explained :class:`Suggestion` s.
Importing this package (and calling :func:`suggest`) imports neither torch nor optuna;
prediction is pure numpy.
"""

from metaopt.recommend._rank import Ranked, diversify_order, rank_candidates
from metaopt.recommend._recommender import (
    MODELS_ENV,
    Candidate,
    Evidence,
    Recommender,
    default_models_path,
    load_optimizer,
    space_fingerprint,
)
from metaopt.recommend._suggest import SAMPLE_ROWS, Suggestion, suggest, suggestions_document

__all__ = [
    "MODELS_ENV",
    "SAMPLE_ROWS",
    "Candidate",
    "Evidence",
    "Ranked",
    "Recommender",
    "Suggestion",
    "default_models_path",
    "diversify_order",
    "load_optimizer",
    "rank_candidates",
    "space_fingerprint",
    "suggest",
    "suggestions_document",
]
