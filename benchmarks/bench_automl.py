"""metaopt's estimators against FLAML's AutoML at equal wall-clock budgets, on held-out tasks.

Leave-dataset-out: the knowledge base's groups are dealt to ``--folds`` folds; per fold
a :class:`~metaopt.recommend.Recommender` is fitted on the training tasks only (saved
and loaded as users load the shipped models), and ``--tasks-per-fold`` held-out tasks
(spread over the kinds) are each loaded from their corpus source, capped at
``--max-rows`` rows (stratified, as the knowledge-base protocol caps them), and split
once into a training part and an outer test part (``--test-size``, stratified) that no
method sees while it fits. On the training part, for each budget (seconds):

- ``metaopt``: ``MetaoptClassifier`` / ``MetaoptRegressor`` with ``time_budget`` (one
  core, everything else at its default: what users run);
- ``flaml``: ``flaml.AutoML().fit(..., time_budget=...)`` with its default estimators,
  one core, optimising the judged metric;

and once per task (no budget): ``metaopt_top1`` (the top suggestion of the fold's
Recommender, fitted as its spec) and ``hgb_default`` (scikit-learn's
``HistGradientBoosting*`` with default parameters inside metaopt's preprocessing).
Every fitted model is scored on the outer test part with the knowledge base's metric
(ROC-AUC, balanced accuracy, R²). Per task the scores are normalized across every
method × budget (best 1, worst 0). Prints wins / ties / losses of metaopt against each
other method per budget, the mean normalized and raw scores, and fit times; writes
``{out}/automl.{md,json}`` and ``{out}/automl.png``. Each finished run is appended to
``{out}/automl_runs.jsonl`` and reused on a rerun (resumable; ``--fresh`` starts over).

Usage::

    python benchmarks/bench_automl.py [--kb datasets/kb] [--budgets 10,30,60] [--folds 5]
        [--tasks-per-fold 9] [--max-rows 3000] [--test-size 0.25] [-j 2]
        [--methods metaopt,flaml,metaopt_top1,hgb_default] [--fresh] [--out benchmarks/results]
"""

from __future__ import annotations

import os

# one thread per worker process: each method gets one core (the budgets are per core)
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RESULTS = Path(__file__).parent / "results"
BUDGET_METHODS = ("metaopt", "flaml")
ONCE_METHODS = ("metaopt_top1", "hgb_default")
#: Two scores closer than this count as a tie.
TIE = 1e-3


@dataclass(frozen=True)
class Run:
    """One (task, method, budget) fit: what a worker needs (``budget`` 0 for unbudgeted methods)."""

    fold: int
    task_id: str
    kind: str
    method: str
    budget: float
    models: str
    max_rows: int
    test_size: float
    seed: int

    @property
    def key(self) -> str:
        return f"{self.task_id}|{self.method}|{self.budget:g}|{self.seed}|{self.max_rows}|{self.test_size:g}"


# -- data ---------------------------------------------------------------------------
def load_split(task_id: str, kb_tasks: pd.DataFrame, max_rows: int, test_size: float,
               seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """The task from its source, capped at ``max_rows`` rows, split into train / outer test."""
    from sklearn.model_selection import train_test_split

    from metaopt.evaluation import Protocol
    from metaopt.tasks import get_source

    row = kb_tasks.set_index("task_id").loc[task_id]
    entry = row["entry"]
    task = get_source(str(row["source_spec"])).load(json.loads(entry) if isinstance(entry, str) else entry)
    rows = Protocol(n_splits=3, seed=seed, max_rows=max_rows).subsample(task)
    X = task.X.iloc[rows].reset_index(drop=True)
    y = task.y.iloc[rows].reset_index(drop=True)
    strat = y if task.is_classification else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=strat)
    return task, X_tr, X_te, y_tr, y_te


def score(kind: str, model: Any, X: Any, y: Any) -> float:
    """The knowledge base's metric for ``kind`` of ``model`` on (X, y)."""
    from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score

    if kind == "regression":
        return float(r2_score(y, model.predict(X)))
    if kind == "multiclass":
        return float(balanced_accuracy_score(y, model.predict(X)))
    proba = model.predict_proba(X)
    classes = list(model.classes_)
    positive = sorted(pd.unique(y).tolist(), key=_label_order)[-1] if len(classes) != 2 else classes[1]
    return float(roc_auc_score(np.asarray(y) == positive, proba[:, classes.index(positive)]))


def _label_order(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float | np.integer | np.floating) else (1, str(v))


