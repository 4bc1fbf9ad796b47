"""metaopt for Optuna: an objective, warm starts, a meta-learned sampler, and ``tune``.

* :func:`objective` - ``objective(trial) -> float`` over metaopt's search spaces,
  scored by cross-validation (greater is better; failed configs return NaN, so Optuna
  records them as FAIL with their status and message as user attributes);
* :func:`warm_start` - enqueue :func:`metaopt.suggest`'s top suggestions as a
  study's first trials, mapped onto the study's own names and distributions;
* :class:`MetaSampler` - an Optuna sampler driven by the learned RNN optimizer,
  falling back to TPE for parameters it does not know;
* :func:`tune` - all three on a study in a database, with worker processes
  (``metaopt tune``).

Parameter names follow one convention (:mod:`._naming`): ``"algorithm"`` and
``"{algorithm}__{param}"``; :func:`search_space` gives a study's distributions and
:func:`config_from_params` maps a trial's params back to ``(algorithm, params)``.

Importing this package imports optuna (``import metaopt`` does not). Also available as
:mod:`metaopt.optuna`.
"""

from metaopt.integrations.optuna._naming import (
    ALGORITHM_PARAM,
    config_from_params,
    param_name,
    search_space,
)
from metaopt.integrations.optuna._objective import Objective, objective
from metaopt.integrations.optuna._sampler import MetaSampler
from metaopt.integrations.optuna._tune import (
    DEFAULT_STORAGE,
    SAMPLERS,
    TuneInterrupted,
    TunePlan,
    TuneProgress,
    TuneResult,
    default_study_name,
    make_sampler,
    open_storage,
    tune,
    write_spec,
)
from metaopt.integrations.optuna._warm_start import warm_start

__all__ = [
    "ALGORITHM_PARAM",
    "DEFAULT_STORAGE",
    "SAMPLERS",
    "MetaSampler",
    "Objective",
    "TuneInterrupted",
    "TunePlan",
    "TuneProgress",
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
    "write_spec",
]
