"""Throughput of ``evaluate_many`` with 1 vs 2 (or more) workers.

A fixed batch of 40 mixed evaluations (hgb, random_forest, linear, knn; 3-fold CV on a
3,000-row binary task and a 3,000-row regression task, each with 16 numeric and
4 categorical columns) runs with ``n_jobs=1`` (in this process) and ``n_jobs=2``
(joblib loky workers, one thread each); the table reports evaluations per second and
the speedup. Each setting first runs a small warm-up batch (starting the workers and
their evaluation sub-processes), then the timed batch, ``--repeats`` times; the best
(highest-throughput) repeat is reported, along with the median. Repeats of the
settings are interleaved (1, 2, 1, 2, ...) so that drifting load affects them alike.

Usage::

    python benchmarks/bench_parallel.py                   # KB protocol (time limit, workers)
    python benchmarks/bench_parallel.py --no-limit        # in-process evaluation, no limit
    python benchmarks/bench_parallel.py --workers 1 2 --repeats 3

Results are appended to ``benchmarks/results/bench_parallel.jsonl`` (one JSON object per
run) and the last table is written to ``benchmarks/results/bench_parallel.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from metaopt.evaluation import Protocol, evaluate_many
from metaopt.tasks import Task

RESULTS = Path(__file__).parent / "results"


def make_task(kind: str, n_rows: int = 3000, seed: int = 0) -> Task:
    """A deterministic synthetic task: 16 numeric + 4 categorical columns."""
    from sklearn.datasets import make_classification, make_regression

    if kind == "regression":
        X, y = make_regression(n_samples=n_rows, n_features=20, n_informative=10, noise=10.0, random_state=seed)
        target = pd.Series(y, name="y")
    else:
        X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=8, random_state=seed)
        target = pd.Series(pd.Categorical(np.where(y == 1, "pos", "neg"), categories=["neg", "pos"]), name="y")
    frame = pd.DataFrame(X[:, :16], columns=[f"x{i}" for i in range(16)])
    for j in range(4):  # categorical columns from binned informative features
        codes = np.digitize(X[:, 16 + j], np.quantile(X[:, 16 + j], [0.25, 0.5, 0.75]))
        frame[f"c{j}"] = pd.Categorical.from_codes(codes, categories=[f"l{k}" for k in range(4)])
    return Task(X=frame, y=target, kind=kind, task_id=f"bench:{kind}-{n_rows}", name=f"bench-{kind}")  # type: ignore[arg-type]


def batch(tasks: list[Task]) -> list[tuple[Task, str, dict]]:
    """20 configs per task: 6 hgb, 5 random_forest, 4 linear, 5 knn."""
    jobs: list[tuple[Task, str, dict]] = []
    for task in tasks:
        for max_iter, lr in [(50, 0.1), (100, 0.1), (200, 0.05), (100, 0.3), (150, 0.1), (80, 0.2)]:
            jobs.append((task, "hgb", {"max_iter": max_iter, "learning_rate": lr}))
        for n_estimators, max_features in [(50, 0.3), (100, 0.3), (60, 0.5), (80, 0.2), (40, 0.6)]:
            jobs.append((task, "random_forest", {"n_estimators": n_estimators, "max_features": max_features}))
        linear = (
            [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)]
            if task.is_classification
            else [{"alpha": a} for a in (0.01, 0.1, 1.0, 10.0)]
        )
        jobs += [(task, "linear", p) for p in linear]
        for k, w in [(5, "uniform"), (15, "distance"), (30, "uniform"), (50, "distance"), (10, "uniform")]:
            jobs.append((task, "knn", {"n_neighbors": k, "weights": w}))
    return jobs


def run(jobs: list, protocol: Protocol, n_jobs: int) -> tuple[float, list]:
    start = time.perf_counter()
    results = list(evaluate_many(jobs, protocol, n_jobs=n_jobs))
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--no-limit", action="store_true", help="no time limit: evaluate in-process")
    args = parser.parse_args()

    tasks = [make_task("binary", args.rows), make_task("regression", args.rows)]
    jobs = batch(tasks)
    base = Protocol.kb()
    protocol = Protocol(n_splits=3, max_rows=3000) if args.no_limit else base
    warmup = [jobs[0], jobs[20]]
    load = os.getloadavg()
    rows = []
    times: dict[int, list[float]] = {n: [] for n in args.workers}
    statuses: dict[int, dict[str, int]] = {}
    for n in args.workers:
        run(warmup, protocol, n)
    # settings interleaved repeat by repeat, so that drifting load from other
    # processes affects them alike
    for _ in range(args.repeats):
        for n in args.workers:
            seconds, results = run(jobs, protocol, n)
            times[n].append(seconds)
            statuses[n] = {s: sum(e.status == s for e in results) for s in ("ok", "timeout", "error")}
    for n in args.workers:
        best = min(times[n])
        rows.append({
            "workers": n, "evaluations": len(jobs), "best_s": best, "median_s": statistics.median(times[n]),
            "eval_per_s": len(jobs) / best, "eval_per_s_median": len(jobs) / statistics.median(times[n]),
            "statuses": statuses[n], "times_s": times[n],
        })
    base_rate = rows[0]["eval_per_s"]
    base_median = rows[0]["eval_per_s_median"]
    for r in rows:
        r["speedup"] = r["eval_per_s"] / base_rate
        r["speedup_median"] = r["eval_per_s_median"] / base_median

    header = (
        f"evaluate_many throughput, {len(jobs)} evaluations ({'no limit, in-process' if args.no_limit else 'Protocol.kb(): isolated workers'}), "
        f"{os.cpu_count()} CPUs, load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    lines = [header, "", "| workers | best s | median s | eval/s (best) | speedup (best) | speedup (median) | statuses |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['best_s']:.1f} | {r['median_s']:.1f} | {r['eval_per_s']:.2f} | "
            f"{r['speedup']:.2f}× | {r['speedup_median']:.2f}× | {r['statuses']} |"
        )
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": "bench_parallel",
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_before": load},
        "protocol": protocol.to_dict(),
        "rows": rows,
    }
    with open(RESULTS / "bench_parallel.jsonl", "a") as fh:
        fh.write(json.dumps(record) + "\n")
    (RESULTS / "bench_parallel.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
