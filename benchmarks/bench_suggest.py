"""Meta-evaluation of ``metaopt suggest``: leave-dataset-out / leave-source-out regret vs the baselines, and speed.

1. Runs ``metaopt benchmark`` (grouped leave-dataset-out over the knowledge base:
   metaopt, library defaults, best default, greedy portfolio, nearest datasets and,
   unless ``--no-flaml``, FLAML's zero-shot ``flaml.default``), prints the tables and
   writes ``benchmarks/results/suggest_ldo.{md,json}`` and ``suggest_*.png``. With
   ``--protocol source`` it runs leave-source-out instead (train on every corpus source
   but one, test on the held-out one; cross-domain) and writes
   ``suggest_lso.{md,json}`` and ``suggest_lso_*.png``.
2. Times ``metaopt suggest`` cold (a fresh process each time, wall clock of the whole
   process) on a generated 10,000 × 50 CSV, 3 times, and writes
   ``benchmarks/results/suggest_timing.json`` (skipped with a message if the command
   does not exist or has no trained model).

Usage::

    python benchmarks/bench_suggest.py [--kb datasets/kb] [--protocol dataset|source] [--folds 5] [--no-flaml]
        [--flaml-learners lgbm,rf,xgboost,extra_tree] [--no-timing]
        [--flaml-cache benchmarks/results/flaml_scores.json] [--timing-only] [--timing-repeats 3]
        [--min-source-tasks 10] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def time_suggest(repeats: int = 3, rows: int = 10_000, cols: int = 50) -> dict | None:
    """Cold wall time of ``metaopt suggest`` on a generated CSV (``None`` if unavailable)."""
    exe = shutil.which("metaopt")
    cmd = [exe] if exe else [sys.executable, "-m", "metaopt.cli"]
    probe = subprocess.run([*cmd, "suggest", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("metaopt suggest does not exist yet: timing skipped")
        return None
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, cols))
    y = (X[:, :5].sum(axis=1) + rng.normal(size=rows) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(cols)]).assign(target=y)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        frame.to_csv(path, index=False)
        walls: dict[str, list[float]] = {"table": [], "json": []}
        for _ in range(repeats):
            for mode, extra in (("table", []), ("json", ["--json"])):
                t0 = time.perf_counter()
                run = subprocess.run([*cmd, "suggest", str(path), *extra], capture_output=True, text=True)
                walls[mode].append(time.perf_counter() - t0)
                if run.returncode != 0:
                    print(f"metaopt suggest failed (exit {run.returncode}): {run.stderr.strip()[-300:]}; timing skipped")
                    return None
    return {"rows": rows, "columns": cols, "repeats": repeats, "wall_s": walls["table"],
            "median_wall_s": float(np.median(walls["table"])), "json_wall_s": walls["json"],
            "median_json_wall_s": float(np.median(walls["json"])), "target_s": 1.5,
            "python": platform.python_version(), "machine": platform.machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--protocol", choices=("dataset", "source"), default="dataset",
                        help="dataset: grouped leave-dataset-out; source: leave-source-out (cross-domain)")
    parser.add_argument("--min-source-tasks", type=int, default=10,
                        help="--protocol source: sources with fewer tasks form one merged held-out block")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where tables and plots go (default: benchmarks/results)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-flaml", action="store_true")
    parser.add_argument("--flaml-learners", default="lgbm,rf,xgboost,extra_tree")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--flaml-cache", type=Path, default=RESULTS / "flaml_scores.json",
                        help="FLAML score cache (default: benchmarks/results/flaml_scores.json)")
    parser.add_argument("--timing-only", action="store_true", help="only time `metaopt suggest` (no benchmark)")
    parser.add_argument("--timing-repeats", type=int, default=3, help="cold processes per timed command")
    args = parser.parse_args()

    from metaopt._paths import use_checkout_cli

    use_checkout_cli()  # this checkout's `metaopt benchmark`, even under another worktree's editable install
    from metaopt.cli._benchmark import benchmark

    t0 = time.perf_counter()
    if not args.timing_only:
        benchmark(kb=Path(args.kb), protocol=args.protocol, folds=args.folds, seed=args.seed, top=5,
                  min_source_tasks=args.min_source_tasks, out=args.out, no_flaml=args.no_flaml,
                  flaml_learners=args.flaml_learners, flaml_cache=args.flaml_cache)
        print(f"\nbenchmark: {time.perf_counter() - t0:.0f} s")
    if not args.no_timing:
        timing = time_suggest(repeats=max(1, args.timing_repeats))
        if timing is not None:
            (args.out / "suggest_timing.json").write_text(json.dumps(timing, indent=1) + "\n")
            print(f"metaopt suggest, 10,000 x 50 CSV, cold: {', '.join(f'{w:.2f}' for w in timing['wall_s'])} s "
                  f"(median {timing['median_wall_s']:.2f} s; target <= 1.5 s); with --json: "
                  f"{', '.join(f'{w:.2f}' for w in timing['json_wall_s'])} s "
                  f"(median {timing['median_json_wall_s']:.2f} s, builds the scikit-learn specs)")


if __name__ == "__main__":
    main()
