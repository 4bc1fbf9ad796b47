"""Meta-evaluation of tuning: leave-dataset-out regret curves of Optuna samplers on KB tasks.

Runs :func:`harness.leave_dataset_out_tuning` on the knowledge base: random
search (to 100 trials), Optuna TPE, TPE warm-started with metaopt's top-5, WS-CMA-ES
with source trials from the 3 nearest training tasks, MetaSampler, and MetaSampler
warm-started with the top-5 (what ``metaopt tune`` does), each on every held-out task
with several seeds; the objective is the task's evaluated pool (nearest evaluated
configuration). Prints the targets and tables and writes
``{out}/tune_ldo.{md,json}`` and ``{out}/tune_ldo_{regret,rank}.png``.

Usage::

    python benchmarks/bench_tune.py [--kb datasets/kb] [--folds 5] [--seeds 5]
        [--trials 50] [--random-trials 100] [--max-tasks N] [-j 2]
        [--iterations N] [--methods random,tpe,...] [--fold-seed 0] [--out benchmarks/results]
"""

from __future__ import annotations

import os

# one thread per worker process (torch, BLAS): parallelism comes from the processes
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--random-trials", type=int, default=100)
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument("--fold-seed", type=int, default=0, help="shuffles the groups before they are dealt to folds")
    parser.add_argument("-j", "--n-jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--iterations", type=int, default=None,
                        help="learned-optimizer meta-training updates per fold "
                             "(default: LearnedOptimizer's, as metaopt train)")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of random,tpe,tpe_warm5,cmaes_source,meta,meta_warm5,meta_rnn")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-runs", action="store_true", help="leave per-run curves out of the JSON")
    args = parser.parse_args(argv)

    import optuna

    from harness import default_tuning_methods, leave_dataset_out_tuning
    from harness._tune import DEFAULT_OPTIMIZER_PARAMS

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    methods = default_tuning_methods()
    if args.methods:
        wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
        unknown = sorted(set(wanted) - {m.name for m in methods})
        if unknown:
            parser.error(f"unknown method(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(m.name for m in methods)}")
        methods = [m for m in methods if m.name in wanted]
    opt_params = dict(DEFAULT_OPTIMIZER_PARAMS)
    if args.iterations is not None:
        opt_params["iterations"] = args.iterations

    t0 = time.perf_counter()
    result = leave_dataset_out_tuning(
        args.kb, folds=args.folds, seeds=args.seeds, trials=args.trials,
        random_trials=args.random_trials, methods=methods, max_tasks=args.max_tasks,
        n_jobs=args.n_jobs, optimizer_params=opt_params, fold_seed=args.fold_seed,
        progress=lambda m: print(f"[{time.perf_counter() - t0:6.0f} s] {m}", flush=True),
    )
    print(result.to_markdown())
    out = args.out
    result.to_markdown(out / "tune_ldo.md")
    result.to_json(out / "tune_ldo.json", runs=not args.no_runs)
    try:
        paths = result.plot(out)
    except Exception as exc:  # plots are optional output
        print(f"plots skipped: {exc}")
        paths = []
    print(f"wrote {out / 'tune_ldo.md'}, {out / 'tune_ldo.json'}" + "".join(f", {p}" for p in paths))
    sec = result.info["seconds"]
    print(f"total: {time.perf_counter() - t0:.0f} s wall (summed over processes: fold fits "
          f"{sec['fold_fits']:.0f} s, studies {sec['studies']:.0f} s)")


if __name__ == "__main__":
    main()
