"""Real tuning on held-out knowledge-base tasks: fresh configs, real CV, judged on unseen data.

What :mod:`harness._tune` does on the evaluated pools, done for real. On each held-out
task (:func:`harness._heldout.load_split`: its corpus source, rows capped as the KB
protocol caps them, one outer train / test split), every method of
:func:`harness._tune_methods.default_tuning_methods` runs Optuna studies whose
objective cross-validates each proposed configuration on the training part
(:class:`metaopt.integrations.optuna.Objective`'s evaluation: ``cv_folds``-fold CV,
one core, ``time_limit`` seconds per configuration, failures as FAIL trials). The meta
methods use the held-out task's fold Recommender (fitted on the training folds only)
as ``metaopt tune`` does: its learned optimizer drives :class:`MetaSampler` (meta-features
of the training part), and the warm-started methods enqueue ``metaopt suggest``'s top
``top`` for the training part through :func:`metaopt.integrations.optuna.warm_start`,
the same suggestions for ``tpe_warm5`` and ``meta_warm5``. WS-CMA-ES's source trials are
the evaluated pools of the 3 training tasks nearest in meta-feature space.

Every evaluated configuration is also refitted on the whole training part and scored
on the outer test part (:func:`harness._heldout.outer_score`), once per task: results
are cached by ``config_id``, across methods and seeds (TPE's first 10 trials are random
search's, the warm starts are shared) and across reruns (``{out}/tune_real_evals.jsonl``).

Judgement (:func:`incumbent_regret`): a study's incumbent after ``t`` trials is its
best trial by CV score (the first of equals); its regret is ``(hi - test) / (hi - lo)``
where ``hi`` / ``lo`` are the best / worst outer-test scores of every configuration any
method evaluated on the task (0: the incumbent is the task's best configuration on
unseen data; no successful trial yet: 1). So regret measures what the search would
hand the user, not the winner's curse of its noisy CV.

The noise floor: a few configurations per task (``metaopt suggest``'s top-1, the best
and the median by CV) are cross-validated again with other fold seeds; the spread
(standard deviation) of their CV scores, in the same normalized units as regret,
says how far apart two configurations must be before CV can tell them apart.

Resumable: each finished (task, method, seed) study is appended to
``{out}/tune_real_runs.jsonl`` (its trials' configurations, CV and test scores,
seconds per suggestion), each task's summary (suggestions, top-1, noise floor) too;
a rerun skips what is there. Workers append under an exclusive ``flock``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from harness._tune import TuningResult
from harness._tune_methods import TuneMethod, TuneTask, default_tuning_methods, run_study
from metaopt.bench._ldo import _clean, _markdown, finish_markdown

__all__ = [
    "REAL_CHECKPOINTS",
    "RealSettings",
    "RealTuningResult",
    "TaskJob",
    "append_jsonl",
    "expected_cost",
    "incumbent_regret",
    "read_jsonl",
    "run_task",
    "summarize",
]

#: Trials at which the real-tuning tables report.
REAL_CHECKPOINTS: tuple[int, ...] = (1, 3, 5, 10, 20, 30)

#: The method that is ``metaopt tune`` (MetaSampler + warm start with the top 5).
SHIPPED = "meta_warm5"

#: Method labels in the report.
LABELS = {
    "random": "random search",
    "tpe": "Optuna TPE",
    "tpe_warm5": "TPE + metaopt's top 5",
    "cmaes_source": "WS-CMA-ES (3 nearest tasks' pools)",
    "meta": "MetaSampler, no warm start",
    "meta_warm5": "metaopt tune (MetaSampler + top 5): the shipped default",
    "meta_rnn": "the RNN alone (no transfer stage, no warm start)",
}

RUNS_FILE = "tune_real_runs.jsonl"
EVALS_FILE = "tune_real_evals.jsonl"


@dataclass(frozen=True)
class RealSettings:
    """Everything that decides a study's scores (keys of the runs and the evaluation cache)."""

    max_rows: int = 3000
    test_size: float = 0.25
    split_seed: int = 0
    cv_folds: int = 3
    cv_seed: int = 0
    time_limit: float = 10.0
    memory_limit: int | None = 4096
    trials: int = 30
    top: int = 5
    noise_configs: int = 3
    noise_seeds: int = 2

    @property
    def data_key(self) -> str:
        """What an evaluation's scores depend on besides the task, config and CV seed."""
        return (f"rows{self.max_rows}|test{self.test_size:g}|split{self.split_seed}|cv{self.cv_folds}"
                f"|limit{self.time_limit:g}|mem{self.memory_limit}")

    @property
    def study_key(self) -> str:
        """A short hash of every setting (a study run under other settings is not reused)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def protocol(self, cv_seed: int | None = None) -> Any:
        from metaopt.evaluation import Protocol

        return Protocol(n_splits=self.cv_folds, seed=self.cv_seed if cv_seed is None else int(cv_seed),
                        max_rows=None, time_limit=self.time_limit, memory_limit=self.memory_limit)


@dataclass
class TaskJob:
    """One held-out task's work, sent to a worker process (small and picklable)."""

    task_id: str
    kind: str
    group: str
    fold: int
    kb_row: pd.DataFrame
    models: str
    methods: list[str]
    seeds: list[int]
    settings: RealSettings
    out: str
    done: set[str] = field(default_factory=set)
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_rows: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    source_tasks: list[str] = field(default_factory=list)
    expected_s: float = 0.0


