"""Who should propose after MetaSampler's transfer stage: the RNN or TPE? (pool simulation, LDO)

With the shipped defaults the learned optimizer's transfer stage proposes trials 1–20
and MetaSampler hands trial 21 on to TPE (``max_meta_trials`` = 20), so the recurrent
policy never proposes in a default study. This experiment measures, on the evaluated
pools, the alternatives for what follows the transfer stage:

``meta``          the shipped MetaSampler: transfer stage 1–20, then TPE;
``meta_tail_rnn`` transfer stage 1–20, then the RNN (``max_meta_trials`` = 40);
``meta_rnn``      the RNN alone 1–20 (``transfer=False``), then TPE;
``tpe``           Optuna's TPE from the first trial.

Objective: a proposal scores what the nearest evaluated config of its algorithm scored
on the held-out task (:class:`metaopt.learn.PoolTable`); regret = 1 − best normalized
score so far. Each fold's learned optimizer is the one the real-tuning benchmark fitted
on the fold's training tasks (``benchmarks/bench_tune_real.py``'s work directory; fitted
here if missing), so every held-out task of every fold is judged by an optimizer that
never saw it.

    PYTHONPATH=benchmarks OMP_NUM_THREADS=1 python benchmarks/exp_rnn_tail.py -j 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness._heldout import fold_recommenders, ldo_plan  # noqa: E402
from harness._tune_methods import MetaMethod, TPEMethod, TuneTask, run_study  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path("/tmp/metaopt_bench_tune_real")
CHECKPOINTS = (1, 5, 10, 20, 25, 30, 40)


class TailMethod(MetaMethod):
    """MetaSampler with its own ``max_meta_trials`` (the RNN proposes up to that trial)."""

    def __init__(self, name: str, max_meta_trials: int) -> None:
        super().__init__(name=name)
        self.max_meta_trials = max_meta_trials

    def sampler(self, task: TuneTask, seed: int) -> Any:
        from metaopt.integrations.optuna import MetaSampler

        return MetaSampler(metafeatures=task.metafeatures, shape=task.shape, algorithms=task.algorithms,
                           optimizer=task.optimizer, seed=seed, max_meta_trials=self.max_meta_trials)


def methods() -> list[Any]:
    return [MetaMethod(), TailMethod("meta_tail_rnn", 40), MetaMethod(transfer=False), TPEMethod()]


def run_fold(fold: int, folder: str, held: list[str], seeds: int, trials: int, kb: str) -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_limits

    from metaopt.kb import KnowledgeBase
    from metaopt.learn import PoolTable
    from metaopt.recommend import Recommender

    rec = Recommender.load(folder)
    kbo = KnowledgeBase.open(kb)
    pool = PoolTable(kbo)
    groups = kbo.tasks().set_index("task_id")["group"].astype(str)
    rows = []
    with threadpool_limits(limits=1):
        for t in held:
            if t not in pool.task_ids:
                continue
            task = TuneTask(task_id=t, kind=pool.kind(t), group=str(groups.get(t, t)), fold=fold,
                            shape=pool.shape(t), algorithms=pool.algorithms(t), metafeatures=pool.metafeatures(t),
                            pool=pool, optimizer=rec.optimizer_)
            for seed in range(seeds):
                for m in methods():
                    run = run_study(m, task, seed, trials)
                    rows.append({"method": m.name, "task_id": t, "kind": task.kind, "fold": fold, "seed": seed,
                                 "regret": [round(float(v), 6) for v in run.regret],
                                 "ms": float(np.median(run.seconds) * 1000)})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-tasks", type=int, default=None, help="held-out tasks per fold (smoke runs)")
    parser.add_argument("-j", "--n-jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from joblib import Parallel, delayed
    from scipy.stats import wilcoxon

    from metaopt.kb import KnowledgeBase

    t0 = time.perf_counter()
    kb = KnowledgeBase.open(args.kb)
    plan = ldo_plan(kb.tasks(), args.folds, 0)
    folders = fold_recommenders(kb, plan, args.work, None, args.n_jobs, print)
    # one job per (fold, slice of its held-out tasks), so that both cores stay busy
    jobs = [(f, str(folders[f]), held[: args.max_tasks][i::2], args.seeds, args.trials, args.kb)
            for f, (_, held) in enumerate(plan) for i in range(2)]
    out = Parallel(n_jobs=args.n_jobs)(delayed(run_fold)(*j) for j in jobs)
    rows = [r for part in out for r in part]
    frame = pd.DataFrame(rows)
    names = list(dict.fromkeys(frame["method"]))
    curves = {m: frame[frame["method"] == m].groupby("task_id")["regret"].apply(
        lambda s: np.mean(np.stack(s.to_list()), axis=0)) for m in names}
    table = pd.DataFrame({m: {f"@{t}": float(np.mean([c[t - 1] for c in curves[m]])) for t in CHECKPOINTS
                              if t <= args.trials} for m in names}).T
    ms = frame.groupby("method")["ms"].median()
    lines = ["# After the transfer stage: the RNN or TPE? (pool simulation, leave-dataset-out)", "",
             f"{frame['task_id'].nunique()} held-out tasks × {args.seeds} seeds × {args.trials} trials; "
             f"each fold's optimizer from `{args.work}` (fitted on the fold's training tasks). "
             f"{time.perf_counter() - t0:.0f} s on {args.n_jobs} cores.", "",
             "Mean regret (1 − best normalized pool score so far):", "",
             "| method | " + " | ".join(table.columns) + " | median ms / suggestion |",
             "|---|" + "---:|" * (len(table.columns) + 1)]
    for m in names:
        lines.append(f"| {m} | " + " | ".join(f"{v:.4f}" for v in table.loc[m]) + f" | {ms[m]:.1f} |")
    lines += ["", "Paired over tasks (seed-averaged regret; Wilcoxon over tasks that differ):", "",
              "| comparison | diff | se | p | lower / equal / higher |", "|---|---:|---:|---:|---|"]
    for a, b, t in [("meta_tail_rnn", "meta", 25), ("meta_tail_rnn", "meta", 30), ("meta_tail_rnn", "meta", 40),
                    ("meta_rnn", "tpe", 10), ("meta_rnn", "tpe", 20), ("meta", "tpe", 10), ("meta", "tpe", 20)]:
        if t > args.trials:
            continue
        common = sorted(set(curves[a].index) & set(curves[b].index))
        d = np.array([curves[a][k][t - 1] - curves[b][k][t - 1] for k in common])
        nz = np.abs(d) > 1e-12
        p = float(wilcoxon(d[nz]).pvalue) if nz.sum() >= 5 else float("nan")
        lines.append(f"| {a}@{t} vs {b}@{t} | {d.mean():+.4f} | {d.std(ddof=1) / np.sqrt(d.size):.4f} | {p:.2g} | "
                     f"{int((d < -1e-12).sum())} / {int((~nz).sum())} / {int((d > 1e-12).sum())} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rnn_tail_pool.md").write_text(text, encoding="utf-8")
    (args.out / "rnn_tail_pool.json").write_text(json.dumps({"mean_regret": table.to_dict(orient="index"),
                                                             "runs": rows}), encoding="utf-8")


if __name__ == "__main__":
    main()
