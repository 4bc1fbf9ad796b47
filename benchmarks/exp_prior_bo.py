"""Experiment: surrogate-prior BO after the warm start, against the shipped MetaSampler, on the pools.

Leave-dataset-out folds of the tuning benchmark (``harness._tune``): per fold one
Recommender fitted on its training tasks; on each held-out task, every method gets
the same 5 warm-start trials (metaopt's top 5) and then proposes 25 more; a proposal
scores what the nearest evaluated configuration scored (``PoolTable``). Candidates of
the prior-BO methods are the knowledge base's pool configurations, so no snapping.

    python benchmarks/exp_prior_bo.py --folds 0 [--seeds 2] [--trials 30]

Writes ``benchmarks/results/prior_bo_pool.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from harness._prior_bo import PriorBO  # noqa: E402
from harness._tune_methods import MetaMethod, Proposer, TPEMethod, TuneMethod, TuneTask, run_study  # noqa: E402

RESULTS = Path(__file__).parent / "results"
CHECK = (5, 6, 8, 10, 15, 20, 30)


class PriorBOMethod(TuneMethod):
    """Warm start, then :class:`PriorBO` over the fold's pool configurations."""

    warm_start = True
    needs: tuple[str, ...] = ("warm",)

    def __init__(self, rec: Any, name: str, use_gp: bool = True) -> None:
        self.rec, self.name, self.use_gp = rec, name, use_gp

    def sampler(self, task: TuneTask, seed: int) -> Any:
        from optuna.samplers import RandomSampler

        return RandomSampler(seed=seed)

    def proposer(self, task: TuneTask, seed: int) -> Proposer | None:
        from metaopt._exceptions import ConfigError
        from metaopt.learn._transfer import fit_to_shape

        cands = []
        for alg, params in self.rec.transfer_.columns(task.kind):
            if alg not in task.algorithms:
                continue
            try:
                cands.append((alg, fit_to_shape(alg, params, task.shape)))
            except ConfigError:
                continue
        return PriorBO(self.rec.surrogate_, task.metafeatures, cands, shape=task.shape, seed=seed,
                       use_gp=self.use_gp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", default="datasets/kb")
    ap.add_argument("--folds", default="0", help="comma-separated fold indices")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()

    from harness._tune import DEFAULT_OPTIMIZER_PARAMS, _TuningPlan
    from metaopt.bench._methods import BENCH_SURROGATE
    from metaopt.kb import KnowledgeBase
    from metaopt.recommend import Recommender

    t0 = time.perf_counter()
    kb = KnowledgeBase.open(args.kb)
    base = [MetaMethod(warm_start=True), TPEMethod(warm_start=True)]
    plan = _TuningPlan(kb, base, [], folds=5, fold_seed=0, max_tasks=None, study=(args.seeds, args.trials, 100))
    fold_jobs, fold_index = plan.fold_jobs(dict(DEFAULT_OPTIMIZER_PARAMS), None, 5)
    rows: list[dict[str, Any]] = []
    wanted = [int(f) for f in args.folds.split(",")]
    for job, f in zip(fold_jobs, fold_index, strict=True):
        if f not in wanted:
            continue
        kb_path, data, held, _, opt_params, _, top = job
        rec = Recommender(n_members=4, surrogate_params=dict(BENCH_SURROGATE),
                          optimizer_params=dict(opt_params)).fit(KnowledgeBase.open(kb_path),
                                                                 sorted(data.tasks["task_id"].astype(str)))
        print(f"[{time.perf_counter() - t0:5.0f} s] fold {f} fitted; {len(held)} held-out tasks", flush=True)
        warm = {}
        for h in held:
            ranked = rec.rank(h["metafeatures"], h["kind"], top + 5)
            warm[h["task_id"]] = [(c.algorithm, dict(c.params)) for c in ranked
                                  if c.algorithm in h["algorithms"]][:top]
        studies = plan.studies(f, {"warm": warm, "optimizer": rec.optimizer_, "notes": []})
        methods = [*base, PriorBOMethod(rec, "priorbo_warm5"), PriorBOMethod(rec, "prior_warm5", use_gp=False)]
        for task, _, seed, trials, _ in studies:
            for m in methods:
                run = run_study(m, task, seed, trials)
                rows.append({"task_id": task.task_id, "kind": task.kind, "fold": f, "seed": seed,
                             "method": m.name, "regret": run.regret.tolist(),
                             "seconds": float(np.mean(run.seconds[5:])) if trials > 5 else 0.0})
        print(f"[{time.perf_counter() - t0:5.0f} s] fold {f}: {len(studies)} studies × {len(methods)} methods",
              flush=True)
    report(rows, args.out)


def report(rows: list[dict[str, Any]], out: Path) -> None:
    import pandas as pd
    from scipy.stats import wilcoxon

    methods = list(dict.fromkeys(r["method"] for r in rows))
    table = []
    for m in methods:
        reg = np.array([r["regret"] for r in rows if r["method"] == m])
        line: dict[str, Any] = {"method": m, "studies": len(reg)}
        for t in CHECK:
            if t <= reg.shape[1]:
                line[f"@{t}"] = round(float(reg[:, t - 1].mean()), 4)
        line["ms/suggestion"] = round(1000 * float(np.mean([r["seconds"] for r in rows if r["method"] == m])), 1)
        table.append(line)
    from metaopt.bench._ldo import _markdown

    frame = pd.DataFrame(table).set_index("method")
    out.mkdir(parents=True, exist_ok=True)
    (out / "prior_bo_pool.json").write_text(json.dumps({"rows": rows}, indent=0))
    lines = ["# Surrogate-prior BO after the warm start (pool simulation)", "",
             "Mean normalized regret (1 − best pool score so far) after t trials; the first 5 are the "
             "same warm start for every method.", "", _markdown(frame, ["studies"]), ""]
    ref = "meta_warm5"
    for m in methods:
        if m == ref:
            continue
        for t in (10, 20, 30):
            a = np.array([r["regret"][t - 1] for r in rows if r["method"] == m])
            b = np.array([r["regret"][t - 1] for r in rows if r["method"] == ref])
            diff = a - b
            p = float(wilcoxon(a, b, alternative="less").pvalue) if np.any(diff != 0) else 1.0
            lines.append(f"- {m} vs {ref} @{t}: mean {a.mean():.4f} vs {b.mean():.4f}, lower on "
                         f"{np.mean(diff < 0):.0%}, higher on {np.mean(diff > 0):.0%}, one-sided Wilcoxon p = {p:.3g}")
    text = "\n".join(lines) + "\n"
    print(text)
    (out / "prior_bo_pool.md").write_text(text)


if __name__ == "__main__":
    main()
