"""Held-out knowledge-base tasks judged on real data: folds, fold models, loading, outer split.

The benchmarks that fit and score models for real on held-out tasks
(``bench_automl.py``, ``bench_tune_real.py``) share these steps:

* :func:`ldo_plan`: the knowledge base's usable tasks dealt to grouped folds
  (:func:`metaopt.bench.ldo_folds`), the same for every script with the same
  ``folds`` and ``fold_seed``;
* :func:`fold_recommenders` / :func:`fold_models`: one
  :class:`~metaopt.recommend.Recommender` per fold (``metaopt train``'s, fitted on the
  fold's training tasks only), saved to a work directory and reused on a rerun; a
  sidecar ``fold{i}.train.json`` names the knowledge base, the training tasks and a
  fingerprint of the library code the Recommender is made of (:data:`MODEL_CODE`), so a
  directory fitted on other folds or by other code is refitted, never silently reused
  (a directory without a sidecar, from before it existed, is reused with a message);
* :func:`pick_tasks`: a fold's held-out tasks spread over the kinds, one per base dataset;
* :func:`load_split`: a held-out task loaded from its corpus source, capped at
  ``max_rows`` rows as the knowledge-base protocol caps them (stratified), and split
  once into a training part and an outer test part that no method sees while it fits;
  :func:`train_task` turns the training part back into a :class:`~metaopt.tasks.Task`;
* :func:`outer_score`: the knowledge base's metric (ROC-AUC, balanced accuracy, R²) of a
  fitted model on the outer test part.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FOLD_MODELS",
    "fold_models",
    "fold_recommenders",
    "ldo_plan",
    "load_split",
    "outer_score",
    "pick_tasks",
    "train_task",
]

#: Default work directory of ``bench_automl.py``'s per-fold Recommenders.
FOLD_MODELS = Path(tempfile.gettempdir()) / "metaopt_bench_automl"

#: The library packages a fitted Recommender depends on: a change there refits the folds.
MODEL_CODE = ("learn", "recommend", "spaces", "metafeatures")


def code_fingerprint() -> str:
    """A short hash of the source of :data:`MODEL_CODE` (the metaopt that is imported)."""
    import hashlib

    import metaopt

    root = Path(metaopt.__file__).parent
    h = hashlib.sha1()
    for pkg in MODEL_CODE:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


# -- folds and their models ------------------------------------------------------------
def ldo_plan(kb_tasks: pd.DataFrame, folds: int, fold_seed: int) -> list[tuple[list[str], list[str]]]:
    """``(training ids, held-out ids)`` per grouped fold, over the tasks with status ``ok``."""
    from metaopt.bench import ldo_folds

    usable = kb_tasks[kb_tasks["status"] == "ok"]
    return ldo_folds(usable, folds=folds, seed=fold_seed)


def _sidecar(folder: Path) -> Path:
    return folder.parent / f"{folder.name}.train.json"


def _fingerprint(kb: Any) -> str:
    from metaopt.kb import KnowledgeBase
    from metaopt.learn import kb_fingerprint

    return str(kb_fingerprint(KnowledgeBase.open(kb) if isinstance(kb, (str, Path)) else kb))


def _fold_key(fingerprint: str, train_ids: Sequence[str], iterations: int | None) -> dict[str, Any]:
    return {"kb": fingerprint, "code": code_fingerprint(), "train": sorted(str(t) for t in train_ids),
            "iterations": iterations}


def _reusable(folder: Path, key: dict[str, Any]) -> bool:
    """A fitted fold directory for these training tasks (a directory without a sidecar counts)."""
    if not (folder / "manifest.json").is_file():
        return False
    side = _sidecar(folder)
    if not side.is_file():
        return True
    try:
        return bool(json.loads(side.read_text(encoding="utf-8")) == key)
    except (OSError, ValueError):
        return False


def fold_models(kb: Any, train_ids: list[str], folder: Path, iterations: int | None,
                fingerprint: str | None = None) -> str:
    """Fit (or reuse) a Recommender on the fold's training tasks; its saved directory.

    The Recommender is ``metaopt train``'s (``iterations``: the learned optimizer's
    meta-training updates, default its own). A directory fitted on other training
    tasks (its sidecar says so) is refitted.
    """
    import shutil

    from metaopt.kb import KnowledgeBase
    from metaopt.recommend import Recommender

    kb = KnowledgeBase.open(kb) if isinstance(kb, (str, Path)) else kb
    key = _fold_key(fingerprint or _fingerprint(kb), train_ids, iterations)
    if not _reusable(folder, key):
        if folder.exists():
            shutil.rmtree(folder)
        opt = None if iterations is None else {"iterations": iterations}
        Recommender(optimizer_params=opt).fit(kb, train_ids).save(folder)
        _sidecar(folder).write_text(json.dumps(key), encoding="utf-8")
    return str(folder)


def fold_recommenders(
    kb: Any,
    plan: Sequence[tuple[list[str], list[str]]],
    work: Path,
    iterations: int | None,
    n_jobs: int,
    log: Callable[[str], Any],
    folds: Sequence[int] | None = None,
) -> list[Path]:
    """The folds' Recommender directories ``work/fold{i}``; fits the missing ones (``n_jobs`` at once).

    ``folds``: fit only these (default all); the others' paths are returned all the same.
    """
    from joblib import Parallel, delayed

    work.mkdir(parents=True, exist_ok=True)
    folders = [work / f"fold{fold}" for fold in range(len(plan))]
    wanted = range(len(plan)) if folds is None else sorted(set(folds))
    fp = _fingerprint(kb)
    todo = [i for i in wanted if not _reusable(folders[i], _fold_key(fp, plan[i][0], iterations))]
    legacy = [i for i in wanted if i not in todo and not _sidecar(folders[i]).is_file()]
    if legacy:
        log(f"folds {legacy} in {work} have no record of what they were fitted on and are reused as they "
            "are; delete them (or pass another work directory) to refit")
    if todo:
        log(f"fitting the Recommenders of folds {todo} (reused on a rerun, in {work})")
        Parallel(n_jobs=max(1, min(n_jobs, len(todo))))(
            delayed(fold_models)(kb if isinstance(kb, (str, Path)) else str(kb.path), plan[i][0], folders[i],
                                 iterations, fp)
            for i in todo
        )
    return folders


def pick_tasks(test_ids: list[str], kb_tasks: pd.DataFrame, n: int, seed: int) -> list[str]:
    """``n`` of a fold's held-out tasks, spread over the kinds in proportion, one per group."""
    rows = kb_tasks.set_index("task_id").loc[test_ids]
    rng = np.random.default_rng(seed)
    order = rows.index[rng.permutation(len(rows))]
    rows = rows.loc[order]
    rows = rows[~rows["group"].astype(str).duplicated()]  # one task per base dataset
    share = rows["kind"].value_counts(normalize=True)
    quota = {k: max(1, int(round(n * s))) for k, s in share.items()}
    picked: list[str] = []
    for kind, q in quota.items():
        picked.extend(rows.index[rows["kind"] == kind][:q].tolist())
    return sorted(picked[: max(n, len(quota))])


