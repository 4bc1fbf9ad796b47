"""``MetaSampler``: an Optuna sampler driven by metaopt's learned (RNN) optimizer."""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metaopt._exceptions import ConfigError
from metaopt.integrations.optuna._naming import (
    ALGORITHM_PARAM,
    config_from_params,
    param_name,
    params_by_name,
    resolve_param_map,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from optuna.study import Study

    from metaopt.spaces import DataShape, Param
    from metaopt.tasks import Task

__all__ = ["CLAIM_ATTR", "PROPOSER_ATTR", "MetaSampler", "default_optimizer_location", "resolve_optimizer"]

#: User attribute naming who proposed a trial: ``"warm_start"``, ``"enqueued"``,
#: ``"transfer"``, ``"learned_optimizer"`` or ``"fallback:<sampler class>"``.
PROPOSER_ATTR = "metaopt_proposer"

#: System attribute with the configuration a MetaSampler proposed for a trial in flight
#: (``{"algorithm": ..., "params": {...}}``, metaopt's names), for parallel workers.
CLAIM_ATTR = "metaopt:claim"

#: Draws of a proposal while it equals a configuration another trial has.
_REDRAWS = 8

#: Trials whose proposals are kept at once (entries also leave when a trial ends).
_CACHE_SIZE = 256

#: States of finished trials: they make up the history the optimizer is replayed on.
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)

#: States of trials in flight: the constant liar treats their configurations as taken.
_IN_FLIGHT = (TrialState.RUNNING, TrialState.WAITING)


