"""The evaluation protocol: how rows are sampled, split and scored.

A :class:`Protocol` is a frozen, JSON-serialisable description of *how* a config is
scored on a task. Two evaluations with the same ``protocol_id`` on the same task used
the same rows, the same folds and the same metric, so their scores are comparable.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError, EvaluationError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from metaopt.tasks import Task

__all__ = ["DEFAULT_METRICS", "PROTOCOL_VERSION", "Protocol"]

#: Bumped whenever the sampling or splitting code changes what a protocol means.
PROTOCOL_VERSION = 1

#: The metric used when :attr:`Protocol.metric` is ``None``, per task kind.
DEFAULT_METRICS: dict[str, str] = {
    "binary": "roc_auc",
    "multiclass": "balanced_accuracy",
    "regression": "r2",
}

# The fields that change how a score is computed; they (and PROTOCOL_VERSION) make up
# the protocol_id. time_limit and memory_limit only decide whether a config finishes.
_SCORING_FIELDS = ("n_splits", "seed", "max_rows", "metric")


@dataclass(frozen=True)
class Protocol:
    """How a config is scored on a task: rows, folds, metric and resource limits.

    The procedure, applied identically to every (task, config):

    1. **Rows.** If the task has more than ``max_rows`` rows, a subsample of
       ``max_rows`` rows is drawn with ``numpy.random.default_rng(seed)``; for
       classification it is stratified (every class keeps its share, and at least
       ``min(count, n_splits)`` rows so that folds stay valid).
    2. **Folds.** ``StratifiedKFold`` (classification) or ``KFold`` (regression) with
       ``n_splits`` folds, ``shuffle=True``, ``random_state=seed``. If the smallest
       class has fewer members than ``n_splits`` (but at least 2), the number of folds
       is reduced to that count; ``len(Evaluation.fold_scores)`` shows it.
    3. **Fit and score.** Each fold fits a fresh estimator (``random_state`` set to
       ``seed`` where the estimator has one and it is unset), single-threaded, and
       scores the held-out rows with the scikit-learn scorer ``metric``.
       Classification targets are passed as integer codes in category order, so the
       "positive" class of binary metrics is the second category. Scores follow
       scikit-learn's scorer convention: greater is better (losses are negated,
       e.g. ``neg_log_loss``).

    Parameters
    ----------
    n_splits
        Number of cross-validation folds (at least 2).
    seed
        Seed of the row subsample, the fold shuffle and the estimators.
    max_rows
        Rows used at most (stratified subsample); ``None`` uses every row.
    metric
        A scikit-learn scorer name (``sklearn.metrics.get_scorer_names()``);
        ``None`` uses :data:`DEFAULT_METRICS` for the task's kind (ROC-AUC for binary,
        balanced accuracy for multiclass, R² for regression).
    time_limit
        Wall-clock seconds allowed for one whole evaluation (all folds). When set, the
        evaluation runs in a separate worker process that is killed when the limit
        passes; the evaluation is then recorded with status ``"timeout"``. ``None``
        runs in the calling process without a limit.
    memory_limit
        MiB of address space a config may allocate in the worker process, beyond
        what the worker's loaded libraries already use (``RLIMIT_AS``, POSIX only);
        a config that needs more fails with ``MemoryError`` and is recorded as
        ``"error"``. Setting it also runs the evaluation in a worker process.
    """

    n_splits: int = 5
    seed: int = 0
    max_rows: int | None = 10_000
    metric: str | None = None
    time_limit: float | None = None
    memory_limit: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.n_splits, int) or isinstance(self.n_splits, bool) or self.n_splits < 2:
            raise ConfigError(
                f"n_splits must be an integer of at least 2, got {self.n_splits!r}",
                hint="use 2 or more cross-validation folds (e.g. --folds 5)",
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.max_rows is not None and (not isinstance(self.max_rows, int) or self.max_rows < 2 * self.n_splits):
            raise ConfigError(
                f"max_rows must be None or an integer of at least 2 × n_splits "
                f"({2 * self.n_splits}), got {self.max_rows!r}",
                hint="pass a larger row cap, or None to use every row",
            )
        if self.time_limit is not None and not (
            isinstance(self.time_limit, (int, float)) and math.isfinite(self.time_limit) and self.time_limit > 0
        ):
            raise ConfigError(
                f"time_limit must be None or a positive number of seconds, got {self.time_limit!r}"
            )
        if self.memory_limit is not None and (
            not isinstance(self.memory_limit, int) or self.memory_limit < 256
        ):
            raise ConfigError(
                f"memory_limit must be None or an integer number of MiB (at least 256), "
                f"got {self.memory_limit!r}"
            )
        if self.metric is not None:
            _scorer(self.metric)  # raises ConfigError for unknown names

    # ------------------------------------------------------------------ presets
    @classmethod
    def kb(cls, seed: int = 0) -> Protocol:
        """The cheap protocol used to build the knowledge base.

        3 folds, at most 3,000 rows (stratified), per-kind default metric, 300 s per
        evaluation and 4 GiB of extra address space per evaluation. Tens of thousands of such
        evaluations fit in a day on a few cores.
        """
        return cls(n_splits=3, seed=seed, max_rows=3_000, metric=None, time_limit=300.0, memory_limit=4096)

    # ------------------------------------------------------------ serialisation
    @property
    def protocol_id(self) -> str:
        """Stable id of the scoring procedure (rows, folds, metric, seed, version).

        The resource limits are not part of it: they decide whether an evaluation
        finishes, not what its score means.
        """
        payload = {"version": PROTOCOL_VERSION, **{k: getattr(self, k) for k in _SCORING_FIELDS}}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        return f"p{PROTOCOL_VERSION}-{digest[:12]}"

    @property
    def isolated(self) -> bool:
        """Whether evaluations run in a separate, killable worker process."""
        return self.time_limit is not None or self.memory_limit is not None

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (round-trips with :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        """Rebuild a protocol from :meth:`to_dict` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown protocol fields {unknown}", hint=f"known fields are {sorted(known)}"
            )
        return cls(**data)

    # ------------------------------------------------------------------ metric
    def metric_for(self, kind: str) -> str:
        """The scorer name used for a task of this kind; checks that it applies.

        Raises
        ------
        ConfigError
            If the metric cannot score a task of this kind (a regression metric on a
            classification task, ``roc_auc`` on a multiclass task, ...).
        """
        name = self.metric if self.metric is not None else DEFAULT_METRICS[kind]
        _check_metric_kind(name, kind)
        return name

    # ------------------------------------------------------------ rows & folds
    def subsample(self, task: Task) -> np.ndarray:
        """Positions (sorted) of the rows this protocol uses from ``task``."""
        n = task.n_rows
        if self.max_rows is None or n <= self.max_rows:
            return np.arange(n)
        rng = np.random.default_rng(self.seed)
        if not task.is_classification:
            return np.sort(rng.choice(n, size=self.max_rows, replace=False))
        codes = task.y.cat.codes.to_numpy()
        groups = [rng.permutation(np.flatnonzero(codes == c)) for c in np.unique(codes)]
        counts = np.array([len(g) for g in groups])
        floors = np.minimum(counts, self.n_splits)
        quota = max(self.max_rows - int(floors.sum()), 0)
        spare = counts - floors
        exact = spare * (quota / spare.sum()) if spare.sum() else np.zeros(len(groups))
        extra = np.floor(exact).astype(int)
        short = quota - int(extra.sum())
        if short > 0:  # largest remainders first, ties by class order
            order = np.argsort(-(exact - extra), kind="stable")[:short]
            extra[order] += 1
        take = np.minimum(floors + extra, counts)
        return np.sort(np.concatenate([g[:k] for g, k in zip(groups, take, strict=True)]))

    def n_folds_for(self, y_codes: np.ndarray | None, n_rows: int) -> int:
        """Number of folds used for these (already subsampled) rows.

        Raises
        ------
        EvaluationError
            If there are too few rows, or a class has fewer than 2 members.
        """
        if n_rows < 4:
            raise EvaluationError(
                f"the task has {n_rows} rows; cross-validation needs at least 4",
                hint="add rows to the data set",
            )
        k = min(self.n_splits, n_rows // 2)
        if y_codes is not None:
            present = np.bincount(y_codes)
            smallest = int(present[present > 0].min())
            if smallest < 2:
                raise EvaluationError(
                    "a class has a single example, so stratified cross-validation cannot "
                    "put it in both a training and a test fold",
                    hint="drop or merge the rare class, or use more rows (max_rows)",
                )
            k = min(k, smallest)
        return k

    def folds(self, y_codes: np.ndarray | None, n_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(train, test) positions of each fold, for rows already subsampled."""
        from sklearn.model_selection import KFold, StratifiedKFold

        k = self.n_folds_for(y_codes, n_rows)
        if y_codes is not None:
            splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.seed)
            return splitter.split(np.zeros(n_rows), y_codes)
        splitter = KFold(n_splits=k, shuffle=True, random_state=self.seed)
        return splitter.split(np.zeros(n_rows))


def _scorer(name: str) -> Any:
    """The scikit-learn scorer called ``name``, or a ConfigError listing valid ones."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if not isinstance(name, str) or name not in get_scorer_names():
        examples = ", ".join(
            ["roc_auc", "balanced_accuracy", "accuracy", "neg_log_loss", "f1_macro", "r2",
             "neg_root_mean_squared_error"]
        )
        raise ConfigError(
            f"unknown metric {name!r}: not a scikit-learn scorer name",
            hint=f"use one of sklearn.metrics.get_scorer_names(), e.g. {examples}",
        )
    return get_scorer(name)


def _check_metric_kind(name: str, kind: str) -> None:
    """Raise ConfigError if scorer ``name`` cannot score a ``kind`` task.

    A scorer built on a regression metric (``sklearn.metrics._regression``) applies to
    regression only, every other scorer to classification only; then the scorer is
    tried on a tiny synthetic problem of that kind, which catches e.g. ``roc_auc`` on
    a multiclass task.
    """
    scorer = _scorer(name)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    is_regression_metric = module.endswith("_regression")
    if (kind == "regression") != is_regression_metric:
        wanted = "a regression" if kind == "regression" else "a classification"
        default = DEFAULT_METRICS[kind]
        raise ConfigError(
            f"metric {name!r} cannot score a {kind} task",
            hint=f"use {wanted} metric such as {default!r}",
        )
    _dry_run(name, kind)


def _dry_run(name: str, kind: str) -> None:
    import warnings

    from sklearn.dummy import DummyClassifier, DummyRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    if kind == "regression":
        y: np.ndarray = rng.normal(size=12)
        est: Any = DummyRegressor().fit(X, y)
    else:
        y = np.arange(12) % (2 if kind == "binary" else 3)
        est = DummyClassifier(strategy="stratified", random_state=0).fit(X, y)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _scorer(name)(est, X, y)
    except Exception as exc:  # noqa: BLE001 - any failure means the metric does not apply
        raise ConfigError(
            f"metric {name!r} cannot score a {kind} task ({type(exc).__name__}: {exc})",
            hint=f"use a metric for {kind} tasks such as {DEFAULT_METRICS[kind]!r}",
        ) from None
