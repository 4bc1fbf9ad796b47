"""Duplicate configurations proposed by parallel Optuna workers, per sampler.

A study of 40 trials over 5 algorithms (hgb, random_forest, extra_trees, linear, knn)
in metaopt's naming (``"algorithm"`` and ``"{algorithm}__{param}"``, sampled as
:func:`metaopt.integrations.optuna.objective` samples them, for a 300-row binary
task's shape) with a cheap synthetic objective: a hash of the configuration after a
short pause (``--pause``, so that trials overlap), no model is fitted. Workers:

* ``sequential``: ``study.optimize(n_jobs=1)``, no pause (the reference: what a
  sampler repeats with no parallel workers);
* ``threads``: ``study.optimize(n_jobs=4)`` in one process (in-memory storage);
* ``processes``: two processes (this script with ``--worker``) on one SQLite study
  in a temporary file, 20 trials each.

Samplers: ``MetaSampler`` with the shipped models (``--models``) with
``constant_liar=True`` (the default) and ``False``, and as references Optuna's
``TPESampler(constant_liar=True)`` and ``RandomSampler``. With the shipped models,
``MetaSampler`` proposes the first ``max_meta_trials`` (20) trials and its fallback
(TPE with its constant liar) the rest.

The duplicate rate is the share of COMPLETE trials whose parameters, as the study
records them (``trial.params``), equal those of a trial with a lower number; it is
reported over trials 1-20, 21-40 (each compared with all earlier trials) and 1-40,
as the mean over ``--seeds`` and the largest seed's value. A seed fixes the sequential
runs; threads and processes also depend on timing (and Optuna reseeds the sampler in
each worker thread).

Usage::

    python benchmarks/bench_sampler_parallel.py                  # 3 seeds, ~3 min
    python benchmarks/bench_sampler_parallel.py --seeds 0 1 2 3 4 --pause 0.05

Prints a Markdown table and writes ``benchmarks/results/sampler_parallel.{md,json}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
MODELS = ROOT / "datasets" / "models"

ALGORITHMS = ["hgb", "random_forest", "extra_trees", "linear", "knn"]
SAMPLERS = ["metaopt", "metaopt-no-liar", "tpe", "random"]
LABELS = {
    "metaopt": "MetaSampler (constant_liar=True)",
    "metaopt-no-liar": "MetaSampler (constant_liar=False)",
    "tpe": "TPESampler (constant_liar=True)",
    "random": "RandomSampler",
}
#: Meta-features and shape the sampler is conditioned on (those of the host-contract tests).
METAFEATURES = {"n_rows": 300.0, "n_features": 5.0}
N_TRIALS = 40
N_THREADS = 4
N_PROCESSES = 2


def make_sampler(name: str, seed: int, models: Path) -> Any:
    import optuna

    if name in ("metaopt", "metaopt-no-liar"):
        from metaopt.integrations.optuna import MetaSampler

        return MetaSampler(metafeatures=METAFEATURES, shape=shape(), optimizer=models, seed=seed,
                           constant_liar=name == "metaopt")
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")


def shape() -> Any:
    from metaopt.spaces import DataShape

    return DataShape(n_rows=300, n_features=5, kind="binary", n_classes=2)


def synthetic(trial: Any, pause: float) -> float:
    """metaopt's naming, scored by a hash of the configuration: cheap, no fitting."""
    from metaopt.spaces import get_space

    alg = trial.suggest_categorical("algorithm", ALGORITHMS)
    params = get_space(alg).sample(trial, shape(), prefix=f"{alg}__")
    if pause:
        time.sleep(pause)
    digest = hashlib.sha256(json.dumps([alg, sorted(params.items())], default=str).encode()).digest()
    return digest[0] / 255.0


def duplicates(study: Any) -> list[bool]:
    """Per COMPLETE trial in number order: whether an earlier trial had the same params."""
    from optuna.trial import TrialState

    seen: set[str] = set()
    out = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        key = json.dumps(sorted(t.params.items()), default=str)
        if t.state == TrialState.COMPLETE:
            out.append(key in seen)
        seen.add(key)
    return out


def quiet() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)


def run_sequential(name: str, seed: int, models: Path, pause: float) -> list[bool]:
    import optuna

    study = optuna.create_study(direction="maximize", sampler=make_sampler(name, seed, models))
    study.optimize(lambda t: synthetic(t, 0.0), n_trials=N_TRIALS)
    return duplicates(study)


def run_threads(name: str, seed: int, models: Path, pause: float) -> list[bool]:
    import optuna

    study = optuna.create_study(direction="maximize", sampler=make_sampler(name, seed, models))
    study.optimize(lambda t: synthetic(t, pause), n_trials=N_TRIALS, n_jobs=N_THREADS)
    return duplicates(study)


