"""The benchmarks' noise floor: regret on a held-out CV fold, next to the task's own ranking.

Runs :func:`harness.split_fold_curves` over several fold seeds (numpy only, about
half a minute each): every held-out task's pool scored on one of its CV folds, with
picks made by the task's own other folds (``self``: a method that already evaluated
the whole pool), uniformly at random, and by the transfer stage's variants (static
portfolio, learned-similarity prior = ``metaopt suggest``'s order, prior + rank
agreement = the learned optimizer's first 20 trials); and the same methods on the
benchmarks' own protocol (the CV mean). Prints the tables and what they say about the
issue targets, and writes ``{out}/noise_floor.{md,json,png}``.

Usage::

    python benchmarks/bench_noise_floor.py [--kb datasets/kb] [--folds 5]
        [--fold-seeds 0,1,2] [--out benchmarks/results]
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
CHECKPOINTS = (1, 3, 5, 8, 10, 20, 50, 100)
COLORS = {"self": "black", "random": "tab:blue", "static": "tab:orange", "similarity": "tab:green",
          "transfer": "tab:red"}
STAGE = 20  # the transfer stage's length: its curves are carried after it


def _first_reaching(curve: np.ndarray, level: float, limit: int) -> str:
    hit = np.flatnonzero(curve[:limit] <= level + 1e-12)
    return str(int(hit[0]) + 1) if hit.size else f"> {limit}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from harness import noise_curves, noise_table, split_fold_curves
    from metaopt.bench import markdown_table

    seeds = [int(s) for s in args.fold_seeds.split(",") if s.strip()]
    t0 = time.perf_counter()
    curves = pd.concat(
        [split_fold_curves(args.kb, folds=args.folds, fold_seed=s, seed=s,
                           progress=lambda m, s=s: print(f"[fold seed {s}] {m}", flush=True)).assign(fold_seed=s)
         for s in seeds], ignore_index=True)
    seconds = time.perf_counter() - t0
    table = noise_table(curves, CHECKPOINTS)
    by_kind = pd.concat([noise_table(g, (1, 5, 10)).assign(kind=k) for k, g in curves.groupby("kind")])
    by_kind = by_kind[by_kind["evaluation"] == "split"][["kind", "variant", "tasks", "@1", "@5", "@10"]]
    mean_curves = {f"{r.evaluation}/{r.variant}": r.regret
                   for r in noise_curves(curves).itertuples(index=False)}
    at = table.set_index(["evaluation", "variant"])
    targets = []
    for e in ("full", "split"):
        static5 = at.loc[(e, "static"), "@5"]
        r100, r50 = mean_curves[f"{e}/random"][99], mean_curves[f"{e}/random"][49]
        for v in ("self", "similarity", "transfer"):
            if (e, v) not in at.index:
                continue
            c = mean_curves[f"{e}/{v}"]
            targets.append({
                "evaluation": e, "variant": v,
                "@5 / static@5": float(at.loc[(e, v), "@5"] / static5),
                "@10 / random@50": float(c[9] / r50),
                "trials to random@100": _first_reaching(c, r100, len(c) if v == "self" else STAGE),
            })
    targets = pd.DataFrame(targets)
    n_tasks = int(curves["task_id"].nunique())
    md = [
        "# The benchmarks' noise floor: regret on a held-out CV fold",
        "",
        f"{n_tasks} tasks, {args.folds} grouped folds × fold seeds {seeds}. `split`: each held-out task's "
        "pool scored on one of its CV folds (averaged over which), picks made on the mean of its other "
        "folds (`self`: the task's own ranking, i.e. a method that already evaluated the whole pool "
        "there) or by methods that never see the task (`static`, `similarity` = `metaopt suggest`'s "
        "zero-shot order, `random`); `transfer` (the learned optimizer's first 20 trials) observes the "
        "other folds' scores. `full`: the benchmarks' own protocol (CV mean). Transfer-stage curves "
        "stop at 20 trials (value carried). `python benchmarks/bench_noise_floor.py` "
        f"({seconds:.0f} s, {platform.machine()}, Python {platform.python_version()}).",
        "",
        "## Mean regret", "", markdown_table(table), "",
        "## Mean regret on a held-out fold, per kind", "", markdown_table(by_kind), "",
        "## Against the issue targets",
        "",
        "Within one evaluation: best-of-5 relative to the static portfolio's first 5 (issue 6 asks "
        "≤ 0.5), regret after 10 picks relative to uniform random search's after 50 (issue 7 asks "
        "MetaSampler@10 ≤ TPE@50; in `bench_tune.py` TPE@50 is above random search@50, so this "
        "ratio is the stricter one), and the first trial whose mean regret reaches random search's "
        "100-trial regret (issue 7 asks ≤ 8; the transfer-stage variants stop at 20).",
        "",
        markdown_table(targets), "",
    ]
    text = "\n".join(md)
    print(text)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "noise_floor.md").write_text(text + "\n")
    doc = {"tasks": n_tasks, "folds": args.folds, "fold_seeds": seeds, "seconds": round(seconds, 1),
           "mean": table.to_dict("records"), "split_by_kind": by_kind.to_dict("records"),
           "targets": targets.to_dict("records"),
           "curves": {k: np.round(v, 6).tolist() for k, v in mean_curves.items()}}
    (out / "noise_floor.json").write_text(json.dumps(doc, indent=1) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for ax, e in zip(axes, ("full", "split"), strict=True):
            for key, c in mean_curves.items():
                ev, v = key.split("/")
                if ev == e:
                    ax.plot(np.arange(1, len(c) + 1), np.maximum(c, 1e-4), label=v, color=COLORS.get(v),
                            ls="--" if v == "self" else "-")
            ax.axhline(mean_curves[f"{e}/random"][99], color="grey", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("picks")
            ax.set_title({"full": "scored on the CV mean (the benchmarks)",
                          "split": "scored on a held-out CV fold"}[e])
            ax.legend(fontsize=8)
        axes[0].set_ylabel("mean normalized regret (log)")
        fig.suptitle(f"noise floor, {n_tasks} tasks (dotted: random search at 100)")
        fig.tight_layout()
        fig.savefig(out / "noise_floor.png", dpi=120)
        plt.close(fig)
        print(f"wrote {out / 'noise_floor.png'}")
    except ImportError as exc:
        print(f"plot skipped: {exc}")
    print(f"wrote {out / 'noise_floor.md'}, {out / 'noise_floor.json'} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
