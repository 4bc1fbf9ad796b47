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

from metaopt.integrations.optuna import (
    ALGORITHM_PARAM,
    DEFAULT_STORAGE,
    SAMPLERS,
    MetaSampler,
    Objective,
    TuneResult,
    config_from_params,
    default_study_name,
    make_sampler,
    objective,
    open_storage,
    param_name,
    search_space,
    tune,
    warm_start,
)

__all__ = [
    "ALGORITHM_PARAM",
    "DEFAULT_STORAGE",
    "SAMPLERS",
    "MetaSampler",
    "Objective",
    "TuneResult",
    "config_from_params",
    "default_study_name",
    "make_sampler",
    "objective",
    "open_storage",
    "param_name",
    "search_space",
    "tune",
    "warm_start",
]
