"""Scoring one config on one task: :func:`evaluate` and the code a worker runs."""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError
from metaopt.evaluation._protocol import Protocol, _scorer
from metaopt.evaluation._result import Evaluation, runtime_versions, truncate

if TYPE_CHECKING:
    from metaopt.tasks import Task

__all__ = ["EstimatorFactory", "evaluate", "space_estimator"]

#: ``factory(algorithm, params, task, seed) -> unfitted scikit-learn estimator``.
#: It must be a module-level function (it is sent to worker processes by reference).
EstimatorFactory = Callable[[str, dict[str, Any], "Task", int], Any]


def space_estimator(algorithm: str, params: dict[str, Any], task: Task, seed: int) -> Any:
    """The default estimator factory: ``get_space(algorithm).to_estimator(params, task)``."""
    from metaopt.spaces import get_space

    return get_space(algorithm).to_estimator(params, task, seed=seed)


@dataclass
class _Prepared:
    """A task cut down to the rows a protocol uses, plus what a worker needs to score it."""

    task: Task  # the subsampled task (index reset)
    y: np.ndarray  # int class codes (classification) or float targets
    stratify: bool


def prepare_task(task: Task, protocol: Protocol) -> _Prepared:
    """Subsample ``task`` as ``protocol`` says; done once per task, before shipping."""
    from metaopt.tasks import Task as _Task

    rows = protocol.subsample(task)
    if len(rows) == task.n_rows:
        sub = task
    else:
        sub = _Task(
            X=task.X.iloc[rows].reset_index(drop=True),
            y=task.y.iloc[rows].reset_index(drop=True),
            kind=task.kind,
            task_id=task.task_id,
            name=task.name,
            source=task.source,
            group=task.group,
            target=task.target,
            column_roles=dict(task.column_roles),
        )
    if sub.is_classification:
        y = sub.y.cat.codes.to_numpy().astype(np.int64)
        # categories the subsample lost would leave gaps in the codes: re-number
        _, y = np.unique(y, return_inverse=True)
        y = y.astype(np.int64)
    else:
        y = sub.y.to_numpy(dtype=np.float64)
    prepared = _Prepared(task=sub, y=y, stratify=sub.is_classification)
    protocol.n_folds_for(y if prepared.stratify else None, sub.n_rows)  # EvaluationError early
    return prepared


@dataclass(frozen=True)
class _Checked:
    """A job after validation: normalised params, ids and the resolved metric."""

    algorithm: str
    params: dict[str, Any]
    config_id: str
    metric: str


def check_job(
    prepared: _Prepared,
    algorithm: str,
    params: dict[str, Any] | None,
    protocol: Protocol,
    factory: EstimatorFactory | None,
) -> _Checked:
    """Validate a job before it runs; every problem raises :class:`ConfigError`."""
    from metaopt.spaces import DataShape, config_id, get_space

    if not isinstance(algorithm, str):
        raise ConfigError(f"algorithm must be a name such as 'hgb', got {algorithm!r}")
    metric = protocol.metric_for(prepared.task.kind)
    if params is not None and not isinstance(params, dict):
        raise ConfigError(
            f"params must be a dict of hyperparameters, got {type(params).__name__}",
            hint='pass e.g. {"learning_rate": 0.1}',
        )
    if factory is None:
        space = get_space(algorithm)
        shape = DataShape.of(prepared.task)
        reason = space.supports(shape)
        if reason is not None:
            raise ConfigError(
                f"{algorithm} cannot be evaluated on task {prepared.task.task_id}: {reason}",
                hint="choose another algorithm for this task",
            )
        full = space.validate(params, shape)
    else:
        full = dict(params or {})
    return _Checked(algorithm, full, config_id(algorithm, full), metric)


def _set_seed(estimator: Any, seed: int) -> None:
    """Set every unset ``random_state`` of ``estimator`` (and its steps) to ``seed``."""
    try:
        current = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - not a scikit-learn estimator: leave it
        return
    unset = {
        k: seed for k, v in current.items() if (k == "random_state" or k.endswith("__random_state")) and v is None
    }
    if unset:
        estimator.set_params(**unset)


def _device_of(estimator: Any) -> str:
    """``device_`` of the fitted model step if it has one (torch models), else ``"cpu"``."""
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    device = getattr(model, "device_", None)
    return str(device) if device is not None else "cpu"


