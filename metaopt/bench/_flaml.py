"""FLAML's zero-shot ``flaml.default`` as a benchmark method (optional dependency).

``flaml.default.suggest_hyperparams`` picks hyperparameters for one of FLAML's own
learners from a few statistics of the data. Its configs are not in metaopt's pool, so
each suggestion is evaluated on the held-out task under the knowledge base's protocol
(:meth:`metaopt.evaluation.Protocol.kb`: same rows, folds and metric as the pool) and
its raw score is normalized against that task's pool (min / max of the ``ok`` pool
scores), clipped to [0, 1].

The learners are FLAML's default order, ``lgbm``, ``rf``, ``xgboost``, ``extra_tree``,
restricted to those whose library is installed; the top-1 is the first of them, the
best-of-top-k the best of all (at most 4). Each FLAML estimator is fitted behind
metaopt's tree preprocessing (the ``random_forest`` space's ``prepare`` → ``encode``
steps: ordinal categories, NaN kept), with one thread.

Evaluating FLAML's configs is most of the benchmark's run time, and a zero-shot
suggestion depends only on the task's data, not on the fold. With ``cache=PATH`` the raw
cross-validated scores are kept in a JSON file keyed by task, protocol, FLAML version
and the exact suggestion, so a rerun (on a knowledge base that has grown) evaluates only
what is new; the normalization against the task's pool is always recomputed.
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaopt._exceptions import MetaoptError
from metaopt.bench._methods import BenchMethod, HeldOutTask, Recommendation
from metaopt.kb import KnowledgeBase
from metaopt.learn import TrainingData

__all__ = ["FLAML_LEARNERS", "FlamlZeroShot", "flaml_available", "flaml_estimator", "flaml_suggest"]

#: FLAML's learners in its default order, and the library each needs.
FLAML_LEARNERS: dict[str, str | None] = {"lgbm": "lightgbm", "rf": None, "xgboost": "xgboost", "extra_tree": None}
_PREFIX = "flaml:"


def flaml_available() -> bool:
    """Whether ``flaml.default`` imports (it needs ``flaml[automl]``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module("flaml.default")
    except Exception:
        return False
    return True


def _installed(learners: Sequence[str]) -> list[str]:
    out = []
    for name in learners:
        lib = FLAML_LEARNERS.get(name)
        if lib is None:
            out.append(name)
            continue
        try:
            importlib.import_module(lib)
        except ImportError:
            continue
        out.append(name)
    return out


def flaml_suggest(task: Any, learner: str, y: Any = None) -> dict[str, Any]:
    """FLAML's zero-shot suggestion for ``learner`` on a :class:`~metaopt.tasks.Task`.

    Returns
    -------
    dict
        ``{"class": "module.Class", "params": {...}}`` (constructor arguments).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from flaml.default import suggest_hyperparams

        kind = "regression" if task.kind == "regression" else "classification"
        hp, cls = suggest_hyperparams(kind, task.X, task.y if y is None else y, learner)[:2]
    return {"class": f"{cls.__module__}.{cls.__name__}", "params": _plain(hp)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def flaml_estimator(algorithm: str, params: dict[str, Any], task: Any, seed: int) -> Any:
    """Estimator factory for :func:`metaopt.evaluation.evaluate`: FLAML's estimator
    behind the ``random_forest`` space's preprocessing (``params`` as from
    :func:`flaml_suggest`)."""
    from metaopt.spaces import get_space

    pipe = get_space("random_forest").to_estimator(None, task, seed=seed)
    module, _, name = str(params["class"]).rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    kwargs = dict(params["params"])
    accepted = cls().get_params()
    for key in ("n_jobs", "nthread"):
        if key in accepted:
            kwargs[key] = 1
    pipe.steps[-1] = ("model", cls(**kwargs))
    return pipe


class FlamlZeroShot(BenchMethod):
    """FLAML's zero-shot suggestions, evaluated on the held-out task (see the module).

    Parameters
    ----------
    learners
        FLAML learner names, in the order that makes the ranking; the ones whose library
        is missing are dropped (and noted).
    check_content
        Also ask FLAML with the labels shuffled and record whether its suggestion
        changes (``content_check_``, summarised in ``notes``).
    cache
        JSON file of raw scores to reuse and extend (see the module); ``None``: none.

    Raises
    ------
    MetaoptError
        If ``flaml.default`` cannot be imported.
    """

    name = "flaml_zeroshot"

    def __init__(
        self,
        learners: Sequence[str] = tuple(FLAML_LEARNERS),
        check_content: bool = True,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        if not flaml_available():
            raise MetaoptError(
                "FLAML's zero-shot module flaml.default cannot be imported",
                "pip install 'flaml[automl]' (benchmark only), or run without FLAML (--no-flaml)",
            )
        self.learners = list(learners)
        self.check_content = check_content
        self.available_ = _installed(self.learners)
        self.content_check_: dict[str, bool] = {}
        self.evaluations_: list[dict[str, Any]] = []
        self._tasks: dict[str, Any] = {}
        self.cache = None if cache is None else Path(cache)
        self.cache_hits_ = 0
        self._cache: dict[str, dict[str, Any]] = _read_cache(self.cache)

    @property
    def notes(self) -> list[str]:
        """Human-readable notes for the report."""
        out = [f"FLAML zero-shot learners: {', '.join(self.available_)} (top-1 = {self.available_[0]}); "
               "configs evaluated under Protocol.kb() and normalized against the task's pool, clipped to [0, 1]"]
        missing = [x for x in self.learners if x not in self.available_]
        if missing:
            out.append(f"FLAML learners left out (library not installed): {', '.join(missing)}")
        skipped = [x for x in FLAML_LEARNERS if x not in self.learners]
        if skipped:
            out.append(f"FLAML learners not asked for (left out by the caller): {', '.join(skipped)}")
        if self.content_check_:
            same = sum(self.content_check_.values())
            out.append(f"FLAML with shuffled labels gave the same suggestion on {same} of "
                       f"{len(self.content_check_)} tasks (all learners compared)")
        if self.cache is not None:
            out.append(f"FLAML scores reused from {self.cache.name}: {self.cache_hits_} of "
                       f"{len(self.evaluations_)} evaluations")
        failed = [e for e in self.evaluations_ if e["status"] != "ok"]
        if failed:
            out.append(f"FLAML evaluations not ok: {len(failed)} of {len(self.evaluations_)} (scored 0)")
        return out

    def fit(self, kb: KnowledgeBase, data: TrainingData) -> None:
        self.kb_ = kb  # zero-shot: nothing to learn from the training tasks

    def _task(self, held: HeldOutTask) -> Any:
        if held.task_id not in self._tasks:
            from metaopt.tasks import get_source

            row = held.row
            entry = row["entry"]
            entry = json.loads(entry) if isinstance(entry, str) else dict(entry)
            self._tasks = {held.task_id: get_source(str(row["source_spec"])).load(entry)}
        return self._tasks[held.task_id]

    def recommend(self, task: HeldOutTask, k: int) -> list[Recommendation]:
        data = self._task(task)
        recs = [(f"{_PREFIX}{lrn}", flaml_suggest(data, lrn)) for lrn in self.available_[:k]]
        if self.check_content:
            rng = np.random.default_rng(0)
            shuffled = data.y.iloc[rng.permutation(len(data.y))].reset_index(drop=True)
            again = [flaml_suggest(data, lrn, y=shuffled) for lrn in self.available_[:k]]
            self.content_check_[task.task_id] = all(
                json.dumps(a, sort_keys=True) == json.dumps(r[1], sort_keys=True)
                for a, r in zip(again, recs, strict=True)
            )
        return recs

    def score_outside_pool(self, task: HeldOutTask, rec: Recommendation) -> float | None:
        from metaopt.evaluation import Protocol, evaluate

        protocol = Protocol.kb()
        key = _cache_key(task.task_id, protocol.protocol_id, rec)
        hit = self._cache.get(key)
        if hit is not None:
            self.cache_hits_ += 1
            status, score, message = str(hit["status"]), float(hit["score"]), str(hit.get("message", ""))
        else:
            data = self._task(task)
            ev = evaluate(data, "random_forest", dict(rec[1]), protocol, estimator_factory=flaml_estimator)
            status, score, message = ev.status, float(ev.score), ev.message[:200]
            if self.cache is not None:
                self._cache[key] = {"task_id": task.task_id, "learner": rec[0], "status": status,
                                    "score": score, "message": message}  # NaN: written as null
                _write_cache(self.cache, self._cache)
        pool = self.kb_.evaluations(task_ids=[task.task_id])
        ok = pool[(pool["status"] == "ok") & np.isfinite(pool["score"].astype(float))]
        lo, hi = float(ok["score"].min()), float(ok["score"].max())
        if status != "ok" or not np.isfinite(score):
            norm = 0.0
        elif hi > lo:
            norm = float(np.clip((score - lo) / (hi - lo), 0.0, 1.0))
        else:
            norm = 1.0 if score >= hi else 0.0
        self.evaluations_.append({"task_id": task.task_id, "learner": rec[0], "status": status,
                                  "score": score, "pool_min": lo, "pool_max": hi, "normalized": norm,
                                  "message": message})
        return norm


def _flaml_version() -> str:
    try:
        import flaml

        return str(getattr(flaml, "__version__", "unknown"))
    except ImportError:  # pragma: no cover - the method refuses to exist without it
        return "none"


def _cache_key(task_id: str, protocol_id: str, rec: Recommendation) -> str:
    """Task, protocol, FLAML version and the exact suggestion (class and params)."""
    spec = json.dumps(rec[1], sort_keys=True, default=str)
    return f"{task_id}|{protocol_id}|flaml-{_flaml_version()}|{spec}"


def _read_cache(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MetaoptError(
            f"the FLAML score cache {path} cannot be read ({exc})",
            "delete it (it is rebuilt) or pass another --flaml-cache",
        ) from None
    entries = data.get("scores", {}) if isinstance(data, dict) else {}
    return {str(k): {**v, "score": float("nan") if v.get("score") is None else v["score"]}
            for k, v in entries.items() if isinstance(v, dict)}


def _json_score(score: Any) -> float | None:
    """A cached score for JSON: a finite float, or None for a failed evaluation (NaN)."""
    if score is None:
        return None
    value = float(score)
    return value if np.isfinite(value) else None


def _write_cache(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Atomic rewrite (temp file + replace), keys sorted so the file diffs cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: {**v, "score": _json_score(v.get("score"))} for k, v in sorted(entries.items())}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"format": "metaopt-flaml-scores", "version": 1, "scores": plain},
                              indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
