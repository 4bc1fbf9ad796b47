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
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from optuna.storages import RDBStorage as _RDBStorage  # this package imports optuna anyway

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
    "HEARTBEAT_GRACE_S",
    "HEARTBEAT_INTERVAL_S",
    "SAMPLERS",
    "ProgressCallback",
    "RunningTrial",
    "TuneInterrupted",
    "TunePlan",
    "TuneProgress",
    "TuneResult",
    "default_study_name",
    "make_sampler",
    "open_storage",
    "tune",
    "write_spec",
]

#: Where ``tune`` keeps its studies unless told otherwise (relative to the working directory).
DEFAULT_STORAGE = "sqlite:///metaopt-tune.db"

#: The ``sampler=`` names ``tune`` accepts.
SAMPLERS: tuple[str, ...] = ("meta", "tpe", "random")

#: ``progress(TuneProgress)``, called as trials start and finish (and twice a second with workers).
ProgressCallback = Callable[["TuneProgress"], None]

#: Seconds between two heartbeats of a running trial (a thread of the process running it).
HEARTBEAT_INTERVAL_S = 10
#: A RUNNING trial whose last heartbeat is older than this many seconds lost its process
#: (killed, or its machine gone): the next ``tune`` on the study marks it failed with
#: status ``lost`` and reruns its config, so it is rerun within
#: ``HEARTBEAT_GRACE_S + HEARTBEAT_INTERVAL_S`` seconds of the kill.
HEARTBEAT_GRACE_S = 60
# How many times the config of a lost trial is rerun before it is given up.
_MAX_RERUNS = 2
# Seconds between two looks at trials that run elsewhere while this run waits for them.
_WAIT_POLL_S = 1.0

# The per-trial time limit "auto": this many times the expected seconds of one
# evaluation (all folds) of the slowest searched algorithm's default config, rounded,
# and kept within [floor, cap]; the fallback when no fit-time model can be loaded.
AUTO_TIME_LIMIT = "auto"
_AUTO_FACTOR = 10.0
_AUTO_FLOOR_S = 60.0
_AUTO_CAP_S = 600.0
_AUTO_FALLBACK_S = 300.0