# -- the methods --------------------------------------------------------------------
def fit_metaopt(run: Run, task: Any, X: Any, y: Any) -> Any:
    from metaopt import MetaoptClassifier, MetaoptRegressor

    cls = MetaoptRegressor if run.kind == "regression" else MetaoptClassifier
    return cls(time_budget=run.budget, n_jobs=1, random_state=run.seed, models=run.models).fit(X, y)


def _flaml_balanced_accuracy(X_val: Any, y_val: Any, estimator: Any, *args: Any, **kwargs: Any) -> tuple[float, dict]:
    from sklearn.metrics import balanced_accuracy_score

    value = float(balanced_accuracy_score(y_val, estimator.predict(X_val)))
    return 1.0 - value, {"balanced_accuracy": value}


def _flaml_frame(X: pd.DataFrame) -> pd.DataFrame:
    """FLAML reads ``object`` / ``category`` columns as categorical, not pandas' ``string``."""
    out = X.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) and not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).astype("category")
    return out


class _FlamlModel:
    """A fitted FLAML AutoML that takes the benchmark's frames (categoricals converted)."""

    def __init__(self, automl: Any) -> None:
        self.automl = automl
        self.classes_ = getattr(automl, "classes_", None)

    def predict(self, X: Any) -> Any:
        return self.automl.predict(_flaml_frame(X))

    def predict_proba(self, X: Any) -> Any:
        return self.automl.predict_proba(_flaml_frame(X))


def fit_flaml(run: Run, task: Any, X: Any, y: Any) -> Any:
    from flaml import AutoML

    metric: Any = {"binary": "roc_auc", "regression": "r2"}.get(run.kind, _flaml_balanced_accuracy)
    automl = AutoML()
    automl.fit(_flaml_frame(X), y, task="regression" if run.kind == "regression" else "classification",
               time_budget=run.budget, metric=metric, n_jobs=1, seed=run.seed, verbose=0)
    return _FlamlModel(automl)


def _train_task(task: Any, X: Any, y: Any) -> Any:
    """The loaded task restricted to its training part (column roles kept)."""
    return dataclasses.replace(task, X=X.reset_index(drop=True), y=y.reset_index(drop=True))


def fit_top1(run: Run, task: Any, X: Any, y: Any) -> Any:
    from metaopt import estimator_from_spec, suggest

    best = suggest(_train_task(task, X, y), top=1, models=run.models, seed=run.seed)[0]
    return estimator_from_spec(best.spec).fit(X, y)


def fit_hgb_default(run: Run, task: Any, X: Any, y: Any) -> Any:
    from metaopt.evaluation._engine import space_estimator
    from metaopt.spaces import get_space

    params = dict(get_space("hgb").default(run.kind))
    return space_estimator("hgb", params, _train_task(task, X, y), run.seed).fit(X, y)


FITTERS = {"metaopt": fit_metaopt, "flaml": fit_flaml, "metaopt_top1": fit_top1, "hgb_default": fit_hgb_default}


