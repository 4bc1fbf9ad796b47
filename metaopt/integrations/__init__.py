"""Integrations of metaopt with other tools.

One subpackage per tool, each importing that tool on import (so ``import metaopt``
stays cheap):

* :mod:`metaopt.integrations.optuna` (also reachable as :mod:`metaopt.optuna`) -
  an objective over metaopt's search spaces, warm starts from ``metaopt.suggest``,
  :class:`~metaopt.integrations.optuna.MetaSampler` driven by the learned optimizer,
  and :func:`~metaopt.integrations.optuna.tune` behind ``metaopt tune``.
"""
