"""``tune(data)``: a warm-started, meta-sampled Optuna study in a database (``metaopt tune``)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from metaopt._exceptions import ConfigError, EvaluationError, MetaoptError

if TYPE_CHECKING:  # pragma: no cover
    import optuna
    import pandas as pd
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

    from metaopt.evaluation import Protocol
    from metaopt.integrations.optuna._objective import Objective
    from metaopt.spaces import DataShape
    from metaopt.tasks import Task

__all__ = [
    "DEFAULT_STORAGE",
    "SAMPLERS",
    "ProgressCallback",
    "TuneResult",
    "default_study_name",
    "make_sampler",
    "open_storage",
    "tune",
]

#: Where ``tune`` keeps its studies unless told otherwise (relative to the working directory).
DEFAULT_STORAGE = "sqlite:///metaopt-tune.db"

#: The ``sampler=`` names ``tune`` accepts.
SAMPLERS: tuple[str, ...] = ("meta", "tpe", "random")

#: ``progress(finished_trials, total_trials, best_value_or_None)``, called as trials finish.
ProgressCallback = Callable[[int, int, "float | None"], None]

# Trials left RUNNING by a killed run are failed by Optuna once their heartbeat is this old.
_HEARTBEAT_S = 60
_GRACE_S = 180

# Two processes that open a new database at once race to create Optuna's schema (and
# the study): the loser sees "table ... already exists", a unique-constraint violation
# or a lock. Each attempt finds more of the schema in place, so a few retries succeed.
_RACE_ATTEMPTS = 6
_RACE_BACKOFF_S = 0.05
_RACE_PATTERN = re.compile(
    r"already exists|database is locked|database table is locked|unique constraint|"
    r"duplicate key|deadlock",
    re.IGNORECASE,
)
_RACE_HINT = (
    "another process was creating or writing this database at the same time, and "
    f"{_RACE_ATTEMPTS} attempts did not get past it; run the command again"
)

_T = TypeVar("_T")


@dataclass
class TuneResult:
    """The outcome of :func:`tune`.

    Attributes
    ----------
    study_name, storage
        Where the study lives (``optuna.load_study(study_name=..., storage=...)``).
    task_id, task_name, kind, metric
        What was tuned, and the score's scikit-learn scorer (greater is better).
    n_trials
        Trials in the study now (every state); ``n_complete`` and ``n_failed`` of them
        finished with a score / failed (``status``/``message`` user attributes say why).
    new_trials
        Trials this call ran.
    warm_started
        The suggestions this call enqueued (see :func:`warm_start`).
    best_trial, best_value, algorithm, params
        The best trial's number, score and configuration (unprefixed names, complete:
        defaults filled in).
    spec
        The best configuration's full scikit-learn pipeline as a pickle-free estimator
        spec (:func:`metaopt.spaces.estimator_to_spec`).
    output, spec_path
        Where the refitted pipeline (joblib pickle) and its JSON spec were written,
        when ``output`` was given.
    """

    study_name: str
    storage: str
    task_id: str
    task_name: str
    kind: str
    metric: str
    n_trials: int
    n_complete: int
    n_failed: int
    new_trials: int
    best_trial: int
    best_value: float
    algorithm: str
    params: dict[str, Any]
    spec: dict[str, Any]
    warm_started: list[dict[str, Any]] = field(default_factory=list)
    output: str | None = None
    spec_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become ``None``)."""
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _is_creation_race(exc: BaseException) -> bool:
    """Whether ``exc`` is what a process sees when another one creates the same schema or
    study at the same moment (SQLAlchemy's OperationalError "table ... already exists" /
    "database is locked", IntegrityError "UNIQUE constraint failed", ...)."""
    try:
        from sqlalchemy.exc import DBAPIError
    except ImportError:  # pragma: no cover - optuna's RDB storage needs sqlalchemy
        return False
    return isinstance(exc, DBAPIError) and bool(_RACE_PATTERN.search(str(exc)))


