"""Recommendations for a new dataset: ranked, diversified, explained suggestions.

Importing this package imports neither torch nor optuna; prediction is pure numpy.
"""

from metaopt.recommend._rank import Ranked, diversify_order, rank_candidates

__all__ = ["Ranked", "diversify_order", "rank_candidates"]