def run_folds(
    prepared: _Prepared,
    checked: _Checked,
    protocol: Protocol,
    factory: EstimatorFactory | None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Fit and score every fold; the body of an evaluation, in whatever process runs it.

    Never raises for a failing config: the outcome is a dict with ``status``,
    ``message``, ``fold_scores``, ``fit_times``, ``predict_times``, ``device`` and
    ``versions``. ``deadline`` (a ``time.monotonic()`` value) stops between folds
    with status ``"timeout"``; a worker killed mid-fold is handled by the caller.

    The body runs on one thread: BLAS/OpenMP pools are limited to one thread, and
    joblib's backend is ``sequential``, so that scikit-learn's inner ``Parallel`` calls
    (forest trees, ColumnTransformer branches) stay in this worker. Under joblib's Dask
    backend they would otherwise be sent back to the cluster as tasks of their own.
    """
    import joblib
    from sklearn.base import clone
    from threadpoolctl import threadpool_limits

    build = factory if factory is not None else space_estimator
    out: dict[str, Any] = {
        "status": "ok",
        "message": "",
        "fold_scores": [],
        "fit_times": [],
        "predict_times": [],
        "device": "cpu",
    }
    torch_threads = None
    try:
        with (
            warnings.catch_warnings(),
            threadpool_limits(limits=1),
            joblib.parallel_config(backend="sequential"),
        ):
            warnings.simplefilter("ignore")
            if "torch" in sys.modules:
                torch = sys.modules["torch"]
                torch_threads = torch.get_num_threads()
                torch.set_num_threads(1)
            scorer = _scorer(checked.metric)
            template = build(checked.algorithm, dict(checked.params), prepared.task, protocol.seed)
            _set_seed(template, protocol.seed)
            X = prepared.task.X
            y = prepared.y
            splits = protocol.folds(y if prepared.stratify else None, len(y))
            for i, (train, test) in enumerate(splits):
                if deadline is not None and time.monotonic() > deadline:
                    out["status"] = "timeout"
                    out["message"] = (
                        f"time limit of {protocol.time_limit:g}s reached after {i} folds"
                    )
                    break
                est = clone(template)
                t0 = time.perf_counter()
                est.fit(X.iloc[train], y[train])
                t1 = time.perf_counter()
                value = float(scorer(est, X.iloc[test], y[test]))
                t2 = time.perf_counter()
                out["fit_times"].append(t1 - t0)
                out["predict_times"].append(t2 - t1)
                if not math.isfinite(value):
                    out["status"] = "error"
                    out["message"] = f"fold {i}: the {checked.metric} scorer returned {value}"
                    break
                out["fold_scores"].append(value)
                out["device"] = _device_of(est)
    except Exception as exc:  # noqa: BLE001 - failures are data
        out["status"] = "error"
        out["message"] = truncate(f"{type(exc).__name__}: {exc}")
    finally:
        if torch_threads is not None:
            sys.modules["torch"].set_num_threads(torch_threads)
    out["versions"] = runtime_versions(with_torch=out["device"] != "cpu" or "torch" in sys.modules)
    return out


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def to_evaluation(
    prepared: _Prepared,
    checked: _Checked,
    protocol: Protocol,
    outcome: dict[str, Any],
    started_at: str,
) -> Evaluation:
    """Assemble the :class:`Evaluation` from a worker's outcome dict."""
    scores = [float(s) for s in outcome.get("fold_scores", [])]
    fits = outcome.get("fit_times", [])
    preds = outcome.get("predict_times", [])
    status = outcome["status"]
    return Evaluation(
        task_id=prepared.task.task_id,
        algorithm=checked.algorithm,
        config_id=checked.config_id,
        params=dict(checked.params),
        metric=checked.metric,
        fold_scores=scores,
        score=float(np.mean(scores)) if status == "ok" and scores else math.nan,
        fit_time=float(np.mean(fits)) if fits else math.nan,
        predict_time=float(np.mean(preds)) if preds else math.nan,
        status=status,
        message=outcome.get("message", ""),
        seed=protocol.seed,
        protocol_id=protocol.protocol_id,
        n_rows_used=prepared.task.n_rows,
        versions=dict(outcome.get("versions") or runtime_versions()),
        device=outcome.get("device", "cpu"),
        started_at=started_at,
        time_limit=protocol.time_limit,
    )


def evaluate_checked(
    prepared: _Prepared,
    checked: _Checked,
    protocol: Protocol,
    factory: EstimatorFactory | None,
) -> Evaluation:
    """Run one validated job: in this process, or in a killable worker if limits are set."""
    started_at = now_iso()
    if protocol.isolated:
        from metaopt.evaluation._sandbox import run_isolated

        outcome = run_isolated(prepared, checked, protocol, factory)
    else:
        outcome = run_folds(prepared, checked, protocol, factory)
    return to_evaluation(prepared, checked, protocol, outcome, started_at)


def evaluate(
    task: Task,
    algorithm: str,
    params: dict[str, Any] | None = None,
    protocol: Protocol | None = None,
    *,
    estimator_factory: EstimatorFactory | None = None,
) -> Evaluation:
    """Score one configuration on one task by cross-validation.

    Parameters
    ----------
    task
        The task to evaluate on.
    algorithm
        A search-space name (``metaopt.spaces.ALGORITHMS``), e.g. ``"hgb"``.
    params
        A (partial) configuration; missing parameters take the space's defaults.
        ``None`` evaluates the default configuration.
    protocol
        How rows are sampled, split and scored, and the resource limits
        (:class:`Protocol`); ``None`` uses ``Protocol()``.
    estimator_factory
        Replaces the search spaces: ``factory(algorithm, params, task, seed)`` returns
        an unfitted estimator for ``task.X``; ``params`` are then used as given. Must
        be a module-level function when the protocol has limits (it is sent to the
        worker process).

    Returns
    -------
    Evaluation
        With ``status`` ``"ok"``, ``"timeout"`` or ``"error"``; a config that fails
        or runs out of time is recorded, not raised.

    Raises
    ------
    ConfigError
        If the algorithm, params or metric are invalid for this task.
    EvaluationError
        If the protocol cannot be applied to the task (e.g. a class with one example).
    """
    protocol = protocol if protocol is not None else Protocol()
    prepared = prepare_task(task, protocol)
    checked = check_job(prepared, algorithm, params, protocol, estimator_factory)
    return evaluate_checked(prepared, checked, protocol, estimator_factory)