class _Missing:
    """Marks "no proposal for this parameter": the fallback sampler decides."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<missing>"


_MISSING = _Missing()


def resolve_optimizer(optimizer: Any = None) -> Any:
    """A learned optimizer: the object itself, or loaded from a models directory.

    ``None`` loads the default models (:func:`metaopt.recommend.default_models_path`);
    a path may name a models directory or one written by ``LearnedOptimizer.save``.

    Raises
    ------
    ModelError
        If there is no optimizer there (the message says to run ``metaopt train``).
    """
    if optimizer is not None and not isinstance(optimizer, (str, os.PathLike)):
        return optimizer
    from metaopt.recommend import load_optimizer

    return load_optimizer(optimizer)


def default_optimizer_location() -> Any:
    """Where the optimizer is loaded from by default: the models directory."""
    from metaopt.recommend import default_models_path

    return default_models_path()


@dataclass
class _TrialProposal:
    """What the sampler decided for one trial (kept until the trial ends)."""

    use_meta: bool
    seed: int
    run: Any = None  # the optimizer run replayed on the study's history (built lazily)
    rng: np.random.Generator | None = None
    algorithm: str | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # algorithm -> config
    taken: set[str] = field(default_factory=set)  # config keys of the study's other trials
    views: dict[tuple[str, str], BaseDistribution] = field(default_factory=dict)  # the study's view
    proposer: str | None = None  # what this sampler wrote as the trial's proposer
    locked: bool = False  # the trial had a proposer already (warm start, enqueued)
    n_meta: int = 0  # values the optimizer gave
    unknown: set[str] = field(default_factory=set)  # names the fallback sampled


class MetaSampler(BaseSampler):
    """An Optuna sampler whose proposals come from metaopt's learned optimizer.

    The learned optimizer (:class:`metaopt.learn.LearnedOptimizer`) is an RNN that was
    meta-trained on the knowledge base to propose, from a dataset's meta-features and
    the trials so far, the next configuration to try, preceded by a transfer stage that
    proposes the knowledge base's pool configurations re-weighted by the study's
    results (the optimizer's ``stage``). This sampler replays a study's finished trials
    into it and samples each new trial from its proposal.

    Parameters it knows - the naming convention of
    :func:`metaopt.integrations.optuna.objective`:

    * ``"algorithm"`` (a categorical over algorithm names), and
    * ``"{algorithm}__{param}"`` for the allowed algorithms' parameters, and
    * in single-algorithm mode (``algorithms=[one]``) also that algorithm's unprefixed
      names (``"n_neighbors"``), and
    * the names of ``param_map`` (an objective's own names, ``{"lr": "hgb__learning_rate"}``).

    Every other parameter goes to ``fallback``; so does everything once the study has
    ``max_meta_trials`` finished trials (what the optimizer was made for). When every
    parameter of a trial went to the fallback because none is known, a ``UserWarning``
    (once per sampler) names them and says to pass ``param_map``.

    How a trial is sampled: on the first known parameter of a trial, the optimizer run
    is rebuilt from the study's finished trials in trial-number order (COMPLETE: its
    value, sign-flipped when the study minimizes, since the optimizer maximizes; FAIL
    and PRUNED: a failed trial, ``value=None``; a trial that cannot be mapped back to
    an ``(algorithm, params)`` pair is skipped, and its values are clipped into
    metaopt's ranges where the study's were wider). ``"algorithm"`` is then drawn from
    the optimizer's proposal, restricted to the choices of the study's distribution
    and to ``algorithms``; an algorithm fixed on the trial (enqueued by
    :func:`warm_start`, or a one-choice categorical) is kept and the parameters are
    proposed for it (``run.propose(algorithm=...)``). One proposal serves all the
    parameters of a trial. A proposed value is mapped into the study's distribution:
    numbers are clipped into ``[low, high]`` and rounded to ints and to ``step``; a
    categorical value that is not one of the choices (or a parameter the proposal
    lacks, such as a conditional one whose parent the trial fixed otherwise) is
    sampled by ``fallback``.

    Parallel workers (threads with ``n_jobs > 1``, processes on one storage) follow
    Optuna's constant liar convention (``constant_liar=True``): the study's running
    and waiting trials are taken — the transfer stage does not propose their pool
    configurations and proposes what best complements them, and a proposal equal to
    a configuration of any other trial of the study (finished, running or waiting) is
    drawn again (up to 8 times; only a study that exhausted the space repeats one).
    Each proposal is written to its trial (system attribute ``metaopt:claim``) as
    soon as it is made and checked against the other workers' claims after writing,
    so two processes that propose at the same moment do not both keep the same one.

    Seeding: trial ``k``'s proposal is seeded with ``(seed, k)``; the transfer stage's
    first proposal is its best pool configuration, later ones a seeded Thompson draw
    among the near-best (:meth:`metaopt.learn.TransferRun.propose_index`), so
    different seeds give different studies and one seed the same study, in any
    process. :meth:`reseed_rng` draws fresh entropy. The sampler pickles and deep-copies
    (Optuna's recipe of saving ``study.sampler`` to resume a seeded study, and
    ``joblib.dump(study)``); an optimizer loaded from a models directory is pickled
    as its path and loaded again on first use; a copy continues the same stream.

    Provenance: every trial the sampler samples gets the user attribute
    ``metaopt_proposer``: ``"transfer"`` (the transfer stage), ``"learned_optimizer"``
    (the recurrent policy) or ``"fallback:<sampler class>"``; a trial enqueued by
    :func:`warm_start` keeps its ``"warm_start"``, another enqueued trial gets
    ``"enqueued"``.

    :meth:`infer_relative_search_space` returns the known, not fixed parameters of
    Optuna's intersection search space and :meth:`sample_relative` the same proposal
    values, so relative and independent sampling agree. Thread-safe (``n_jobs > 1``):
    the per-trial proposals are cached under a lock, keyed by trial id.
    Single-objective studies only (a multi-objective study raises ``ValueError``).

    Parameters
    ----------
    data, target, task
        The dataset being tuned (anything :func:`metaopt.load_task` accepts) or a
        loaded Task; its meta-features and shape condition the optimizer.
    metafeatures, shape
        Instead of the data: its meta-features (:func:`metaopt.metafeatures.extract`)
        and :class:`~metaopt.spaces.DataShape`.
    algorithms
        Only these algorithms (default: every one the optimizer knows that supports
        the data). With exactly one, its unprefixed names are known too.
    fallback
        The sampler for everything else (default ``TPESampler(seed=seed,
        constant_liar=constant_liar)``).
    seed
        Makes the sampler deterministic for sequential optimization: the proposal of
        trial ``k`` is seeded with ``(seed, k)``.
    optimizer
        A learned optimizer, or the directory it was saved to (default: ``$METAOPT_OPTIMIZER``,
        else ``datasets/models/optimizer``).
    max_meta_trials
        Finished trials after which everything goes to ``fallback`` (default: the
        optimizer's ``meta_trials``: its transfer stage's length or its ``horizon``,
        whichever is longer).
    transfer
        Let the optimizer's transfer stage propose the first trials (the knowledge
        base's pool configurations, re-weighted by the study's results; see
        :mod:`metaopt.learn._transfer`); ``False``: the recurrent policy from the first
        trial.
    param_map
        The objective's own parameter names mapped onto metaopt's: ``{"lr":
        "hgb__learning_rate", "depth": "hgb__max_depth"}``, ``{"model": "algorithm"}``
        (its choices must be metaopt algorithm names); with one algorithm, unprefixed
        targets (``{"lr": "learning_rate"}``) work too.
    constant_liar
        Treat running and waiting trials as taken (see above); ``False``: only
        finished trials count, as before.

    Raises
    ------
    ModelError
        If no optimizer weights are found (run ``metaopt train``).
    ConfigError
        If neither the data nor ``metafeatures`` and ``shape`` are given, no allowed
        algorithm is known to the optimizer and supports the data, or ``param_map``
        names an unknown algorithm or parameter.
    """

    def __init__(
        self,
        data: str | os.PathLike[str] | pd.DataFrame | Task | None = None,
        target: str | None = None,
        *,
        task: Task | None = None,
        metafeatures: Mapping[str, float] | None = None,
        shape: DataShape | None = None,
        algorithms: Sequence[str] | None = None,
        fallback: BaseSampler | None = None,
        seed: int | None = None,
        optimizer: Any = None,
        max_meta_trials: int | None = None,
        transfer: bool = True,
        param_map: Mapping[str, str] | None = None,
        constant_liar: bool = True,
    ) -> None:
        from optuna.samplers import TPESampler

        from metaopt.spaces import ALGORITHMS, DataShape, get_space

        self._optimizer_ref = _optimizer_path(optimizer)
        self._optimizer = resolve_optimizer(optimizer)  # a missing model fails before the data is read
        if data is not None or task is not None:
            from metaopt.integrations.optuna._objective import resolve_task

            loaded = resolve_task(data, target, task)
            if shape is None:
                shape = DataShape.of(loaded)
            if metafeatures is None:
                from metaopt.metafeatures import extract

                metafeatures = dict(extract(loaded, random_state=0))
        if shape is None or metafeatures is None:
            raise ConfigError(
                "MetaSampler needs the data it tunes on",
                "pass data= (a path or DataFrame) or task=, or both metafeatures= and shape=",
            )
        known = [str(a) for a in self._optimizer.algorithms]
        wanted = list(ALGORITHMS) if algorithms is None else [str(a).strip() for a in algorithms]
        for alg in wanted:
            get_space(alg)  # ConfigError naming the valid algorithms
        self._algorithms = [
            a for a in ALGORITHMS if a in wanted and a in known and get_space(a).supports(shape) is None
        ]
        if not self._algorithms:
            raise ConfigError(
                f"none of the algorithms {', '.join(wanted)} is both known to the learned "
                f"optimizer ({', '.join(known)}) and fit for this {shape.kind} task",
                "allow other algorithms",
            )
        self._single = self._algorithms[0] if algorithms is not None and len(self._algorithms) == 1 else None
        self._shape = shape
        self._metafeatures = {str(k): float(v) for k, v in dict(metafeatures).items()}
        self._params = params_by_name(shape, self._algorithms)
        self._known: dict[str, tuple[str, str | None]] = {ALGORITHM_PARAM: (ALGORITHM_PARAM, None)}
        for alg, plist in self._params.items():
            for pname in plist:
                self._known[param_name(alg, pname)] = (alg, pname)
        if self._single is not None:
            for pname in self._params[self._single]:
                self._known.setdefault(pname, (self._single, pname))
        self._rename: dict[str, str] = {}  # the study's own names -> metaopt's
        for name, (target, tparam) in resolve_param_map(param_map, self._algorithms).items():
            if tparam is not None and tparam not in self._params[target]:
                continue  # a parameter this data's space does not have
            self._known[name] = (target, tparam)
            self._rename[name] = ALGORITHM_PARAM if tparam is None else param_name(target, tparam)
        horizon = int(getattr(self._optimizer, "meta_trials", None) or getattr(self._optimizer, "horizon", 0) or 0)
        limit = horizon if max_meta_trials is None else int(max_meta_trials)
        if limit < 0:
            raise ConfigError(f"max_meta_trials must be >= 0, got {max_meta_trials}")
        self._max_meta_trials = limit
        self._transfer = bool(transfer)
        self._constant_liar = bool(constant_liar)
        self._fallback = (
            fallback if fallback is not None else TPESampler(seed=seed, constant_liar=self._constant_liar)
        )
        self._entropy = int(seed) if seed is not None else int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
        self._warned_unmapped = False
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, _TrialProposal] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"MetaSampler(algorithms={self._algorithms!r}, max_meta_trials={self._max_meta_trials}, "
            f"fallback={type(self._fallback).__name__})"
        )

    # -- pickling (Optuna's recipes: pickle.dump(study.sampler), joblib.dump(study)) ----

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_cache"] = OrderedDict()  # proposals of trials in flight in this process
        if state.get("_optimizer_ref") is not None:
            state["_optimizer"] = None  # loaded again from its directory on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._cache = OrderedDict()

    # -- public properties -------------------------------------------------------------

    @property
    def algorithms(self) -> list[str]:
        """The algorithms the sampler proposes."""
        return list(self._algorithms)

    @property
    def optimizer(self) -> Any:
        """The learned optimizer (loaded from its directory after unpickling)."""
        if self._optimizer is None:
            with self._lock:
                if self._optimizer is None:
                    self._optimizer = resolve_optimizer(self._optimizer_ref)
        return self._optimizer

    @property
    def fallback(self) -> BaseSampler:
        """The sampler for unknown parameters and for trials past ``max_meta_trials``."""
        return self._fallback

    @property
    def max_meta_trials(self) -> int:
        """Finished trials after which everything goes to the fallback."""
        return self._max_meta_trials

    # -- BaseSampler ---------------------------------------------------------------------

    def reseed_rng(self) -> None:
        """Fresh entropy for the proposals and the fallback (Optuna calls this for ``n_jobs > 1``)."""
        with self._lock:
            self._entropy = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
        self._fallback.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if trial.system_attrs.get("fixed_params") and not trial.user_attrs.get(PROPOSER_ATTR):
            study._storage.set_trial_user_attr(trial._trial_id, PROPOSER_ATTR, "enqueued")
        self._fallback.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            entry = self._cache.pop(trial._trial_id, None)
            warn = (
                entry is not None and entry.use_meta and entry.n_meta == 0 and bool(entry.unknown)
                and not self._warned_unmapped
            )
            if warn:
                self._warned_unmapped = True
        if warn:
            assert entry is not None
            names = sorted(entry.unknown)
            warnings.warn(
                f"MetaSampler sampled every parameter of trial {trial.number} "
                f"({', '.join(map(repr, names))}) with its fallback "
                f"{type(self._fallback).__name__}: none of them is in metaopt's naming, so the "
                f"learned optimizer cannot propose them; pass param_map={{{names[0]!r}: "
                f"'hgb__learning_rate', ...}} mapping the objective's names onto metaopt's "
                f"('algorithm' and '{{algorithm}}__{{param}}')",
                UserWarning,
                stacklevel=2,
            )
        self._fallback.after_trial(study, trial, state, values)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._check_single_objective(study)
        proposal = self._proposal(study, trial)
        if not proposal.use_meta:
            return self._fallback.infer_relative_search_space(study, trial)
        fixed = trial.system_attrs.get("fixed_params") or {}
        space = IntersectionSearchSpace().calculate(study)
        return {name: dist for name, dist in space.items() if name in self._known and name not in fixed}

    def sample_relative(
        self,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        if not search_space:
            return {}
        proposal = self._proposal(study, trial)
        if not proposal.use_meta:
            self._record(study, trial, proposal, None)
            return self._fallback.sample_relative(study, trial, search_space)
        out: dict[str, Any] = {}
        # "algorithm" first: the other parameters follow the algorithm it picks
        for name in sorted(search_space, key=lambda n: self._known.get(n, ("",))[0] != ALGORITHM_PARAM):
            dist = search_space[name]
            value = self._meta_value(study, trial, proposal, name, dist)
            if value is _MISSING:
                value = self._fallback.sample_independent(study, trial, name, dist)
            out[name] = value
        return out

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._check_single_objective(study)
        proposal = self._proposal(study, trial)
        if param_name in self._known and proposal.use_meta:
            value = self._meta_value(study, trial, proposal, param_name, param_distribution)
            if value is not _MISSING:
                return value
        elif proposal.use_meta:
            with self._lock:
                proposal.unknown.add(param_name)
        self._record(study, trial, proposal, None)
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    # -- the proposal --------------------------------------------------------------------

    @staticmethod
    def _check_single_objective(study: Study) -> None:
        if len(study.directions) > 1:
            raise ValueError(
                f"MetaSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives. Use another sampler (e.g. NSGAIISampler) "
                "for multi-objective optimization."
            )

    def _proposal(self, study: Study, trial: FrozenTrial) -> _TrialProposal:
        """This trial's entry; whether the optimizer drives it is decided on first use."""
        with self._lock:
            entry = self._cache.get(trial._trial_id)
            if entry is None:
                finished = study.get_trials(deepcopy=False, states=_FINISHED)
                seed = int(np.random.SeedSequence([self._entropy, int(trial.number)]).generate_state(1)[0])
                entry = _TrialProposal(
                    use_meta=len(finished) < self._max_meta_trials,
                    seed=seed,
                    locked=bool(trial.user_attrs.get(PROPOSER_ATTR) or trial.system_attrs.get("fixed_params")),
                )
                self._cache[trial._trial_id] = entry
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
            return entry

    def _record(self, study: Study, trial: FrozenTrial, proposal: _TrialProposal, stage: str | None) -> None:
        """Write who proposed the trial (``stage``; None: the fallback) unless it had a proposer."""
        with self._lock:
            if proposal.locked:
                return
            if stage is None:
                if proposal.proposer is not None:
                    return  # the optimizer's proposal (or the fallback) is recorded already
                label = f"fallback:{type(self._fallback).__name__}"
            else:
                label = "transfer" if stage == "transfer" else "learned_optimizer"
            if label == proposal.proposer:
                return
            proposal.proposer = label
        study._storage.set_trial_user_attr(trial._trial_id, PROPOSER_ATTR, label)

    def _run(self, study: Study, trial: FrozenTrial, proposal: _TrialProposal) -> Any:
        """The optimizer run replayed on the study's trials (built once per trial)."""
        if proposal.run is not None:
            return proposal.run
        optimizer = self.optimizer
        # ``transfer`` only when switched off, so optimizers without a stage still work
        extra: dict[str, Any] = {} if self._transfer else {"transfer": False}
        if self._transfer and getattr(optimizer, "transfer_", None) is not None:
            extra["sample_transfer"] = True
        run = optimizer.start(
            self._metafeatures,
            self._shape,
            algorithms=list(self._algorithms),
            seed=proposal.seed,
            **extra,
        )
        sign = -1.0 if study.direction == StudyDirection.MINIMIZE else 1.0
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        for past in trials:  # how the study sees metaopt's parameters: its names' distributions
            for name, dist in past.distributions.items():
                alg, pname = self._known.get(name, (ALGORITHM_PARAM, None))
                if pname is not None:
                    proposal.views[(alg, pname)] = dist
        for past in trials:
            if past.state not in _FINISHED:
                continue
            config = self._config_of(past.params)
            if config is None:
                continue
            value: float | None = None
            if past.state == TrialState.COMPLETE and past.value is not None and math.isfinite(past.value):
                value = sign * float(past.value)
            run.observe(config[0], config[1], value)
            proposal.taken.add(self._key(proposal, *config))
        if self._constant_liar:
            in_flight = getattr(run, "in_flight", None)
            for other in trials:
                if other.state in _FINISHED or other._trial_id == trial._trial_id:
                    continue
                config = self._inflight_config(other)
                if config is None:
                    continue
                proposal.taken.add(self._key(proposal, *config))
                if in_flight is not None:
                    in_flight(config[0], config[1])
        proposal.run = run
        proposal.rng = np.random.default_rng(proposal.seed)
        return run

    @staticmethod
    def _key(proposal: _TrialProposal, alg: str, params: Mapping[str, Any]) -> str:
        """A configuration's identity as the study sees it: only the parameters it searches
        (when it has shown any of ``alg``'s), mapped into its distributions."""
        seen = {k: proposal.views[(alg, k)] for k in params if (alg, k) in proposal.views}
        if not seen:
            return _config_key(alg, params)
        view = {}
        for k, dist in seen.items():
            value = _into_distribution(params[k], dist)
            view[k] = params[k] if value is _MISSING else value
        return _config_key(alg, view)

    def _inflight_config(self, trial: FrozenTrial) -> tuple[str, dict[str, Any]] | None:
        """A running or waiting trial's configuration: its fixed params, else the claim a
        sampler wrote on it, else the params it has so far."""
        fixed = trial.system_attrs.get("fixed_params") or {}
        claim = trial.system_attrs.get(CLAIM_ATTR)
        if not fixed and isinstance(claim, Mapping):
            alg, params = claim.get("algorithm"), claim.get("params")
            if isinstance(alg, str) and alg in self._params and isinstance(params, Mapping):
                return alg, dict(params)
        return self._config_of({**trial.params, **fixed})

    def _config_of(self, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A past trial's ``(algorithm, config)`` in metaopt's space, or None if it has none."""
        if self._rename:
            params = {self._rename.get(k, k): v for k, v in params.items()}
        pair = config_from_params(params, algorithm=self._single, algorithms=self._algorithms)
        if pair is None:
            return None
        alg, given = pair
        if ALGORITHM_PARAM not in params and not given:
            return None
        plist = self._params[alg]
        config: dict[str, Any] = {}
        for p in plist.values():
            if p.is_active(config) and p.name in given:
                value = _into_param(p, given[p.name])
                if value is not _MISSING:
                    config[p.name] = value
        from metaopt.spaces import get_space

        try:
            return alg, get_space(alg).validate(
                {k: v for k, v in config.items() if plist[k].is_active(config)}, self._shape
            )
        except ConfigError:
            return None

    def _fixed_algorithm(self, trial: FrozenTrial) -> Any:
        fixed = {self._rename.get(k, k): v for k, v in (trial.system_attrs.get("fixed_params") or {}).items()}
        params = {self._rename.get(k, k): v for k, v in trial.params.items()}
        if ALGORITHM_PARAM in params:
            return params[ALGORITHM_PARAM]
        return fixed.get(ALGORITHM_PARAM, _MISSING)

    def _draw(
        self, run: Any, proposal: _TrialProposal, candidates: Sequence[str], fixed: str | None
    ) -> tuple[str, dict[str, Any]]:
        """One proposal of the run: for the ``fixed`` algorithm, else among ``candidates``."""
        if fixed is not None:
            alg, params = run.propose(algorithm=fixed)
            return str(alg), dict(params)
        if set(candidates) == set(self._algorithms):
            alg, params = run.propose()
            if str(alg) in candidates:
                return str(alg), dict(params)
        probs = run.algorithm_probabilities()
        weights = np.array([float(probs.get(c, 0.0)) for c in candidates], dtype=float)
        weights = np.where(np.isfinite(weights) & (weights > 0), weights, 0.0)
        if weights.sum() <= 0:
            weights = np.ones(len(candidates))
        assert proposal.rng is not None
        alg = candidates[int(proposal.rng.choice(len(candidates), p=weights / weights.sum()))]
        alg, params = run.propose(algorithm=alg)
        return str(alg), dict(params)

    def _decide(
        self,
        study: Study,
        trial: FrozenTrial,
        proposal: _TrialProposal,
        candidates: Sequence[str],
        fixed: str | None,
    ) -> str:
        """The trial's configuration: drawn, redrawn while another trial has it (the
        constant liar), claimed on the trial, and recorded as the trial's proposal."""
        run = self._run(study, trial, proposal)
        reject = getattr(run, "reject_last", None)
        for attempt in range(_REDRAWS):
            alg, params = self._draw(run, proposal, candidates, fixed)
            if not self._constant_liar or attempt == _REDRAWS - 1:
                break
            key = self._key(proposal, alg, params)
            if key not in proposal.taken:
                self._claim(study, trial, alg, params)
                if not self._claimed_elsewhere(study, trial, proposal, key):
                    break
            proposal.taken.add(key)
            if reject is not None:
                reject()
        if self._constant_liar:
            self._claim(study, trial, alg, params)
        proposal.algorithm = alg
        proposal.params[alg] = params
        self._record(study, trial, proposal, getattr(run, "last_stage", None) or "policy")
        return alg

    def _claim(self, study: Study, trial: FrozenTrial, alg: str, params: Mapping[str, Any]) -> None:
        from metaopt.spaces._base import _plain

        claim: dict[str, Any] = {"algorithm": alg, "params": {k: _plain(v) for k, v in params.items()}}
        study._storage.set_trial_system_attr(trial._trial_id, CLAIM_ATTR, claim)

    def _claimed_elsewhere(self, study: Study, trial: FrozenTrial, proposal: _TrialProposal, key: str) -> bool:
        """Whether another running or waiting trial has this configuration (read after
        this trial's claim was written: of two workers that propose it at once, the
        later reader sees the other's claim)."""
        for other in study.get_trials(deepcopy=False, states=_IN_FLIGHT):
            if other._trial_id == trial._trial_id:
                continue
            config = self._inflight_config(other)
            if config is not None and self._key(proposal, *config) == key:
                return True
        return False

    def _choose_algorithm(
        self, study: Study, trial: FrozenTrial, proposal: _TrialProposal, dist: CategoricalDistribution
    ) -> str | None:
        candidates = [c for c in dist.choices if isinstance(c, str) and c in self._algorithms]
        if not candidates:
            return None
        if proposal.algorithm in candidates:
            return proposal.algorithm
        fixed = self._fixed_algorithm(trial)
        chosen = fixed if isinstance(fixed, str) and fixed in candidates else None
        return self._decide(study, trial, proposal, candidates, chosen)

    def _meta_value(
        self,
        study: Study,
        trial: FrozenTrial,
        proposal: _TrialProposal,
        name: str,
        dist: BaseDistribution,
    ) -> Any:
        """The proposal's value for a known parameter, in ``dist``; ``_MISSING`` if none."""
        alg, pname = self._known.get(name, (None, None))
        if alg is None:
            return _MISSING
        with self._lock:
            if alg == ALGORITHM_PARAM:
                if not isinstance(dist, CategoricalDistribution):
                    return _MISSING
                chosen = self._choose_algorithm(study, trial, proposal, dist)
                if chosen is None:
                    return _MISSING
                proposal.n_meta += 1
                return next(c for c in dist.choices if c == chosen)
            assert pname is not None
            if alg not in proposal.params and proposal.algorithm is None:
                # the trial's configuration: for its fixed algorithm, else for this one
                fixed = self._fixed_algorithm(trial)
                primary = fixed if isinstance(fixed, str) and fixed in self._algorithms else alg
                self._decide(study, trial, proposal, [primary], primary)
            if alg not in proposal.params:  # the parameters of another algorithm than the trial's
                run = self._run(study, trial, proposal)
                proposed_alg, params = run.propose(algorithm=alg)
                proposal.params[str(proposed_alg)] = dict(params)
            config = proposal.params.get(alg, {})
            if pname not in config:
                return _MISSING
            value = _into_distribution(config[pname], dist)
            if value is not _MISSING:
                proposal.n_meta += 1
            return value


