"""Fill the FLAML score cache of ``bench_suggest.py`` in parallel shards, then merge.

FLAML's zero-shot suggestions depend only on each task's data, so their cross-validated
scores can be computed ahead of the benchmark, one process per shard of the tasks
(FLAML's estimators run with one thread; ``OMP_NUM_THREADS=1`` is set here):

    python benchmarks/fill_flaml_cache.py --shard 0/2 --cache /tmp/flaml_0.json &
    python benchmarks/fill_flaml_cache.py --shard 1/2 --cache /tmp/flaml_1.json &
    wait
    python benchmarks/fill_flaml_cache.py --merge /tmp/flaml_0.json /tmp/flaml_1.json \\
        --into benchmarks/results/flaml_scores.json

A shard starts from ``--seed-cache`` (default the merged cache, if it exists) so
finished evaluations are not repeated; each evaluation is written as it finishes, so a
killed shard resumes. ``bench_suggest.py --flaml-cache`` then reuses every score.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def merge(paths: list[Path], into: Path) -> int:
    """Union of the caches' entries (later files win on equal keys); returns the count."""
    scores: dict[str, dict] = {}
    for p in [into, *paths]:
        if p.exists():
            scores.update(json.loads(p.read_text()).get("scores", {}))
    tmp = into.with_name(into.name + ".tmp")
    tmp.write_text(json.dumps({"format": "metaopt-flaml-scores", "version": 1,
                               "scores": dict(sorted(scores.items()))}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, into)
    return len(scores)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--shard", default="0/1", help="i/n: the i-th of n shards of the tasks")
    parser.add_argument("--cache", type=Path, default=None, help="this shard's cache file")
    parser.add_argument("--seed-cache", type=Path, default=RESULTS / "flaml_scores.json")
    parser.add_argument("--learners", default="lgbm,rf,extra_tree")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--merge", type=Path, nargs="*", default=None)
    parser.add_argument("--into", type=Path, default=RESULTS / "flaml_scores.json")
    args = parser.parse_args(argv)

    if args.merge is not None:
        print(f"{merge(args.merge, args.into)} scores in {args.into}")
        return
    i, n = (int(x) for x in args.shard.split("/"))
    if not 0 <= i < n:
        parser.error(f"--shard {args.shard}: need 0 <= i < n")
    cache = args.cache or RESULTS / f"flaml_scores.shard{i}.json"
    if not cache.exists() and args.seed_cache.exists():
        cache.write_text(args.seed_cache.read_text())

    from metaopt.bench._flaml import FlamlZeroShot
    from metaopt.bench._methods import HeldOutTask, metafeatures_of
    from metaopt.kb import KnowledgeBase

    kb = KnowledgeBase.open(args.kb)
    tasks = kb.tasks()
    tasks = tasks[tasks["status"].astype(str) == "ok"].drop_duplicates("task_id")
    ids = sorted(set(tasks["task_id"].astype(str)) & set(kb.evaluations()["task_id"].astype(str)))
    mine = ids[i::n]
    by_id = {str(r["task_id"]): r for r in tasks.to_dict("records")}
    mf = kb.metafeatures()
    method = FlamlZeroShot([x for x in args.learners.split(",") if x], check_content=False, cache=cache)
    method.fit(kb, None)
    t0 = time.perf_counter()
    for done, tid in enumerate(mine, start=1):
        row = by_id[tid]
        held = HeldOutTask(tid, str(row["kind"]), str(row.get("group") or tid), metafeatures_of(mf, tid), row)
        for rec in method.recommend(held, args.top):
            method.score_outside_pool(held, rec)
        print(f"[{time.perf_counter() - t0:6.0f} s] shard {i}/{n}: {done}/{len(mine)} {tid} "
              f"({method.cache_hits_} cached)", flush=True)


if __name__ == "__main__":
    main()
