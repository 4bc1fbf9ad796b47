"""The knowledge-base builder (``metaopt kb build``): resumable, idempotent, distributable.

For every task of a source the builder records

1. a ``tasks`` row (``status="error"`` with the message when the task cannot be loaded
   or its meta-features cannot be computed; that task then gets nothing else);
2. a ``metafeatures`` row of the current meta-feature version;
3. one ``evaluations`` row per job: for each algorithm, its default config plus
   ``configs_per_algorithm`` configs of a scrambled Sobol design over its space, seeded
   by the algorithm alone: every task of a kind evaluates the same pool of configs
   (a task × config matrix, as portfolio and nearest-dataset baselines and exact
   leave-dataset-out regret need), and the plan of a task never changes between runs.
   An algorithm whose space does not support the task (``space.supports(shape)``
   names a reason) gets one row with ``status="skipped"`` under its default config's
   id and the reason as message, so ``kb info`` can say why it is missing and a
   resumed build does not reconsider it.

**Resume and idempotency.** The plan is deterministic, so the builder subtracts what the
knowledge base already holds (by key, see :mod:`metaopt.kb._schema`) and runs only the
rest. Results are appended in small atomic parts (every ``batch_size`` completions or
``flush_seconds`` seconds, and at the end of each task), so a build killed at any moment
(SIGKILL included) loses at most the evaluations in flight and the unflushed batch;
restarted, it finishes with no duplicated and no lost completed evaluation. A second
run over a complete knowledge base adds nothing. Failed evaluations (``error``,
``timeout``) and tasks that failed to load are kept and not retried, unless
``retry_failed`` is set (a retried success then wins over the failure in readers).

**Parallelism.** Evaluations run through :func:`metaopt.evaluation.evaluate_many`: on
local joblib (loky) worker processes (``n_jobs``) or, with ``scheduler``, on a
``dask.distributed`` cluster. The builder process is the only writer; it holds the
knowledge base's writer lock for the whole build.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaopt._exceptions import (
    ConfigError,
    KnowledgeBaseError,
    MetaoptError,
    MissingDependencyError,
)
from metaopt._optional import import_optional
from metaopt.kb._store import KnowledgeBase

__all__ = ["BuildComponents", "BuildReport", "TaskPlan", "build", "plan_task"]

logger = logging.getLogger("metaopt.kb.build")

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class BuildComponents:
    """The parts of metaopt that the builder drives (a seam for tests and alternatives).

    :func:`default_components` wires in the real ones; tests may replace any of them.
    ``get_source`` is called as ``get_source(spec)``, or as
    ``get_source(spec, openml_cache=DIR)`` when the build names an OpenML cache.
    """

    get_source: Callable[..., Any]
    extract: Callable[[Any], Any]
    mf_version: str
    algorithms: Sequence[str]
    get_space: Callable[[str], Any]
    data_shape: Callable[[Any], Any]
    config_id: Callable[[str, dict[str, Any]], str]
    evaluate_many: Callable[..., Iterable[Any]]
    make_job: Callable[[Any, str, dict[str, Any]], Any]
    default_protocol: Callable[[], Any]


def default_components() -> BuildComponents:
    """The real task sources, meta-features, spaces and evaluation engine."""
    from metaopt import evaluation, metafeatures, spaces
    from metaopt.tasks import get_source

    return BuildComponents(
        get_source=get_source,
        extract=metafeatures.extract,
        mf_version=str(metafeatures.VERSION),
        algorithms=tuple(spaces.ALGORITHMS),
        get_space=spaces.get_space,
        data_shape=spaces.DataShape.of,
        config_id=spaces.config_id,
        evaluate_many=evaluation.evaluate_many,
        make_job=evaluation.Job,
        default_protocol=evaluation.Protocol.kb,
    )


@dataclass
class TaskPlan:
    """What the builder wants the knowledge base to hold for one loaded task.

    Attributes
    ----------
    jobs
        ``(algorithm, config_id, params)`` of every evaluation, default config first.
    skipped
        ``(algorithm, config_id, params, reason)`` of algorithms not applicable.
    """

    task_id: str
    jobs: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)

    def keys(self, protocol_id: str) -> set[tuple[str, str, str, str]]:
        """Evaluation keys of the plan (jobs and skipped rows)."""
        out = {(self.task_id, a, c, protocol_id) for a, c, _ in self.jobs}
        out |= {(self.task_id, a, c, protocol_id) for a, c, _, _ in self.skipped}
        return out


def evaluation_record(evaluation: Any, protocol_id: str) -> dict[str, Any]:
    """An ``evaluate_many`` result as a row of the evaluations table."""
    record = evaluation.to_record() if hasattr(evaluation, "to_record") else dict(evaluation)
    record.setdefault("protocol_id", protocol_id)
    return record


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:4], "little")


def plan_task(
    task: Any,
    algorithms: Sequence[str],
    configs_per_algorithm: int,
    components: BuildComponents | None = None,
    max_rows: int | None = None,
) -> TaskPlan:
    """The deterministic evaluation plan of ``task`` (see the module docstring).

    ``max_rows`` is the protocol's row cap: spaces are sized (and ``supports`` is asked)
    for the rows an evaluation really trains on, not for the full table.
    """
    comp = components or default_components()
    shape = comp.data_shape(task)
    if max_rows is not None and shape.n_rows > max_rows:
        shape = shape._replace(n_rows=int(max_rows))
    plan = TaskPlan(task.task_id)
    for algorithm in algorithms:
        space = comp.get_space(algorithm)
        default = dict(space.default(task.kind))
        reason = space.supports(shape)
        if reason:
            plan.skipped.append((algorithm, comp.config_id(algorithm, default), default, str(reason)))
            continue
        seen: set[str] = set()
        # One shared pool per (algorithm, kind): the design is seeded by the algorithm
        # alone, so every task of a kind evaluates the same configs (what portfolios,
        # nearest-dataset baselines and exact leave-dataset-out regret need).
        configs = [default, *space.design(configs_per_algorithm, shape, seed=_seed(algorithm))]
        for params in configs:
            cid = comp.config_id(algorithm, params)
            if cid not in seen:
                seen.add(cid)
                plan.jobs.append((algorithm, cid, dict(params)))
    return plan


@dataclass
class BuildReport:
    """What a build did (returned by :func:`build`, printed by ``metaopt kb build``)."""

    kb: str
    source: str
    protocol_id: str
    tasks_selected: int = 0
    tasks_loaded: int = 0
    tasks_failed: int = 0
    tasks_complete_before: int = 0
    evaluations_planned: int = 0
    evaluations_present: int = 0
    evaluations_run: int = 0
    evaluations_ok: int = 0
    evaluations_failed: int = 0
    skipped_rows: int = 0
    parts_written: int = 0
    seconds: float = 0.0
    #: Why the first task that was not loaded was not (its load error, ...); "" if none.
    first_failure: str = ""

    def not_loaded(self, task_id: str, why: str) -> None:
        """Remember why a task was not loaded, if it is the first."""
        if not self.first_failure:
            self.first_failure = f"{task_id}: {why}"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        from dataclasses import asdict

        return asdict(self)


class _Progress:
    """Progress display: a rich bar with ETA, plain log lines, or nothing."""

    def __init__(self, mode: str, n_tasks: int, per_task_estimate: int) -> None:
        self.mode = mode
        self.n_tasks = n_tasks
        self.per_task = per_task_estimate
        self.tasks_done = 0
        self.evals_done = 0
        self.evals_total_known = 0
        self.tasks_planned = 0
        self.start = time.monotonic()
        self.last_log = 0.0
        self._rich: Any = None
        if mode == "rich":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=False,
            )
            self._tasks_bar = self._rich.add_task("tasks", total=n_tasks)
            self._evals_bar = self._rich.add_task("evaluations", total=self._estimate())
            self._rich.start()

    def _estimate(self) -> int:
        remaining = max(self.n_tasks - self.tasks_planned, 0)
        return self.evals_total_known + remaining * self.per_task

    def planned(self, n_jobs: int) -> None:
        self.tasks_planned += 1
        self.evals_total_known += n_jobs
        if self._rich is not None:
            self._rich.update(self._evals_bar, total=self._estimate())

    def task_done(self, task_id: str) -> None:
        self.tasks_done += 1
        if self._rich is not None:
            self._rich.update(self._tasks_bar, completed=self.tasks_done, description=f"tasks ({task_id})")
        self.log(f"task {task_id} done", force=self.mode == "log")

    def evaluated(self, n: int = 1) -> None:
        self.evals_done += n
        if self._rich is not None:
            self._rich.update(self._evals_bar, completed=self.evals_done)
        self.log("")

    def eta(self) -> str:
        elapsed = time.monotonic() - self.start
        total = self._estimate()
        if self.evals_done == 0 or total <= self.evals_done:
            return "?"
        left = elapsed / self.evals_done * (total - self.evals_done)
        h, rem = divmod(int(left), 3600)
        return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"

    def log(self, message: str, force: bool = False) -> None:
        if self.mode != "log":
            return
        now = time.monotonic()
        if not force and now - self.last_log < 30:
            return
        self.last_log = now
        rate = self.evals_done / max(now - self.start, 1e-9)
        line = (
            f"[kb build] tasks {self.tasks_done}/{self.n_tasks}, evaluations "
            f"{self.evals_done}/~{self._estimate()} ({rate:.2f}/s, eta {self.eta()})"
        )
        print(f"{line} {message}".rstrip(), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()


class _Writer:
    """Buffers evaluation rows and appends them as small atomic parts."""

    def __init__(self, kb: KnowledgeBase, batch_size: int, flush_seconds: float, report: BuildReport,
                 compact_every: int | None) -> None:
        self.kb = kb
        self.batch_size = max(int(batch_size), 1)
        self.flush_seconds = flush_seconds
        self.report = report
        self.compact_every = compact_every
        self.buffer: list[Mapping[str, Any]] = []
        self.last_flush = time.monotonic()

    def add(self, record: Mapping[str, Any]) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self.last_flush = time.monotonic()
        if not self.buffer:
            return
        rows, self.buffer = self.buffer, []
        self.kb.append("evaluations", rows)
        self.report.parts_written += 1
        if self.compact_every and self.kb.n_parts("evaluations") > self.compact_every:
            self.kb.compact(["evaluations"])


def _select(entries: list[Any], tasks: Sequence[str] | None, limit_tasks: int | None,
            max_rows: int | None, shard: tuple[int, int] | None) -> list[Any]:
    out = []
    for e in entries:
        if tasks and not any(
            fnmatch.fnmatchcase(e.task_id, pat) or fnmatch.fnmatchcase(e.name, pat) for pat in tasks
        ):
            continue
        if max_rows is not None and e.n_rows is not None and e.n_rows > max_rows:
            continue
        if shard is not None and _seed(e.task_id) % shard[1] != shard[0]:
            continue
        out.append(e)
    return out[:limit_tasks] if limit_tasks is not None else out


def _task_row(entry: Any, task: Any | None, status: str, message: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task_id": entry.task_id,
        "source": task.source if task is not None else str(entry.source).split(":")[0],
        "source_spec": entry.source,
        "name": entry.name,
        "group": (task.group if task is not None else entry.group) or entry.name,
        "kind": task.kind if task is not None else entry.kind,
        "target": task.target if task is not None else entry.target,
        "n_rows": float(task.n_rows) if task is not None else float("nan"),
        "n_features": float(task.n_features) if task is not None else float("nan"),
        "n_numeric": float(len(task.numeric_columns)) if task is not None else float("nan"),
        "n_categorical": float(len(task.categorical_columns)) if task is not None else float("nan"),
        "n_classes": float(len(task.classes)) if task is not None else float("nan"),
        "status": status,
        "message": message,
        "entry": entry.to_dict() if hasattr(entry, "to_dict") else dict(entry),
        "provenance": dict(getattr(task, "provenance", {}) or {}),
        "added_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return row


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """Parse ``"K/N"`` (shard K of N, 0-based) into ``(K, N)``."""
    if text is None:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like K/N (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= k < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= K < N", "e.g. 0/4, 1/4, 2/4, 3/4")
    return k, n


def build(
    kb: str | os.PathLike[str] | KnowledgeBase | None,
    source: str,
    *,
    algorithms: Sequence[str] | None = None,
    configs_per_algorithm: int = 32,
    n_jobs: int = 1,
    scheduler: str | None = None,
    protocol: Any | None = None,
    tasks: Sequence[str] | None = None,
    limit_tasks: int | None = None,
    max_rows: int | None = None,
    shard: tuple[int, int] | None = None,
    batch_size: int = 8,
    flush_seconds: float = 20.0,
    retry_failed: bool = False,
    compact: bool = True,
    window_jobs: int | None = None,
    progress: str = "none",
    components: BuildComponents | None = None,
    openml_cache: str | os.PathLike[str] | None = None,
) -> BuildReport:
    """Fill a knowledge base from a task source; resumable and idempotent.

    Parameters
    ----------
    kb
        The knowledge base (created if the directory holds none); ``None`` means
        :func:`~metaopt.kb.default_kb_path`.
    source
        Task source spec: ``openml:OpenML-CC18``, ``corpus``, ``corpus:keel``, ``dir:PATH``.
    algorithms
        Algorithms to evaluate (default: all of :data:`metaopt.spaces.ALGORITHMS`).
    configs_per_algorithm
        Design configs per algorithm and task, on top of the default config.
    n_jobs
        Local worker processes (ignored with ``scheduler``).
    scheduler
        Address of a ``dask.distributed`` scheduler (``tcp://host:8786``): evaluations
        run on its workers.
    protocol
        Evaluation protocol (default :meth:`Protocol.kb`, with the time and memory limits
        the knowledge base recorded when it has some, so a resumed build keeps its
        limits). A knowledge base holds one protocol; building with another one is an
        error.
    tasks
        Only tasks whose id or name matches one of these shell patterns.
    limit_tasks
        At most this many tasks (after the other filters).
    max_rows
        Skip tasks whose (known) number of rows is larger.
    shard
        ``(k, n)``: only tasks whose id hashes to ``k`` modulo ``n`` (for splitting one
        build over several independent machines, each with its own ``kb``).
    batch_size, flush_seconds
        Append results every ``batch_size`` completions or ``flush_seconds`` seconds.
    retry_failed
        Re-run failed evaluations and reload tasks that failed to load.
    compact
        Merge parts when there are many, and at the end of the build.
    window_jobs
        Jobs of consecutive tasks are sent to the workers together until they number at
        least this many (default: 64 per worker), so that workers do not idle at the end
        of each small task.
    progress
        ``"rich"`` (progress bars with ETA), ``"log"`` (a line on stderr every 30 s and
        per task, for ``nohup`` runs) or ``"none"``.
    components
        Replacement components (tests); the real ones by default.
    openml_cache
        openml-python's cache folder for ``openml*`` sources (default:
        ``$METAOPT_OPENML_CACHE``, else openml-python's own cache).

    Returns
    -------
    BuildReport
        ``tasks_loaded == 0`` with ``tasks_selected > 0`` means that no task could be
        loaded; ``first_failure`` then says why (``metaopt kb build`` exits with 1).

    Raises
    ------
    KnowledgeBaseError
        If the knowledge base was built with another protocol, or another build holds it.
    SourceError
        If the source cannot list its tasks.
    """
    t0 = time.monotonic()
    comp = components or default_components()
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    given = protocol is not None
    algorithms, protocol = _resolve_options(comp, algorithms, configs_per_algorithm, protocol)
    pid = str(protocol.protocol_id)
    if scheduler:
        import_optional("distributed", extra="dask", purpose="--scheduler (a dask.distributed cluster)")
    # List the tasks first: a bad source spec must not leave an empty KB behind.
    task_source = _get_source(comp, source, openml_cache)
    entries = _select(list(task_source.entries()), tasks, limit_tasks, max_rows, shard)
    store = _open_kb(kb, pid)
    if not given:
        protocol = _recorded_limits(store, protocol)
    report = BuildReport(kb=str(store.path), source=source, protocol_id=pid)
    report.tasks_selected = len(entries)

    with store.writer():
        store.update_manifest(protocol_id=pid, mf_version=comp.mf_version,
                              protocol=protocol.to_dict() if hasattr(protocol, "to_dict") else None)
        task_status, mf_keys, done = _known_keys(store, pid)
        if window_jobs is None:
            window_jobs = 64 * (max(n_jobs, 1) if not scheduler else 16)
        bar = _Progress(progress, len(entries), len(algorithms) * (configs_per_algorithm + 1))
        writer = _Writer(store, batch_size, flush_seconds, report, 256 if compact else None)
        run = _BuildRun(store, comp, task_source, algorithms, configs_per_algorithm, protocol, pid,
                        max_rows, retry_failed, task_status, mf_keys, done, writer, bar, report)
        try:
            _build_tasks(run, entries, window_jobs, n_jobs, scheduler)
        finally:
            writer.flush()
            bar.close()
        if compact:
            store.compact()
    report.seconds = round(time.monotonic() - t0, 3)
    return report


#: ``(algorithm, config_id, params)`` of one evaluation to run.
_Job = tuple[str, str, dict[str, Any]]


@dataclass
class _BuildRun:
    """What the steps of one :func:`build` share: its settings, what the knowledge base
    already holds (updated as rows are written), the writer, the progress display and
    the report."""

    store: KnowledgeBase
    comp: BuildComponents
    task_source: Any
    algorithms: Sequence[str]
    n_configs: int
    protocol: Any
    pid: str
    max_rows: int | None
    retry_failed: bool
    task_status: dict[str, str]
    mf_keys: set[tuple[str, ...]]
    done: dict[tuple[str, ...], str]
    writer: _Writer
    bar: _Progress
    report: BuildReport


def _resolve_options(
    comp: BuildComponents, algorithms: Sequence[str] | None, configs_per_algorithm: int, protocol: Any
) -> tuple[list[str], Any]:
    """Check the algorithms and the config count; fill in the defaults."""
    if configs_per_algorithm < 0:
        raise ConfigError(f"--configs-per-algorithm must be >= 0, got {configs_per_algorithm}")
    algorithms = list(algorithms) if algorithms else list(comp.algorithms)
    unknown = [a for a in algorithms if a not in comp.algorithms]
    if unknown:
        raise ConfigError(f"unknown algorithms {unknown}", f"choose from {list(comp.algorithms)}")
    protocol = protocol if protocol is not None else comp.default_protocol()
    return algorithms, protocol


def _get_source(comp: BuildComponents, source: str, openml_cache: str | os.PathLike[str] | None) -> Any:
    """The task source ``source`` names (told the OpenML cache only when one is given)."""
    if openml_cache is None:
        return comp.get_source(source)
    return comp.get_source(source, openml_cache=openml_cache)


def _recorded_limits(store: KnowledgeBase, protocol: Any) -> Any:
    """``protocol`` with the time and memory limits ``store`` was built with, if it
    recorded them (they are not part of the protocol id, so a default would silently
    replace them)."""
    recorded = store.manifest.get("protocol")
    if not isinstance(recorded, dict) or not dataclasses.is_dataclass(protocol) or isinstance(protocol, type):
        return protocol
    limits = {k: recorded[k] for k in ("time_limit", "memory_limit") if k in recorded and hasattr(protocol, k)}
    return dataclasses.replace(protocol, **limits) if limits else protocol


def _open_kb(kb: str | os.PathLike[str] | KnowledgeBase | None, pid: str) -> KnowledgeBase:
    """The knowledge base to build into (created if needed); it must hold protocol ``pid``."""
    if isinstance(kb, KnowledgeBase):
        store = kb
    else:
        from metaopt.kb._store import default_kb_path

        store = KnowledgeBase.create(Path(kb) if kb is not None else default_kb_path(), exist_ok=True)
    known_pid = store.manifest.get("protocol_id")
    if known_pid not in (None, pid):
        raise KnowledgeBaseError(
            f"the knowledge base {store.path} holds evaluations under protocol {known_pid}, "
            f"this build uses {pid}",
            "build into another --kb directory, or use the protocol it was built with",
        )
    return store


def _known_keys(
    store: KnowledgeBase, pid: str
) -> tuple[dict[str, str], set[tuple[str, ...]], dict[tuple[str, ...], str]]:
    """What the knowledge base holds: each task's status, the meta-feature keys, and
    the status of each evaluation key of protocol ``pid``."""
    task_rows = store.read("tasks", ["task_id", "status"])
    task_status = dict(zip(task_rows["task_id"], task_rows["status"], strict=True)) if len(task_rows) else {}
    mf_keys = store.keys("metafeatures")
    ev = store.read("evaluations", ["task_id", "algorithm", "config_id", "protocol_id", "status"])
    done: dict[tuple[str, ...], str] = {}
    if len(ev):
        ev = ev[ev["protocol_id"] == pid]
        keys = ev[["task_id", "algorithm", "config_id", "protocol_id"]].itertuples(index=False, name=None)
        done = dict(zip(keys, ev["status"], strict=True))
    return task_status, mf_keys, done


def _build_tasks(
    run: _BuildRun, entries: list[Any], window_jobs: int, n_jobs: int, scheduler: str | None
) -> None:
    """Prepare the entries one by one; run their jobs in windows of at least ``window_jobs``."""
    window: list[tuple[Any, list[_Job]]] = []
    for i, entry in enumerate(entries):
        prepared = _prepare_task(run, entry)
        if prepared is None:
            run.writer.flush()
            run.bar.task_done(entry.task_id)
        else:
            window.append(prepared)
        if window and (sum(len(j) for _, j in window) >= window_jobs or i == len(entries) - 1):
            _run_window(run.comp, window, run.protocol, run.pid, n_jobs, scheduler, run.done,
                        run.writer, run.bar, run.report)
            window = []


def _prepare_task(run: _BuildRun, entry: Any) -> tuple[Any, list[_Job]] | None:
    """Record the task row, meta-features and skipped rows of one entry; return the task
    and its jobs still to run (None when there is nothing to run)."""
    status = run.task_status.get(entry.task_id)
    task = _load_entry(run, entry, status)
    if task is None or not _record_task(run, entry, task, status):
        run.bar.planned(0)
        return None
    jobs = _jobs_to_run(run, task)
    run.bar.planned(len(jobs))
    if not jobs:
        return None
    return task, jobs


def _load_entry(run: _BuildRun, entry: Any, status: str | None) -> Any | None:
    """The entry's task, or None (recorded and reported) when it is not to be built: it
    failed to load in an earlier build, fails to load now, or has too many rows."""
    if status is not None and status != "ok" and not run.retry_failed:
        run.report.tasks_failed += 1
        run.report.not_loaded(entry.task_id, "failed to load in an earlier build (pass --retry-failed "
                              "to load it again)")
        return None
    try:
        task = run.task_source.load(entry)
    except Exception as exc:  # noqa: BLE001 - a task that cannot load is a row, not a crash
        logger.warning("task %s failed to load: %s", entry.task_id, exc)
        _task_failed(run, entry, None, status, _error_text(exc))
        return None
    if run.max_rows is not None and task.n_rows > run.max_rows:
        logger.info("task %s has %d rows > max_rows %d: not built", entry.task_id, task.n_rows, run.max_rows)
        run.report.not_loaded(entry.task_id, f"{task.n_rows} rows, more than --max-rows {run.max_rows}")
        return None
    return task


def _task_failed(run: _BuildRun, entry: Any, task: Any | None, status: str | None, message: str) -> None:
    """Record a task that failed: an error row (unless an earlier build left one and
    failures are not retried), and the report's count and first failure."""
    if status is None or run.retry_failed:
        run.store.append("tasks", [_task_row(entry, task, "error", message)])
        run.task_status[entry.task_id] = "error"
    run.report.tasks_failed += 1
    run.report.not_loaded(entry.task_id, message)


def _record_task(run: _BuildRun, entry: Any, task: Any, status: str | None) -> bool:
    """Write the task's meta-features (if new) and its ``ok`` task row (if not there yet);
    False (recorded as a failure) when its meta-features cannot be computed."""
    mf_key = (task.task_id, run.comp.mf_version)
    if mf_key not in run.mf_keys:
        try:
            mf = run.comp.extract(task)
        except Exception as exc:  # noqa: BLE001
            logger.warning("meta-features of %s failed: %s", entry.task_id, exc)
            _task_failed(run, entry, task, status, "meta-features: " + _error_text(exc))
            return False
        version = str(getattr(mf, "version", run.comp.mf_version))
        values = mf.to_dict() if hasattr(mf, "to_dict") else dict(mf)
        run.store.add_metafeatures([(task.task_id, version, values)])
        run.mf_keys.add((task.task_id, version))
    if status != "ok":
        run.store.append("tasks", [_task_row(entry, task, "ok", "")])
        run.task_status[entry.task_id] = "ok"
    run.report.tasks_loaded += 1
    return True


def _jobs_to_run(run: _BuildRun, task: Any) -> list[_Job]:
    """Plan the task, write its new skipped rows, count what the knowledge base already
    holds, and return the jobs still to run."""
    plan = plan_task(task, run.algorithms, run.n_configs, run.comp, getattr(run.protocol, "max_rows", None))
    n_planned = len(plan.jobs) + len(plan.skipped)
    run.report.evaluations_planned += n_planned
    _write_skipped(run, task, plan)
    jobs = [(a, c, p) for a, c, p in plan.jobs if _wanted(run, (task.task_id, a, c, run.pid))]
    present = n_planned - len(jobs) - sum(
        1 for a, c, _, _ in plan.skipped if run.done.get((task.task_id, a, c, run.pid)) == "skipped"
    )
    run.report.evaluations_present += max(present, 0)
    if not jobs:
        run.report.tasks_complete_before += 1
    return jobs


def _wanted(run: _BuildRun, key: tuple[str, ...]) -> bool:
    """Whether evaluation ``key`` is to run: not in the knowledge base, or a failure to retry."""
    have = run.done.get(key)
    return have is None or (run.retry_failed and have in ("error", "timeout"))


def _write_skipped(run: _BuildRun, task: Any, plan: TaskPlan) -> None:
    """Write the plan's ``skipped`` rows that the knowledge base does not hold yet."""
    for algorithm, cid, params, reason in plan.skipped:
        key = (task.task_id, algorithm, cid, run.pid)
        if key in run.done:
            continue
        run.writer.add({
            "task_id": task.task_id, "algorithm": algorithm, "config_id": cid,
            "params": params, "protocol_id": run.pid, "status": "skipped", "message": reason,
            "seed": getattr(run.protocol, "seed", 0),
        })
        run.done[key] = "skipped"
        run.report.skipped_rows += 1


def _run_window(comp: BuildComponents, window: list[tuple[Any, list[tuple[str, str, dict[str, Any]]]]],
                protocol: Any, pid: str, n_jobs: int, scheduler: str | None,
                done: dict[tuple[str, ...], str], writer: _Writer, bar: _Progress,
                report: BuildReport) -> None:
    """Evaluate the jobs of several tasks in one parallel call (no idle workers between
    small tasks); a task the protocol cannot evaluate gets error rows, the others run."""
    backend = "dask" if scheduler else "loky"
    workers = -1 if scheduler and n_jobs == 1 else n_jobs
    remaining = {task.task_id: len(jobs) for task, jobs in window}

    def error_rows(task: Any, jobs: list[tuple[str, str, dict[str, Any]]], exc: Exception) -> list[dict[str, Any]]:
        logger.warning("task %s cannot be evaluated: %s", task.task_id, exc)
        return [{"task_id": task.task_id, "algorithm": a, "config_id": c, "params": p,
                 "protocol_id": pid, "status": "error", "message": _error_text(exc),
                 "seed": getattr(protocol, "seed", 0)} for a, c, p in jobs]

    def call(part: list[tuple[Any, list[tuple[str, str, dict[str, Any]]]]]) -> Iterable[Any]:
        return comp.evaluate_many(
            [comp.make_job(task, a, p) for task, jobs in part for a, _, p in jobs], protocol,
            n_jobs=workers, backend=backend, scheduler=scheduler,
        )

    streams: list[Iterable[Any]] = []
    try:
        streams.append(call(window))
    except MissingDependencyError:
        raise  # no task's fault: stop the build
    except MetaoptError:
        # Validation failed for some task (too few rows, a class with one example):
        # isolate it by calling task by task.
        for task, jobs in window:
            try:
                streams.append(call([(task, jobs)]))
            except MissingDependencyError:
                raise
            except MetaoptError as exc:
                streams.append(error_rows(task, jobs, exc))
    for stream in streams:
        for evaluation in stream:
            record = evaluation_record(evaluation, pid)
            writer.add(record)
            task_id = str(record["task_id"])
            key = (task_id, str(record["algorithm"]), str(record["config_id"]), pid)
            done[key] = str(record["status"])
            report.evaluations_run += 1
            if record["status"] == "ok":
                report.evaluations_ok += 1
            else:
                report.evaluations_failed += 1
            bar.evaluated()
            remaining[task_id] = remaining.get(task_id, 1) - 1
            if remaining[task_id] == 0:
                writer.flush()
                bar.task_done(task_id)