def _retry_creation(
    create: Callable[[], _T],
    *,
    attempts: int = _RACE_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """``create()``, called again (up to ``attempts`` times in all, with a short
    randomised exponential backoff) while it fails with a creation race
    (:func:`_is_creation_race`); any other error, or the last one, is raised."""
    for attempt in range(attempts):
        try:
            return create()
        except Exception as exc:
            if attempt == attempts - 1 or not _is_creation_race(exc):
                raise
            sleep(_RACE_BACKOFF_S * 2**attempt * (1.0 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def open_storage(url: str | None = None) -> BaseStorage:
    """An Optuna RDB storage for ``url`` (default :data:`DEFAULT_STORAGE`), or a ConfigError.

    SQLite connections wait up to 60 s for a lock and take it at the start of every
    transaction (several worker processes share one file; see :func:`_serialize_sqlite`),
    and trials carry a heartbeat so that those left running by a killed run are
    marked failed when the study is resumed. Processes that open a new database at
    the same moment race to create Optuna's tables; the losers retry a few times.
    """
    import optuna

    url = DEFAULT_STORAGE if url is None else str(url)
    hint = "pass --storage sqlite:///path/to/file.db, or a PostgreSQL/MySQL URL such as postgresql://user@host/db"
    if "://" not in url:
        raise ConfigError(f"storage {url!r} is not a database URL", hint)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}

    def create() -> BaseStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=_HEARTBEAT_S,
                grace_period=_GRACE_S,
            )
        if url.startswith("sqlite"):
            _serialize_sqlite(storage)
        return storage

    try:
        return _retry_creation(create)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds; all mean the same here
        raise ConfigError(
            f"cannot open the Optuna storage {url!r}: {type(exc).__name__}: {_first_line(exc)}",
            _RACE_HINT if _is_creation_race(exc) else hint,
        ) from None


def _create_study(name: str, storage: BaseStorage, sampler: BaseSampler) -> optuna.Study:
    """Create study ``name`` or load it, retrying while another process creates it too."""
    import optuna

    try:
        return _retry_creation(
            lambda: optuna.create_study(
                study_name=name, storage=storage, sampler=sampler, direction="maximize",
                load_if_exists=True,
            )
        )
    except Exception as exc:
        if not _is_creation_race(exc):
            raise
        raise ConfigError(
            f"cannot create the Optuna study {name!r}: {type(exc).__name__}: {_first_line(exc)}",
            _RACE_HINT,
        ) from None


def _serialize_sqlite(storage: Any) -> None:
    """Make every SQLite transaction take the write lock up front (``BEGIN IMMEDIATE``).

    Optuna pops an enqueued (WAITING) trial with a read-then-write that relies on
    ``SELECT ... FOR UPDATE``, which SQLite ignores: two processes can both read the
    trial as waiting and both run it (the second then fails with "Cannot tell a
    COMPLETE trial"). With ``BEGIN IMMEDIATE`` the second transaction waits for the
    first to commit and then sees the trial running. This is SQLAlchemy's documented
    recipe for serializable SQLite transactions; the connections opened so far are
    dropped so that every connection gets it.
    """
    from sqlalchemy import event

    engine = storage.engine

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite: no BEGIN of its own

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()


def default_study_name(task: Task, algorithms: Sequence[str], protocol: Protocol) -> str:
    """``metaopt-<task id>-<8 hex digits>``: the same data, algorithms and scoring give the same name.

    Rerunning ``tune`` on the same data resumes the study; other algorithms or another
    scoring protocol (folds, metric) start a new one, since their trials would not be
    comparable (and Optuna cannot change a categorical's choices within a study).
    """
    key = json.dumps({"algorithms": sorted(algorithms), "protocol": protocol.protocol_id}, sort_keys=True)
    return f"metaopt-{task.task_id}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def make_sampler(
    name: str,
    *,
    seed: int | None = None,
    task: Task | None = None,
    metafeatures: dict[str, float] | None = None,
    shape: DataShape | None = None,
    algorithms: Sequence[str] | None = None,
    optimizer: Any = None,
) -> BaseSampler:
    """The sampler called ``name``: ``"meta"`` (:class:`MetaSampler`), ``"tpe"`` or ``"random"``."""
    import optuna

    if name == "meta":
        from metaopt.integrations.optuna._sampler import MetaSampler

        return MetaSampler(
            task=task, metafeatures=metafeatures, shape=shape, algorithms=algorithms,
            seed=seed, optimizer=optimizer,
        )
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ConfigError(f"unknown sampler {name!r}", f"choose one of: {', '.join(SAMPLERS)}")