# The status user attribute of trials that ended without a result of their own.
_LOST = "lost"
_INTERRUPTED = "interrupted"

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
        finished with a score / failed (``status``/``message`` user attributes say why),
        and ``n_lost`` of the failed ones ended without a result of their own (status
        ``lost``: their process died; ``interrupted``: Ctrl-C) and were rerun.
    n_done
        Trials that count towards ``n_trials=`` of :func:`tune`: scored, or failed with
        a result of their own (an error or a timeout of the config).
    new_trials
        Trials this call ran.
    sampler, time_limit
        The sampler this call proposed with, and its per-trial limit in seconds (None:
        none).
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
    n_done: int = 0
    n_lost: int = 0
    sampler: str = "meta"
    time_limit: float | None = None
    target: str | None = None
    output: str | None = None
    spec_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite floats become ``None``)."""
        from metaopt.spaces._save import _finite

        return _finite(asdict(self))


@dataclass(frozen=True)
class RunningTrial:
    """A trial in progress: its number, algorithm (None until sampled) and start (epoch seconds)."""

    number: int
    algorithm: str | None
    started: float


@dataclass(frozen=True)
class TunePlan:
    """What a :func:`tune` call is about to do, passed to ``on_start`` before any trial.

    Attributes
    ----------
    study_name, storage, location
        The study, its storage URL, and where that is in words (an SQLite file's
        absolute path).
    resumed
        Whether the study existed (with trials) before this call.
    samplers
        The samplers earlier calls on this study proposed with (a resumed study).
    sampler
        This call's sampler.
    n_trials, done, lost, running, to_run
        The study's target, the trials that count towards it, the lost / interrupted
        trials whose configs are rerun, trials running elsewhere, and how many this
        call starts (at most).
    warm_started
        Suggestions this call enqueued.
    time_limit, time_limit_note
        Seconds per trial (None: none) and how it was chosen.
    algorithms, metric, folds, n_jobs
        The search.
    """

    study_name: str
    storage: str
    location: str
    resumed: bool
    samplers: list[str]
    sampler: str
    n_trials: int
    done: int
    lost: int
    running: int
    to_run: int
    warm_started: int
    time_limit: float | None
    time_limit_note: str
    algorithms: list[str]
    metric: str
    folds: int
    n_jobs: int


@dataclass(frozen=True)
class TuneProgress:
    """Where a :func:`tune` call stands, passed to ``progress``.

    ``done`` of ``total`` trials count (scored, or failed with a result of their own);
    ``best`` is the best score so far; ``running`` the trials in progress (this
    call's and, with a shared storage, others'); ``mean_trial_s`` the mean duration of
    the study's finished trials (None before the first); ``waiting`` whether this call
    has nothing left to start and waits for trials running elsewhere.
    """

    total: int
    done: int
    best: float | None
    running: tuple[RunningTrial, ...] = ()
    mean_trial_s: float | None = None
    n_jobs: int = 1
    waiting: bool = False

    def eta(self, now: float | None = None) -> float | None:
        """Expected seconds until ``total`` trials are done (None before a trial finished)."""
        if self.mean_trial_s is None:
            return None
        now = time.time() if now is None else now
        mean = self.mean_trial_s
        remaining = max(self.total - self.done, 0)
        in_flight = sum(min(max(now - r.started, 0.0), mean) for r in self.running)
        return max((remaining * mean - in_flight) / max(self.n_jobs, 1), 0.0)


class TuneInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`tune`: a ``KeyboardInterrupt`` that says what the study kept.

    Attributes: ``study_name``, ``storage``, ``location``, ``done`` (trials that count)
    and ``n_trials`` (the target). The trial in flight is recorded as failed with
    status ``interrupted`` and its config is rerun first when the study is resumed.
    """

    def __init__(self, study_name: str, storage: str, location: str, done: int, n_trials: int) -> None:
        super().__init__(f"tune interrupted: study {study_name!r} in {location} keeps {done} of {n_trials} trials")
        self.study_name = study_name
        self.storage = storage
        self.location = location
        self.done = done
        self.n_trials = n_trials


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