def _optimizer_path(optimizer: Any) -> str | None:
    """The absolute models directory an optimizer is loaded from (None: an object)."""
    if optimizer is not None and not isinstance(optimizer, (str, os.PathLike)):
        return None
    from pathlib import Path

    from metaopt.recommend import default_models_path

    return str(Path(default_models_path(optimizer)).resolve())


def _config_key(algorithm: str, params: Mapping[str, Any]) -> str:
    """A configuration's identity: numbers to 10 significant digits (ints and floats alike)."""
    from metaopt.spaces._base import _plain

    def norm(v: Any) -> Any:
        v = _plain(v)
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return float(f"{float(v):.10g}")
        return repr(v)

    return json.dumps([str(algorithm), sorted((str(k), norm(v)) for k, v in params.items())])


def _into_param(p: Param, value: Any) -> Any:
    """A past trial's value clipped into metaopt's parameter ``p``; ``_MISSING`` if it cannot be."""
    from metaopt.spaces._base import _plain

    value = _plain(value)
    if p.type == "categorical":
        try:
            return p.choices[p.index(value)]
        except ValueError:
            return _MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return _MISSING
    assert p.low is not None and p.high is not None
    clipped = min(max(float(value), float(p.low)), float(p.high))
    return int(round(clipped)) if p.type == "int" else clipped


def _into_distribution(value: Any, dist: BaseDistribution) -> Any:
    """A proposed native value mapped into a study's distribution; ``_MISSING`` if it cannot be."""
    from metaopt.spaces._base import _plain, _same_choice

    value = _plain(value)
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if _same_choice(choice, value):
                return choice
        return _MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return _MISSING
    if isinstance(dist, IntDistribution):
        low, high, step = int(dist.low), int(dist.high), int(dist.step)
        k = round((min(max(float(value), low), high) - low) / step)
        return int(min(low + k * step, high - (high - low) % step))
    if isinstance(dist, FloatDistribution):
        low_f, high_f = float(dist.low), float(dist.high)
        v = min(max(float(value), low_f), high_f)
        if dist.step is not None:
            step_f = float(dist.step)
            n_steps = math.floor((high_f - low_f) / step_f + 1e-9)
            k_f = min(max(round((v - low_f) / step_f), 0), n_steps)
            v = min(low_f + k_f * step_f, high_f)
        return float(v)
    return _MISSING
