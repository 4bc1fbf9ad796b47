"""The search behind the estimators: suggest, cross-validate, tune — within a time budget.

:func:`search` is what :meth:`MetaoptClassifier.fit` / :meth:`MetaoptRegressor.fit` run
before the final refit:

1. :func:`metaopt.suggest` ranks the ``top`` configurations for the task (the shipped
   :class:`~metaopt.recommend.Recommender`, or the one passed as ``models``);
2. they are cross-validated on the task by :func:`metaopt.evaluation.evaluate_many`
   (``n_jobs`` worker processes; MLPs batched on a GPU when torch sees one);
3. optionally ``n_trials`` more configurations (``None``: until the time budget is
   spent) are proposed by the learned sampler
   (:class:`metaopt.integrations.optuna.MetaSampler`, in an in-memory Optuna study that
   already holds the suggestions' results) and cross-validated the same way.

With a time budget, evaluations run in waves of ``n_jobs`` under a per-evaluation time
limit taken from what is left of the budget (the evaluation engine's killable workers
enforce it), so that the search ends within the budget plus 10 %; configurations that
no longer fit are recorded with status ``"skipped"``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import EvaluationError

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.evaluation import Evaluation, Protocol
    from metaopt.recommend import Recommender, Suggestion
    from metaopt.spaces import DataShape
    from metaopt.tasks import Task

__all__ = ["Budget", "Row", "SearchResult", "search"]

#: The clock every budget reads (``time.monotonic``); tests may replace it.
clock: Callable[[], float] = time.monotonic

#: Shortest per-evaluation time limit worth starting an evaluation with (seconds).
MIN_EVALUATION_S = 0.25

#: Most sampler trials when ``n_trials`` is left to the time budget (``n_trials=None``).
BUDGET_TRIALS = 500

#: Share of the time budget the search may overrun (the issue's "+ 10 %").
SLACK = 0.10


@dataclass
class Row:
    """One evaluated (or skipped) configuration: a row of ``cv_results_``."""

    algorithm: str
    params: dict[str, Any]
    config_id: str
    source: str  # "suggest" | "sampler"
    status: str = "skipped"  # ok | timeout | error | skipped
    message: str = ""
    fold_scores: list[float] = field(default_factory=list)
    score: float = math.nan
    fit_time: float = math.nan
    suggestion: Suggestion | None = None

    @property
    def ok(self) -> bool:
        """Whether the row has a cross-validation score."""
        return self.status == "ok" and math.isfinite(self.score)

    def record(self, evaluation: Evaluation) -> None:
        """Copy an evaluation's outcome into the row."""
        self.params = dict(evaluation.params)
        self.config_id = evaluation.config_id
        self.status = evaluation.status
        self.message = evaluation.message
        self.fold_scores = [float(s) for s in evaluation.fold_scores]
        self.score = float(evaluation.score)
        self.fit_time = float(evaluation.fit_time)


@dataclass
class SearchResult:
    """What :func:`search` found: the rows, the suggestions, the metric and the folds."""

    rows: list[Row]
    suggestions: list[Suggestion]
    metric: str
    n_splits: int
    notices: list[str] = field(default_factory=list)


class Budget:
    """Seconds left of a time budget (``None``: no budget), read from :data:`clock`."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.start = clock()
        self.allowance = 0.0
        self._warm = False

    def warm(self, n_jobs: int) -> None:
        """Start the evaluation workers before the first wave's limit is computed.

        With one job the waves run in this thread's evaluation worker; with more, in
        joblib's (reused) worker processes, each with its own evaluation worker. Both
        are started here, outside any limit. Should a worker process not have been
        reached (another one ran two of the start-up calls), the first wave's limit is
        cut by twice the longest start-up measured instead.
        """
        if self._warm or self.seconds is None:
            return
        self._warm = True
        if self.remaining() < MIN_EVALUATION_S:
            return
        from metaopt.evaluation import start_worker

        if n_jobs == 1:
            start_worker()
            return
        import joblib

        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):  # as evaluate_many's
            started = joblib.Parallel(n_jobs=n_jobs)(joblib.delayed(_start_worker)() for _ in range(n_jobs))
        if len({pid for pid, _ in started}) < n_jobs:
            self.allowance = 2.0 * max(took for _, took in started)

    def elapsed(self) -> float:
        """Seconds since the budget started."""
        return clock() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` without a budget)."""
        return math.inf if self.seconds is None else self.seconds - self.elapsed()

    def time_limit(self) -> float | None:
        """The per-evaluation time limit for the next wave; ``None`` when unlimited.

        The largest ``L`` such that an evaluation that the engine stops at ``L`` (plus
        its kill grace ``min(5, 1 + 0.1 L)``) still ends within the budget plus
        :data:`SLACK`, and never more than what is left.

        Raises
        ------
        _Exhausted
            When less than :data:`MIN_EVALUATION_S` would be left for it.
        """
        if self.seconds is None:
            return None
        remaining = self.remaining() - self.allowance
        self.allowance = 0.0
        room = remaining + SLACK * self.seconds
        limit = min(max((room - 1.0) / 1.1, room - 5.0), remaining)
        if limit < MIN_EVALUATION_S:
            raise _Exhausted(f"time budget of {self.seconds:g} s exhausted")
        return float(limit)


