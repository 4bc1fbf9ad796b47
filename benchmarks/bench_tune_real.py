"""Real tuning on held-out KB tasks: fresh configs, real CV, incumbents judged on an outer test split.

Leave-dataset-out: the knowledge base's groups are dealt to ``--folds`` grouped folds;
per fold one :class:`~metaopt.recommend.Recommender` (``metaopt train``'s, with its learned
optimizer) is fitted on the training tasks only, saved in ``--work`` and reused on a
rerun (refitted when the folds, the knowledge base or the model code change).
``--tasks`` held-out tasks, spread over the folds and kinds (one per base dataset), are loaded from their corpus source, capped at ``--max-rows``
rows and split once into a training part and an outer test part (``--test-size``).
On the training part, each method runs ``--seeds`` real Optuna studies of ``--trials``
trials, every trial a fresh config cross-validated for real (``--cv-folds`` folds, one
core, ``--time-limit`` seconds per config):

- ``meta_warm5``: ``metaopt tune``, the shipped default: MetaSampler + warm start with
  ``metaopt suggest``'s top 5;
- ``meta``: MetaSampler without warm start; ``meta_rnn``: the RNN alone (``transfer=False``);
- ``tpe``, ``tpe_warm5`` (the same top 5 enqueued), ``random``;
- ``cmaes_source``: WS-CMA-ES on a flat space, source trials from the 3 nearest training
  tasks' pools.

Each study's incumbent (best by CV after t trials) is refitted on the training part and
scored on the outer test part (each config once per task: cached by config id);
normalized regret per task over every config any method evaluated there. Prints and
writes mean / median regret and average rank at 1/3/5/10/20/30 trials, milliseconds per
suggestion, the cost of the chosen configs, the noise floor (a config's CV score across
fold seeds) and issue 18's targets: ``{out}/tune_real.{md,json}``,
``{out}/tune_real_{regret,rank}.png``. Every finished (task, method, seed) study is
appended to ``{out}/tune_real_runs.jsonl`` with its trials' configs, CV and test scores,
every evaluation to ``{out}/tune_real_evals.jsonl``; a rerun skips what is there
(``--fresh`` starts over). ``--plan`` prints the tasks and the expected cost (from the
KB's recorded fit times) and stops; ``--smoke`` is a quick end-to-end check (2 cheap
tasks, 3 trials, 1 seed, every method).

Usage::

    python benchmarks/bench_tune_real.py [--kb datasets/kb] [--tasks 40] [--trials 30] [--seeds 2]
        [--folds 5] [--fold-seed 0] [--max-rows 3000] [--test-size 0.25] [--cv-folds 3]
        [--time-limit 10] [--max-task-seconds S] [--methods random,tpe,...] [-j 2]
        [--work DIR] [--plan] [--smoke] [--fresh] [--out benchmarks/results]

In the background (stop it any time; the same command resumes)::

    nohup python benchmarks/bench_tune_real.py -j 2 > /tmp/bench_tune_real.log 2>&1 &

Defaults (40 tasks, 30 trials, 2 seeds, 3,000 rows, 3-fold CV, 10 s per config): ``--plan``
expects ~4.5 core-hours of studies from the KB's recorded fit times, ~2.2 h on 2 cores,
plus ~0.4 h for the 5 fold fits.
"""

from __future__ import annotations

import os

# one thread per worker process: each study gets one core
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness._heldout import fold_recommenders, ldo_plan, pick_tasks  # noqa: E402
from harness._tune_real import (  # noqa: E402
    EVALS_FILE,
    RUNS_FILE,
    RealSettings,
    TaskJob,
    expected_cost,
    read_jsonl,
    run_task,
    summarize,
)

RESULTS = Path(__file__).parent / "results"
DEFAULT = RealSettings()
#: The per-fold Recommenders (refitted when the folds, the KB or the model code change).
WORK = Path(tempfile.gettempdir()) / "metaopt_bench_tune_real"
METHODS = ("random", "tpe", "tpe_warm5", "cmaes_source", "meta", "meta_warm5", "meta_rnn")
#: Fitting one fold's Recommender (``metaopt train``), seconds on one core (KB manifest: ~470 s).
FOLD_FIT_S = 500.0