def execute(run: Run, kb_tasks: pd.DataFrame) -> dict[str, Any]:
    """Fit ``run``'s method on the task's training part, score it on the outer test part."""
    out: dict[str, Any] = {"key": run.key, "fold": run.fold, "task_id": run.task_id, "kind": run.kind,
                           "method": run.method, "budget": run.budget, "seed": run.seed}
    try:
        task, X_tr, X_te, y_tr, y_te = load_split(run.task_id, kb_tasks, run.max_rows, run.test_size, run.seed)
        out["n_train"], out["n_test"] = len(X_tr), len(X_te)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model = FITTERS[run.method](run, task, X_tr, y_tr)
            out["fit_seconds"] = time.perf_counter() - t0
            out["score"] = score(run.kind, model, X_te, y_te)
        out["status"] = "ok"
        for attr in ("refit_time_", "best_params_"):
            if hasattr(model, attr):
                out[attr.rstrip("_")] = _plain(getattr(model, attr))
        if hasattr(model, "cv_results_"):
            out["n_evaluated"] = len(model.cv_results_["mean_test_score"])
        if run.method == "flaml":
            out["best"] = str(model.automl.best_estimator)
    except Exception as exc:  # noqa: BLE001 - a failed fit is a result (scored as the worst), not a crash
        out["status"] = "error"
        out["message"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    return out


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


# -- planning -----------------------------------------------------------------------
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


def fold_models(kb: Any, train_ids: list[str], folder: Path, iterations: int | None) -> str:
    """Fit (or reuse) a Recommender on the fold's training tasks; its saved directory.

    The Recommender is ``metaopt train``'s (``iterations``: the learned optimizer's
    meta-training updates, default its own).
    """
    from metaopt.kb import KnowledgeBase
    from metaopt.recommend import Recommender

    if not (folder / "manifest.json").is_file():
        kb = KnowledgeBase.open(kb) if isinstance(kb, str) else kb
        opt = None if iterations is None else {"iterations": iterations}
        Recommender(optimizer_params=opt).fit(kb, train_ids).save(folder)
    return str(folder)


def plan_runs(args: argparse.Namespace, kb_tasks: pd.DataFrame, methods: list[str],
              log: Any) -> list[Run]:
    """Every run; the folds' Recommenders are fitted first (``-j`` in parallel, reused)."""
    from joblib import Parallel, delayed

    from metaopt.bench import ldo_folds

    usable = kb_tasks[kb_tasks["status"] == "ok"]
    budgets = [float(b) for b in args.budgets.split(",")]
    folds = ldo_folds(usable, folds=args.folds, seed=args.fold_seed)
    folders = [args.work / f"fold{fold}" for fold in range(len(folds))]
    todo = [i for i, f in enumerate(folders) if not (f / "manifest.json").is_file()]
    if todo:
        log(f"fitting the Recommenders of folds {todo} (reused on a rerun, in {args.work})")
        Parallel(n_jobs=min(args.n_jobs, len(todo)))(
            delayed(fold_models)(args.kb, folds[i][0], folders[i], args.optimizer_iterations) for i in todo
        )
    kinds = usable.set_index("task_id")["kind"]
    runs: list[Run] = []
    for fold, (_, test) in enumerate(folds):
        picked = pick_tasks(test, usable, args.tasks_per_fold, args.fold_seed + fold)
        for t in picked:
            for m in methods:
                for b in (budgets if m in BUDGET_METHODS else [0.0]):
                    runs.append(Run(fold, t, str(kinds[t]), m, b, str(folders[fold]), args.max_rows,
                                    args.test_size, args.seed))
    return runs


# -- summary ------------------------------------------------------------------------
def summarize(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-task wide scores, per budget wins/ties/losses of metaopt, per method summary)."""
    ok = results.copy()
    ok["label"] = [m if b == 0 else f"{m}@{b:g}" for m, b in zip(ok["method"], ok["budget"], strict=True)]
    wide = ok.pivot_table(index="task_id", columns="label", values="score", aggfunc="first")
    lo = wide.min(axis=1)
    span = (wide.max(axis=1) - lo).replace(0.0, np.nan)
    norm = wide.sub(lo, axis=0).div(span, axis=0).fillna(1.0)
    norm = norm.where(wide.notna(), 0.0)  # a failed fit is the task's worst
    budgets = sorted({b for b in ok["budget"] if b > 0})
    wtl = []
    for b in budgets:
        me = f"metaopt@{b:g}"
        if me not in wide:
            continue
        for other in [f"flaml@{b:g}", *ONCE_METHODS]:
            if other not in wide:
                continue
            both = wide[[me, other]].fillna(-np.inf)
            diff = both[me] - both[other]
            wtl.append({"budget": b, "against": other.split("@")[0], "tasks": len(diff),
                        "wins": int((diff > TIE).sum()), "ties": int((diff.abs() <= TIE).sum()),
                        "losses": int((diff < -TIE).sum()),
                        "win_rate": float((diff > TIE).mean()),
                        "mean_diff": float((wide[me] - wide[other]).mean())})
    summary = []
    for label in wide.columns:
        rows = ok[ok["label"] == label]
        summary.append({"method": label, "tasks": int(wide[label].notna().sum()),
                        "mean_normalized": float(norm[label].mean()),
                        "mean_score": float(wide[label].mean()),
                        "median_fit_s": float(rows["fit_seconds"].median()),
                        "max_fit_s": float(rows["fit_seconds"].max()),
                        "errors": int((rows["status"] != "ok").sum())})
    return wide, pd.DataFrame(wtl), pd.DataFrame(summary).sort_values("method")


def markdown(wtl: pd.DataFrame, summary: pd.DataFrame, kinds: pd.Series, settings: dict[str, Any]) -> str:
    from metaopt.bench import markdown_table

    lines = ["# metaopt estimators vs FLAML AutoML (leave-dataset-out, outer test split)", "",
             f"Settings: {json.dumps(settings)}", "",
             f"Tasks: {len(kinds)} ({', '.join(f'{k} {v}' for k, v in kinds.value_counts().sort_index().items())})",
             "", "## metaopt at each budget against the others (outer-test score; tie = |Δ| ≤ "
             f"{TIE:g})", "", markdown_table(wtl) if len(wtl) else "(no runs)", "",
             "## Per method", "", markdown_table(summary) if len(summary) else "(no runs)", ""]
    return "\n".join(lines)


def plot(wide: pd.DataFrame, budgets: list[float], path: Path) -> None:
    from metaopt.bench._ldo import pyplot

    plt = pyplot()
    shown = [b for b in budgets if f"metaopt@{b:g}" in wide and f"flaml@{b:g}" in wide]
    if not shown:
        return
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4.2), squeeze=False)
    for ax, b in zip(axes[0], shown, strict=True):
        x, y = wide[f"flaml@{b:g}"], wide[f"metaopt@{b:g}"]
        lo = float(np.nanmin([x.min(), y.min()]))
        ax.plot([lo, 1], [lo, 1], color="grey", lw=0.8)
        ax.scatter(x, y, s=14)
        wins = int(((y - x) > TIE).sum())
        ax.set_title(f"{b:g} s: metaopt wins {wins} of {int((x.notna() & y.notna()).sum())}")
        ax.set_xlabel("FLAML AutoML (outer-test score)")
        ax.set_ylabel("metaopt estimator")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- main ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--budgets", default="10,30,60", help="seconds, comma-separated")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--tasks-per-fold", type=int, default=9)
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=",".join(BUDGET_METHODS + ONCE_METHODS))
    parser.add_argument("-j", "--n-jobs", type=int, default=2, help="runs in parallel (one core each)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "metaopt_bench_automl",
                        help="where the per-fold models are saved (reused on a rerun)")
    parser.add_argument("--optimizer-iterations", type=int, default=None,
                        help="meta-training updates of each fold's learned optimizer (default: metaopt train's)")
    parser.add_argument("--models-only", action="store_true", help="fit the folds' Recommenders and stop")
    parser.add_argument("--fresh", action="store_true", help="ignore the runs file and start over")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(FITTERS))
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(FITTERS)}")

    from joblib import Parallel, delayed

    from metaopt.kb import KnowledgeBase

    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    kb = KnowledgeBase.open(args.kb)
    kb_tasks = kb.tasks() if callable(kb.tasks) else kb.tasks
    runs = plan_runs(args, kb_tasks, methods, log)
    if args.models_only:
        log(f"the folds' Recommenders are in {args.work}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    runs_file = args.out / "automl_runs.jsonl"
    if args.fresh and runs_file.exists():
        runs_file.unlink()
    done = {}
    if runs_file.exists():
        for line in runs_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                done[rec["key"]] = rec
    todo = [r for r in runs if r.key not in done]
    # the longest budgets last, so that a stopped run has the short budgets complete
    todo.sort(key=lambda r: (r.budget if r.budget != 30 else -1, r.fold, r.task_id, r.method))
    log(f"{len(runs)} runs planned, {len(runs) - len(todo)} already done, {len(todo)} to run")
    with runs_file.open("a", encoding="utf-8") as fh:
        for i, rec in enumerate(Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
                delayed(execute)(r, kb_tasks) for r in todo), start=1):
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            done[rec["key"]] = rec
            log(f"{i}/{len(todo)} {rec['task_id']} {rec['method']}@{rec['budget']:g}: "
                f"{rec.get('score', rec.get('message'))} ({rec.get('fit_seconds', 0):.1f} s)")

    results = pd.DataFrame([done[r.key] for r in runs if r.key in done])
    wide, wtl, summary = summarize(results)
    kinds = results.drop_duplicates("task_id").set_index("task_id")["kind"]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("work", "out")}
    settings["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = markdown(wtl, summary, kinds, settings)
    print(text)
    (args.out / "automl.md").write_text(text, encoding="utf-8")
    doc = {"settings": settings, "wins_ties_losses": wtl.to_dict(orient="records"),
           "summary": summary.to_dict(orient="records"),
           "scores": {t: {c: (None if (isinstance(v, float) and math.isnan(v)) else v) for c, v in row.items()}
                      for t, row in wide.iterrows()}}
    (args.out / "automl.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
    plot(wide, [float(b) for b in args.budgets.split(",")], args.out / "automl.png")
    log(f"wrote {args.out / 'automl.md'}, automl.json, automl.png")


if __name__ == "__main__":
    main()