# -- JSONL ---------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def append_jsonl(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as a line, under an exclusive lock (NaN as null)."""
    import fcntl

    line = json.dumps(_plain(dict(record)), allow_nan=False) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(line)
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file (none if it is missing; a torn last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def study_key(task_id: str, method: str, seed: int, settings: RealSettings) -> str:
    return f"study|{task_id}|{method}|{seed}|{settings.study_key}"


def task_key(task_id: str, settings: RealSettings) -> str:
    return f"task|{task_id}|{settings.study_key}"


def eval_key(task_id: str, config_id: str, cv_seed: int, settings: RealSettings) -> str:
    return f"{task_id}|{config_id}|cvseed{cv_seed}|{settings.data_key}"


# -- one task, in a worker -------------------------------------------------------------------
class _Evaluator:
    """Cross-validates configs on the training part and scores their refit on the outer test part.

    Cached by ``(config_id, CV seed)``; new evaluations are appended to the cache file.
    """

    def __init__(self, job: TaskJob, train: Any, X_tr: Any, y_tr: Any, X_te: Any, y_te: Any) -> None:
        from metaopt.integrations.optuna import Objective

        self.job, self.train = job, train
        self.X_tr, self.y_tr, self.X_te, self.y_te = X_tr, y_tr, X_te, y_te
        self.objectives = {job.settings.cv_seed: Objective(train, None, job.settings.protocol())}
        self.shape = self.objectives[job.settings.cv_seed].shape
        self.cache = dict(job.cache)
        self.hits = 0
        self.evaluated = 0
        self.path = Path(job.out) / EVALS_FILE

    @property
    def algorithms(self) -> list[str]:
        return list(self.objectives[self.job.settings.cv_seed].algorithms)

    def config_id(self, algorithm: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        from metaopt.spaces import config_id, get_space

        full = get_space(algorithm).validate(dict(params), self.shape)
        return config_id(algorithm, full), full

    def evaluate(self, algorithm: str, params: Mapping[str, Any], cv_seed: int | None = None,
                 refit: bool = True) -> dict[str, Any]:
        """The cached record of a config: ``cv``, ``status``, ``eval_s``, ``test`` (None if failed)."""
        s = self.job.settings
        seed = s.cv_seed if cv_seed is None else int(cv_seed)
        try:
            cid, full = self.config_id(algorithm, params)
        except Exception as exc:  # noqa: BLE001 - a config the space rejects is a failed trial
            return {"config_id": None, "algorithm": algorithm, "params": dict(params), "cv": None,
                    "status": "error", "message": f"{type(exc).__name__}: {exc}"[:300], "test": None,
                    "eval_s": 0.0, "cached": False}
        key = eval_key(self.job.task_id, cid, seed, s)
        if key in self.cache:
            self.hits += 1
            return {**self.cache[key], "cached": True}
        if seed not in self.objectives:
            from metaopt.integrations.optuna import Objective

            self.objectives[seed] = Objective(self.train, None, s.protocol(seed))
        t0 = time.perf_counter()
        ev = self.objectives[seed].evaluate(algorithm, full)
        rec: dict[str, Any] = {
            "key": key, "task_id": self.job.task_id, "config_id": cid, "cv_seed": seed,
            "algorithm": algorithm, "params": full, "status": ev.status, "message": ev.message[:300],
            "cv": float(ev.score) if ev.ok and math.isfinite(ev.score) else None,
            "fold_scores": [float(x) for x in ev.fold_scores], "fit_time": float(ev.fit_time),
            "eval_s": time.perf_counter() - t0, "test": None, "refit_s": None,
        }
        if refit and rec["cv"] is not None:
            rec.update(self._refit(algorithm, full, seed))
        self.evaluated += 1
        self.cache[key] = rec
        append_jsonl(self.path, rec)
        return {**rec, "cached": False}

    def _refit(self, algorithm: str, params: dict[str, Any], seed: int) -> dict[str, Any]:
        from harness._heldout import outer_score
        from metaopt.evaluation import space_estimator

        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = space_estimator(algorithm, params, self.train, seed).fit(self.X_tr, self.y_tr)
                test = outer_score(self.job.kind, model, self.X_te, self.y_te)
            return {"test": test if math.isfinite(test) else None, "refit_s": time.perf_counter() - t0}
        except Exception as exc:  # noqa: BLE001 - a failed refit is judged as the worst config
            return {"test": None, "refit_s": time.perf_counter() - t0,
                    "refit_error": f"{type(exc).__name__}: {exc}"[:300]}


def _trial_row(rec: Mapping[str, Any], suggest_s: float) -> dict[str, Any]:
    return {"algorithm": rec.get("algorithm"), "params": rec.get("params"), "config_id": rec.get("config_id"),
            "cv": rec.get("cv"), "test": rec.get("test"), "status": rec.get("status"),
            "eval_s": rec.get("eval_s"), "refit_s": rec.get("refit_s"), "cached": bool(rec.get("cached")),
            "suggest_s": float(suggest_s)}


def run_task(job: TaskJob) -> dict[str, Any]:
    """Every (method, seed) study of one held-out task not done yet, then its summary record.

    Appends each finished study and, last, the task's record (suggestions, top-1, noise
    floor) to ``{out}/tune_real_runs.jsonl``; returns counts, seconds and ``errors``. A
    study (or the task) that raises is reported in ``errors``, not raised: the other
    tasks go on, and a rerun tries it again.
    """
    started = time.perf_counter()
    errors: list[str] = []
    try:
        counts = _run_task(job, errors)
    except Exception as exc:  # noqa: BLE001 - one broken task must not stop the benchmark
        counts = {"studies": 0, "evaluated": 0, "cache_hits": 0}
        errors.append(f"task: {type(exc).__name__}: {str(exc)[:300]}")
    return {"task_id": job.task_id, **counts, "errors": errors, "seconds": time.perf_counter() - started,
            "expected_s": job.expected_s}


def _run_task(job: TaskJob, errors: list[str]) -> dict[str, int]:
    import optuna

    from harness._heldout import load_split, train_task
    from metaopt.integrations.optuna import warm_start
    from metaopt.metafeatures import extract
    from metaopt.recommend import Recommender, suggest

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    started = time.perf_counter()
    s = job.settings
    runs_path = Path(job.out) / RUNS_FILE
    full_task, X_tr, X_te, y_tr, y_te = load_split(job.task_id, job.kb_row, s.max_rows, s.test_size,
                                                   s.split_seed)
    train = train_task(full_task, X_tr, y_tr)
    ev = _Evaluator(job, train, X_tr, y_tr, X_te, y_te)
    methods = {m.name: m for m in default_tuning_methods() if m.name in job.methods}

    t0 = time.perf_counter()
    rec = Recommender.load(job.models)
    metafeatures = dict(extract(train, random_state=0))
    mf_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    suggestions = suggest(train, top=s.top, algorithms=ev.algorithms, models=rec)
    suggest_s = time.perf_counter() - t0
    source = None
    if "cmaes_source" in methods and job.source_rows:
        from harness._tune import source_trials

        source = source_trials(job.source_rows, ev.algorithms, ev.shape)
    task = TuneTask(task_id=job.task_id, kind=job.kind, group=job.group, fold=job.fold, shape=ev.shape,
                    algorithms=ev.algorithms, metafeatures=metafeatures, pool=None,  # type: ignore[arg-type]
                    warm=[(x.algorithm, dict(x.params)) for x in suggestions], source=source,
                    optimizer=rec.optimizer_)
    space = ev.objectives[s.cv_seed].search_space

    def enqueue(study: Any) -> int:
        return len(warm_start(study, suggestions=suggestions, algorithms=ev.algorithms, search_space=space))

    n_studies = 0
    for seed in job.seeds:
        for name in job.methods:
            method: TuneMethod | None = methods.get(name)
            key = study_key(job.task_id, name, seed, s)
            if method is None or key in job.done:
                continue
            if "optimizer" in method.needs and task.optimizer is None:
                continue
            trials: list[dict[str, Any]] = []

            def objective(alg: str, params: dict[str, Any], _trials: list[dict[str, Any]] = trials) -> float:
                r = ev.evaluate(alg, params)
                _trials.append(r)
                return float("nan") if r["cv"] is None else float(r["cv"])

            t0 = time.perf_counter()
            try:
                study = run_study(method, task, seed, s.trials, objective=objective, warm_start=enqueue)
            except Exception as exc:  # noqa: BLE001 - reported, and retried on a rerun
                errors.append(f"{name} seed {seed}: {type(exc).__name__}: {str(exc)[:300]}")
                continue
            append_jsonl(runs_path, {
                "type": "study", "key": key, "task_id": job.task_id, "kind": job.kind, "group": job.group,
                "fold": job.fold, "method": name, "seed": int(seed), "n_trials": s.trials,
                "study_s": time.perf_counter() - t0,
                "trials": [_trial_row(r, sec) for r, sec in zip(trials, study.seconds, strict=True)],
            })
            n_studies += 1

    tkey = task_key(job.task_id, s)
    if tkey not in job.done:
        top1 = ev.evaluate(suggestions[0].algorithm, dict(suggestions[0].params)) if suggestions else None
        noise = _noise_floor(ev, job, top1)
        append_jsonl(runs_path, {
            "type": "task", "key": tkey, "task_id": job.task_id, "kind": job.kind, "group": job.group,
            "fold": job.fold, "n_train": len(X_tr), "n_test": len(X_te), "algorithms": ev.algorithms,
            "metafeatures_s": mf_s, "suggest_s": suggest_s,
            "suggestions": [{"algorithm": x.algorithm, "params": dict(x.params)} for x in suggestions],
            "top1": None if top1 is None else _trial_row(top1, 0.0), "noise": noise,
            "cmaes_sources": list(job.source_tasks), "task_s": time.perf_counter() - started,
        })
    return {"studies": n_studies, "evaluated": ev.evaluated, "cache_hits": ev.hits}


def _noise_floor(ev: _Evaluator, job: TaskJob, top1: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """CV scores of up to ``noise_configs`` configs at ``noise_seeds`` other fold seeds."""
    s = job.settings
    if s.noise_configs <= 0 or s.noise_seeds <= 0:
        return []
    base = [r for k, r in ev.cache.items() if r.get("cv_seed") == s.cv_seed and r.get("cv") is not None
            and r.get("task_id") == job.task_id]
    if not base:
        return []
    base.sort(key=lambda r: -float(r["cv"]))
    picks: list[dict[str, Any]] = []
    if top1 is not None and top1.get("cv") is not None:
        picks.append(dict(top1))
    picks += [base[0], base[len(base) // 2]]
    seen: set[str] = set()
    chosen: list[dict[str, Any]] = []
    for r in picks:
        if r["config_id"] not in seen and len(chosen) < s.noise_configs:
            seen.add(r["config_id"])
            chosen.append(r)
    out = []
    for r in chosen:
        scores = {str(s.cv_seed): r["cv"]}
        for k in range(1, s.noise_seeds + 1):
            again = ev.evaluate(r["algorithm"], r["params"], cv_seed=s.cv_seed + k, refit=False)
            scores[str(s.cv_seed + k)] = again["cv"]
        out.append({"config_id": r["config_id"], "algorithm": r["algorithm"], "test": r.get("test"),
                    "cv": scores})
    return out


# -- judging ----------------------------------------------------------------------------------
def incumbent_regret(cv: Sequence[float | None], test: Sequence[float | None], lo: float, hi: float) -> np.ndarray:
    """Normalized outer-test regret of the best-by-CV trial after each trial.

    ``cv[i]`` / ``test[i]``: trial ``i``'s CV and outer-test scores (None or NaN: failed).
    The incumbent after ``t`` trials is the first trial with the highest CV score among
    trials ``1..t``; its regret is ``(hi - test) / (hi - lo)`` clipped to ``[0, 1]`` (a
    missing test score counts as ``lo``); 1 before any trial succeeded; 0 everywhere
    when ``hi - lo`` is (nearly) 0.
    """
    n = len(cv)
    out = np.ones(n)
    span = hi - lo
    best_cv, best_test = -np.inf, None
    found = False
    for i in range(n):
        c = cv[i]
        if c is not None and math.isfinite(float(c)) and float(c) > best_cv:
            best_cv, found = float(c), True
            t = test[i]
            best_test = float(t) if t is not None and math.isfinite(float(t)) else lo
        if not found:
            continue
        if not math.isfinite(span) or span <= 1e-12:
            out[i] = 0.0
        else:
            out[i] = min(max((hi - float(best_test)) / span, 0.0), 1.0)  # type: ignore[arg-type]
    return out


def _task_range(studies: Iterable[Mapping[str, Any]]) -> tuple[float, float]:
    """``(lo, hi)``: worst and best outer-test score of every config the task's studies evaluated."""
    vals = [float(t["test"]) for r in studies for t in r["trials"]
            if t.get("test") is not None and math.isfinite(float(t["test"]))]
    return (min(vals), max(vals)) if vals else (math.nan, math.nan)


@dataclass
class RealTuningResult(TuningResult):
    """:class:`~harness._tune.TuningResult` of real studies, plus the noise floor and targets.

    ``runs`` holds the test-judged regret curves (:func:`incumbent_regret`); ``top1``
    ``metaopt suggest``'s top-1 per task, judged the same way; ``noise`` one row per
    re-cross-validated configuration.
    """

    noise: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkpoints: tuple[int, ...] = field(default=REAL_CHECKPOINTS, init=False)
    hpob_anchor: bool = field(default=False, init=False)

    def eval_seconds(self) -> pd.DataFrame:
        """Per method: mean seconds to evaluate its configs (CV + refit) and the share of failed trials."""
        rows = []
        for m in self.methods:
            r = self.runs[self.runs["method"] == m]
            ev = np.concatenate([np.asarray(x, dtype=float) for x in r["eval_seconds"]])
            failed = np.concatenate([np.asarray(x, dtype=bool) for x in r["failed"]])
            rows.append({"method": m, "mean_eval_s": float(np.nanmean(ev)) if ev.size else math.nan,
                         "failed_share": float(failed.mean()) if failed.size else math.nan,
                         "study_s": float(r["study_s"].mean())})
        return pd.DataFrame(rows).set_index("method")

    def noise_table(self) -> pd.DataFrame:
        """The noise floor: spread of a config's CV score over fold seeds, raw and normalized."""
        if self.noise.empty:
            return pd.DataFrame()
        frame = self.noise
        rows = []
        for what, sub in [("all", frame), *[(r, frame[frame["role"] == r]) for r in ("top1", "best_cv")]]:
            if sub.empty:
                continue
            per_task = sub.groupby("task_id")[["std", "std_norm", "range_norm"]].mean()
            rows.append({"configs": what, "tasks": int(len(per_task)), "n": int(len(sub)),
                         "mean_std": float(per_task["std"].mean()),
                         "mean_std_norm": float(per_task["std_norm"].mean()),
                         "median_std_norm": float(per_task["std_norm"].median()),
                         "mean_range_norm": float(per_task["range_norm"].mean())})
        return pd.DataFrame(rows).set_index("configs")

    def paired(self, a: str, ta: int, b: str, tb: int) -> dict[str, Any]:
        """``a`` after ``ta`` trials against ``b`` after ``tb``, paired over the tasks both ran.

        Per task the seed-averaged regrets are compared: mean difference ``a − b`` with
        its standard error, the two-sided Wilcoxon signed-rank p (ties dropped), and how
        many tasks ``a`` has lower / equal / higher regret on. With 40 tasks this is what
        separates a real difference from the noise of single CV runs.
        """
        from scipy.stats import wilcoxon

        ca, cb = self.curves(a), self.curves(b)
        common = sorted(set(ca.index) & set(cb.index))
        if not common or ta not in ca.columns or tb not in cb.columns:
            return {"a": a, "ta": ta, "b": b, "tb": tb, "tasks": 0}
        x = ca.loc[common, ta].to_numpy(dtype=float)
        y = cb.loc[common, tb].to_numpy(dtype=float)
        d = x - y
        nz = np.abs(d) > 1e-12
        p = float(wilcoxon(d[nz]).pvalue) if nz.sum() >= 5 else math.nan
        se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan
        return {"a": a, "ta": ta, "b": b, "tb": tb, "tasks": int(d.size), "mean_a": float(x.mean()),
                "mean_b": float(y.mean()), "diff": float(d.mean()), "se": se, "p": p,
                "lower": int((d < -1e-12).sum()), "equal": int((~nz).sum()), "higher": int((d > 1e-12).sum())}

    #: The paired comparisons the report lists (method, trials, against method, trials).
    PAIRS: ClassVar[tuple[tuple[str, int, str, int], ...]] = (
        ("meta_warm5", 10, "tpe", 30), ("meta_warm5", 10, "tpe_warm5", 10), ("meta_warm5", 20, "tpe_warm5", 20),
        ("meta_warm5", 30, "tpe_warm5", 30), ("meta", 5, "tpe", 10), ("meta", 10, "tpe", 10),
        ("meta", 20, "tpe", 20), ("meta_rnn", 10, "tpe", 10), ("meta_rnn", 20, "tpe", 20),
        ("meta_warm5", 10, "meta", 10), ("meta_warm5", 20, "random", 20), ("cmaes_source", 20, "tpe", 20),
    )

    def paired_table(self) -> pd.DataFrame:
        """:meth:`paired` for :attr:`PAIRS` (those whose methods ran)."""
        names = set(self.methods)
        rows = [self.paired(*pair) for pair in self.PAIRS
                if {pair[0], pair[2]} <= names and max(pair[1], pair[3]) <= self.trials]
        if not rows:
            return pd.DataFrame()
        frame = pd.DataFrame(rows)
        frame.insert(0, "comparison", [f"{r['a']}@{r['ta']} vs {r['b']}@{r['tb']}" for r in rows])
        return frame.drop(columns=["a", "ta", "b", "tb"]).set_index("comparison")

    def targets(self) -> list[dict[str, Any]]:
        """Issue 18's targets on this benchmark (None: a method it needs was not run)."""
        names = set(self.methods)
        out: list[dict[str, Any]] = []

        def at(method: str, t: int) -> float:
            c = self.mean_curve(method)
            return float(c[int(min(t, c.index.max()))])

        def add(name: str, description: str, need: set[str], check: Callable[[], tuple[bool, str]],
                horizon: int = 20) -> None:
            row: dict[str, Any] = {"name": name, "description": description}
            if self.trials < horizon:
                row.update(met=None, detail=f"needs {horizon} trials, ran {self.trials}")
            elif need <= names:
                met, detail = check()
                row.update(met=bool(met), detail=detail)
            else:
                row.update(met=None, detail=f"needs {', '.join(sorted(need - names))}")
            out.append(row)

        def t1() -> tuple[bool, str]:
            a, b, c, d = at(SHIPPED, 10), at("tpe", 30), at(SHIPPED, 5), at("tpe_warm5", 10)
            return (a <= b + 1e-12 and c <= d + 1e-12,
                    f"meta_warm5@10 = {a:.4f} vs tpe@30 = {b:.4f}; meta_warm5@5 = {c:.4f} vs tpe_warm5@10 = {d:.4f}")

        add("shipped@10 <= tpe@30 and shipped@5 <= tpe_warm5@10",
            "MetaSampler (shipped default) after 10 trials ≤ TPE after 30, and after 5 ≤ warm-started TPE after 10",
            {SHIPPED, "tpe", "tpe_warm5"}, t1, horizon=30)

        def t1b() -> tuple[bool, str]:
            r = self.paired("meta", 5, "tpe", 10)
            return (r["diff"] <= 1e-12, f"meta@5 = {r['mean_a']:.4f} vs tpe@10 = {r['mean_b']:.4f} "
                                       f"(paired p = {r['p']:.2g}, {r['tasks']} tasks)")

        add("meta@5 <= tpe@10 (restated)",
            "restated second half: `meta_warm5` and `tpe_warm5` run the same 5 warm-start trials, so "
            "meta_warm5@5 is tpe_warm5@5 and cannot beat tpe_warm5@10; instead MetaSampler without "
            "warm start after 5 trials ≤ TPE after 10",
            {"meta", "tpe"}, t1b, horizon=10)

        def t2() -> tuple[bool, str]:
            parts, ok = [], True
            for t in (10, 20):
                a, b = at(SHIPPED, t), at("tpe_warm5", t)
                ok &= a <= 0.8 * b + 1e-12
                parts.append(f"@{t}: {a:.4f} vs {b:.4f} ({_rel(a, b)})")
            return ok, "; ".join(parts)

        add("shipped >= 20% below tpe_warm5 @10, @20",
            "after the same 5 warm starts, MetaSampler's regret ≥ 20 % below warm-started TPE's at 10 and 20 trials",
            {SHIPPED, "tpe_warm5"}, t2)

        def t3() -> tuple[bool, str]:
            parts, ok = [], True
            for t in (10, 20):
                a, b = at("meta_rnn", t), at("tpe", t)
                ok &= a <= 0.8 * b + 1e-12
                parts.append(f"@{t}: {a:.4f} vs {b:.4f} ({_rel(a, b)})")
            return ok, "; ".join(parts)

        add("rnn >= 20% below tpe @10, @20",
            "the learned optimizer alone (no transfer stage, no warm start) ≥ 20 % below TPE at 10 and 20 trials",
            {"meta_rnn", "tpe"}, t3)

        def t4() -> tuple[bool, str]:
            share, strict, tt, n = self.tune_vs_suggest(20, SHIPPED)
            return share >= 0.8 - 1e-12, (f"{n} tasks: meta_warm5@{tt} beat (or matched an optimal) top-1 on "
                                          f"{share:.1%} ({strict:.1%} strictly)")

        add("tune@20 beats suggest top-1 on >= 80% of tasks",
            "`metaopt tune` after 20 trials beats `metaopt suggest`'s top-1 on ≥ 80 % of the tasks (unseen data)",
            {SHIPPED} if len(self.top1) else {SHIPPED, "top-1"}, t4)
        return out

    def to_dict(self, runs: bool = True) -> dict[str, Any]:
        data = super().to_dict(runs=False)
        data.pop("hpob_anchors", None)
        data["eval_seconds"] = self.eval_seconds().reset_index().to_dict("records")
        data["noise_floor"] = self.noise_table().reset_index().to_dict("records")
        data["paired"] = self.paired_table().reset_index().to_dict("records")
        data["noise"] = self.noise.to_dict("records")
        if runs:
            data["runs"] = [
                {"method": r.method, "task_id": r.task_id, "seed": int(r.seed), "fold": int(r.fold),
                 "regret": [round(float(v), 6) for v in r.regret],
                 "mean_seconds": float(np.mean(r.seconds))}
                for r in self.runs.itertuples()
            ]
        return _clean(data)

    def to_markdown(self, path: str | Path | None = None) -> str:
        info = self.info
        caps = info.get("settings", {})
        lines = [
            "# Real tuning on held-out tasks (leave-dataset-out)",
            "",
            f"{info.get('n_tasks')} held-out tasks ({info.get('kinds')}), {info.get('folds')} grouped folds, "
            f"seeds {info.get('seeds')}, {self.trials} trials. Each task's rows capped at {caps.get('max_rows')} "
            f"(stratified), split once into a training part and an outer test part ({caps.get('test_size')}); "
            f"every trial's config is cross-validated for real on the training part ({caps.get('cv_folds')} folds, "
            f"one core, {caps.get('time_limit')} s per config). The incumbent (best by CV so far) is judged by its "
            "refit's outer-test score; regret = (best − incumbent) / (best − worst) over every config any method "
            "evaluated on the task. Everything meta-learned is fitted on the training folds only.",
            "",
            "Methods: " + "; ".join(f"`{m}` {LABELS.get(m, m)}" for m in self.methods) + ".",
            "",
            "## Targets (issue 18)",
            "",
            "| target | measured | met |",
            "|---|---|---|",
        ]
        for t in self.targets():
            met = "—" if t["met"] is None else ("yes" if t["met"] else "no")
            lines.append(f"| {t['description']} | {t['detail']} | {met} |")
        lines += ["", "## Mean normalized regret (over tasks, seed-averaged; judged on the outer test part)", "",
                  _markdown(self.regret_table("mean")), "", "## Median normalized regret", "",
                  _markdown(self.regret_table("median")), "",
                  "## Paired comparisons (per task, seed-averaged regret)", "",
                  "`diff` = mean of (first − second) over tasks with its standard error `se`; `p`: two-sided "
                  "Wilcoxon signed-rank test over the tasks where they differ; `lower` / `equal` / `higher`: "
                  "tasks where the first has lower / equal / higher regret.", "",
                  _markdown(self.paired_table(), int_columns=("tasks", "lower", "equal", "higher")), "",
                  "## Average rank (1 = lowest regret; methods ranked per task and trial)", ""]
        ranks = self.ranks()
        pick = [t for t in self.checkpoints if t in ranks.index]
        if len(ranks):
            lines += [_markdown(ranks.loc[pick].T.rename(columns=lambda t: f"@{t}").rename_axis("method")), ""]
        from harness._tune import _milliseconds

        lines += ["## Milliseconds per suggestion (sampler and Optuna overhead, objective excluded)", "",
                  _markdown(_milliseconds(self.seconds()), int_columns=("suggestions",)), "",
                  "## Cost of the configs each method chose (CV + refit, seconds) and failed trials", "",
                  _markdown(self.eval_seconds()), ""]
        noise = self.noise_table()
        if len(noise):
            lines += ["## Noise floor: a config's CV score across fold seeds", "",
                      "Standard deviation of the same config's CV score over "
                      f"{1 + int(caps.get('noise_seeds', 0))} fold seeds; `_norm`: divided by the task's "
                      "regret normalizer (best − worst outer-test score), so it compares with the regrets above. "
                      "`best_cv`: the task's best config by CV; `top1`: metaopt suggest's top-1.", "",
                      _markdown(noise, int_columns=("tasks", "n")), ""]
        return finish_markdown(lines, info.get("notes") or [], path)


def _rel(a: float, b: float) -> str:
    return f"{(a / b - 1.0):+.0%}" if b > 0 else "n/a"


def summarize(records: Sequence[Mapping[str, Any]], settings: RealSettings,
              info: Mapping[str, Any] | None = None, methods: Sequence[str] | None = None,
              tasks: Sequence[str] | None = None) -> RealTuningResult:
    """The :class:`RealTuningResult` of the runs file's records (only those of ``settings``).

    ``methods`` / ``tasks`` restrict (and order) what is summarized.
    """
    skey = settings.study_key
    studies = [r for r in records if r.get("type") == "study" and str(r.get("key", "")).endswith(skey)]
    task_recs = {r["task_id"]: r for r in records if r.get("type") == "task" and str(r.get("key", "")).endswith(skey)}
    if tasks is not None:
        keep = set(tasks)
        studies = [r for r in studies if r["task_id"] in keep]
    if methods is not None:
        order = {m: i for i, m in enumerate(methods)}
        studies = [r for r in studies if r["method"] in order]
        studies.sort(key=lambda r: (order[r["method"]], r["task_id"], r["seed"]))
    by_task: dict[str, list[Mapping[str, Any]]] = {}
    for r in studies:
        by_task.setdefault(r["task_id"], []).append(r)
    ranges = {t: _task_range(rs) for t, rs in by_task.items()}
    rows = []
    for r in studies:
        lo, hi = ranges[r["task_id"]]
        trials = r["trials"]
        first = trials[0] if trials else {}
        rows.append({
            "method": r["method"], "task_id": r["task_id"], "kind": r["kind"], "group": r["group"],
            "fold": int(r["fold"]), "seed": int(r["seed"]), "n_trials": len(trials),
            "regret": incumbent_regret([t.get("cv") for t in trials], [t.get("test") for t in trials], lo, hi),
            "seconds": np.array([float(t.get("suggest_s") or 0.0) for t in trials]),
            "eval_seconds": np.array([float(t.get("eval_s") or 0.0) + float(t.get("refit_s") or 0.0)
                                      for t in trials]),
            "failed": np.array([t.get("cv") is None for t in trials]),
            "study_s": float(r.get("study_s") or 0.0),
            "first_algorithm": first.get("algorithm"), "first_params": first.get("params"),
        })
    runs = pd.DataFrame(rows, columns=["method", "task_id", "kind", "group", "fold", "seed", "n_trials", "regret",
                                       "seconds", "eval_seconds", "failed", "study_s", "first_algorithm",
                                       "first_params"])
    top_rows, noise_rows = [], []
    for t, rec in sorted(task_recs.items()):
        if t not in ranges:
            continue
        lo, hi = ranges[t]
        top = rec.get("top1")
        if top:
            reg = incumbent_regret([top.get("cv")], [top.get("test")], lo, hi)[0]
            if top.get("cv") is None:
                reg = 1.0
            top_rows.append({"task_id": t, "kind": rec["kind"], "fold": int(rec["fold"]),
                             "algorithm": top.get("algorithm"), "params": top.get("params"), "regret": float(reg)})
        span = hi - lo if math.isfinite(hi - lo) and hi - lo > 1e-12 else math.nan
        ok = [x for r in by_task[t] for x in r["trials"] if x.get("cv") is not None]
        best_id = max(ok, key=lambda x: float(x["cv"]))["config_id"] if ok else None
        top_id = (top or {}).get("config_id")
        for n in rec.get("noise") or []:
            vals = np.array([float(v) for v in n["cv"].values() if v is not None], dtype=float)
            if vals.size < 2:
                continue
            sd = float(np.std(vals, ddof=1))
            role = "top1" if n["config_id"] == top_id else ("best_cv" if n["config_id"] == best_id else "other")
            noise_rows.append({"task_id": t, "config_id": n["config_id"], "algorithm": n["algorithm"], "role": role,
                               "n_seeds": int(vals.size), "std": sd, "std_norm": sd / span,
                               "range_norm": float(vals.max() - vals.min()) / span})
    top1 = pd.DataFrame(top_rows, columns=["task_id", "kind", "fold", "algorithm", "params", "regret"])
    held = sorted(by_task)
    kinds = pd.Series([by_task[t][0]["kind"] for t in held]).value_counts().sort_index() if held else pd.Series()
    base_info = {"n_tasks": len(held), "kinds": ", ".join(f"{k}: {v}" for k, v in kinds.items()),
                 "settings": asdict(settings), "seeds": sorted({int(r["seed"]) for r in studies}),
                 "trials_missing": [f"{r['task_id']}|{r['method']}|{r['seed']}" for r in studies
                                    if len(r["trials"]) < settings.trials]}
    base_info.update(dict(info or {}))
    return RealTuningResult(runs, top1, int(settings.trials), int(settings.trials), base_info,
                            noise=pd.DataFrame(noise_rows, columns=["task_id", "config_id", "algorithm", "role",
                                                                    "n_seeds", "std", "std_norm", "range_norm"]))


# -- planning ----------------------------------------------------------------------------------
#: Seconds of overhead per evaluated config (worker round trip, estimator build, scoring).
EVAL_OVERHEAD_S = 0.15
#: Seconds of sampler overhead per trial (CMA-ES and TPE dominate; MetaSampler a few ms).
TRIAL_OVERHEAD_S = 0.05
#: Our CV folds fit on 0.5 n rows (KB: 2/3 n) and the refit on 0.75 n: 3 × 0.75 + 1.125 KB folds.
REFIT_FACTOR = (3 * 0.75 + 1.125) / 3


def unique_configs(methods: Sequence[str], seeds: int, trials: int, top: int) -> float:
    """Expected distinct configs per task: trials of every study less the ones shared for sure.

    TPE's first ``min(10, trials)`` trials are random search's with the same seed; the
    warm-started methods share the ``top`` warm starts across methods and seeds.
    """
    total = float(len(methods) * seeds * trials)
    if "tpe" in methods and "random" in methods:
        total -= min(10, trials) * seeds
    warm = sum(m in methods for m in ("tpe_warm5", "meta_warm5"))
    if warm:
        total -= (warm * seeds - 1) * min(top, trials)
    return total


def expected_cost(kb_evaluations: pd.DataFrame, task_ids: Sequence[str], settings: RealSettings,
                  methods: Sequence[str], seeds: int) -> dict[str, float]:
    """Expected seconds per task (one core) from the knowledge base's recorded fit times.

    A config costs what the KB's configs of the task cost on average (3 folds of fit +
    predict, times :data:`REFIT_FACTOR` for our smaller folds plus the refit, capped at
    the time limit, plus :data:`EVAL_OVERHEAD_S`); a task runs :func:`unique_configs`
    configs, the noise floor's extra CV runs, and every trial's sampler overhead.
    """
    ev = kb_evaluations[kb_evaluations["task_id"].isin(list(task_ids))]
    cost = 3.0 * (ev["fit_time"].fillna(0.0) + ev["predict_time"].fillna(0.0)) * REFIT_FACTOR
    cost = cost.where(ev["status"] == "ok", settings.time_limit).clip(upper=settings.time_limit)
    per_config = (cost + EVAL_OVERHEAD_S).groupby(ev["task_id"]).mean()
    n = unique_configs(methods, seeds, settings.trials, settings.top) + settings.noise_configs * settings.noise_seeds
    out = {}
    for t in task_ids:
        c = float(per_config.get(t, settings.time_limit / 2))
        out[t] = n * c + len(methods) * seeds * settings.trials * TRIAL_OVERHEAD_S
    return out