def choose_tasks(plan: list[tuple[list[str], list[str]]], kb_tasks: pd.DataFrame, n: int, fold_seed: int,
                 eligible: set[str]) -> list[tuple[int, str]]:
    """``n`` held-out ``(fold, task)`` pairs: :func:`pick_tasks` per fold, dealt round-robin over folds."""
    per_fold = math.ceil(n / max(len(plan), 1))
    usable = kb_tasks[kb_tasks["status"] == "ok"]
    queues = []
    for fold, (_, test) in enumerate(plan):
        test = [t for t in test if t in eligible]
        picked = pick_tasks(test, usable, per_fold + 1, fold_seed + fold) if test else []
        order = np.random.default_rng(fold_seed + 100 + fold).permutation(len(picked))
        queues.append([(fold, picked[i]) for i in order])
    out: list[tuple[int, str]] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def kb_task_seconds(kb_eval: pd.DataFrame) -> pd.Series:
    """Mean seconds of one KB evaluation (3 folds of fit + predict) per task."""
    cost = 3.0 * (kb_eval["fit_time"].fillna(0.0) + kb_eval["predict_time"].fillna(0.0))
    return cost.groupby(kb_eval["task_id"]).mean()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--tasks", type=int, default=40, help="held-out tasks (spread over folds and kinds)")
    parser.add_argument("--trials", type=int, default=DEFAULT.trials)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, default=DEFAULT.max_rows)
    parser.add_argument("--test-size", type=float, default=DEFAULT.test_size)
    parser.add_argument("--split-seed", type=int, default=DEFAULT.split_seed,
                        help="row cap, outer split and CV folds")
    parser.add_argument("--cv-folds", type=int, default=DEFAULT.cv_folds)
    parser.add_argument("--time-limit", type=float, default=DEFAULT.time_limit,
                        help="seconds per config (all CV folds)")
    parser.add_argument("--noise-configs", type=int, default=DEFAULT.noise_configs)
    parser.add_argument("--noise-seeds", type=int, default=DEFAULT.noise_seeds,
                        help="extra CV fold seeds for the noise floor")
    parser.add_argument("--max-task-seconds", type=float, default=None,
                        help="leave out tasks whose KB evaluations took longer than this on average")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("-j", "--n-jobs", type=int, default=2, help="tasks in parallel (one core each)")
    parser.add_argument("--work", type=Path, default=WORK,
                        help="the per-fold Recommenders (reused on a rerun; bench_automl.py's work "
                             "directory holds the same folds)")
    parser.add_argument("--optimizer-iterations", type=int, default=None,
                        help="meta-training updates of each fold's learned optimizer (default: metaopt train's)")
    parser.add_argument("--plan", action="store_true", help="print the tasks and the expected cost, then stop")
    parser.add_argument("--smoke", action="store_true",
                        help="2 cheap tasks, 3 trials, 1 seed, every method, 1 noise config")
    parser.add_argument("--summary-only", action="store_true", help="summarize the runs file, run nothing")
    parser.add_argument("--fresh", action="store_true", help="delete the runs and evaluation files first")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.tasks, args.trials, args.seeds = 2, 3, 1
        args.noise_configs, args.noise_seeds = 1, 1
        args.max_task_seconds = args.max_task_seconds or 0.3
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    settings = RealSettings(max_rows=args.max_rows, test_size=args.test_size, split_seed=args.split_seed,
                            cv_folds=args.cv_folds, cv_seed=args.split_seed, time_limit=args.time_limit,
                            trials=args.trials, noise_configs=args.noise_configs, noise_seeds=args.noise_seeds)

    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", flush=True)

    from metaopt.kb import KnowledgeBase

    kb = KnowledgeBase.open(args.kb)
    kb_tasks = kb.tasks()
    kb_eval = kb.evaluations(columns=["task_id", "fit_time", "predict_time", "status"])
    plan = ldo_plan(kb_tasks, args.folds, args.fold_seed)
    task_s = kb_task_seconds(kb_eval)
    eligible = set(kb_tasks.loc[kb_tasks["status"] == "ok", "task_id"].astype(str))
    if args.max_task_seconds is not None:
        eligible = {t for t in eligible if float(task_s.get(t, math.inf)) <= args.max_task_seconds}
    chosen = choose_tasks(plan, kb_tasks, args.tasks, args.fold_seed, eligible)
    if len(chosen) < args.tasks:
        log(f"only {len(chosen)} held-out tasks qualify (asked for {args.tasks})")
    rows = kb_tasks.set_index("task_id")
    cost = expected_cost(kb_eval, [t for _, t in chosen], settings, methods, args.seeds)
    folds_needed = sorted({f for f, _ in chosen})
    total = sum(cost.values())
    kinds = pd.Series([rows.loc[t, "kind"] for _, t in chosen]).value_counts().sort_index()
    jobs = max(args.n_jobs, 1)
    fits_h = math.ceil(len(folds_needed) / jobs) * FOLD_FIT_S / 3600
    log(f"{len(chosen)} tasks ({', '.join(f'{k} {v}' for k, v in kinds.items())}) × {len(methods)} methods × "
        f"{args.seeds} seeds × {args.trials} trials. Expected (from the KB's recorded fit times): studies "
        f"{total / 3600:.2f} core-hours, ~{total / 3600 / jobs:.2f} h on {jobs} cores (largest task "
        f"{max(cost.values(), default=0) / 60:.1f} min); {len(folds_needed)} fold fits ~{fits_h:.2f} h unless "
        f"already in {args.work}; in all ≤ {total / 3600 / jobs + fits_h:.2f} h")
    if args.plan:
        frame = pd.DataFrame([{"fold": f, "task_id": t, "kind": rows.loc[t, "kind"],
                               "n_rows": int(rows.loc[t, "n_rows"]), "kb_eval_s": round(float(task_s.get(t, 0)), 3),
                               "expected_min": round(cost[t] / 60, 1)} for f, t in chosen])
        print(frame.to_string(index=False))
        return

    args.out.mkdir(parents=True, exist_ok=True)
    runs_path, evals_path = args.out / RUNS_FILE, args.out / EVALS_FILE
    if args.fresh:
        for p in (runs_path, evals_path):
            p.unlink(missing_ok=True)
    if not args.summary_only:
        _run(args, kb, kb_tasks, plan, chosen, folds_needed, methods, settings, cost, log)

    records = read_jsonl(runs_path)
    result = summarize(records, settings, methods=methods, tasks=[t for _, t in chosen], info={
        "kb": str(args.kb), "folds": len(plan), "fold_seed": args.fold_seed, "n_jobs": args.n_jobs,
        "expected_core_hours": round(total / 3600, 2), "wall_s": round(time.perf_counter() - t_start, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "notes": [f"settings: {settings}", f"command: python benchmarks/bench_tune_real.py "
                  f"{' '.join(argv) if argv is not None else ' '.join(sys.argv[1:])}"],
    })
    if result.runs.empty:
        log("no finished studies to summarize")
        return
    text = result.to_markdown(args.out / "tune_real.md")
    print(text)
    result.to_json(args.out / "tune_real.json")
    try:
        paths = result.plot(args.out, prefix="tune_real")
    except Exception as exc:  # plots are optional output
        print(f"plots skipped: {exc}")
        paths = []
    log(f"wrote {args.out / 'tune_real.md'}, tune_real.json" + "".join(f", {p.name}" for p in paths))


def _run(args: argparse.Namespace, kb: Any, kb_tasks: pd.DataFrame, plan: list[tuple[list[str], list[str]]],
         chosen: list[tuple[int, str]], folds_needed: list[int], methods: list[str], settings: RealSettings,
         cost: dict[str, float], log: Any) -> None:
    """Fit the needed fold models, then every task's unfinished studies, ``-j`` tasks at a time."""
    from joblib import Parallel, delayed

    from harness._tune import nearest_tasks, scaled_metafeatures
    from harness._tune_real import study_key, task_key
    from metaopt.learn import PoolTable

    folders = fold_recommenders(args.kb, plan, args.work, args.optimizer_iterations, args.n_jobs, log,
                                folds=folds_needed)
    done = {str(r.get("key")) for r in read_jsonl(args.out / RUNS_FILE)}
    cache: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in read_jsonl(args.out / EVALS_FILE):
        if str(rec.get("key", "")).endswith(settings.data_key):
            cache.setdefault(str(rec["task_id"]), {})[str(rec["key"])] = rec
    pool = z = None
    if "cmaes_source" in methods:
        pool = PoolTable(kb)
        z = scaled_metafeatures(pool)
    rows = kb_tasks.set_index("task_id")
    jobs = []
    for fold, t in chosen:
        wanted = {study_key(t, m, s, settings) for m in methods for s in range(args.seeds)} | {task_key(t, settings)}
        if wanted <= done:
            continue
        job = TaskJob(task_id=t, kind=str(rows.loc[t, "kind"]), group=str(rows.loc[t, "group"] or t), fold=fold,
                      kb_row=kb_tasks[kb_tasks["task_id"] == t], models=str(folders[fold]), methods=methods,
                      seeds=list(range(args.seeds)), settings=settings, out=str(args.out),
                      done=done & wanted, cache=cache.get(t, {}), expected_s=cost[t])
        if pool is not None and z is not None and t in set(pool.task_ids):
            train = [x for x in plan[fold][0] if x in z]
            job.source_tasks = nearest_tasks(pool, t, train, z)
            job.source_rows = [r for n in job.source_tasks for r in pool.pool(n)]
        jobs.append(job)
    jobs.sort(key=lambda j: -j.expected_s)  # the longest first: the last ones fill the idle core
    log(f"{len(chosen) - len(jobs)} task(s) already done, {len(jobs)} to run "
        f"(expected {sum(j.expected_s for j in jobs) / 3600:.2f} core-hours)")
    for i, res in enumerate(Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
            delayed(run_task)(j) for j in jobs), start=1):
        log(f"{i}/{len(jobs)} {res['task_id']}: {res['studies']} studies, {res['evaluated']} configs evaluated, "
            f"{res['cache_hits']} cache hits, {res['seconds']:.0f} s (expected {res['expected_s']:.0f} s)"
            + "".join(f"\n    error: {e}" for e in res["errors"]))


if __name__ == "__main__":
    main()