def run_processes(name: str, seed: int, models: Path, pause: float) -> list[bool]:
    import optuna

    import metaopt

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'study.db'}"
        optuna.create_study(study_name="bench", storage=url, direction="maximize")
        # the workers import the same metaopt as this process (a worktree, not the installed one)
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join([str(Path(metaopt.__file__).resolve().parents[1]),
                                              os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, __file__, "--worker", url, "--sampler", name, "--models", str(models),
               "--pause", str(pause)]
        procs = [subprocess.Popen([*cmd, "--seeds", str(seed * N_PROCESSES + k)], env=env)
                 for k in range(N_PROCESSES)]
        codes = [p.wait(timeout=600) for p in procs]
        if any(codes):
            raise RuntimeError(f"a worker failed (exit codes {codes}) for {name}, seed {seed}")
        return duplicates(optuna.load_study(study_name="bench", storage=url))


def worker(url: str, name: str, seed: int, models: Path, pause: float) -> None:
    import optuna

    study = optuna.load_study(study_name="bench", storage=url, sampler=make_sampler(name, seed, models))
    study.optimize(lambda t: synthetic(t, pause), n_trials=N_TRIALS // N_PROCESSES)


def rate(flags: list[bool]) -> float:
    return 100.0 * sum(flags) / len(flags) if flags else float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS, choices=SAMPLERS)
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds each trial sleeps")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--sampler", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quiet()
    if args.worker:
        worker(args.worker, args.sampler, args.seeds[0], args.models, args.pause)
        return

    t0 = time.perf_counter()
    rows = []
    runners = (("sequential", run_sequential), ("threads", run_threads), ("processes", run_processes))
    for workers, runner in runners:
        for name in args.samplers:
            for seed in args.seeds:
                start = time.perf_counter()
                flags = runner(name, seed, args.models, args.pause)
                rows.append({"sampler": name, "workers": workers, "seed": seed, "complete": len(flags),
                             "1-20": rate(flags[:20]), "21-40": rate(flags[20:40]), "1-40": rate(flags[:40]),
                             "seconds": round(time.perf_counter() - start, 2)})
                r = rows[-1]
                print(f"[{workers} {name} seed {seed}] duplicates 1-20 {r['1-20']:.1f} %, "
                      f"21-40 {r['21-40']:.1f} %, 1-40 {r['1-40']:.1f} % ({r['seconds']} s)", flush=True)
    seconds = time.perf_counter() - t0

    per_seed = pd.DataFrame(rows)
    cols = ["1-20", "21-40", "1-40"]
    grouped = per_seed.groupby(["workers", "sampler"], sort=False)[cols]
    mean, worst = grouped.mean(), grouped.max()
    table = pd.DataFrame({
        "workers": [w for w, _ in mean.index],
        "sampler": [LABELS[s] for _, s in mean.index],
        **{f"trials {c} (%)": [f"{m:.1f} (max {x:.1f})" for m, x in zip(mean[c], worst[c], strict=True)]
           for c in cols},
    })
    from metaopt.bench import markdown_table

    meta = make_sampler("metaopt", 0, args.models) if "metaopt" in args.samplers else None
    horizon = f"max_meta_trials={meta.max_meta_trials}" if meta is not None else ""
    command = "python benchmarks/bench_sampler_parallel.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:] if argv is None else argv))
    md = [
        "# Duplicate configurations with parallel workers",
        "",
        f"Share of COMPLETE trials whose params equal an earlier trial's, in a {N_TRIALS}-trial study over "
        f"{len(ALGORITHMS)} algorithms (synthetic objective, {args.pause} s pause per trial); "
        f"sequential: `n_jobs=1`; threads: `n_jobs={N_THREADS}` in one process; processes: "
        f"{N_PROCESSES} processes on one SQLite study, {N_TRIALS // N_PROCESSES} trials each. Mean over seeds {args.seeds} (max over seeds). "
        f"MetaSampler with the shipped models ({horizon}; later trials from its fallback, TPE with "
        "its constant liar).",
        "",
        f"`{command}` ({seconds:.0f} s, {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, optuna {__import__('optuna').__version__}).",
        "",
        markdown_table(table),
        "",
    ]
    text = "\n".join(md)
    print(text)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "sampler_parallel.md").write_text(text + "\n")
    doc = {"command": command, "seconds": round(seconds, 1), "cores": os.cpu_count(),
           "python": platform.python_version(), "optuna": __import__("optuna").__version__,
           "trials": N_TRIALS, "threads": N_THREADS, "processes": N_PROCESSES, "pause": args.pause,
           "seeds": args.seeds, "max_meta_trials": None if meta is None else meta.max_meta_trials,
           "summary": table.to_dict("records"), "per_seed": per_seed.to_dict("records")}
    (out / "sampler_parallel.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out / 'sampler_parallel.md'}, {out / 'sampler_parallel.json'} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
