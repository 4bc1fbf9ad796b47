"""Variants of the suggestion ranking and of σ, leave-source-out and leave-dataset-out.

Runs :func:`metaopt.bench.leave_dataset_out_benchmark` (both protocols, the
benchmark's own folds and regret) with the ranking variants of
:func:`harness._rank.default_variants` next to the greedy portfolio and the best default
per kind. Every variant reads the benchmark's per-fold Recommender, fitted once per fold
and cached under ``--work`` (a rerun only ranks). Prints and writes
``{out}/rank_variants.{md,json}``: per protocol, mean / median regret@1 and @5, win rate
and one-sided Wilcoxon p against the portfolio, the mean difference to the shipped rank
(two-sided p), mean regret@1 per held-out block, regret@1 of the tasks the
out-of-distribution flag marks and of the others, and ±1σ coverage of the surrogate's
σ as is and widened by novelty (fitted on the other folds only).

Usage::

    python benchmarks/bench_rank_variants.py [--kb datasets/kb] [--protocols source,dataset]
        [--variants shipped,previous,...] [--work /tmp/metaopt_rank_variants] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def _md(frame: pd.DataFrame, digits: int = 4) -> str:
    cols = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for name, row in frame.iterrows():
        cells = []
        for v in row:
            if isinstance(v, float | np.floating):
                cells.append("—" if not np.isfinite(v) else (f"{v:.2g}" if 0 < abs(v) < 1e-3 else f"{v:.{digits}f}"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def compact_regrets(rows: pd.DataFrame) -> dict:
    """Method → task id → ``[regret@1, regret@k]`` (5 decimals, None where unscored)."""
    out: dict = {}
    for rec in rows[["method", "task_id", "regret_1", "regret_k"]].itertuples(index=False):
        vals = [None if not np.isfinite(v) else round(float(v), 5) for v in (rec.regret_1, rec.regret_k)]
        out.setdefault(str(rec.method), {})[str(rec.task_id)] = vals
    return out


def run_protocol(kb, protocol: str, variants: dict, work: Path, log) -> dict:
    from harness._rank import (
        FoldRecommenders,
        RankVariant,
        per_block,
        sigma_variants,
        variant_table,
    )
    from metaopt.bench import BaselineMethod, leave_dataset_out_benchmark
    from metaopt.learn import BestDefault, GreedyPortfolio

    folds = FoldRecommenders(work)
    novelty: dict[str, tuple[float, float]] = {}
    methods = [
        RankVariant(name, order, folds, record=novelty if name == "shipped" else None,
                    with_sigma=name == "shipped")
        for name, order in variants.items()
    ]
    methods += [BaselineMethod("portfolio", GreedyPortfolio), BaselineMethod("best_default", BestDefault)]
    t0 = time.perf_counter()
    res = leave_dataset_out_benchmark(kb, methods=methods, protocol=protocol,
                                      progress=lambda m: log(m) if "fitting shipped" in m else None)
    log(f"{protocol}: {time.perf_counter() - t0:.0f} s")
    table = variant_table(res)
    blocks = per_block(res)
    ratio = {t: (d / thr if thr > 0 and np.isfinite(thr) else 0.0) for t, (d, thr) in novelty.items()}
    flagged = {t for t, r in ratio.items() if r > 1.0}
    rows = res.rows.assign(flagged=res.rows["task_id"].isin(flagged))
    ood = rows.pivot_table(index="method", columns="flagged", values="regret_1", aggfunc="mean")
    ood = ood.rename(columns={True: "flagged", False: "unflagged"}).reindex(res.methods)
    col = "held_out" if "held_out" in res.rows.columns else "fold"
    fold_of = dict(zip(res.rows["task_id"], res.rows[col].astype(str), strict=False))
    cal = res.calibration[res.calibration["method"] == "shipped"]
    cover, fits = sigma_variants(cal, ratio, fold_of)
    return {"result": res, "table": table, "blocks": blocks, "ood": ood, "n_flagged": len(flagged),
            "coverage": cover, "sigma_fits": fits, "ratio": ratio}


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from harness._rank import default_variants
    from metaopt.kb import KnowledgeBase

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--protocols", default="source,dataset")
    parser.add_argument("--variants", default=None, help="comma-separated subset (default all)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/metaopt_rank_variants"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="rank_variants")
    args = parser.parse_args(argv)

    def log(m: str) -> None:
        print(m, flush=True)

    kb = KnowledgeBase.open(args.kb)
    variants = default_variants()
    if args.variants:
        keep = [v.strip() for v in args.variants.split(",")]
        variants = {k: variants[k] for k in keep}
    out: dict = {"protocols": {}}
    lines = ["# Ranking variants: leave-source-out and leave-dataset-out", "",
             "`python benchmarks/bench_rank_variants.py` (`harness._rank`): every variant ranks the "
             "pool of the held-out task's kind with the benchmark's per-fold Recommender (4 surrogate "
             "members, as `metaopt`'s in `bench_suggest.py`), folds and regret of "
             "`metaopt.bench.leave_dataset_out_benchmark`. `shipped` is `Recommender.rank` (family vote "
             "first, then the similarity-weighted greedy portfolio, hard out-of-distribution fallback); "
             "`previous` the rank before issue 20 (greedy portfolio only); the variants "
             "are described in `benchmarks/harness/_rank.py`. `p_vs_portfolio`: one-sided Wilcoxon "
             "(regret@1 below the portfolio's); `diff_vs_previous` / `p2_vs_previous`: mean paired "
             "difference of regret@1 to `previous` and its two-sided Wilcoxon p. With 301 tasks, "
             "mean differences below ~0.003 are noise.", ""]
    names = {"source": "Leave-source-out", "dataset": "Leave-dataset-out (5 grouped folds, seed 0)"}
    for protocol in [p.strip() for p in args.protocols.split(",")]:
        r = run_protocol(kb, protocol, variants, args.work, log)
        print(r["table"].to_string(float_format=lambda v: f"{v:.4f}"))
        print(r["blocks"].T.to_string(float_format=lambda v: f"{v:.4f}"))
        print(r["ood"].to_string(float_format=lambda v: f"{v:.4f}"))
        print(r["coverage"].to_string())
        print(r["sigma_fits"].to_string())
        lines += [f"## {names.get(protocol, protocol)}", "", _md(r["table"]), "",
                  "### Mean regret@1 per held-out block", "", _md(r["blocks"].T), "",
                  f"### Out-of-distribution flag: mean regret@1 of flagged ({r['n_flagged']} tasks) "
                  "and unflagged tasks", "", _md(r["ood"]), "",
                  "### ±1σ coverage (nominal 0.683) of the surrogate's σ, by flag", "",
                  "`widen (inner)`: σ · (s0 + b · novelty/threshold), (s0, b) fitted per held-out "
                  "block on the other blocks' held-out rows so that both flag groups cover ≈ 0.683; "
                  "`scale (inner)`: the same with b = 0.", "",
                  _md(r["coverage"].set_index("variant"), 3), "", _md(r["sigma_fits"].set_index("held_out"), 2), ""]
        out["protocols"][protocol] = {
            "table": json.loads(r["table"].to_json(orient="index")),
            "blocks": json.loads(r["blocks"].to_json(orient="index")),
            "ood": json.loads(r["ood"].to_json(orient="index")),
            "n_flagged": r["n_flagged"],
            "coverage": json.loads(r["coverage"].to_json(orient="records")),
            "sigma_fits": json.loads(r["sigma_fits"].to_json(orient="records")),
            "regrets": compact_regrets(r["result"].rows),
            "novelty_ratio": {t: round(float(v), 4) for t, v in r["ratio"].items()},
        }
    out["machine"] = platform.platform()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text("\n".join(lines), encoding="utf-8")
    (args.out / f"{args.name}.json").write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out / args.name}.md and .json")


if __name__ == "__main__":
    main()