def _check_int(name: str, value: Any, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name} must be an integer of at least {low}, got {value!r}")
    return value


def tune(
    data: str | os.PathLike[str] | pd.DataFrame | Task | None = None,
    target: str | None = None,
    *,
    task: Task | None = None,
    kind: str | None = None,
    n_trials: int = 20,
    sampler: str = "meta",
    warm_start: int = 5,
    algorithms: Sequence[str] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    n_jobs: int = 1,
    folds: int = 5,
    time_limit: float | None = None,
    metric: str | None = None,
    seed: int | None = None,
    models: str | os.PathLike[str] | None = None,
    optimizer: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    openml_cache: str | os.PathLike[str] | None = None,
) -> TuneResult:
    """Tune metaopt's algorithms on a dataset with a warm-started, meta-sampled Optuna study.

    1. The study ``study_name`` (default :func:`default_study_name`, so rerunning
       resumes it) is created in ``storage`` or loaded from it; direction maximize.
    2. ``warm_start`` of :func:`metaopt.suggest`'s suggestions are enqueued
       (:func:`warm_start`; those already in the study are not), at most as many as
       the study still lacks to reach ``n_trials``.
    3. The study is optimized with :func:`objective` (``folds``-fold cross-validation,
       ``time_limit`` seconds per config) and the ``sampler`` until it holds
       ``n_trials`` trials in total. With ``n_jobs > 1``, that many worker processes
       (joblib/loky, one thread each) load the same study from ``storage`` and share
       the work; use a database all of them reach (SQLite for one machine).
    4. The best trial's pipeline is described by a pickle-free estimator spec; with
       ``output`` it is refitted on all the data and saved with joblib to ``output``
       (a **pickle**: load it only from a source you trust; metaopt never loads it),
       plus ``output + ".spec.json"`` with the spec, params and score.

    Parameters
    ----------
    n_trials
        Trials the study should hold in total (a rerun with the same number only
        finishes what a killed run left; raise it to go on).
    sampler
        ``"meta"`` (:class:`MetaSampler`, the learned optimizer), ``"tpe"`` or ``"random"``.
    warm_start
        Suggestions to enqueue (0: none).
    storage
        An Optuna database URL (default :data:`DEFAULT_STORAGE`, in the working directory).
    seed
        Seed of the sampler (worker ``i`` uses ``seed + i``); None: random.
    models, optimizer
        Suggestion models and optimizer weights (defaults: ``$METAOPT_MODELS`` /
        ``$METAOPT_OPTIMIZER``, else ``datasets/models``).
    progress
        Called as ``progress(finished, n_trials, best_value)`` while the study runs.
    openml_cache
        openml-python's cache folder when ``data`` is ``"openml:ID"`` (see
        :func:`metaopt.load_task`).

    Other parameters are those of :func:`objective` and :func:`metaopt.load_task`.

    Raises
    ------
    MetaoptError
        ``ConfigError`` for bad options (an unknown sampler, a storage URL that cannot
        be opened, a study of other data), ``ModelError`` for missing models (run
        ``metaopt train``, or pass ``warm_start=0`` / another sampler),
        ``EvaluationError`` when no trial finished with a score, ``DataError`` for
        unreadable data.
    """
    _check_options(n_trials, n_jobs, warm_start, sampler)
    run = _prepare_run(
        storage, study_name, data, target, task, kind, openml_cache, folds, time_limit, metric,
        algorithms, sampler, seed, optimizer,
    )
    study = _open_study(run)
    enqueued = _enqueue_warm_start(study, run, warm_start, n_trials, models)
    before = _run_trials(study, run, n_trials, n_jobs, progress)
    return _finish(study, run, before, enqueued, output)


