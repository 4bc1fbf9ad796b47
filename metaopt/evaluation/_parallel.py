"""Many evaluations at once: joblib processes on one machine, or a Dask cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from metaopt._exceptions import ConfigError
from metaopt._optional import import_optional
from metaopt.evaluation._engine import (
    EstimatorFactory,
    _Checked,
    _Prepared,
    check_job,
    evaluate_checked,
    prepare_task,
)
from metaopt.evaluation._protocol import Protocol
from metaopt.evaluation._result import Evaluation

if TYPE_CHECKING:
    from metaopt.tasks import Task

__all__ = ["Job", "ProgressCallback", "evaluate_many"]

#: ``callback(done, total, evaluation)``, called once per finished evaluation.
ProgressCallback = Callable[[int, int, Evaluation], None]

#: The algorithm whose configs go to the batched trainer on a GPU.
MLP_ALGORITHM = "mlp"


@dataclass(frozen=True)
class Job:
    """One evaluation to run: a task, an algorithm name and a (partial) config."""

    task: Task
    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)


def _as_job(item: Job | tuple[Any, ...]) -> Job:
    if isinstance(item, Job):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        return Job(item[0], item[1], dict(item[2]) if len(item) == 3 and item[2] is not None else {})
    raise ConfigError(
        f"a job is a Job or a (task, algorithm, params) tuple, got {type(item).__name__}",
        hint="pass e.g. [(task, 'hgb', {'learning_rate': 0.1})]",
    )


def _run_batch(
    prepared: _Prepared,
    checked: list[_Checked],
    protocol: Protocol,
    factory: EstimatorFactory | None,
) -> list[Evaluation]:
    """Worker side: evaluate several configs on one (shipped once) task."""
    return [evaluate_checked(prepared, c, protocol, factory) for c in checked]


def _cuda_device() -> str | None:
    """``"cuda"`` when torch sees a GPU, else None (imports torch only when asked)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return "cuda" if torch.cuda.is_available() else None


