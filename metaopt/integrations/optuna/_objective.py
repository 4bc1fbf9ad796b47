"""``objective(data)``: an Optuna objective over metaopt's search spaces."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metaopt._exceptions import ConfigError
from metaopt.integrations.optuna._naming import (
    ALGORITHM_PARAM,
    allowed_algorithms,
    config_from_params,
    search_space,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial, FrozenTrial

    from metaopt.evaluation import Evaluation, Protocol
    from metaopt.spaces import DataShape
    from metaopt.tasks import Task

__all__ = ["Objective", "objective", "resolve_task"]


def resolve_task(
    data: str | os.PathLike[str] | pd.DataFrame | Task | None,
    target: str | None = None,
    task: Task | None = None,
    *,
    kind: str | None = None,
    openml_cache: str | os.PathLike[str] | None = None,
) -> Task:
    """``task`` if given, else ``data`` loaded with :func:`metaopt.load_task` (a Task as is)."""
    from metaopt.tasks import Task as _Task
    from metaopt.tasks import load_task

    if task is not None:
        if not isinstance(task, _Task):
            raise ConfigError(
                f"task= must be a metaopt Task, got {type(task).__name__}",
                "pass the data as data= (a path or DataFrame), or load it with metaopt.load_task",
            )
        return task
    if data is None:
        raise ConfigError("no data given", "pass data= (a path or DataFrame) or task= (a loaded Task)")
    if isinstance(data, _Task):
        return data
    return load_task(data, target, kind=kind, openml_cache=openml_cache)


class Objective:
    """An Optuna objective: ``objective(trial) -> float``, greater is better.

    Each call asks the trial for ``"algorithm"`` (a categorical over
    :attr:`algorithms`, even when there is only one) and that algorithm's active
    parameters as ``"{algorithm}__{param}"`` (:meth:`metaopt.spaces.SearchSpace.sample`),
    then cross-validates the config with :func:`metaopt.evaluation.evaluate` under
    :attr:`protocol`. Create the study with ``direction="maximize"``.

    Every trial gets the user attributes ``status`` (``ok | timeout | error``),
    ``message``, ``metric``, ``fold_scores``, ``fit_time`` (mean seconds per fold, NaN
    when no fold finished) and ``config_id``. A failed or timed-out evaluation returns
    ``float("nan")``: Optuna records the trial as FAIL (its user attributes say why)
    and the optimization goes on; it is never raised and never lost.

    Errors that no config could avoid (an unknown metric, too few rows for the folds)
    are raised as :class:`metaopt.MetaoptError` from the first call.

    Instances pickle (they hold the task, not a loader), so worker processes can run
    them.

    Attributes
    ----------
    task
        The :class:`~metaopt.tasks.Task` being tuned.
    shape
        Its :class:`~metaopt.spaces.DataShape`.
    algorithms
        The searched algorithms, in :data:`metaopt.spaces.ALGORITHMS` order.
    protocol
        The :class:`~metaopt.evaluation.Protocol` every trial is scored under.
    """

    def __init__(self, task: Task, algorithms: Sequence[str] | None, protocol: Protocol) -> None:
        from metaopt.spaces import DataShape

        self.task = task
        self.shape: DataShape = DataShape.of(task)
        self.algorithms: list[str] = allowed_algorithms(self.shape, algorithms)
        self.protocol = protocol
        self.metric: str = protocol.metric_for(task.kind)  # ConfigError for a bad metric

    def __repr__(self) -> str:
        return (
            f"Objective(task={self.task.name!r}, algorithms={self.algorithms!r}, "
            f"metric={self.metric!r}, folds={self.protocol.n_splits})"
        )

    @property
    def search_space(self) -> dict[str, BaseDistribution]:
        """The distributions this objective asks for, by parameter name (see :func:`search_space`)."""
        return search_space(self.shape, self.algorithms)

    def config(self, trial: FrozenTrial | BaseTrial) -> tuple[str, dict[str, Any]]:
        """The ``(algorithm, params)`` a finished trial evaluated (names unprefixed)."""
        pair = config_from_params(trial.params, algorithms=self.algorithms)
        if pair is None or ALGORITHM_PARAM not in trial.params:
            raise ConfigError(
                f"trial {getattr(trial, 'number', '?')} has no {ALGORITHM_PARAM!r} parameter "
                f"among {self.algorithms}: its parameters are {sorted(trial.params)}",
                "use a trial of a study that this objective ran",
            )
        return pair

    def evaluate(self, algorithm: str, params: dict[str, Any]) -> Evaluation:
        """Cross-validate one config under :attr:`protocol`."""
        from metaopt.evaluation import evaluate

        return evaluate(self.task, algorithm, params, self.protocol)

    def __call__(self, trial: BaseTrial) -> float:
        from metaopt.spaces import get_space

        algorithm = trial.suggest_categorical(ALGORITHM_PARAM, self.algorithms)
        alg = str(algorithm)
        params = get_space(alg).sample(trial, self.shape, prefix=f"{alg}__")
        result = self.evaluate(alg, params)
        trial.set_user_attr("status", result.status)
        trial.set_user_attr("message", result.message)
        trial.set_user_attr("metric", result.metric)
        trial.set_user_attr("fold_scores", [float(s) for s in result.fold_scores])
        fit_time = float(result.fit_time)
        trial.set_user_attr("fit_time", fit_time if math.isfinite(fit_time) else None)
        trial.set_user_attr("config_id", result.config_id)
        if not result.ok or not math.isfinite(result.score):
            return float("nan")
        return float(result.score)


def objective(
    data: str | os.PathLike[str] | pd.DataFrame | Task | None = None,
    target: str | None = None,
    algorithms: Sequence[str] | None = None,
    metric: str | None = None,
    *,
    protocol: Protocol | None = None,
    task: Task | None = None,
) -> Objective:
    """An Optuna objective that tunes metaopt's algorithms on a dataset.

    Parameters
    ----------
    data
        Anything :func:`metaopt.load_task` accepts (a path, a DataFrame), or a Task.
    target
        Target column (default: the last); ignored for a Task.
    algorithms
        Algorithms to search (default: every one that supports the data).
    metric
        A scikit-learn scorer name (default: ROC-AUC for binary, balanced accuracy
        for multiclass, R² for regression); overrides ``protocol.metric``.
    protocol
        How configs are scored (default: ``Protocol()``, 5 folds, ≤ 10,000 rows).
    task
        A loaded :class:`~metaopt.tasks.Task` instead of ``data``.

    Returns
    -------
    Objective
        Call it with a trial; see :class:`Objective` for the parameter names, user
        attributes and failures (``float("nan")``, so Optuna marks the trial FAIL).

    Examples
    --------
    >>> import optuna, metaopt.optuna as mo            # doctest: +SKIP
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(mo.objective("datasets/examples/penguins.csv"), n_trials=20)
    """
    from metaopt.evaluation import Protocol

    loaded = resolve_task(data, target, task)
    proto = protocol if protocol is not None else Protocol()
    if metric is not None:
        proto = dataclasses.replace(proto, metric=metric)
    return Objective(loaded, algorithms, proto)