def _check_options(n_trials: Any, n_jobs: Any, warm_start: Any, sampler: str) -> None:
    _check_int("n_trials", n_trials, 1)
    _check_int("n_jobs", n_jobs, 1)
    _check_int("warm_start", warm_start, 0)
    if sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {sampler!r}", f"choose one of: {', '.join(SAMPLERS)}")


@dataclass
class _TuneRun:
    """What one :func:`tune` call works with, resolved before the study is touched."""

    url: str
    store: BaseStorage
    task: Task
    protocol: Protocol
    obj: Objective
    name: str
    sampler: str
    seed: int | None
    metafeatures: dict[str, float] | None
    optimizer: Any


def _prepare_run(
    storage: str | None,
    study_name: str | None,
    data: str | os.PathLike[str] | pd.DataFrame | Task | None,
    target: str | None,
    task: Task | None,
    kind: str | None,
    openml_cache: str | os.PathLike[str] | None,
    folds: int,
    time_limit: float | None,
    metric: str | None,
    algorithms: Sequence[str] | None,
    sampler: str,
    seed: int | None,
    optimizer: str | os.PathLike[str] | None,
) -> _TuneRun:
    """Open the storage, load the task, build the objective and name the study."""
    from metaopt.evaluation import Protocol
    from metaopt.integrations.optuna._objective import Objective, resolve_task

    url = DEFAULT_STORAGE if storage is None else str(storage)
    store = open_storage(url)

    loaded = resolve_task(data, target, task, kind=kind, openml_cache=openml_cache)
    protocol = Protocol(n_splits=folds, time_limit=time_limit, metric=metric)
    obj = Objective(loaded, algorithms, protocol)
    name = study_name or default_study_name(loaded, obj.algorithms, protocol)
    metafeatures: dict[str, float] | None = None
    optimizer_ref: Any = optimizer
    if sampler == "meta":
        metafeatures, optimizer_ref = _meta_sampler_inputs(loaded, optimizer_ref)
    return _TuneRun(
        url=url, store=store, task=loaded, protocol=protocol, obj=obj, name=name, sampler=sampler,
        seed=seed, metafeatures=metafeatures, optimizer=optimizer_ref,
    )


def _meta_sampler_inputs(task: Task, optimizer: Any) -> tuple[dict[str, float], Any]:
    """The task's meta-features and the optimizer reference for :class:`MetaSampler`."""
    from metaopt.integrations.optuna._sampler import (
        default_optimizer_location,
        resolve_optimizer,
    )
    from metaopt.metafeatures import extract

    metafeatures = dict(extract(task, random_state=0))
    if optimizer is None:
        optimizer = default_optimizer_location()  # resolved here: workers see the same one
    resolve_optimizer(optimizer)  # a missing optimizer fails before the study is touched
    return metafeatures, optimizer


def _open_study(run: _TuneRun) -> optuna.Study:
    """Create or load the study with this process's sampler, and check that it fits."""
    local_sampler = make_sampler(
        run.sampler, seed=run.seed, task=None, metafeatures=run.metafeatures, shape=run.obj.shape,
        algorithms=run.obj.algorithms, optimizer=run.optimizer,
    )
    study = _create_study(run.name, run.store, local_sampler)
    _check_study(study, run.name, run.task, run.obj, run.protocol)
    return study


def _enqueue_warm_start(
    study: optuna.Study, run: _TuneRun, n_warm: int, n_trials: int, models: Any
) -> list[dict[str, Any]]:
    """Enqueue up to ``n_warm`` suggestions, at most as many as the study lacks."""
    from metaopt.integrations.optuna._warm_start import warm_start as _warm_start

    budget = n_trials - len(study.get_trials(deepcopy=False))
    if not n_warm or budget <= 0:
        return []
    return _warm_start(
        study, task=run.task, n=min(n_warm, budget), algorithms=run.obj.algorithms,
        search_space=run.obj.search_space, models=models,
    )