# -- data --------------------------------------------------------------------------------
def load_split(task_id: str, kb_tasks: pd.DataFrame, max_rows: int, test_size: float,
               seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """The task from its source, capped at ``max_rows`` rows, split into train / outer test.

    Classes with fewer than 3 rows in the capped sample are dropped first (as
    ``--drop-rare-classes`` drops them): with 2 rows the stratified outer split leaves
    one in the training part, and cross-validation cannot use a class of one row.
    """
    from sklearn.model_selection import train_test_split

    from metaopt.evaluation import Protocol
    from metaopt.tasks import get_source

    row = kb_tasks.set_index("task_id").loc[task_id]
    entry = row["entry"]
    task = get_source(str(row["source_spec"])).load(json.loads(entry) if isinstance(entry, str) else entry)
    rows = Protocol(n_splits=3, seed=seed, max_rows=max_rows).subsample(task)
    X = task.X.iloc[rows].reset_index(drop=True)
    y = task.y.iloc[rows].reset_index(drop=True)
    if task.is_classification:
        counts = y.value_counts()
        keep = y.isin(counts[counts >= 3].index).to_numpy()
        X, y = X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)
        if isinstance(y.dtype, pd.CategoricalDtype):
            y = y.cat.remove_unused_categories()
    strat = y if task.is_classification else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=strat)
    return task, X_tr, X_te, y_tr, y_te


def train_task(task: Any, X: Any, y: Any) -> Any:
    """The loaded task restricted to its training part (column roles kept)."""
    return dataclasses.replace(task, X=X.reset_index(drop=True), y=y.reset_index(drop=True))


def outer_score(kind: str, model: Any, X: Any, y: Any) -> float:
    """The knowledge base's metric for ``kind`` of ``model`` on (X, y)."""
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

    if kind == "regression":
        return float(r2_score(y, model.predict(X)))
    if kind == "multiclass":
        # labels compared as text: some fitted pipelines predict an object array of the
        # labels, which scikit-learn's metrics cannot type ("unknown" targets)
        pred = pd.Series(np.asarray(model.predict(X))).astype(str)
        return float(balanced_accuracy_score(pd.Series(np.asarray(y)).astype(str), pred))
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    positive = sorted(pd.unique(y).tolist(), key=_label_order)[-1] if len(classes) != 2 else classes[1]
    return float(roc_auc_score(np.asarray(y) == positive, proba[:, classes.index(positive)]))


def _label_order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float | np.integer | np.floating) else (1, str(v))