def storage_location(url: str) -> str:
    """Where ``url`` keeps its data, in words: an SQLite file's absolute path, else the URL."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:"):
        return str(Path(url[len(prefix):]).expanduser().resolve())
    return url


def open_storage(
    url: str | None = None,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
) -> BaseStorage:
    """An Optuna RDB storage for ``url`` (default :data:`DEFAULT_STORAGE`), or a ConfigError.

    SQLite connections wait up to 60 s for a lock and take it at the start of every
    transaction (several worker processes share one file; see :func:`_serialize_sqlite`).
    Running trials record a heartbeat every ``heartbeat_interval`` seconds (default
    :data:`HEARTBEAT_INTERVAL_S`); one whose last heartbeat is older than
    ``grace_period`` (default :data:`HEARTBEAT_GRACE_S`) lost its process, and the next
    look at the study marks it failed with the user attributes ``status`` = ``"lost"``
    and a ``message``, and enqueues its config again (up to twice). Processes that open
    a new database at the same moment race to create Optuna's tables; the losers retry
    a few times.
    """
    import optuna

    url = DEFAULT_STORAGE if url is None else str(url)
    hint = "pass --storage sqlite:///path/to/file.db, or a PostgreSQL/MySQL URL such as postgresql://user@host/db"
    if "://" not in url:
        raise ConfigError(f"storage {url!r} is not a database URL", hint)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    interval = HEARTBEAT_INTERVAL_S if heartbeat_interval is None else heartbeat_interval
    grace = HEARTBEAT_GRACE_S if grace_period is None else grace_period

    def create() -> BaseStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            base = optuna.storages.RDBStorage
            storage = (_MetaoptRDBStorage if base is _RDBStorage else base)(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=interval,
                grace_period=grace, heartbeat_stale_trial_callback=_rerun_lost_trial,
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


class _MetaoptRDBStorage(_RDBStorage):
    """:class:`optuna.storages.RDBStorage` that says why it fails a stale trial.

    Optuna fails a RUNNING trial whose heartbeat is stale (its process died) without a
    word, and after that nothing may be written to it. This subclass records
    ``status`` = ``"lost"`` and a ``message`` on each stale trial while it is still
    running, just before Optuna (``fail_stale_trials``, which every ``optimize`` loop
    and :func:`tune` call) fails it; the stale-trial callback then reruns its config.
    """

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        import optuna

        ids = list(super()._get_stale_trial_ids(study_id))
        for trial_id in ids:
            try:
                self.set_trial_user_attr(trial_id, "status", _LOST)
                self.set_trial_user_attr(
                    trial_id, "message",
                    f"lost: the process running this trial sent no heartbeat for over "
                    f"{self.grace_period} s (killed, or its machine lost); its config is rerun "
                    "as a new trial",
                )
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # another process finished or failed it meanwhile
        return ids


def _rerun_lost_trial(study: optuna.Study, trial: Any) -> None:
    """Stale-trial callback: enqueue the lost trial's config again (Optuna's
    ``RetryFailedTrialCallback``, without the sampler's bookkeeping attributes), at most
    ``_MAX_RERUNS`` times per config."""
    import optuna

    from metaopt.integrations.optuna._naming import ALGORITHM_PARAM

    history = [*trial.system_attrs.get("retry_history", []), trial.number]
    if ALGORITHM_PARAM not in trial.params or len(history) > _MAX_RERUNS:
        return
    user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in ("status", "message")}
    study.add_trial(
        optuna.create_trial(
            state=optuna.trial.TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={**user_attrs, "rerun_of": trial.number},
            system_attrs={"failed_trial": history[0], "retry_history": history},
        )
    )


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


def default_study_name(
    task: Task, algorithms: Sequence[str], protocol: Protocol, sampler: str = "meta"
) -> str:
    """``metaopt-<task id>-<sampler>-<8 hex digits>``: the same data, algorithms, scoring and
    sampler give the same name.

    Rerunning ``tune`` on the same data resumes the study; other algorithms or another
    scoring protocol (folds, metric) start a new one, since their trials would not be
    comparable (and Optuna cannot change a categorical's choices within a study), and so
    does another sampler (a comparison of samplers needs a study each).
    """
    key = json.dumps({"algorithms": sorted(algorithms), "protocol": protocol.protocol_id}, sort_keys=True)
    return f"metaopt-{task.task_id}-{sampler}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


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
    time_limit: float | str | None = AUTO_TIME_LIMIT,
    metric: str | None = None,
    seed: int | None = None,
    models: str | os.PathLike[str] | None = None,
    optimizer: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    on_start: Callable[[TunePlan], None] | None = None,
    openml_cache: str | os.PathLike[str] | None = None,
) -> TuneResult:
    """Tune metaopt's algorithms on a dataset with a warm-started, meta-sampled Optuna study.

    1. The study ``study_name`` (default :func:`default_study_name`: data, algorithms,
       scoring and sampler, so rerunning resumes it) is created in ``storage`` or
       loaded from it; direction maximize. Trials whose process died (a stale
       heartbeat, :data:`HEARTBEAT_GRACE_S`) are marked failed with status ``lost``
       and their configs enqueued again.
    2. ``warm_start`` of :func:`metaopt.suggest`'s suggestions are enqueued
       (:func:`warm_start`; those already in the study are not), at most as many as
       the study still lacks to reach ``n_trials``.
    3. The study is optimized with :func:`objective` (``folds``-fold cross-validation,
       ``time_limit`` seconds per config) and the ``sampler`` until ``n_trials`` of its
       trials count: scored, or failed with a result of their own (the config raised
       an error or ran out of time). Trials that ended without one (their process was
       killed, or Ctrl-C) do not count, and their configs are rerun. Trials running
       in another process on the same study are waited for. With ``n_jobs > 1``, that
       many worker processes (joblib/loky, one thread each) load the same study from
       ``storage`` and share the work; use a database all of them reach (SQLite for
       one machine).
    4. The best trial's pipeline is described by a pickle-free estimator spec; with
       ``output`` it is refitted on all the data and saved with joblib to ``output``
       (a **pickle**: load it only from a source you trust; metaopt never loads it),
       plus ``output + ".spec.json"`` with the spec, params and score.

    Parameters
    ----------
    n_trials
        Trials the study should hold in total, counted as above (a rerun with the
        same number only finishes what a killed run left; raise it to go on).
    sampler
        ``"meta"`` (:class:`MetaSampler`, the learned optimizer), ``"tpe"`` or ``"random"``.
    warm_start
        Suggestions to enqueue (0: none).
    storage
        An Optuna database URL (default :data:`DEFAULT_STORAGE`, in the working directory).
    time_limit
        Seconds per trial (all its folds); a slower config is a failed trial with status
        ``timeout``. ``"auto"``: ten times the expected seconds of the slowest searched
        algorithm's default config on this data (the models' fit-time prediction),
        within 60–600 s, or 300 s when no models can be loaded. None: no limit.
    seed
        Seed of the sampler (worker ``i`` uses ``seed + i``); None: random.
    models, optimizer
        Suggestion models and optimizer weights (defaults: ``$METAOPT_MODELS`` /
        ``$METAOPT_OPTIMIZER``, else ``datasets/models``).
    progress
        Called with a :class:`TuneProgress` as trials start and finish.
    on_start
        Called once with a :class:`TunePlan` before the first trial.
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
    TuneInterrupted
        On Ctrl-C while trials run (a ``KeyboardInterrupt`` that names the study and
        what it kept).
    """
    _check_options(n_trials, n_jobs, warm_start, sampler)
    limit = _check_time_limit(time_limit)
    run = _prepare_run(
        storage, study_name, data, target, task, kind, openml_cache, folds, limit, metric,
        algorithms, sampler, seed, optimizer, models,
    )
    study, samplers = _open_study(run)
    _reclaim_lost(study)
    resumed = bool(study.get_trials(deepcopy=False))
    enqueued = _enqueue_warm_start(study, run, warm_start, n_trials, run.models)
    counts = _Counts.of(study)
    if on_start is not None:
        on_start(TunePlan(
            study_name=run.name, storage=run.url, location=storage_location(run.url),
            resumed=resumed, samplers=samplers, sampler=run.sampler, n_trials=n_trials,
            done=counts.done, lost=counts.lost_pending, running=counts.running,
            to_run=max(n_trials - counts.done - counts.running, 0), warm_started=len(enqueued),
            time_limit=run.protocol.time_limit, time_limit_note=run.limit_note,
            algorithms=list(run.obj.algorithms), metric=run.obj.metric, folds=run.protocol.n_splits,
            n_jobs=n_jobs,
        ))
    before = counts.done
    try:
        _run_trials(study, run, n_trials, n_jobs, progress)
    except KeyboardInterrupt:
        done = _Counts.of(study).done
        raise TuneInterrupted(run.name, run.url, storage_location(run.url), done, n_trials) from None
    return _finish(study, run, before, enqueued, output)


def _check_options(n_trials: Any, n_jobs: Any, warm_start: Any, sampler: str) -> None:
    _check_int("n_trials", n_trials, 1)
    _check_int("n_jobs", n_jobs, 1)
    _check_int("warm_start", warm_start, 0)
    if sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {sampler!r}", f"choose one of: {', '.join(SAMPLERS)}")


def _check_time_limit(value: Any) -> float | str | None:
    """``"auto"``, None, or a positive finite number of seconds; else a ConfigError."""
    if value is None or value == AUTO_TIME_LIMIT:
        return value  # type: ignore[no-any-return]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise ConfigError(
            f"time_limit must be 'auto', None or a positive number of seconds, got {value!r}",
            "pass --time-limit auto, --time-limit none, or seconds such as --time-limit 120",
        )
    return float(value)


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
    models: Any
    limit_note: str


def _prepare_run(
    storage: str | None,
    study_name: str | None,
    data: str | os.PathLike[str] | pd.DataFrame | Task | None,
    target: str | None,
    task: Task | None,
    kind: str | None,
    openml_cache: str | os.PathLike[str] | None,
    folds: int,
    time_limit: float | str | None,
    metric: str | None,
    algorithms: Sequence[str] | None,
    sampler: str,
    seed: int | None,
    optimizer: str | os.PathLike[str] | None,
    models: Any,
) -> _TuneRun:
    """Open the storage, load the task, choose the time limit, build the objective and name the study."""
    from metaopt.evaluation import Protocol
    from metaopt.integrations.optuna._objective import Objective, resolve_task

    url = DEFAULT_STORAGE if storage is None else str(storage)
    store = open_storage(url)

    loaded = resolve_task(data, target, task, kind=kind, openml_cache=openml_cache)
    obj = Objective(loaded, algorithms, Protocol(n_splits=folds, metric=metric))
    metafeatures: dict[str, float] | None = None
    optimizer_ref: Any = optimizer
    if sampler == "meta":
        metafeatures, optimizer_ref = _meta_sampler_inputs(loaded, optimizer_ref)
    limit: float | None
    if time_limit == AUTO_TIME_LIMIT:
        limit, note, models = _auto_time_limit(loaded, obj, folds, models, metafeatures)
    else:
        limit = None if time_limit is None else float(time_limit)
        note = "no limit" if limit is None else "given"
    protocol = Protocol(n_splits=folds, time_limit=limit, metric=metric)
    obj.protocol = protocol
    name = study_name or default_study_name(loaded, obj.algorithms, protocol, sampler)
    return _TuneRun(
        url=url, store=store, task=loaded, protocol=protocol, obj=obj, name=name, sampler=sampler,
        seed=seed, metafeatures=metafeatures, optimizer=optimizer_ref, models=models,
        limit_note=note,
    )


def _auto_time_limit(
    task: Task, obj: Objective, folds: int, models: Any, metafeatures: dict[str, float] | None
) -> tuple[float, str, Any]:
    """The ``"auto"`` per-trial limit, how it was chosen, and the Recommender it loaded
    (reused for the warm start), or ``models`` as given when none could be loaded."""
    from metaopt.recommend import Recommender
    from metaopt.spaces import get_space

    fallback = "auto: no fit-time model could be loaded"
    try:
        rec = models if isinstance(models, Recommender) else Recommender.load(models)
    except MetaoptError:
        return _AUTO_FALLBACK_S, fallback, models
    pairs = [(a, dict(get_space(a).default(str(task.kind)))) for a in obj.algorithms if a in rec.algorithms]
    if not pairs:
        return _AUTO_FALLBACK_S, fallback, rec
    if metafeatures is None:
        from metaopt.metafeatures import extract

        metafeatures = dict(extract(task, random_state=0))
    rows = task.n_rows if obj.protocol.max_rows is None else min(task.n_rows, obj.protocol.max_rows)
    train_rows = max(int(rows * (folds - 1) / folds), 1)
    times = rec.surrogate_.expected_fit_time(metafeatures, pairs, train_rows)
    finite = [(float(t), a) for t, (a, _) in zip(times, pairs, strict=True) if math.isfinite(float(t))]
    if not finite:
        return _AUTO_FALLBACK_S, fallback, rec
    slowest, alg = max(finite)
    evaluation = slowest * folds
    limit = float(min(max(math.ceil(_AUTO_FACTOR * evaluation), _AUTO_FLOOR_S), _AUTO_CAP_S))
    bound = (
        f", at least {_AUTO_FLOOR_S:g} s" if limit == _AUTO_FLOOR_S
        else f", at most {_AUTO_CAP_S:g} s" if limit == _AUTO_CAP_S else ""
    )
    note = f"auto: {_AUTO_FACTOR:g} × the expected {evaluation:.2g} s of {alg}'s default config{bound}"
    return limit, note, rec


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


def _open_study(run: _TuneRun) -> tuple[optuna.Study, list[str]]:
    """Create or load the study with this process's sampler, check that it fits, and
    return it with the samplers earlier calls used on it."""
    local_sampler = make_sampler(
        run.sampler, seed=run.seed, task=None, metafeatures=run.metafeatures, shape=run.obj.shape,
        algorithms=run.obj.algorithms, optimizer=run.optimizer,
    )
    study = _create_study(run.name, run.store, local_sampler)
    samplers = _check_study(study, run.name, run.task, run.obj, run.protocol, run.sampler)
    return study, samplers


def _enqueue_warm_start(
    study: optuna.Study, run: _TuneRun, n_warm: int, n_trials: int, models: Any
) -> list[dict[str, Any]]:
    """Enqueue up to ``n_warm`` suggestions, at most as many as the study lacks."""
    from metaopt.integrations.optuna._warm_start import warm_start as _warm_start

    counts = _Counts.of(study)
    budget = n_trials - counts.done - counts.running - counts.waiting
    if not n_warm or budget <= 0:
        return []
    return _warm_start(
        study, task=run.task, n=min(n_warm, budget), algorithms=run.obj.algorithms,
        search_space=run.obj.search_space, models=models,
    )


@dataclass(frozen=True)
class _Counts:
    """The study's trials by what they mean for ``n_trials``."""

    done: int  # count towards n_trials: scored, pruned, or failed with a result of their own
    running: int
    waiting: int
    lost: int  # failed without a result (lost process, Ctrl-C)
    lost_pending: int  # ... whose configs are enqueued again
    best: float | None
    mean_trial_s: float | None
    in_flight: tuple[RunningTrial, ...]

    @staticmethod
    def of(study: optuna.Study) -> _Counts:
        from optuna.trial import TrialState

        from metaopt.integrations.optuna._naming import ALGORITHM_PARAM

        done = running = waiting = lost = 0
        values: list[float] = []
        seconds: list[float] = []
        in_flight: list[RunningTrial] = []
        rerun: set[int] = set()
        for t in study.get_trials(deepcopy=False):
            if t.state == TrialState.RUNNING:
                running += 1
                start = t.datetime_start.timestamp() if t.datetime_start else time.time()
                alg = t.params.get(ALGORITHM_PARAM)
                in_flight.append(RunningTrial(t.number, None if alg is None else str(alg), start))
            elif t.state == TrialState.WAITING:
                waiting += 1
                if "rerun_of" in t.user_attrs:
                    rerun.add(int(t.user_attrs["rerun_of"]))
            elif _counts_towards_total(t):
                done += 1
                if t.state == TrialState.COMPLETE and t.value is not None:
                    values.append(float(t.value))
                if t.datetime_start and t.datetime_complete:
                    seconds.append((t.datetime_complete - t.datetime_start).total_seconds())
            else:
                lost += 1
        return _Counts(
            done=done, running=running, waiting=waiting, lost=lost, lost_pending=len(rerun),
            best=max(values) if values else None,
            mean_trial_s=sum(seconds) / len(seconds) if seconds else None,
            in_flight=tuple(in_flight),
        )

    def progress(self, total: int, n_jobs: int, *, waiting: bool = False) -> TuneProgress:
        return TuneProgress(
            total=total, done=self.done, best=self.best, running=self.in_flight,
            mean_trial_s=self.mean_trial_s, n_jobs=n_jobs, waiting=waiting,
        )


