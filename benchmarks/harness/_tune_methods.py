"""Tuning methods compared by the leave-dataset-out tuning benchmark, and the study runner.

Every method runs one Optuna study per (held-out task, seed), direction ``maximize``,
on the task's evaluated pool (:class:`metaopt.learn.PoolTable`: a configuration scores
what the nearest evaluated configuration of its algorithm scored). Two search spaces:

Conditional (every method but CMA-ES)
    metaopt's naming convention: a categorical ``"algorithm"`` over the algorithms the
    task has evaluations of, then only that algorithm's *active* parameters, named
    ``"{alg}__{param}"``, through :meth:`metaopt.spaces.SearchSpace.sample`.
Flat (``cmaes_source``)
    CMA-ES models a fixed-dimensional box and cannot handle a conditional or
    categorical space, so every parameter of every algorithm is a float in ``[0, 1]``,
    suggested in every trial: ``u_algorithm`` is binned onto the algorithms (``k``
    equal bins), ``u_{alg}__{param}`` is decoded with
    :meth:`metaopt.spaces.Param.from_unit` for the chosen algorithm's active parameters
    (the others are ignored). Warm start: WS-CMA-ES (Nomura et al. 2021, optuna's
    ``CmaEsSampler(source_trials=...)``) fits its initial mean and covariance to the
    best of the source trials, which are the evaluated pools of the 3 training tasks
    nearest in meta-feature space (same kind first; scaled with
    ``pool.encoder.scale_metafeatures``, NaN as 0), encoded with
    :meth:`~metaopt.spaces.Param.to_unit`. Coordinates a source configuration does not
    define (other algorithms' parameters, inactive ones, values outside the held-out
    task's ranges) are drawn uniformly (fixed seed), so they carry no information
    rather than a spurious preference for the centre.

Warm-started methods (``tpe_warm5``, ``meta_warm5``) enqueue metaopt's top-5 for the
task (``metaopt suggest`` fitted on the fold's training tasks) as the first trials;
numeric values are clipped into the task's ranges and categorical values the task's
space does not offer are left to the sampler.

A method is a :class:`TuneMethod`: a sampler factory, plus flags (warm start, flat
space, what the fold must prepare). Seconds per suggestion are everything a trial
costs except the objective: ``study.ask`` + the ``suggest_*`` calls + ``study.tell``
(and, for a proposer-driven method, ``propose`` + ``observe``).
"""

from __future__ import annotations

import math
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt.spaces import DataShape, Param, get_space

if TYPE_CHECKING:  # pragma: no cover
    from optuna.samplers import BaseSampler
    from optuna.trial import BaseTrial

    from metaopt.learn import PoolTable

__all__ = [
    "CmaEsSourceMethod",
    "MetaMethod",
    "RandomMethod",
    "StudyRun",
    "TPEMethod",
    "TuneMethod",
    "TuneTask",
    "default_tuning_methods",
    "encode_flat",
    "fixed_params",
    "flat_space",
    "run_study",
]

#: One configuration: ``(algorithm, params)``.
Config = tuple[str, dict[str, Any]]


@dataclass
class TuneTask:
    """Everything a tuning method may use on one held-out task (picklable, small).

    Attributes
    ----------
    task_id, kind, group, fold
        The task, and the fold it is held out in.
    shape, algorithms, metafeatures
        Its data shape, the algorithms it has evaluations of, its meta-features.
    pool
        A :class:`~metaopt.learn.PoolTable` holding at least this task: the objective.
    warm
        metaopt's top-``k`` for the task, fitted on the fold's training tasks.
    source
        Flat-space source trials for WS-CMA-ES: ``(names, unit matrix, values)``.
    optimizer
        The fold's fitted :class:`~metaopt.learn.LearnedOptimizer` (or None).
    """

    task_id: str
    kind: str
    group: str
    fold: int
    shape: DataShape
    algorithms: list[str]
    metafeatures: dict[str, float]
    pool: PoolTable
    warm: list[Config] = field(default_factory=list)
    source: tuple[list[str], np.ndarray, np.ndarray] | None = None
    optimizer: Any = None

    def score(self, algorithm: str, params: Mapping[str, Any]) -> float:
        """Normalized score of a configuration on the task (0 where it has no score)."""
        s = self.pool.score(self.task_id, algorithm, params)
        return 0.0 if not math.isfinite(s) else float(s)