def _start_worker() -> tuple[int, float]:
    """(this process's id, seconds its evaluation worker took to start): run in joblib's workers."""
    import os

    from metaopt.evaluation import start_worker

    return os.getpid(), start_worker()


class _Exhausted(Exception):
    """The time budget has no room for another evaluation."""


class Progress:
    """Progress of the search: a bar on a terminal, log lines on stderr otherwise.

    Parameters
    ----------
    verbose
        0: silent; 1 or more: a rich progress bar when stderr is a terminal, else one
        line per evaluation.
    total
        Evaluations planned.
    """

    def __init__(self, verbose: int, total: int) -> None:
        self.verbose = int(verbose or 0)
        self.total = total
        self.done = 0
        self._bar: Any = None
        self._task: Any = None
        if self.verbose and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("metaopt"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=Console(stderr=True), transient=False,
            )
            self._task = self._bar.add_task("", total=total)
            self._bar.start()

    def log(self, message: str) -> None:
        """A line on stderr (when verbose)."""
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            print(f"metaopt: {message}", file=sys.stderr, flush=True)

    def step(self, row: Row) -> None:
        """One evaluation finished (or was skipped)."""
        self.done += 1
        if not self.verbose:
            return
        what = f"{row.algorithm} ({row.source}): {row.status}"
        if row.ok:
            what += f" {row.score:.4f} ± {float(np.std(row.fold_scores)):.4f}"
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=max(self.total, self.done), description=what)
        else:
            print(f"metaopt: [{self.done}/{max(self.total, self.done)}] {what}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop the bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def search(
    task: Task,
    rec: Recommender,
    *,
    top: int,
    cv: int,
    scoring: str | None,
    algorithms: Sequence[str] | None,
    n_trials: int,
    budget: Budget,
    n_jobs: int,
    seed: int,
    progress: Progress,
    open_ended: bool = False,
) -> SearchResult:
    """Suggest, cross-validate and (with ``n_trials``) tune on ``task`` (see the module).

    Raises
    ------
    ConfigError
        For a bad metric, algorithm or models (from :func:`metaopt.suggest` and the
        evaluation engine).
    """
    from metaopt.evaluation import Protocol
    from metaopt.recommend import suggest

    protocol = Protocol(n_splits=cv, seed=seed, metric=scoring)
    metric = protocol.metric_for(task.kind)  # ConfigError for a metric that does not apply
    suggestions = _suggest(suggest, task, top, algorithms, budget, rec, seed, cv)
    for s in suggestions:
        _ = s.spec  # build the specs now: the suggestions are kept (and pickled) with the estimator
    rows = [Row(s.algorithm, dict(s.params), s.config_id, "suggest", suggestion=s) for s in suggestions]
    progress.total = len(rows) + (0 if open_ended else n_trials)
    notices: list[str] = []
    try:
        n_splits = protocol.n_folds_for(
            task.y.cat.codes.to_numpy() if task.is_classification else None, task.n_rows
        )
    except EvaluationError as exc:  # tiny data: no cross-validation, the first suggestion wins
        notices.append(f"no cross-validation ({exc}); the first suggestion is used")
        for row in rows:
            row.message = notices[-1]
            progress.step(row)
        return SearchResult(rows, suggestions, metric, 0, notices)
    _evaluate_rows(task, rows, protocol, budget, n_jobs, progress)
    if n_trials > 0 and budget.remaining() > 0:
        rows += _tune(task, rec, rows, n_trials, algorithms, protocol, budget, n_jobs, seed, progress)
    return SearchResult(rows, suggestions, metric, n_splits, notices)


def _suggest(
    suggest: Callable[..., list[Suggestion]],
    task: Task,
    top: int,
    algorithms: Sequence[str] | None,
    budget: Budget,
    rec: Recommender,
    seed: int,
    cv: int,
) -> list[Suggestion]:
    """The suggestions; with a budget, those expected to fit ``cv + 1`` times within it
    (all of them, if none is)."""
    from metaopt._exceptions import ConfigError

    per_fit = None if budget.seconds is None else budget.seconds / (cv + 1)
    try:
        return suggest(task, top=top, algorithms=algorithms, time_budget=per_fit, models=rec, seed=seed)
    except ConfigError:
        if per_fit is None:
            raise
    return suggest(task, top=top, algorithms=algorithms, models=rec, seed=seed)