def _batch_size(n_items: int, n_workers: int) -> int:
    """Configs per dispatched batch: large enough to amortise shipping, small enough
    to keep every worker busy (about 8 batches per worker, at most 8 configs each)."""
    return max(1, min(8, n_items // (8 * max(n_workers, 1))))


def evaluate_many(
    jobs: Iterable[Job | tuple[Any, ...]],
    protocol: Protocol | None = None,
    *,
    n_jobs: int | None = None,
    backend: Literal["loky", "dask"] = "loky",
    scheduler: Any = None,
    progress: bool | ProgressCallback = False,
    estimator_factory: EstimatorFactory | None = None,
    batch_size: int | None = None,
    device: str | None = "auto",
) -> Iterator[Evaluation]:
    """Evaluate many configs in parallel and yield each result as soon as it is ready.

    Every job is validated (and its task subsampled per ``protocol``) before anything
    runs, so a bad algorithm name or parameter raises at once. Results come back in
    completion order, not job order; match them by ``(task_id, config_id)``.

    Parameters
    ----------
    jobs
        :class:`Job` objects or ``(task, algorithm, params)`` tuples.
    protocol
        The :class:`Protocol` (folds, rows, metric, time and memory limits) applied to
        every job; ``None`` uses ``Protocol()``.
    n_jobs
        Parallel workers; ``-1``: every CPU (loky) or every worker of the cluster
        (Dask). ``None`` means ``1`` for loky (run in this process) and ``-1`` for Dask.
    backend
        ``"loky"``: joblib worker processes on this machine, each limited to one
        thread (``OMP_NUM_THREADS=1`` and friends). ``"dask"``: joblib's Dask backend
        on a ``dask.distributed`` cluster; large task data is scattered once.
    scheduler
        For ``backend="dask"``: a ``distributed.Client``, a scheduler address, or
        ``None`` for the current default client.
    progress
        ``True`` shows a progress bar (rich, on stderr); a callable is called as
        ``callback(done, total, evaluation)`` after each evaluation.
    estimator_factory
        See :func:`evaluate`; must be picklable by reference when ``n_jobs != 1``.
    batch_size
        Configs of one task sent to a worker together (their task data is shipped
        once per batch); ``None`` chooses one from the number of jobs and workers.
    device
        ``"auto"`` sends MLP configs to the batched trainer
        (:func:`metaopt.models.train_population`) when torch sees a CUDA GPU; a torch
        device string forces it; ``None`` evaluates every config one at a time.

    Yields
    ------
    Evaluation
        One per job, in completion order.

    Raises
    ------
    ConfigError, EvaluationError
        At call time, for an invalid job or a protocol that does not fit a task.
    MissingDependencyError
        At call time, for ``backend="dask"`` without dask.distributed installed (the
        ``dask`` extra).
    """
    protocol = protocol if protocol is not None else Protocol()
    n_jobs = _check_backend(backend, n_jobs)
    prepared_by_task, groups = _check_jobs(jobs, protocol, estimator_factory)
    total = sum(len(g) for g in groups.values())
    target_device = _population_device(device, groups, estimator_factory)
    population = _split_population(groups) if target_device is not None else {}
    callback = _progress_callback(progress, total)
    return _generate(
        prepared_by_task, groups, population, target_device, protocol, n_jobs, backend,
        scheduler, estimator_factory, batch_size, callback, total,
    )


def _check_backend(backend: str, n_jobs: int | None) -> int:
    """Validate ``backend`` and ``n_jobs``; return ``n_jobs`` with its default filled in."""
    if backend not in ("loky", "dask"):
        raise ConfigError(f"unknown backend {backend!r}", hint="use 'loky' or 'dask'")
    if backend == "dask":
        _distributed()
    if n_jobs is None:
        n_jobs = -1 if backend == "dask" else 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    return n_jobs


def _check_jobs(
    jobs: Iterable[Job | tuple[Any, ...]],
    protocol: Protocol,
    factory: EstimatorFactory | None,
) -> tuple[dict[int, _Prepared], dict[int, list[_Checked]]]:
    """Validate every job up front, preparing each distinct task once.

    Returns the prepared tasks and the checked jobs, both keyed by ``id(task)``.
    """
    prepared_by_task: dict[int, _Prepared] = {}
    groups: dict[int, list[_Checked]] = {}
    for raw in jobs:
        job = _as_job(raw)
        key = id(job.task)
        if key not in prepared_by_task:
            prepared_by_task[key] = prepare_task(job.task, protocol)
            groups[key] = []
        groups[key].append(check_job(prepared_by_task[key], job.algorithm, job.params, protocol, factory))
    return prepared_by_task, groups


def _split_population(groups: dict[int, list[_Checked]]) -> dict[int, list[_Checked]]:
    """Move the MLP jobs out of ``groups`` (in place) into the batched-trainer population."""
    population: dict[int, list[_Checked]] = {}
    for key, checked in groups.items():
        mlps = [c for c in checked if c.algorithm == MLP_ALGORITHM]
        if mlps:
            population[key] = mlps
            groups[key] = [c for c in checked if c.algorithm != MLP_ALGORITHM]
    return population


def _population_device(
    device: str | None, groups: dict[int, list[_Checked]], factory: EstimatorFactory | None
) -> str | None:
    """The device for batched MLP training, or None to evaluate MLPs one by one."""
    if device is None or factory is not None:
        return None
    if not any(c.algorithm == MLP_ALGORITHM for checked in groups.values() for c in checked):
        return None
    if device == "auto":
        return _cuda_device()
    return device


def _progress_callback(progress: bool | ProgressCallback, total: int) -> tuple[ProgressCallback | None, Any]:
    if callable(progress):
        return progress, None
    if not progress:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=Console(stderr=True), transient=False,
    )
    bar_task = bar.add_task("", total=total)

    def update(done: int, _total: int, evaluation: Evaluation) -> None:
        bar.update(bar_task, completed=done, description=f"{evaluation.algorithm}: {evaluation.status}")

    return update, bar


def _generate(
    prepared_by_task: dict[int, _Prepared],
    groups: dict[int, list[_Checked]],
    population: dict[int, list[_Checked]],
    population_device: str | None,
    protocol: Protocol,
    n_jobs: int,
    backend: str,
    scheduler: Any,
    factory: EstimatorFactory | None,
    batch_size: int | None,
    callback: tuple[ProgressCallback | None, Any],
    total: int,
) -> Iterator[Evaluation]:
    notify, bar = callback
    done = 0
    with contextlib.ExitStack() as stack:
        if bar is not None:
            stack.enter_context(bar)
        sources: list[Iterator[Evaluation]] = []
        cpu = _cpu_results(prepared_by_task, groups, protocol, n_jobs, backend, scheduler, factory, batch_size, stack)
        if population:
            from metaopt.evaluation._population import evaluate_population

            sources.append(
                evaluate_population(prepared_by_task, population, protocol, population_device or "cuda")
            )
        sources.append(cpu)
        for source in sources:
            for evaluation in source:
                done += 1
                if notify is not None:
                    notify(done, total, evaluation)
                yield evaluation


def _cpu_results(
    prepared_by_task: dict[int, _Prepared],
    groups: dict[int, list[_Checked]],
    protocol: Protocol,
    n_jobs: int,
    backend: str,
    scheduler: Any,
    factory: EstimatorFactory | None,
    batch_size: int | None,
    stack: contextlib.ExitStack,
) -> Iterator[Evaluation]:
    n_items = sum(len(g) for g in groups.values())
    if n_items == 0:
        return iter(())
    if backend == "loky" and n_jobs == 1:
        return (
            evaluate_checked(prepared_by_task[key], c, protocol, factory)
            for key, checked in groups.items()
            for c in checked
        )

    import joblib

    if backend == "dask":
        client = _dask_client(scheduler, stack)
        _register_sizeof()
        workers = len(client.scheduler_info().get("workers", {})) if n_jobs == -1 else n_jobs
        stack.enter_context(joblib.parallel_config(backend="dask"))
    else:
        workers = n_jobs if n_jobs > 0 else joblib.cpu_count()
        stack.enter_context(joblib.parallel_config(backend="loky", inner_max_num_threads=1))
    size = batch_size or _batch_size(n_items, workers)
    calls = []
    for key, checked in groups.items():
        prepared = prepared_by_task[key]
        for start in range(0, len(checked), size):
            # the same _Prepared object in every batch: the Dask backend scatters it once
            calls.append(joblib.delayed(_run_batch)(prepared, checked[start : start + size], protocol, factory))
    parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered", pre_dispatch="2*n_jobs")
    return (evaluation for batch in parallel(calls) for evaluation in batch)


def _distributed() -> Any:
    """The ``distributed`` module, or a MissingDependencyError naming the ``dask`` extra."""
    import_optional("dask", extra="dask", purpose="backend='dask'")
    return import_optional("distributed", extra="dask", purpose="backend='dask'")


def _dask_client(scheduler: Any, stack: contextlib.ExitStack) -> Any:
    """The ``distributed.Client`` to run on (created from an address if needed)."""
    distributed = _distributed()
    Client = distributed.Client
    if scheduler is None:
        try:
            return distributed.default_client()
        except ValueError:
            raise ConfigError(
                "backend='dask' needs a running dask.distributed cluster, and there is no default client",
                hint="pass scheduler=<address or Client>, or create distributed.Client(...) first",
            ) from None
    if isinstance(scheduler, Client):
        return scheduler
    return stack.enter_context(Client(scheduler))


def _register_sizeof() -> None:
    """Tell Dask how big a prepared task is, so joblib's Dask backend scatters it once
    (it scatters arguments larger than 1 kB) instead of shipping it with every batch."""
    from dask.sizeof import sizeof

    @sizeof.register(_Prepared)
    def _sizeof_prepared(p: _Prepared) -> int:
        return int(sizeof(p.task.X) + sizeof(p.task.y) + p.y.nbytes)
