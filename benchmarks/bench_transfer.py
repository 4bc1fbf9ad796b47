"""The transfer stage alone: leave-dataset-out regret of its variants on the KB's pool.

Runs :func:`harness.transfer_stage_curves` (numpy only, no Optuna): the static
greedy portfolio, rank-agreement weights, the learned-similarity prior, both (what the
learned optimizer and ``metaopt suggest`` use), and an oracle that knows each held-out
task's true ranking of the pool (a bound on re-weighting the training tasks), over
several fold seeds, and how well the learned similarity ranks the training tasks
(:func:`harness.similarity_quality`). Prints mean (and median, per kind) regret
at 1..20 trials and
writes ``{out}/transfer_ldo.{md,json}`` and ``{out}/transfer_ldo.png``.

Usage::

    python benchmarks/bench_transfer.py [--kb datasets/kb] [--folds 5]
        [--fold-seeds 0,1,2] [--trials 20] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from harness import similarity_quality, transfer_stage_curves, transfer_summary
    from metaopt.bench import markdown_table

    seeds = [int(s) for s in args.fold_seeds.split(",") if s.strip()]
    t0 = time.perf_counter()
    parts = []
    for seed in seeds:
        c = transfer_stage_curves(args.kb, folds=args.folds, fold_seed=seed, trials=args.trials,
                                  progress=lambda m, s=seed: print(f"[fold seed {s}] {m}", flush=True))
        parts.append(c.assign(fold_seed=seed))
    curves = pd.concat(parts, ignore_index=True)
    quality = pd.concat([similarity_quality(args.kb, folds=args.folds, fold_seed=s).assign(fold_seed=s)
                         for s in seeds], ignore_index=True)
    sim_table = (quality.groupby("kind")[["learned", "distance"]].mean()
                 .rename(columns={"learned": "learned similarity", "distance": "meta-feature distance"})
                 .reset_index())
    # average each task's curve over the fold seeds first, then summarise over tasks
    per_task = (curves.groupby(["variant", "task_id", "kind"], sort=False)["regret"]
                .apply(lambda s: np.mean(np.stack(s.to_numpy()), axis=0)).reset_index())
    mean = transfer_summary(per_task)
    median = transfer_summary(per_task, stat="median")
    by_kind = transfer_summary(per_task, by_kind=True)
    per_seed = pd.concat([transfer_summary(c).assign(fold_seed=s) for s, c in
                          zip(seeds, parts, strict=True)])[["fold_seed", "variant", "@1", "@5", "@10", "@20"]]
    seconds = time.perf_counter() - t0
    n_tasks = int(per_task["task_id"].nunique())
    md = [
        "# Transfer stage, leave-dataset-out on the knowledge base's pool",
        "",
        f"{n_tasks} tasks, {args.folds} grouped folds × fold seeds {seeds}; regret = 1 − best normalized "
        "score among the first t pool configurations proposed (each task's curve averaged over the "
        "fold seeds). `python benchmarks/bench_transfer.py` "
        f"({seconds:.0f} s, {platform.machine()}, Python {platform.python_version()}).",
        "",
        "## Mean regret", "", markdown_table(mean), "",
        "## Median regret", "", markdown_table(median), "",
        "## Mean regret per kind", "", markdown_table(by_kind), "",
        "## Mean regret per fold seed", "", markdown_table(per_seed), "",
        "## Learned similarity vs meta-feature distance",
        "",
        "Spearman correlation, over the training tasks of a held-out task's kind, between the true "
        "rank discordance of the two tasks' pool scores and the learned model's prediction (or the "
        "plain distance of the scaled meta-features); mean over held-out tasks and fold seeds.",
        "",
        markdown_table(sim_table), "",
    ]
    text = "\n".join(md)
    print(text)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "transfer_ldo.md").write_text(text + "\n")
    doc = {"tasks": n_tasks, "folds": args.folds, "fold_seeds": seeds, "trials": args.trials,
           "seconds": round(seconds, 1),
           "mean": mean.to_dict("records"), "median": median.to_dict("records"),
           "by_kind": by_kind.to_dict("records"), "per_seed": per_seed.to_dict("records"),
           "similarity_spearman": sim_table.to_dict("records"),
           "curves": {v: np.stack(g["regret"].to_numpy()).mean(axis=0).round(6).tolist()
                      for v, g in per_task.groupby("variant", sort=False)}}
    (out / "transfer_ldo.json").write_text(json.dumps(doc, indent=1) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4))
        t = np.arange(1, args.trials + 1)
        for v, curve in doc["curves"].items():
            ax.plot(t, np.maximum(curve, 1e-4), label=v, ls=":" if v == "oracle" else "-")
        ax.set_yscale("log")
        ax.set_xlabel("trials")
        ax.set_ylabel("mean normalized regret (log)")
        ax.set_title(f"transfer stage, {n_tasks} tasks, leave-dataset-out")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "transfer_ldo.png", dpi=120)
        plt.close(fig)
        print(f"wrote {out / 'transfer_ldo.png'}")
    except ImportError as exc:
        print(f"plot skipped: {exc}")
    print(f"wrote {out / 'transfer_ldo.md'}, {out / 'transfer_ldo.json'} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
