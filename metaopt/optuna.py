"""``metaopt.optuna``: the Optuna integration under a short name.

Everything here is :mod:`metaopt.integrations.optuna` (see there)::

    import optuna
    import metaopt.optuna as mo

    objective = mo.objective("datasets/examples/penguins.csv")
    study = optuna.create_study(direction="maximize", sampler=mo.MetaSampler(task=objective.task))
    mo.warm_start(study, task=objective.task, n=5)
    study.optimize(objective, n_trials=20)

Importing this module imports optuna; ``import metaopt`` alone does not.
"""

from metaopt.integrations import optuna as _impl
from metaopt.integrations.optuna import *  # noqa: F403 - the same public names

__all__ = list(_impl.__all__)