def _counts_towards_total(trial: Any) -> bool:
    """Whether a finished trial counts towards ``n_trials``: scored or pruned, or failed
    with a result of its own (the objective recorded a status other than lost /
    interrupted)."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    status = trial.user_attrs.get("status")
    return trial.state == TrialState.FAIL and status is not None and status not in (_LOST, _INTERRUPTED)


def _reclaim_lost(study: optuna.Study) -> None:
    """Fail the study's stale trials (their process died) and enqueue their configs again."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


class _StopAt:
    """Optuna callback: stop once the trials that count plus those running reach ``total``."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, study: optuna.Study, trial: Any) -> None:
        counts = _Counts.of(study)
        if counts.done + counts.running >= self.total:
            study.stop()


def _run_trials(
    study: optuna.Study, run: _TuneRun, n_trials: int, n_jobs: int, progress: ProgressCallback | None
) -> None:
    """Run trials until ``n_trials`` of the study's count; wait for those running elsewhere."""
    rounds = 0
    while True:
        _reclaim_lost(study)
        counts = _Counts.of(study)
        if counts.done >= n_trials:
            if progress is not None:
                progress(counts.progress(n_trials, n_jobs))
            return
        to_run = n_trials - counts.done - counts.running
        if to_run <= 0:  # the rest runs elsewhere (or ran in a process that died: reclaimed soon)
            if progress is not None:
                progress(counts.progress(n_trials, n_jobs, waiting=True))
            time.sleep(_WAIT_POLL_S)
            continue
        rounds += 1
        if rounds > 2 * n_trials + 10:  # pragma: no cover - a guard against a loop without progress
            raise EvaluationError(
                f"study {run.name!r}: {rounds} rounds of trials did not reach {n_trials} trials",
                "see the trials' 'status' and 'message' user attributes",
            )
        if n_jobs == 1:
            _optimize_here(study, run, to_run, n_trials, progress)
        else:
            jobs = _worker_jobs(
                run.url, run.name, run.obj, run.sampler, run.seed, run.metafeatures, run.optimizer,
                to_run, n_trials, n_jobs,
            )
            _optimize_in_workers(study, jobs, n_trials, progress)


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
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    counts = _Counts.of(study)
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
        new_trials=max(counts.done - before, 0),
        best_trial=int(best.number),
        best_value=float(best.value) if best.value is not None else math.nan,
        algorithm=alg,
        params=full,
        spec=spec,
        warm_started=enqueued,
        n_done=counts.done,
        n_lost=counts.lost,
        sampler=run.sampler,
        time_limit=run.protocol.time_limit,
        target=run.task.target,
    )
    if output is not None:
        result.output, result.spec_path = _save(output, run.task, result)
    return result


