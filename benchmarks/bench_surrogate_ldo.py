"""Leave-dataset-out comparison of warm-start surrogate models on the knowledge base.

Every evaluation of the KB (``skipped`` rows excluded, failures scored 0) becomes a row
``scaled meta-features ‖ config encoding`` with its per-task normalized score as the
target. Folds are grouped by the tasks' ``group`` column (variants of one base dataset
never sit on both sides). For each held-out task the table reports the Spearman
correlation between predicted and true normalized scores over its configs, and the
top-1 regret (1 − true normalized score of the config the model ranks first), each
averaged over tasks; plus RMSE, the share of errors within 1, 2 and 3 predicted σ, the
Gaussian negative log-likelihood of the held-out scores and the median σ.

Models:

* ``gbt``: the default :class:`~metaopt.learn.Surrogate` (boosted trees ensemble, σ
  from its heteroscedastic error head);
* ``gbt-floor``: ``gbt`` with ``uncertainty="floor"`` (σ = member spread and one
  calibrated floor: the models saved before the error head);
* ``gbt-shallow``: fewer, smaller trees;
* ``mlp``: the torch-trained MLP ensemble (skipped with ``--no-mlp``);
* ``gbt-blind``: ``gbt`` with the meta-features zeroed (it sees only the config:
  shows how much the dataset's content adds);
* ``config-mean``: each config's mean normalized score on the training tasks (a static
  ranking, what a portfolio does).

Usage::

    python benchmarks/bench_surrogate_ldo.py [--kb datasets/kb] [--splits 5] [--members 4]
        [--max-iter 100] [--no-mlp] [--models gbt,gbt-floor,...]

Writes ``benchmarks/results/surrogate_ldo.md`` and ``surrogate_ldo.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from metaopt.kb import KnowledgeBase
from metaopt.learn import ConfigEncoder, leave_dataset_out, training_table

RESULTS = Path(__file__).parent / "results"


def _config_mean(table: pd.DataFrame, n_splits: int) -> dict[str, float]:
    from scipy.stats import spearmanr
    from sklearn.model_selection import GroupKFold

    key = (table["algorithm"] + "|" + table["config_id"]).to_numpy()
    y = table["target"].to_numpy()
    groups = table["group"].to_numpy()
    pred = np.full(len(y), np.nan)
    for train, test in GroupKFold(n_splits=n_splits).split(y, y, groups):
        means = pd.Series(y[train]).groupby(key[train]).mean()
        pred[test] = pd.Series(key[test]).map(means).fillna(float(np.mean(y[train]))).to_numpy()
    tasks = table["task_id"].to_numpy()
    sp, rg = [], []
    for t in np.unique(tasks):
        m = tasks == t
        if np.ptp(pred[m]) > 0 and np.ptp(y[m]) > 0:
            sp.append(spearmanr(pred[m], y[m]).statistic)
        rg.append(1.0 - y[m][int(np.argmax(pred[m]))])
    return {
        "spearman": float(np.mean(sp)) if sp else float("nan"),
        "regret": float(np.mean(rg)),
        "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
        "coverage_1sd": float("nan"),
        "coverage_2sd": float("nan"),
        "coverage_3sd": float("nan"),
        "nll": float("nan"),
        "median_sigma": float("nan"),
        "n_tasks": int(len(np.unique(tasks))),
    }


def _markdown(frame: pd.DataFrame) -> str:
    """A GitHub table (no tabulate dependency)."""
    cols = [frame.index.name or "", *map(str, frame.columns)]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for name, row in frame.iterrows():
        cells = [
            str(int(v)) if c == "n_tasks" else f"{v:.3f}" if isinstance(v, float) else str(v)
            for c, v in row.items()
        ]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default="datasets/kb")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--max-iter", type=int, default=100,
                        help="boosting rounds per member (100: what the suggest benchmark uses; `metaopt train` "
                        "uses 200 with 8 members)")
    parser.add_argument("--no-mlp", action="store_true")
    parser.add_argument("--models", default="",
                        help="comma-separated subset of gbt, gbt-floor, gbt-shallow, mlp, "
                        "gbt-blind, config-mean (default: all)")
    args = parser.parse_args()
    wanted = {m.strip() for m in args.models.split(",") if m.strip()}

    def keep(name: str) -> bool:
        return not wanted or name in wanted

    kb = KnowledgeBase.open(args.kb)
    table = training_table(kb)
    mf = kb.metafeatures()
    enc = ConfigEncoder(metafeature_names=list(mf.columns))
    enc.fit(mf.reindex(sorted(table["task_id"].unique())))
    X = enc.transform(
        mf.reindex(table["task_id"]), table["algorithm"].tolist(), table["params"].tolist()
    )
    y = table["target"].to_numpy()
    groups = table["group"].to_numpy()
    tasks = table["task_id"].to_numpy()
    n_splits = min(args.splits, len(np.unique(groups)))
    base = {"n_members": args.members, "max_iter": args.max_iter}
    candidates = {
        "gbt": base,
        "gbt-floor": {**base, "uncertainty": "floor"},
        "gbt-shallow": {**base, "max_leaf_nodes": 8, "min_samples_leaf": 40},
    }
    if not args.no_mlp:
        candidates["mlp"] = {**base, "model": "mlp"}
    rows = []
    for name, params in candidates.items():
        if not keep(name):
            continue
        t0 = time.perf_counter()
        res = leave_dataset_out(
            X,
            y,
            groups,
            tasks,
            {name: params},
            n_splits=n_splits,
            n_metafeatures=enc.n_metafeatures,
        )
        rows.append({"model": name, **res.loc[name].to_dict(), "seconds": time.perf_counter() - t0})
    if keep("gbt-blind"):
        blind = X.copy()
        blind[:, : enc.n_metafeatures] = 0.0
        t0 = time.perf_counter()
        res = leave_dataset_out(blind, y, groups, tasks, {"gbt-blind": base}, n_splits=n_splits)
        rows.append(
            {
                "model": "gbt-blind",
                **res.loc["gbt-blind"].to_dict(),
                "seconds": time.perf_counter() - t0,
            }
        )
    if keep("config-mean"):
        t0 = time.perf_counter()
        rows.append(
            {
                "model": "config-mean",
                **_config_mean(table, n_splits),
                "seconds": time.perf_counter() - t0,
            }
        )
    out = pd.DataFrame(rows).set_index("model")

    info = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kb": str(kb.path),
        "n_tasks": int(len(np.unique(tasks))),
        "n_groups": int(len(np.unique(groups))),
        "n_rows": int(len(y)),
        "n_splits": int(n_splits),
        "members": args.members,
        "machine": f"{platform.machine()} {platform.system()}, python {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "surrogate_ldo.json").write_text(
        json.dumps({**info, "results": out.reset_index().to_dict(orient="records")}, indent=2)
        + "\n",
        encoding="utf-8",
    )
    md = [
        "# Warm-start surrogate: grouped leave-dataset-out validation",
        "",
        f"`python benchmarks/bench_surrogate_ldo.py --splits {args.splits} --members {args.members} "
        f"--max-iter {args.max_iter}" + (f" --models {args.models}" if args.models else "")
        + ("" if not args.no_mlp else " --no-mlp") + "` "
        f"on {info['when']}: {info['n_tasks']} tasks, {info['n_groups']} groups, {info['n_rows']} "
        f"evaluations, {n_splits} grouped folds.",
        "",
        "Spearman: per held-out task, predicted vs true normalized score over its configs (mean over "
        "tasks; higher is better). Regret: 1 − true normalized score of the top-ranked config (mean "
        "over tasks; lower is better). Coverage: share of |error| ≤ 1, 2, 3 predicted σ (nominal "
        "68.3%, 95.4%, 99.7%). NLL: mean Gaussian negative log-likelihood of the held-out scores "
        "(constant dropped; lower is better).",
        "",
        _markdown(out),
        "",
    ]
    (RESULTS / "surrogate_ldo.md").write_text("\n".join(md), encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
