"""What :class:`MetaoptClassifier` and :class:`MetaoptRegressor` share: parameters,
input checks, the search and the refit."""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from metaopt._exceptions import ConfigError, DataError, EvaluationError, TargetError
from metaopt.estimators import _search

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.recommend import Recommender, Suggestion
    from metaopt.tasks import Task

__all__ = ["MetaoptEstimator"]

# Loaded recommenders by (models directory, manifest mtime): a fit in a GridSearchCV or
# cross_val_score loop loads the shipped models once per process, not once per fit.
_LOADED: dict[tuple[str, float], Recommender] = {}


def load_recommender(models: str | os.PathLike[str] | Recommender | None) -> Recommender:
    """``models`` itself when it is a Recommender, else the one saved there (cached).

    Raises
    ------
    ModelError, ModelVersionError
        If the models are missing or were trained for another metaopt.
    """
    from metaopt.recommend import Recommender, default_models_path

    if isinstance(models, Recommender):
        return models
    root = default_models_path(models)
    manifest = root / "manifest.json"
    key = (str(root.resolve()), manifest.stat().st_mtime if manifest.is_file() else -1.0)
    if key not in _LOADED:
        _LOADED[key] = Recommender.load(root)
    return _LOADED[key]


class MetaoptEstimator(BaseEstimator):
    """The base of :class:`MetaoptClassifier` and :class:`MetaoptRegressor` (see them).

    Subclasses set ``_kinds`` and implement ``_check_y`` (the target as the task's
    ``y`` plus the labels the final model is fitted on) and ``_final`` (the fitted
    final model from unfitted pipelines).
    """

    def __init__(
        self,
        top: int = 5,
        cv: int = 5,
        scoring: str | None = None,
        algorithms: Sequence[str] | None = None,
        n_trials: int | None = None,
        time_budget: float | None = None,
        ensemble: int | None = None,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        models: str | os.PathLike[str] | Recommender | None = None,
    ) -> None:
        self.top = top
        self.cv = cv
        self.scoring = scoring
        self.algorithms = algorithms
        self.n_trials = n_trials
        self.time_budget = time_budget
        self.ensemble = ensemble
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.models = models

    # -- scikit-learn conventions ---------------------------------------------------------

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    # -- fit ------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> MetaoptEstimator:
        """Suggest, cross-validate, optionally tune, and refit the best on all rows.

        Parameters
        ----------
        X
            Training features: a DataFrame (numeric, categorical and text columns, NaN
            where missing), a 2-D numpy array or a list of rows.
        y
            Targets, one per row (see the subclass for the codings accepted).

        Returns
        -------
        MetaoptEstimator
            ``self``, fitted.

        Raises
        ------
        ValueError
            For bad input: metaopt's :class:`~metaopt.DataError` /
            :class:`~metaopt.ConfigError` (both ``ValueError``) with the rule broken and
            the fix, or scikit-learn's validation errors (sparse, complex or 1-D
            ``X``, infinite values).
        """
        options = self._checked_params()
        budget = _search.Budget(options["time_budget"])
        frame = self._check_X(X, reset=True)
        task_y, fit_y = self._check_y(y, frame.shape[0])
        task = self._task(frame, task_y)
        rec = load_recommender(self.models)
        seed = options["seed"]
        planned = options["top"] + (0 if options["open_ended"] else options["n_trials"])
        progress = _search.Progress(options["verbose"], planned)
        try:
            for notice in task.notices:
                progress.log(notice)
            found = _search.search(
                task, rec, top=options["top"], cv=options["cv"], scoring=self.scoring,
                algorithms=options["algorithms"], n_trials=options["n_trials"], budget=budget,
                open_ended=options["open_ended"],
                n_jobs=options["n_jobs"], seed=seed, progress=progress,
            )
            self.search_time_ = budget.elapsed()
            for notice in found.notices:
                progress.log(notice)
            self._store_results(found)
            started = time.perf_counter()
            self._refit(found, task, frame, fit_y, options["ensemble"], seed)
            self.refit_time_ = time.perf_counter() - started
            progress.log(
                f"best: {self.best_params_['algorithm']} ({self.metric_} {self.best_score_:.4f}); "
                f"search {self.search_time_:.1f} s, refit {self.refit_time_:.1f} s"
            )
        finally:
            progress.close()
        return self

    def _checked_params(self) -> dict[str, Any]:
        """The parameters, checked, with defaults resolved (ConfigError when invalid)."""
        out: dict[str, Any] = {}
        out["top"] = _int("top", self.top, 1)
        out["cv"] = _int("cv", self.cv, 2)
        out["open_ended"] = self.n_trials is None and self.time_budget is not None
        if self.n_trials is None:
            out["n_trials"] = _search.BUDGET_TRIALS if out["open_ended"] else 0
        else:
            out["n_trials"] = _int("n_trials", self.n_trials, 0)
        out["ensemble"] = 1 if self.ensemble is None else _int("ensemble", self.ensemble, 1)
        out["verbose"] = _int("verbose", int(self.verbose) if isinstance(self.verbose, bool) else self.verbose, 0)
        budget = self.time_budget
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget) or budget <= 0
        ):
            raise ConfigError(f"time_budget must be None or a positive number of seconds, got {budget!r}")
        out["time_budget"] = None if budget is None else float(budget)
        if self.scoring is not None and not isinstance(self.scoring, str):
            raise ConfigError(
                f"scoring must be None or a scikit-learn scorer name, got {self.scoring!r}",
                "pass e.g. scoring='roc_auc' (sklearn.metrics.get_scorer_names())",
            )
        algorithms = self.algorithms
        if isinstance(algorithms, str):
            algorithms = [algorithms]
        out["algorithms"] = None if algorithms is None else [str(a) for a in algorithms]
        out["n_jobs"] = _n_jobs(self.n_jobs)
        out["seed"] = _seed(self.random_state)
        return out

    def _check_X(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame with the fit's column names (``x0``, ``x1``, ... for arrays).

        Sets (``reset``) or checks ``n_features_in_`` and ``feature_names_in_``.
        """
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[1] == 0:
                check_array(np.empty((X.shape[0], 0)), estimator=self)  # "0 feature(s)" error
            if X.shape[0] < (2 if reset else 1):
                check_array(np.empty((X.shape[0], X.shape[1])), ensure_min_samples=2 if reset else 1, estimator=self)
            frame = X.reset_index(drop=True)
            _refuse_infinity(frame)
        else:
            array = check_array(
                X, dtype=None, accept_sparse=False, ensure_all_finite="allow-nan",
                ensure_min_samples=2 if reset else 1, estimator=self, input_name="X",
            )
            validate_data(self, array, reset=reset, skip_check_array=True)
            frame = pd.DataFrame(array)
        if reset:
            self._columns = [f"x{i}" for i in range(frame.shape[1])] if not isinstance(X, pd.DataFrame) else [
                str(c) for c in X.columns
            ]
        return frame.set_axis(self._columns, axis=1)

    def _task(self, frame: pd.DataFrame, y: pd.Series) -> Task:
        """The Task the search runs on (metaopt's own loader: the CLI's coercion and errors)."""
        from metaopt.tasks import load_xy

        return load_xy(
            frame, y, kind=self._kind(y), name=type(self).__name__, drop_rare_classes=True
        )

    # -- the results ----------------------------------------------------------------------

    def _store_results(self, found: _search.SearchResult) -> None:
        """``cv_results_``, ``suggestions_`` and ``metric_`` from the search."""
        rows = found.rows
        self.metric_ = found.metric
        self.n_splits_ = found.n_splits
        self.suggestions_: list[Suggestion] = list(found.suggestions)
        self.cv_results_ = _cv_results(rows, max(found.n_splits, max((len(r.fold_scores) for r in rows), default=0)))
        self._rows = rows

    def _ranked_rows(self) -> list[int]:
        """Row indices, best first: scored rows by score (ties by position), then the rest."""
        rows = self._rows
        scored = sorted((i for i, r in enumerate(rows) if r.ok), key=lambda i: (-rows[i].score, i))
        return scored + [i for i, r in enumerate(rows) if not r.ok]

    def _refit(
        self,
        found: _search.SearchResult,
        task: Task,
        frame: pd.DataFrame,
        fit_y: Any,
        ensemble: int,
        seed: int,
    ) -> None:
        """Fit the best configuration (or the best ``ensemble`` of them) on every row."""
        from metaopt.spaces import estimator_from_spec

        order = self._ranked_rows()
        if not any(self._rows[i].ok for i in order) and found.n_splits:
            warnings.warn(
                "no configuration finished cross-validation (see cv_results_['status']); "
                "refitting the first suggestion",
                UserWarning,
                stacklevel=3,
            )
            order = list(range(len(self._rows)))
        members = [i for i in order if self._rows[i].ok][:ensemble] if ensemble > 1 else []
        if len(members) > 1:
            specs = [self._spec(self._rows[i], task, seed) for i in members]
            named = [
                (f"{self._rows[i].algorithm}_{i}", estimator_from_spec(s)) for i, s in zip(members, specs, strict=True)
            ]
            self.best_estimator_ = self._final(named, frame, fit_y, seed)
            self.ensemble_indices_ = np.asarray(members)
            self._set_best(members[0], specs[0])
            return
        errors = []
        for i in order:
            spec = self._spec(self._rows[i], task, seed)
            try:
                named = [(f"{self._rows[i].algorithm}_{i}", estimator_from_spec(spec))]
                self.best_estimator_ = self._final(named, frame, fit_y, seed)
            except Exception as exc:  # noqa: BLE001 - try the next configuration
                errors.append(f"{self._rows[i].algorithm}: {type(exc).__name__}: {exc}")
                continue
            self.ensemble_indices_ = np.asarray([i])
            self._set_best(i, spec)
            return
        raise EvaluationError(
            "no configuration could be fitted on the data (" + "; ".join(errors[:3]) + ")",
            "check the data, or allow other algorithms",
        )

    def _set_best(self, i: int, spec: dict[str, Any]) -> None:
        row = self._rows[i]
        self.best_index_ = int(i)
        self.best_spec_ = spec
        self.best_params_ = {"algorithm": row.algorithm, **row.params}
        self.best_score_ = float(row.score)

    @staticmethod
    def _spec(row: _search.Row, task: Task, seed: int) -> dict[str, Any]:
        """The estimator spec of a row: its suggestion's, or built from its space."""
        from metaopt.spaces import estimator_to_spec, get_space

        if row.suggestion is not None:
            return row.suggestion.spec
        return estimator_to_spec(get_space(row.algorithm).to_estimator(row.params, task, seed=seed))

    # -- predict --------------------------------------------------------------------------

    def _prepared(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "best_estimator_")
        return self._check_X(X, reset=False)

    # -- for subclasses -------------------------------------------------------------------

    def _check_y(self, y: Any, n_rows: int) -> tuple[pd.Series, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _kind(self, y: pd.Series) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _final(self, named: list[tuple[str, Any]], frame: pd.DataFrame, y: Any, seed: int) -> Any:  # pragma: no cover
        raise NotImplementedError


def _cv_results(rows: Sequence[_search.Row], n_splits: int) -> dict[str, Any]:
    """``cv_results_``: one entry per row, like ``GridSearchCV.cv_results_``."""
    from scipy.stats import rankdata

    scores = np.array([r.score if r.ok else np.nan for r in rows], dtype=float)
    out: dict[str, Any] = {
        "algorithm": np.array([r.algorithm for r in rows], dtype=object),
        "params": [{"algorithm": r.algorithm, **r.params} for r in rows],
        "config_id": np.array([r.config_id for r in rows], dtype=object),
        "source": np.array([r.source for r in rows], dtype=object),
        "suggestion_rank": np.array(
            [r.suggestion.rank if r.suggestion is not None else -1 for r in rows], dtype=int
        ),
    }
    for k in range(n_splits):
        out[f"split{k}_test_score"] = np.array(
            [r.fold_scores[k] if r.ok and k < len(r.fold_scores) else np.nan for r in rows], dtype=float
        )
    out["mean_test_score"] = scores
    out["std_test_score"] = np.array([np.std(r.fold_scores) if r.ok else np.nan for r in rows], dtype=float)
    out["rank_test_score"] = (
        rankdata(np.where(np.isfinite(scores), -scores, np.inf), method="min").astype(np.int32)
        if len(rows) else np.zeros(0, dtype=np.int32)
    )
    out["mean_fit_time"] = np.array([r.fit_time for r in rows], dtype=float)
    out["status"] = np.array([r.status for r in rows], dtype=object)
    out["message"] = np.array([r.message for r in rows], dtype=object)
    return out


def _refuse_infinity(frame: pd.DataFrame) -> None:
    """A DataError (a ValueError) naming the numeric columns that hold ±inf."""
    numeric = frame.select_dtypes(include="number")
    if numeric.shape[1] == 0:
        return
    values = numeric.to_numpy(dtype=float, na_value=np.nan)
    counts = np.isinf(values).sum(axis=0)
    if counts.any():
        bad = ", ".join(f"{c!r} ({n})" for c, n in zip(numeric.columns, counts, strict=True) if n)
        raise DataError(
            f"Input X contains infinity: column(s) {bad}",
            "replace infinite values with finite numbers or NaN (missing values are allowed)",
        )


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(f"{name} must be an integer of at least {low}, got {value!r}")
    return int(value)


def _n_jobs(n_jobs: Any) -> int:
    """scikit-learn's ``n_jobs`` (None: 1, -1: every CPU, -2: all but one) as a worker count."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise ConfigError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")
    if n_jobs < 0:
        import joblib

        return max(1, int(joblib.effective_n_jobs(int(n_jobs))))
    return int(n_jobs)


def _seed(random_state: Any) -> int:
    """The seed of every random choice of a fit: ``random_state`` itself when it is an int."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        if not 0 <= random_state < 2**32:
            raise ConfigError(f"random_state must be in [0, 2**32), got {random_state!r}")
        return int(random_state)
    try:
        rng = check_random_state(random_state)
    except ValueError as exc:
        raise ConfigError(str(exc), "pass None, an integer or a numpy RandomState") from None
    return int(rng.randint(0, 2**31 - 1))


def _target_missing(values: np.ndarray) -> TargetError | None:
    """A TargetError for missing or infinite target values (None when there are none)."""
    missing = pd.isna(pd.Series(values, dtype=object if values.dtype == object else None)).to_numpy()
    if missing.any():
        return TargetError(
            f"Input y contains NaN: {int(missing.sum())} of {values.shape[0]} target values are missing",
            "drop those rows from X and y (metaopt does not impute targets)",
        )
    if values.dtype.kind in "fc" and np.isinf(values).any():
        return TargetError(
            f"Input y contains infinity: {int(np.isinf(values).sum())} target values are infinite",
            "replace them with finite numbers, or drop those rows",
        )
    return None