@dataclass
class StudyRun:
    """One study's trials: scores, seconds per suggestion, and the configurations."""

    scores: np.ndarray
    seconds: np.ndarray
    configs: list[Config]

    @property
    def regret(self) -> np.ndarray:
        """``1 - best normalized score so far`` after each trial, in ``[0, 1]``."""
        return np.clip(1.0 - np.maximum.accumulate(self.scores), 0.0, 1.0)


class Proposer(ABC):
    """Drives a study by enqueueing each trial's configuration (a sampler-less method)."""

    @abstractmethod
    def propose(self) -> Config:
        """The next configuration."""

    @abstractmethod
    def observe(self, algorithm: str, params: Mapping[str, Any], value: float) -> None:
        """Record a finished trial (enqueued warm-start trials included)."""


class TuneMethod(ABC):
    """A tuning method under test: an Optuna sampler per (task, seed), plus flags.

    Lifecycle: constructed once; for each (held-out task, seed) the runner calls
    :meth:`sampler` (and :meth:`proposer`) and runs :meth:`n_trials` trials. The fold
    prepares what :attr:`needs` names (``"warm"``: metaopt's top-k, ``"source"``:
    WS-CMA-ES source trials, ``"optimizer"``: a fitted learned optimizer).
    """

    name: str = "method"
    #: Enqueue the task's warm-start configurations first.
    warm_start: bool = False
    #: Use the flat ``[0, 1]`` space (CMA-ES) instead of the conditional one.
    flat: bool = False
    #: What the fold has to prepare for this method.
    needs: tuple[str, ...] = ()

    @abstractmethod
    def sampler(self, task: TuneTask, seed: int) -> BaseSampler:
        """A fresh sampler for one study."""

    def proposer(self, task: TuneTask, seed: int) -> Proposer | None:
        """Optional: a proposer that picks every trial's configuration (default none)."""
        return None

    def unavailable(self) -> str | None:
        """Why the method cannot run here (a missing package), or None."""
        return None

    def n_trials(self, trials: int, random_trials: int) -> int:
        """How many trials this method runs."""
        return int(trials)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class RandomMethod(TuneMethod):
    """``random``: optuna's RandomSampler, run to ``random_trials`` (the 100-trial anchor)."""

    def __init__(self, name: str = "random") -> None:
        self.name = name

    def sampler(self, task: TuneTask, seed: int) -> BaseSampler:
        from optuna.samplers import RandomSampler

        return RandomSampler(seed=seed)

    def n_trials(self, trials: int, random_trials: int) -> int:
        return int(max(trials, random_trials))


class TPEMethod(TuneMethod):
    """``tpe`` / ``tpe_warm5``: optuna's TPESampler with its defaults.

    TPE's first 10 trials (``n_startup_trials``) are random search with the same seed,
    so ``tpe`` equals ``random`` trial for trial up to 10 trials.
    """

    def __init__(self, warm_start: bool = False, name: str | None = None) -> None:
        self.warm_start = warm_start
        self.needs = ("warm",) if warm_start else ()
        self.name = name or ("tpe_warm5" if warm_start else "tpe")

    def sampler(self, task: TuneTask, seed: int) -> BaseSampler:
        from optuna.samplers import TPESampler

        return TPESampler(seed=seed)


class CmaEsSourceMethod(TuneMethod):
    """``cmaes_source``: WS-CMA-ES on the flat space, source trials from 3 nearest tasks."""

    flat = True
    needs = ("source",)

    def __init__(self, name: str = "cmaes_source") -> None:
        self.name = name

    def unavailable(self) -> str | None:
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            return "optuna's CmaEsSampler needs the cmaes package (pip install cmaes)"
        return None

    def sampler(self, task: TuneTask, seed: int) -> BaseSampler:
        from optuna.distributions import BaseDistribution, FloatDistribution
        from optuna.trial import FrozenTrial, TrialState

        source = None
        if task.source is not None and len(task.source[2]):
            names, unit, values = task.source
            # shared: read-only
            dist: dict[str, BaseDistribution] = {n: FloatDistribution(0.0, 1.0) for n in names}
            # what optuna.trial.create_trial builds, without re-validating 55 × ~700 values
            source = [
                FrozenTrial(number=i, state=TrialState.COMPLETE, value=float(v), datetime_start=None,
                            datetime_complete=None, params=dict(zip(names, row.tolist(), strict=True)),
                            distributions=dist, user_attrs={}, system_attrs={}, intermediate_values={},
                            trial_id=i)
                for i, (row, v) in enumerate(zip(np.clip(unit, 0.0, 1.0), values, strict=True))
            ]
        return _warm_start_cmaes()(seed=seed, source_trials=source, warn_independent_sampling=False)


_WS_CMAES: Any = None