def _check_study(
    study: optuna.Study, name: str, task: Task, obj: Any, protocol: Protocol, sampler: str
) -> list[str]:
    """Refuse to resume a study of other data, another direction or other algorithms;
    record this call's sampler and return the samplers earlier calls used."""
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
        info = mine
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
    earlier = [str(s) for s in info.get("samplers", [])]
    if sampler not in earlier or "samplers" not in info:
        study.set_user_attr("metaopt", {**info, "samplers": [*earlier, sampler]})
    return earlier


def _optimize_here(
    study: optuna.Study, run: _TuneRun, to_run: int, total: int, progress: ProgressCallback | None
) -> None:
    """Run up to ``to_run`` trials in this process (the objective reports each start)."""
    from metaopt.integrations.optuna._naming import ALGORITHM_PARAM

    obj = run.obj

    def report(waiting: bool = False) -> None:
        if progress is not None:
            progress(_Counts.of(study).progress(total, 1, waiting=waiting))

    def objective(trial: optuna.Trial) -> float:
        try:
            trial.suggest_categorical(ALGORITHM_PARAM, obj.algorithms)  # the same value obj gets
            report()
            return obj(trial)
        except KeyboardInterrupt:
            _mark_interrupted(study, trial)
            raise

    callbacks: list[Any] = [_StopAt(total), lambda study, trial: report()]
    report()
    study.optimize(objective, n_trials=to_run, callbacks=callbacks, catch=())