def _run_trials(
    study: optuna.Study, run: _TuneRun, n_trials: int, n_jobs: int, progress: ProgressCallback | None
) -> int:
    """Run trials until the study holds ``n_trials``; return how many it held before."""
    from optuna.trial import TrialState

    not_waiting = len(study.get_trials(deepcopy=False, states=tuple(s for s in TrialState if s != TrialState.WAITING)))
    to_run = max(n_trials - not_waiting, 0)
    if to_run:
        if n_jobs == 1:
            _optimize_here(study, run.obj, to_run, n_trials, progress)
        else:
            jobs = _worker_jobs(
                run.url, run.name, run.obj, run.sampler, run.seed, run.metafeatures, run.optimizer,
                to_run, n_trials, n_jobs,
            )
            _optimize_in_workers(study, jobs, n_trials, progress)
    return not_waiting


def _finish(
    study: optuna.Study,
    run: _TuneRun,
    before: int,
    enqueued: list[dict[str, Any]],
    output: str | os.PathLike[str] | None,
) -> TuneResult:
    """The :class:`TuneResult` of the best trial; refit and save it when ``output`` is given."""
    from optuna.trial import TrialState

    from metaopt.spaces import estimator_to_spec, get_space

    trials = study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state != TrialState.WAITING]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if not complete:
        first = next((t.user_attrs.get("message") for t in failed if t.user_attrs.get("message")), "")
        raise EvaluationError(
            f"no trial of study {run.name!r} finished with a score ({len(failed)} failed"
            + (f"; the first failure: {first}" if first else "")
            + ")",
            "see the trials' 'message' user attribute; try other --algorithms or a larger --time-limit",
        )
    best = study.best_trial
    alg, params = run.obj.config(best)
    space = get_space(alg)
    full = space.validate(params, run.obj.shape)
    spec = estimator_to_spec(space.to_estimator(full, run.task))
    result = TuneResult(
        study_name=run.name,
        storage=run.url,
        task_id=run.task.task_id,
        task_name=run.task.name,
        kind=str(run.task.kind),
        metric=run.obj.metric,
        n_trials=len(trials),
        n_complete=len(complete),
        n_failed=len(failed),
        new_trials=max(len(finished) - before, 0),
        best_trial=int(best.number),
        best_value=float(best.value) if best.value is not None else math.nan,
        algorithm=alg,
        params=full,
        spec=spec,
        warm_started=enqueued,
    )
    if output is not None:
        result.output, result.spec_path = _save(output, run.task, result)
    return result


def _check_study(study: optuna.Study, name: str, task: Task, obj: Any, protocol: Protocol) -> None:
    """Refuse to resume a study of other data, another direction or other algorithms."""
    from optuna.study import StudyDirection

    from metaopt.integrations.optuna._naming import ALGORITHM_PARAM
    from metaopt.integrations.optuna._warm_start import study_search_space

    hint = "pass another --study-name (or the options the study was created with)"
    if len(study.directions) != 1 or study.direction != StudyDirection.MAXIMIZE:
        raise ConfigError(f"study {name!r} does not maximize a single objective", hint)
    info = study.user_attrs.get("metaopt")
    mine = {
        "task_id": task.task_id,
        "protocol_id": protocol.protocol_id,
        "metric": obj.metric,
        "algorithms": list(obj.algorithms),
    }
    if info is None:
        study.set_user_attr("metaopt", mine)
    else:
        for key, what in (("task_id", "data"), ("protocol_id", "scoring protocol (folds, metric)")):
            if info.get(key) != mine[key]:
                raise ConfigError(
                    f"study {name!r} tunes another {what} ({info.get(key)!r}, this run {mine[key]!r})",
                    hint,
                )
    dist = study_search_space(study).get(ALGORITHM_PARAM)
    choices = list(getattr(dist, "choices", obj.algorithms))
    if choices != list(obj.algorithms):
        raise ConfigError(
            f"study {name!r} searches the algorithms {', '.join(map(str, choices))}, this run "
            f"{', '.join(obj.algorithms)}",
            "pass the same --algorithms, or another --study-name",
        )