def _warm_start_cmaes() -> Any:
    """``CmaEsSampler`` that computes WS-CMA-ES's initial distribution once per study.

    Optuna rebuilds the initial optimizer (transforming every source trial and fitting
    the warm-start mean and covariance) on each trial until the first generation is
    told, about 0.1 s per trial with ~700 source trials. The initial optimizer only
    depends on the (fixed) flat search space and the source trials, so it is built once
    and deep-copied for each trial; CMA's own random state is reseeded on every trial
    anyway. If Optuna renames the private ``_init_optimizer``, this is a plain
    ``CmaEsSampler``.
    """
    global _WS_CMAES
    if _WS_CMAES is None:
        import copy

        from optuna.samplers import CmaEsSampler

        class WarmStartCmaEsSampler(CmaEsSampler):
            _initial: Any = None

            def _init_optimizer(self, trans: Any, direction: Any) -> Any:
                if self._initial is None:
                    self._initial = super()._init_optimizer(trans, direction)
                return copy.deepcopy(self._initial)

        _WS_CMAES = WarmStartCmaEsSampler
    return _WS_CMAES


class MetaMethod(TuneMethod):
    """``meta`` / ``meta_warm5`` / ``meta_rnn``: MetaSampler driven by the fold's learned optimizer.

    Uses :class:`metaopt.integrations.optuna.MetaSampler` when it exists; until then
    the optimizer's ``start / propose / observe`` drives the study directly (each
    proposal is enqueued), which :attr:`driver` reports as ``"proposer"``. With
    ``transfer=False`` (``meta_rnn``) the optimizer's transfer stage is off and the
    recurrent policy proposes from the first trial, so its own contribution shows.
    """

    needs: tuple[str, ...] = ("optimizer",)

    def __init__(self, warm_start: bool = False, name: str | None = None, transfer: bool = True) -> None:
        self.warm_start = warm_start
        self.transfer = transfer
        self.needs = ("optimizer", "warm") if warm_start else ("optimizer",)
        default = ("meta_warm5" if warm_start else "meta") + ("" if transfer else "_rnn")
        self.name = name or default

    @property
    def driver(self) -> str:
        """``"MetaSampler"`` or ``"proposer"`` (the fallback)."""
        return "MetaSampler" if _meta_sampler() is not None else "proposer"

    def sampler(self, task: TuneTask, seed: int) -> BaseSampler:
        cls = _meta_sampler()
        if cls is not None:
            return cls(metafeatures=task.metafeatures, shape=task.shape, algorithms=task.algorithms,
                       optimizer=task.optimizer, seed=seed, transfer=self.transfer)
        from optuna.samplers import RandomSampler

        return RandomSampler(seed=seed)  # only for parameters a proposal leaves out

    def proposer(self, task: TuneTask, seed: int) -> Proposer | None:
        if _meta_sampler() is not None:
            return None
        return _OptimizerProposer(task.optimizer.start(task.metafeatures, task.shape,
                                                       algorithms=task.algorithms, seed=seed,
                                                       transfer=self.transfer))


class _OptimizerProposer(Proposer):
    def __init__(self, run: Any) -> None:
        self.run = run

    def propose(self) -> Config:
        alg, params = self.run.propose()
        return str(alg), dict(params)

    def observe(self, algorithm: str, params: Mapping[str, Any], value: float) -> None:
        self.run.observe(algorithm, params, value)


def _meta_sampler() -> Any:
    try:
        from metaopt.integrations.optuna import MetaSampler
    except ImportError:
        return None
    return MetaSampler


def default_tuning_methods() -> list[TuneMethod]:
    """The six methods of the issue, in report order, and the policy alone (``meta_rnn``)."""
    return [
        RandomMethod(),
        TPEMethod(),
        TPEMethod(warm_start=True),
        CmaEsSourceMethod(),
        MetaMethod(),
        MetaMethod(warm_start=True),
        MetaMethod(transfer=False),
    ]


# -- search spaces ---------------------------------------------------------------------


def _params(alg: str, shape: DataShape) -> list[Param]:
    return get_space(alg).params(shape)


def flat_space(algorithms: Sequence[str], shape: DataShape) -> list[str]:
    """Names of the flat space's coordinates: ``u_algorithm``, then ``u_{alg}__{param}``."""
    names = ["u_algorithm"]
    for alg in algorithms:
        names += [f"u_{alg}__{p.name}" for p in _params(alg, shape)]
    return names