def _evaluate_rows(
    task: Task,
    rows: Sequence[Row],
    protocol: Protocol,
    budget: Budget,
    n_jobs: int,
    progress: Progress,
) -> None:
    """Cross-validate ``rows`` in place: all at once without a budget, else in waves of
    ``n_jobs`` with the time limit the budget leaves (the rest ``"skipped"``)."""
    from metaopt.evaluation import evaluate_many
    from metaopt.spaces import DataShape

    shape = DataShape.of(task)
    wave = len(rows) if budget.seconds is None else max(n_jobs, 1)
    for start in range(0, len(rows), max(wave, 1)):
        batch = rows[start : start + wave]
        budget.warm(n_jobs)
        try:
            limit = budget.time_limit()
        except _Exhausted as exc:
            for row in rows[start:]:
                row.message = str(exc)
                progress.step(row)
            return
        wave_protocol = dataclasses.replace(protocol, time_limit=limit)
        keys = [_engine_id(row, shape) for row in batch]
        unique = {key: row for key, row in zip(keys, batch, strict=True)}
        jobs = [(task, row.algorithm, row.params) for row in unique.values()]
        results = {e.config_id: e for e in evaluate_many(jobs, wave_protocol, n_jobs=n_jobs)}
        for key, row in zip(keys, batch, strict=True):
            if key in results:
                row.record(results[key])
            progress.step(row)


def _engine_id(row: Row, shape: DataShape) -> str:
    """The config id the evaluation engine gives the row's config (defaults filled in)."""
    from metaopt.spaces import config_id, get_space

    return config_id(row.algorithm, get_space(row.algorithm).validate(row.params, shape))


def _tune(
    task: Task,
    rec: Recommender,
    rows: list[Row],
    n_trials: int,
    algorithms: Sequence[str] | None,
    protocol: Protocol,
    budget: Budget,
    n_jobs: int,
    seed: int,
    progress: Progress,
) -> list[Row]:
    """``n_trials`` configurations from the learned sampler, cross-validated like the
    suggestions (in batches of ``n_jobs``); returns their rows."""
    import warnings

    import optuna
    from optuna.trial import TrialState

    from metaopt.integrations.optuna import ALGORITHM_PARAM
    from metaopt.spaces import DataShape, config_id, get_space

    shape = DataShape.of(task)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler, algs = _sampler(task, rec, algorithms, shape, seed)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            _replay(study, rows, algs, shape)
            seen = {row.config_id: row for row in rows if row.status != "skipped"}
            new: list[Row] = []
            asked = 0
            while asked < n_trials:
                size = min(max(n_jobs, 1), n_trials - asked)
                batch: list[tuple[Any, Row]] = []
                for _ in range(size):
                    trial = study.ask()
                    alg = str(trial.suggest_categorical(ALGORITHM_PARAM, algs))
                    params = get_space(alg).validate(
                        get_space(alg).sample(trial, shape, prefix=f"{alg}__"), shape
                    )
                    batch.append((trial, Row(alg, params, config_id(alg, params), "sampler")))
                asked += size
                fresh = [row for _, row in batch if row.config_id not in seen]
                fresh = list({row.config_id: row for row in fresh}.values())
                _evaluate_rows(task, fresh, protocol, budget, n_jobs, progress)
                for row in fresh:
                    if row.status != "skipped":
                        seen[row.config_id] = row
                        new.append(row)
                for trial, row in batch:
                    known = seen.get(row.config_id, row)
                    if known.ok:
                        study.tell(trial, known.score)
                    else:
                        study.tell(trial, state=TrialState.FAIL)
                if any(row.status == "skipped" for row in fresh) or budget.remaining() <= 0:
                    break  # the budget is spent
            return new
    finally:
        optuna.logging.set_verbosity(verbosity)


def _sampler(
    task: Task, rec: Recommender, algorithms: Sequence[str] | None, shape: Any, seed: int
) -> tuple[Any, list[str]]:
    """The learned sampler (TPE when the models hold no learned optimizer) and its algorithms."""
    import optuna

    from metaopt.integrations.optuna import MetaSampler
    from metaopt.integrations.optuna._naming import allowed_algorithms

    if rec.optimizer_ is None:
        known = [a for a in allowed_algorithms(shape, algorithms) if a in rec.algorithms]
        return optuna.samplers.TPESampler(seed=seed), known or allowed_algorithms(shape, algorithms)
    sampler = MetaSampler(task=task, algorithms=algorithms, seed=seed, optimizer=rec.optimizer_)
    return sampler, sampler.algorithms


def _replay(study: Any, rows: Sequence[Row], algs: Sequence[str], shape: Any) -> None:
    """Add the evaluated rows to ``study`` as finished trials, so the sampler starts from them."""
    import optuna
    from optuna.trial import TrialState

    from metaopt.integrations.optuna import ALGORITHM_PARAM, param_name, search_space
    from metaopt.integrations.optuna._warm_start import contains

    space = search_space(shape, algs)
    for row in rows:
        if row.status == "skipped" or row.algorithm not in algs:
            continue
        params: dict[str, Any] = {ALGORITHM_PARAM: row.algorithm}
        for name, value in row.params.items():
            key = param_name(row.algorithm, name)
            if key in space and contains(space[key], value):
                params[key] = value
        trial = optuna.trial.create_trial(
            params=params,
            distributions={k: space[k] for k in params},
            value=row.score if row.ok else None,
            state=TrialState.COMPLETE if row.ok else TrialState.FAIL,
        )
        study.add_trial(trial)