def _finished_and_best(study: optuna.Study) -> tuple[int, float | None]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
    values = [t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    return len(trials), (max(values) if values else None)


def _optimize_here(
    study: optuna.Study, obj: Any, to_run: int, total: int, progress: ProgressCallback | None
) -> None:
    from optuna.study import MaxTrialsCallback

    callbacks: list[Any] = [MaxTrialsCallback(total, states=None)]
    if progress is not None:
        done, best = _finished_and_best(study)
        progress(done, total, best)

        def report(study: optuna.Study, trial: Any) -> None:
            done, best = _finished_and_best(study)
            progress(done, total, best)

        callbacks.append(report)
    study.optimize(obj, n_trials=to_run, callbacks=callbacks, catch=())


def _worker_jobs(
    url: str,
    name: str,
    obj: Any,
    sampler: str,
    seed: int | None,
    metafeatures: dict[str, float] | None,
    optimizer: Any,
    to_run: int,
    total: int,
    n_jobs: int,
) -> list[dict[str, Any]]:
    import optuna

    shares = [to_run // n_jobs + (1 if i < to_run % n_jobs else 0) for i in range(n_jobs)]
    return [
        {
            "storage": url,
            "study_name": name,
            "objective": obj,
            "sampler": sampler,
            "seed": None if seed is None else seed + i,
            "metafeatures": metafeatures,
            "optimizer": str(optimizer) if isinstance(optimizer, (str, os.PathLike)) else optimizer,
            "n_trials": share,
            "total": total,
            "verbosity": optuna.logging.get_verbosity(),
        }
        for i, share in enumerate(shares)
        if share > 0
    ]


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    """One worker process: load the study and optimize its share (module level, for loky)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import optuna
    from optuna.study import MaxTrialsCallback

    optuna.logging.set_verbosity(job["verbosity"])
    obj = job["objective"]
    try:
        sampler = make_sampler(
            job["sampler"], seed=job["seed"], metafeatures=job["metafeatures"], shape=obj.shape,
            algorithms=obj.algorithms, optimizer=job["optimizer"],
        )
        study = optuna.load_study(
            study_name=job["study_name"], storage=open_storage(job["storage"]), sampler=sampler
        )
        study.optimize(
            obj, n_trials=job["n_trials"], callbacks=[MaxTrialsCallback(job["total"], states=None)],
            catch=(),
        )
    except MetaoptError as exc:  # sent back by value: the hint would not survive pickling
        return {"pid": os.getpid(), "error": (type(exc).__name__, exc.message, exc.hint)}
    return {"pid": os.getpid(), "error": None}


def _optimize_in_workers(
    study: optuna.Study, jobs: list[dict[str, Any]], total: int, progress: ProgressCallback | None
) -> None:
    import concurrent.futures

    import joblib

    import metaopt._exceptions as errors

    def run_all() -> list[dict[str, Any]]:
        with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
            out = joblib.Parallel(n_jobs=len(jobs))(joblib.delayed(_worker)(job) for job in jobs)
        return list(out)

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_all)
        while True:
            if progress is not None:
                done, best = _finished_and_best(study)
                progress(done, total, best)
            try:
                outcomes = future.result(timeout=0.5)
                break
            except concurrent.futures.TimeoutError:
                continue
    if progress is not None:
        done, best = _finished_and_best(study)
        progress(done, total, best)
    for outcome in outcomes:
        if outcome["error"] is not None:
            cls_name, message, hint = outcome["error"]
            cls = getattr(errors, cls_name, MetaoptError)
            raise cls(message, hint)


def _save(output: str | os.PathLike[str], task: Task, result: TuneResult) -> tuple[str, str]:
    """Refit the best pipeline on all rows; write the joblib pickle and the JSON spec."""
    from metaopt.spaces import save_fitted

    info = {
        "study_name": result.study_name,
        "storage": result.storage,
        "trial": result.best_trial,
        "metric": result.metric,
        "score": result.best_value,
    }
    return save_fitted(output, task, result.algorithm, result.params, result.spec, info)