def _decode_flat(trial: BaseTrial, algorithms: Sequence[str], shape: DataShape) -> Config:
    """Suggest every flat coordinate; decode the chosen algorithm's active parameters."""
    u = {n: trial.suggest_float(n, 0.0, 1.0) for n in flat_space(algorithms, shape)}
    k = len(algorithms)
    alg = algorithms[min(int(u["u_algorithm"] * k), k - 1)]
    config: dict[str, Any] = {}
    for p in _params(alg, shape):
        if p.is_active(config):
            config[p.name] = p.from_unit(u[f"u_{alg}__{p.name}"])
    return alg, config


def encode_flat(
    algorithm: str,
    params: Mapping[str, Any],
    algorithms: Sequence[str],
    shape: DataShape,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """A configuration's point in the flat space (None if its algorithm is not offered).

    Coordinates the configuration does not define are drawn uniformly from ``rng``.
    """
    if algorithm not in algorithms:
        return None
    names = flat_space(algorithms, shape)
    x = rng.uniform(0.0, 1.0, size=len(names))
    x[0] = (list(algorithms).index(algorithm) + 0.5) / len(algorithms)
    col = {n: i for i, n in enumerate(names)}
    for p in _params(algorithm, shape):
        if p.name not in params:
            continue
        value = params[p.name]
        if p.type == "categorical":
            try:
                x[col[f"u_{algorithm}__{p.name}"]] = p.to_unit(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and (
            not p.log or float(value) > 0
        ):
            x[col[f"u_{algorithm}__{p.name}"]] = p.to_unit(value)
    return x


def fixed_params(algorithm: str, params: Mapping[str, Any], shape: DataShape) -> dict[str, Any]:
    """Prefixed study parameters of a configuration, clipped into ``shape``'s ranges.

    Numeric values are clipped into the task's bounds; categorical values that the
    task's space does not offer, and unknown parameters, are left out (the sampler
    then chooses them): :func:`metaopt.learn._transfer.clip_to_shape`, every given
    parameter kept whatever its condition.
    """
    from metaopt.learn._transfer import clip_to_shape

    clipped = clip_to_shape(algorithm, params, shape, active_only=False)
    return {"algorithm": algorithm, **{f"{algorithm}__{k}": v for k, v in clipped.items()}}


# -- running one study -----------------------------------------------------------------


def run_study(
    method: TuneMethod,
    task: TuneTask,
    seed: int,
    n_trials: int,
    objective: Callable[[str, dict[str, Any]], float] | None = None,
    warm_start: Callable[[Any], int] | None = None,
) -> StudyRun:
    """Run ``n_trials`` trials of ``method`` on ``task`` (Optuna's ask/tell, in memory).

    ``objective(algorithm, params) -> value`` scores a trial (default: the task's pool,
    :meth:`TuneTask.score`); NaN marks a failed trial (Optuna records it as FAIL). A
    warm-started method enqueues ``task.warm`` (:func:`fixed_params`), or calls
    ``warm_start(study)``, which enqueues its own trials and returns how many.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    algorithms = list(task.algorithms)
    shape = task.shape
    score = task.score if objective is None else objective
    scores = np.zeros(n_trials)
    seconds = np.zeros(n_trials)
    configs: list[Config] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental arguments, out-of-range fixed values
        start = time.perf_counter()
        sampler = method.sampler(task, seed)
        proposer = method.proposer(task, seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        n_warm = 0
        if method.warm_start and warm_start is not None:
            n_warm = int(warm_start(study))
        elif method.warm_start:
            for alg, params in task.warm:
                study.enqueue_trial(fixed_params(alg, params, shape), skip_if_exists=False)
            n_warm = len(task.warm)
        setup = time.perf_counter() - start
        for i in range(n_trials):
            t0 = time.perf_counter()
            if proposer is not None and i >= n_warm:
                alg, params = proposer.propose()
                study.enqueue_trial(fixed_params(alg, params, shape), skip_if_exists=False)
            trial = study.ask()
            if method.flat:
                alg, config = _decode_flat(trial, algorithms, shape)
            else:
                alg = str(trial.suggest_categorical("algorithm", algorithms))
                config = get_space(alg).sample(trial, shape, prefix=f"{alg}__")
            t1 = time.perf_counter()
            value = score(alg, config)
            t2 = time.perf_counter()
            study.tell(trial, value)
            if proposer is not None:
                proposer.observe(alg, config, value)
            t3 = time.perf_counter()
            scores[i], seconds[i] = value, (t1 - t0) + (t3 - t2)
            configs.append((alg, config))
        if n_trials:
            seconds[0] += setup
    return StudyRun(scores, seconds, configs)