def _mark_interrupted(study: optuna.Study, trial: Any) -> None:
    """Record why a trial stops on Ctrl-C and enqueue its config again (best effort: a
    second Ctrl-C or a storage error leaves the trial as Optuna fails it)."""
    import optuna

    from metaopt.integrations.optuna._naming import ALGORITHM_PARAM

    try:
        trial.set_user_attr("status", _INTERRUPTED)
        trial.set_user_attr("message", "interrupted (Ctrl-C); its config is rerun when the study is resumed")
        if ALGORITHM_PARAM in trial.params:
            frozen = study._storage.get_trial(trial._trial_id)
            user_attrs = {k: v for k, v in frozen.user_attrs.items() if k not in ("status", "message")}
            study.add_trial(optuna.create_trial(
                state=optuna.trial.TrialState.WAITING, params=frozen.params,
                distributions=frozen.distributions,
                user_attrs={**user_attrs, "rerun_of": trial.number},
                system_attrs={"failed_trial": trial.number, "retry_history": [trial.number]},
            ))
    except Exception:  # noqa: BLE001,S110 - a best effort on the way out
        pass


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
            "heartbeat": (HEARTBEAT_INTERVAL_S, HEARTBEAT_GRACE_S),
        }
        for i, share in enumerate(shares)
        if share > 0
    ]


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    """One worker process: load the study and optimize its share (module level, for loky)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import optuna

    optuna.logging.set_verbosity(job["verbosity"])
    obj = job["objective"]
    interval, grace = job["heartbeat"]
    try:
        sampler = make_sampler(
            job["sampler"], seed=job["seed"], metafeatures=job["metafeatures"], shape=obj.shape,
            algorithms=obj.algorithms, optimizer=job["optimizer"],
        )
        storage = open_storage(job["storage"], heartbeat_interval=interval, grace_period=grace)
        study = optuna.load_study(study_name=job["study_name"], storage=storage, sampler=sampler)
        study.optimize(obj, n_trials=job["n_trials"], callbacks=[_StopAt(job["total"])], catch=())
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

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(run_all)
        while True:
            if progress is not None:
                progress(_Counts.of(study).progress(total, len(jobs)))
            try:
                outcomes = future.result(timeout=0.5)
                break
            except concurrent.futures.TimeoutError:
                continue
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)  # the workers got the Ctrl-C too
        raise
    pool.shutdown(wait=True)
    if progress is not None:
        progress(_Counts.of(study).progress(total, len(jobs)))
    for outcome in outcomes:
        if outcome["error"] is not None:
            cls_name, message, hint = outcome["error"]
            cls = getattr(errors, cls_name, MetaoptError)
            raise cls(message, hint)


def _spec_document(task: Task | None, result: TuneResult) -> dict[str, Any]:
    from metaopt.spaces._save import SPEC_FORMAT, SPEC_VERSION

    return {
        "format": SPEC_FORMAT,
        "version": SPEC_VERSION,
        "note": (
            "The spec below rebuilds the best trial's unfitted pipeline without pickle: "
            "metaopt.estimator_from_spec(spec)."
        ),
        "task_id": result.task_id,
        "task_name": result.task_name,
        "kind": result.kind,
        "target": task.target if task is not None else result.target,
        "study_name": result.study_name,
        "storage": result.storage,
        "trial": result.best_trial,
        "metric": result.metric,
        "score": result.best_value,
        "algorithm": result.algorithm,
        "params": result.params,
        "spec": result.spec,
    }


def write_spec(result: TuneResult, path: str | os.PathLike[str]) -> str:
    """Write the best trial's pickle-free spec document (format ``metaopt-tune-spec``) to ``path``.

    The same document as ``output + ".spec.json"`` of :func:`tune`, without the fitted
    model's fields. Returns the path written; an unwritable path is a ConfigError.
    """
    target = Path(path)
    if target.parent and not target.parent.is_dir():
        raise ConfigError(f"cannot write {str(target)!r}: folder {str(target.parent)!r} does not exist",
                          "create it, or pass another path")
    doc = _spec_document(None, result)
    try:
        from metaopt.spaces._save import _finite

        target.write_text(json.dumps(_finite(doc), indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {str(target)!r}: {exc}", "pass another path") from None
    return str(target)


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
