"""Leave-dataset-out and leave-source-out meta-evaluation of metaopt against the baselines.

Two protocols (DESIGN.md, "Scores and comparisons"):

* ``protocol="dataset"`` (leave-dataset-out): folds are
  :class:`sklearn.model_selection.GroupKFold` over the tasks' ``group`` (the base
  dataset: variants of one dataset never sit on both sides), shuffled by ``seed``
  (:func:`ldo_folds`).
* ``protocol="source"`` (leave-source-out, cross-domain): one fold per corpus source —
  train on every source but one, test on the held-out one; sources with fewer than
  ``min_source_tasks`` tasks are merged into one held-out block named by joining them
  with ``+`` (e.g. ``sklearn+statsmodels``). A base-dataset group that spans sources is
  tested with each of its sources; when one of them is held out, the group's tasks from
  the other sources are dropped from that fold's training set, so a group never sits on
  both sides (:func:`lso_folds`).

In each fold every method is fitted on the training tasks only; for each held-out task
its top-1 and its best-of-top-``k`` recommendations are scored with the task's true
normalized scores (:func:`metaopt.learn.score_matrix`: the KB evaluates one shared
pool per algorithm and kind, so every pool config's score is known). Regret is
``1 - normalized score`` (DESIGN.md, "Scores and comparisons").
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import MetaoptError
from metaopt.bench._methods import (
    BaselineMethod,
    BenchMethod,
    HeldOutTask,
    MetaoptMethod,
    Recommendation,
    SurrogateMethod,
    metafeatures_of,
)
from metaopt.kb import KnowledgeBase
from metaopt.learn import score_matrix, training_data
from metaopt.learn._targets import task_groups
from metaopt.spaces import config_id

__all__ = [
    "BenchmarkError",
    "BenchmarkResult",
    "default_methods",
    "ldo_folds",
    "leave_dataset_out_benchmark",
    "lso_folds",
    "markdown_table",
    "task_sources",
]

PROTOCOLS = ("dataset", "source")


class BenchmarkError(MetaoptError):
    """The benchmark cannot run on this knowledge base (too few tasks or groups)."""


def default_methods(flaml: bool = False) -> list[BenchMethod]:
    """metaopt, its surrogate ranking, every baseline of the issue (and FLAML's zero-shot when asked).

    ``metaopt`` ranks by ``Recommender.rank`` (family vote, then the similarity-weighted
    portfolio), as ``metaopt suggest`` does;
    ``metaopt_surrogate`` by the warm-start surrogate alone (the ranking before the
    learned similarity), kept to show what the similarity adds.
    """
    from metaopt.learn import BestDefault, GreedyPortfolio, LibraryDefaults, NearestDatasets

    methods: list[BenchMethod] = [
        MetaoptMethod(),
        SurrogateMethod(),
        BaselineMethod("library_defaults", LibraryDefaults),
        BaselineMethod("best_default", BestDefault),
        BaselineMethod("portfolio", GreedyPortfolio),
        BaselineMethod("nearest_datasets", NearestDatasets),
    ]
    if flaml:
        from metaopt.bench._flaml import FlamlZeroShot

        methods.append(FlamlZeroShot())
    return methods


def ldo_folds(tasks: pd.DataFrame, folds: int = 5, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Grouped folds over the tasks: ``[(train task ids, test task ids), ...]``.

    Groups (the ``group`` column, else the task id) are shuffled with ``seed`` and
    dealt to folds by :class:`~sklearn.model_selection.GroupKFold`; a group never sits
    on both sides of a fold.

    Raises
    ------
    BenchmarkError
        If there are fewer than 2 groups.
    """
    from sklearn.model_selection import GroupKFold

    ids = tasks["task_id"].astype(str).to_numpy()
    group = task_groups(tasks).to_numpy()
    uniq = np.unique(group)
    if len(uniq) < 2:
        raise BenchmarkError(
            f"leave-dataset-out needs tasks of at least 2 groups, the knowledge base has {len(uniq)}",
            "build more tasks into the knowledge base (`metaopt kb build`)",
        )
    perm = np.random.default_rng(seed).permutation(len(uniq))
    code = dict(zip(uniq[perm], range(len(uniq)), strict=True))
    g = np.array([code[x] for x in group])
    n = min(int(folds), len(uniq))
    out = []
    for train, test in GroupKFold(n_splits=n).split(ids, ids, g):
        out.append((sorted(ids[train]), sorted(ids[test])))
    return out


def task_sources(tasks: pd.DataFrame) -> pd.Series:
    """Each task's corpus source (the ``source`` column, else the task id's prefix before ``:``)."""
    ids = tasks["task_id"].astype(str)
    prefix = ids.str.split(":", n=1).str[0]
    if "source" not in tasks.columns:
        return prefix
    src = tasks["source"]
    return src.where(src.notna() & (src.astype(str) != ""), prefix).astype(str)


def lso_folds(tasks: pd.DataFrame, min_source_tasks: int = 10) -> list[tuple[str, list[str], list[str]]]:
    """Leave-source-out folds: ``[(held-out block, train task ids, test task ids), ...]``.

    One fold per source (:func:`task_sources`), in order of name; sources with fewer than
    ``min_source_tasks`` tasks are merged into one held-out block named
    ``"a+b+..."`` (sorted). Every task is tested exactly once. The training side is
    every other source's tasks **minus those whose group** (:func:`task_groups`) **also
    has a task in the held-out block**: a base dataset present in two sources is tested
    with the held-out source and dropped from that fold's training set, so no group
    sits on both sides. If the small sources together still have fewer than
    ``min_source_tasks`` tasks and there is another block, they are still a block of
    their own (reported, never folded into a large source).

    Raises
    ------
    BenchmarkError
        If the tasks come from fewer than 2 blocks.
    """
    ids = tasks["task_id"].astype(str).to_numpy()
    src = task_sources(tasks).to_numpy()
    group = task_groups(tasks).to_numpy()
    counts = pd.Series(src).value_counts()
    small = sorted(str(s) for s, n in counts.items() if n < int(min_source_tasks))
    block_of = {str(s): str(s) for s in counts.index}
    if small:
        for s in small:
            block_of[s] = "+".join(small)
    blocks = np.array([block_of[str(s)] for s in src])
    names = sorted(set(blocks))
    if len(names) < 2:
        raise BenchmarkError(
            f"leave-source-out needs tasks of at least 2 sources (after merging sources with fewer "
            f"than {min_source_tasks} tasks), the knowledge base has {names}",
            "build tasks from another source into the knowledge base, or lower min_source_tasks",
        )
    out = []
    for name in names:
        test = blocks == name
        held_groups = set(group[test])
        train = ~test & ~np.isin(group, list(held_groups))
        out.append((name, sorted(ids[train]), sorted(ids[test])))
    return out


def _key(rec: Recommendation) -> tuple[str, str] | None:
    try:
        return rec[0], config_id(rec[0], dict(rec[1]))
    except Exception:  # not a metaopt config (e.g. FLAML's): never in the pool
        return None


@dataclass
class BenchmarkResult:
    """Per-task regrets of every method and the summaries built from them.

    Attributes
    ----------
    rows
        One row per (method, task): ``method``, ``task_id``, ``kind``, ``group``,
        ``fold``, ``regret_1`` (top-1), ``regret_k`` (best of the top ``k``),
        ``n_recommended``, ``n_scored`` (how many of the top ``k`` had a score).
    calibration
        One row per (held-out task, pool config) for methods with an uncertainty:
        ``method``, ``task_id``, ``true``, ``mean``, ``std``.
    top
        ``k``.
    info
        Knowledge-base path, number of tasks and groups, folds, seed, method notes.
    """

    rows: pd.DataFrame
    calibration: pd.DataFrame
    top: int
    info: dict[str, Any] = field(default_factory=dict)

    # -- summaries -----------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        """Method names in the order they were run."""
        return list(dict.fromkeys(self.rows["method"]))

    @property
    def protocol(self) -> str:
        """``"dataset"`` (leave-dataset-out) or ``"source"`` (leave-source-out)."""
        return str(self.info.get("protocol") or "dataset")

    def subset(self, task_ids: Sequence[str]) -> BenchmarkResult:
        """The same result restricted to ``task_ids`` (rows and calibration; info kept)."""
        keep = {str(t) for t in task_ids}
        rows = self.rows[self.rows["task_id"].astype(str).isin(keep)].reset_index(drop=True)
        cal = self.calibration[self.calibration["task_id"].astype(str).isin(keep)].reset_index(drop=True)
        return BenchmarkResult(rows, cal, self.top, self.info)

    def held_out_blocks(self) -> dict[str, list[str]]:
        """Held-out block (a source, a merged block, or ``fold i``) → its task ids, in fold order."""
        col = "held_out" if "held_out" in self.rows.columns else "fold"
        first = self.rows.drop_duplicates("task_id").sort_values("fold", kind="stable")
        return {str(b): sorted(map(str, fr["task_id"])) for b, fr in first.groupby(col, sort=False)}

    def by_held_out(self, reference: str = "metaopt") -> pd.DataFrame:
        """Per held-out block and method: the :meth:`summary` columns, ±1σ coverage, win rates.

        ``win_rate_avg`` is the method's mean win rate over the others; ``{reference}_wins``
        the share of the block's tasks where ``reference`` beats the method (ties ½).
        """
        frames = []
        for block, ids in self.held_out_blocks().items():
            sub = self.subset(ids)
            summ = sub.summary()
            wins = sub.win_rates()
            summ["win_rate_avg"] = wins.mean(axis=1, skipna=True)
            if reference in wins.index:
                summ[f"{reference}_wins"] = wins.loc[reference]
            summ["coverage_1sd"] = pd.Series(sub.coverage(1.0), dtype=float)
            frames.append(summ.assign(held_out=block).reset_index())
        return pd.concat(frames, ignore_index=True).set_index(["held_out", "method"])

    def _wide(self, column: str) -> pd.DataFrame:
        return self.rows.pivot(index="task_id", columns="method", values=column)[self.methods]

    def ranks(self, column: str = "regret_1") -> pd.DataFrame:
        """Per-task rank of each method by ``column`` (1 = lowest regret, ties averaged)."""
        wide = self._wide(column)
        return wide.rank(axis=1, method="average", na_option="keep")

    def win_rates(self, column: str = "regret_1") -> pd.DataFrame:
        """``[a, b]``: share of common tasks where ``a``'s regret < ``b``'s (ties count ½)."""
        wide = self._wide(column)
        names = self.methods
        out = pd.DataFrame(np.nan, index=names, columns=names)
        for a in names:
            for b in names:
                if a == b:
                    continue
                both = wide[[a, b]].dropna()
                if len(both):
                    out.loc[a, b] = float(
                        ((both[a] < both[b]).sum() + 0.5 * (both[a] == both[b]).sum()) / len(both)
                    )
        return out

    def summary(self) -> pd.DataFrame:
        """Per method: mean / median regret@1 and @k, average rank@1, tasks scored."""
        ranks = self.ranks().mean()
        rows = []
        for m in self.methods:
            r = self.rows[self.rows["method"] == m]
            rows.append(
                {
                    "method": m,
                    "mean_regret_1": float(r["regret_1"].mean()),
                    "median_regret_1": float(r["regret_1"].median()),
                    f"mean_regret_{self.top}": float(r["regret_k"].mean()),
                    f"median_regret_{self.top}": float(r["regret_k"].median()),
                    "avg_rank_1": float(ranks.get(m, np.nan)),
                    "n_tasks": int(r["regret_1"].notna().sum()),
                }
            )
        return pd.DataFrame(rows).set_index("method")

    def best_baseline(self, column: str = "regret_1") -> str | None:
        """The baseline with the lowest mean regret (``None`` if there is none)."""
        base = self.info.get("baselines", [])
        means = {m: float(self.rows.loc[self.rows["method"] == m, column].mean()) for m in base}
        means = {m: v for m, v in means.items() if not math.isnan(v)}
        return min(means, key=lambda m: (means[m], m)) if means else None

    def wilcoxon(self, method: str = "metaopt", column: str = "regret_1") -> dict[str, Any]:
        """One-sided Wilcoxon signed-rank test: is ``method``'s regret below the best baseline's?

        Paired over the tasks both scored; ``zero_method="zsplit"`` keeps ties.
        ``p`` is NaN when there are fewer than 2 pairs or all differences are 0.
        """
        from scipy.stats import wilcoxon

        other = self.best_baseline(column)
        out: dict[str, Any] = {"method": method, "baseline": other, "column": column,
                               "n": 0, "statistic": float("nan"), "p": float("nan")}
        if other is None or method not in self.methods:
            return out
        both = self._wide(column)[[method, other]].dropna()
        diff = (both[method] - both[other]).to_numpy()
        out["n"] = int(len(diff))
        out["mean_difference"] = float(diff.mean()) if len(diff) else float("nan")
        if len(diff) >= 2 and np.any(diff != 0):
            res = wilcoxon(diff, zero_method="zsplit", alternative="less")
            out["statistic"], out["p"] = float(res.statistic), float(res.pvalue)
        return out

    def coverage(self, z: float = 1.0) -> dict[str, float]:
        """Per method with an uncertainty: share of held-out (task, config) with |error| ≤ zσ."""
        out = {}
        for m, frame in self.calibration.groupby("method", sort=False):
            err = np.abs(frame["mean"].to_numpy() - frame["true"].to_numpy())
            out[str(m)] = float(np.mean(err <= z * frame["std"].to_numpy())) if len(frame) else float("nan")
        return out

    def ood_report(self, flagger: str = "metaopt", z: float = 1.0) -> pd.DataFrame:
        """Tasks ``flagger`` flags out of distribution against the others, per method.

        One row per (group, method): ``group`` (``flagged`` / ``unflagged``: ``flagger``'s
        flag on each held-out task, the same split for every method), ``n_tasks``, mean and
        median regret@1, mean regret@k, and ±``z``σ coverage for methods with an
        uncertainty. Empty when ``flagger`` has no flag.
        """
        cols = ["group", "method", "n_tasks", "mean_regret_1", "median_regret_1",
                f"mean_regret_{self.top}", "coverage_1sd"]
        if "ood" not in self.rows.columns:
            return pd.DataFrame(columns=cols).set_index(["group", "method"])
        own = self.rows[(self.rows["method"] == flagger) & self.rows["ood"].notna()]
        flag = dict(zip(own["task_id"].astype(str), own["ood"].astype(bool), strict=True))
        out = []
        for group, value in (("flagged", True), ("unflagged", False)):
            ids = [t for t, f in flag.items() if f == value]
            sub = self.subset(ids)
            cover = sub.coverage(z)
            for m in self.methods:
                r = sub.rows[sub.rows["method"] == m]
                out.append({"group": group, "method": m, "n_tasks": int(r["regret_1"].notna().sum()),
                            "mean_regret_1": float(r["regret_1"].mean()) if len(r) else float("nan"),
                            "median_regret_1": float(r["regret_1"].median()) if len(r) else float("nan"),
                            f"mean_regret_{self.top}": float(r["regret_k"].mean()) if len(r) else float("nan"),
                            "coverage_1sd": float(cover.get(m, float("nan")))})
        return pd.DataFrame(out, columns=cols).set_index(["group", "method"])

    def coverage_curve(self, zs: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)) -> pd.DataFrame:
        """Observed coverage at each ``z`` next to the Gaussian nominal ``2Φ(z) − 1``."""
        from scipy.stats import norm

        rows = []
        for z in zs:
            row = {"z": float(z), "nominal": float(2 * norm.cdf(z) - 1)}
            row.update(self.coverage(z))
            rows.append(row)
        return pd.DataFrame(rows).set_index("z")

    # -- output ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able data (NaN → ``None``)."""
        return _clean(
            {
                "info": self.info,
                "top": self.top,
                "summary": self.summary().reset_index().to_dict("records"),
                "win_rates_1": _frame_dict(self.win_rates()),
                "wilcoxon": self.wilcoxon(),
                "coverage_1sd": self.coverage(1.0),
                "coverage_curve": self.coverage_curve().reset_index().to_dict("records"),
                "by_held_out": self.by_held_out().reset_index().to_dict("records"),
                "ood": self.ood_report().reset_index().to_dict("records"),
                "win_rates_1_by_held_out": {b: _frame_dict(self.subset(ids).win_rates())
                                            for b, ids in self.held_out_blocks().items()},
                "rows": self.rows.to_dict("records"),
            }
        )

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_markdown(self, path: str | Path | None = None) -> str:
        """A report: summary, win rates, Wilcoxon, ±1σ coverage (and ``path`` when given)."""
        info = self.info
        k = self.top
        if self.protocol == "source":
            head = [
                "# Leave-source-out benchmark (cross-domain)",
                "",
                f"{info.get('n_tasks')} held-out tasks from {info.get('n_groups')} base-dataset groups "
                f"({info.get('kinds')}; sources {info.get('sources')}), one fold per held-out source: "
                f"every method is trained on the other sources only. Sources with fewer than "
                f"{info.get('min_source_tasks')} tasks are merged into one held-out block. A base "
                f"dataset present in several sources is tested with the held-out one and dropped from "
                f"that fold's training set, so no group sits on both sides. Knowledge base "
                f"`{info.get('kb')}` ({info.get('n_evaluations')} evaluations). Regret = 1 − the "
                f"task's normalized score of the recommendation; regret@{k} is the best of the top {k}.",
                "",
                "## Folds",
                "",
                "| held out | sources | test tasks | training tasks | dropped from training (group in the held-out block) |",
                "|---|---|---:|---:|---|",
                *[f"| {f['held_out']} | {', '.join(f['sources'])} | {f['n_test']} | {f['n_train']} | "
                  f"{', '.join(f['dropped_from_train']) or '—'} |" for f in info.get("fold_plan", [])],
                "",
                "## Summary (all held-out sources)",
            ]
        else:
            head = [
                "# Leave-dataset-out benchmark",
                "",
                f"{info.get('n_tasks')} held-out tasks from {info.get('n_groups')} base-dataset groups "
                f"({info.get('kinds')}), {info.get('folds')} grouped folds, seed {info.get('seed')}; "
                f"knowledge base `{info.get('kb')}` ({info.get('n_evaluations')} evaluations). "
                f"Regret = 1 − the task's normalized score of the recommendation; regret@{k} is the "
                f"best of the top {k}.",
                "",
                "## Summary",
            ]
        lines = [
            *head,
            "",
            _markdown(self.summary(), int_columns=("n_tasks",)),
            "",
            "## Win rate of the row over the column (regret@1, ties ½)",
            "",
            _markdown(self.win_rates()),
            "",
        ]
        w = self.wilcoxon()
        lines += [
            "## Wilcoxon signed-rank test (one-sided, regret@1)",
            "",
            f"{w['method']} vs the best baseline `{w['baseline']}`: n = {w['n']}, "
            f"mean difference {_fmt(w.get('mean_difference'))}, statistic {_fmt(w['statistic'])}, "
            f"p = {_fmt(w['p'], '.4g')}.",
            "",
            "## Calibration of the uncertainty",
            "",
            "Share of held-out (task, pool config) pairs whose true normalized score lies "
            "within zσ of the predicted mean (Gaussian nominal alongside):",
            "",
            _markdown(self.coverage_curve()),
            "",
        ]
        ood = self.ood_report()
        if len(ood):
            lines += ["## Out-of-distribution flag", "",
                      "Held-out tasks metaopt flags out of distribution (`metaopt suggest`'s flag: the "
                      "similarity's novelty beyond its threshold) against the others; every method is "
                      "scored on the same split. `coverage_1sd`: share of (task, pool config) pairs "
                      "within ±1σ (nominal 0.683).", ""]
            lines += _subsections(ood)
        if self.protocol == "source":
            per = self.by_held_out()
            lines += ["## Per held-out source", "",
                      "`win_rate_avg`: the method's mean win rate (regret@1, ties ½) over the other "
                      "methods on the block's tasks; `metaopt_wins`: share of the block's tasks where "
                      "metaopt's regret@1 is below the method's; `coverage_1sd`: share of (task, pool "
                      "config) pairs within ±1σ (nominal 0.683).", ""]
            lines += _subsections(per)
        return finish_markdown(lines, info.get("notes") or [], path)

    def plot(self, directory: str | Path) -> list[Path]:
        """Write the PNG plots to ``directory``; returns their paths.

        ``suggest_regret_box.png`` (regret@1 and @k per method), ``suggest_avg_rank.png``
        (average rank by regret@1), ``suggest_calibration.png`` (observed vs nominal
        coverage); with ``protocol="source"`` the same named ``suggest_lso_*.png`` plus
        ``suggest_lso_by_source.png`` (mean regret@1 per held-out source and method).

        Raises
        ------
        MetaoptError
            If matplotlib is not installed.
        """
        plt = pyplot()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        names = self.methods
        pre = "suggest_lso_" if self.protocol == "source" else "suggest_"
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
        for ax, col, title in ((axes[0], "regret_1", "top-1"), (axes[1], "regret_k", f"best of top {self.top}")):
            data = [self.rows.loc[self.rows["method"] == m, col].dropna().to_numpy() for m in names]
            ax.boxplot(data, showmeans=True)
            ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right")
            ax.set_title(f"regret, {title}")
            ax.grid(axis="y", alpha=0.3)
        axes[0].set_ylabel("normalized regret")
        fig.tight_layout()
        paths.append(directory / f"{pre}regret_box.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

        ranks = self.ranks().mean().reindex(names)
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.bar(range(len(names)), ranks.to_numpy(), color="tab:blue")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_ylabel("average rank (regret@1, lower is better)")
        fig.tight_layout()
        paths.append(directory / f"{pre}avg_rank.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

        curve = self.coverage_curve()
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot(curve["nominal"], curve["nominal"], "k--", label="ideal")
        for m in curve.columns.drop("nominal"):
            ax.plot(curve["nominal"], curve[m], "o-", label=m)
        ax.set_xlabel("nominal coverage (Gaussian, ±zσ)")
        ax.set_ylabel("observed coverage on held-out tasks")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend()
        fig.tight_layout()
        paths.append(directory / f"{pre}calibration.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

        if self.protocol == "source":
            per = self.by_held_out()["mean_regret_1"].unstack("method").reindex(columns=names)
            blocks = list(self.held_out_blocks())
            per = per.reindex(blocks)
            fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(blocks) + 3), 4.5))
            width = 0.8 / max(1, len(names))
            x = np.arange(len(blocks))
            for i, m in enumerate(names):
                ax.bar(x + (i - (len(names) - 1) / 2) * width, per[m].to_numpy(dtype=float), width, label=m)
            ax.set_xticks(x, blocks)
            ax.set_ylabel("mean regret@1 (lower is better)")
            ax.set_title("leave-source-out: mean regret@1 per held-out source")
            ax.grid(axis="y", alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            paths.append(directory / f"{pre}by_source.png")
            fig.savefig(paths[-1], dpi=110)
            plt.close(fig)
        return paths


def leave_dataset_out_benchmark(
    kb: KnowledgeBase | str | Path,
    folds: int = 5,
    seed: int = 0,
    methods: Sequence[BenchMethod] | None = None,
    top: int = 5,
    *,
    protocol: str = "dataset",
    min_source_tasks: int = 10,
    progress: Any = None,
) -> BenchmarkResult:
    """Leave-dataset-out or leave-source-out comparison of recommenders (see the module).

    Parameters
    ----------
    kb
        The knowledge base (or its path).
    folds
        Number of grouped folds (fewer when there are fewer groups).
    seed
        Shuffles the groups before they are dealt to folds.
    methods
        The recommenders; default :func:`default_methods` (metaopt and the baselines).
    top
        ``k`` of the best-of-top-``k`` regret.
    protocol
        ``"dataset"``: grouped leave-dataset-out folds (:func:`ldo_folds`; ``folds`` and
        ``seed`` apply). ``"source"``: one fold per held-out source (:func:`lso_folds`;
        ``folds`` and ``seed`` are ignored).
    min_source_tasks
        With ``protocol="source"``: sources with fewer tasks are merged into one
        held-out block.
    progress
        Optional callable ``progress(message: str)``.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    BenchmarkError
        If the knowledge base has fewer than 2 groups (``"dataset"``) or source blocks
        (``"source"``) of tasks with evaluations, or ``protocol`` is unknown.
    """
    if protocol not in PROTOCOLS:
        raise BenchmarkError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}",
                             "pass protocol='dataset' (leave-dataset-out) or 'source' (leave-source-out)")
    kb = kb if isinstance(kb, KnowledgeBase) else KnowledgeBase.open(kb)
    methods = list(methods) if methods is not None else default_methods()
    full = training_data(kb)
    tasks = full.tasks.reset_index(drop=True)
    mf = full.metafeatures
    tasks = tasks[tasks["task_id"].astype(str).isin(mf.index.astype(str))].reset_index(drop=True)
    kinds = full.kinds
    matrices = {k: score_matrix(full.evaluations, k, task_kinds=kinds) for k in sorted(set(kinds))}
    if protocol == "source":
        plan = lso_folds(tasks, min_source_tasks)
    else:
        plan = [(f"fold {i + 1}", tr, te) for i, (tr, te) in enumerate(ldo_folds(tasks, folds, seed))]
    source_of = dict(zip(tasks["task_id"].astype(str), task_sources(tasks), strict=True))
    from metaopt.learn import config_table

    params_of = {(str(a), str(c)): dict(p) for (a, c), p in config_table(full.evaluations)["params"].items()}
    by_id = {str(r["task_id"]): r for r in tasks.to_dict("records")}
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    calib: list[dict[str, Any]] = []
    fold_info: list[dict[str, Any]] = []
    for f, (name, train, test) in enumerate(plan):
        data = training_data(full, train)
        dropped = sorted(set(by_id) - set(train) - set(test))
        fold_info.append({
            "fold": f, "held_out": name, "sources": sorted({source_of[t] for t in test}),
            "n_train": len(train), "n_test": len(test), "dropped_from_train": dropped,
        })
        for method in methods:
            if progress:
                progress(f"fold {f + 1}/{len(plan)} ({name}): fitting {method.name} on {len(train)} tasks")
            method.fit(kb, data)
            for tid in test:
                row = by_id[tid]
                held = HeldOutTask(tid, str(row["kind"]), str(row.get("group") or tid),
                                   metafeatures_of(mf, tid), row)
                truth = matrices[held.kind].loc[tid]
                rows.append({**_regret_row(method, held, truth, top, f, notes),
                             "source": source_of[tid], "held_out": name})
                calib.extend(_calibration_rows(method, held, truth, params_of))
    notes.extend(_method_notes(methods))
    info = {
        "kb": str(kb.path), "n_tasks": int(len(tasks)),
        "n_groups": int(tasks["group"].astype(str).nunique()) if "group" in tasks else int(len(tasks)),
        "kinds": ", ".join(f"{k}: {v}" for k, v in tasks["kind"].value_counts().sort_index().items()),
        "n_evaluations": int(len(full.evaluations)), "folds": len(plan), "seed": int(seed),
        "protocol": protocol, "fold_plan": fold_info,
        "min_source_tasks": int(min_source_tasks) if protocol == "source" else None,
        "sources": ", ".join(f"{k}: {v}" for k, v in task_sources(tasks).value_counts().sort_index().items()),
        "methods": [m.name for m in methods],
        "baselines": [m.name for m in methods if m.is_baseline],
        "notes": notes,
    }
    return BenchmarkResult(pd.DataFrame(rows), pd.DataFrame(
        calib, columns=["method", "task_id", "algorithm", "config_id", "true", "mean", "std"]), int(top), info)


def _regret_row(method: BenchMethod, held: HeldOutTask, truth: pd.Series, top: int, fold: int,
                notes: list[str]) -> dict[str, Any]:
    """The method's top-``top`` for a held-out task, scored: one row of :attr:`BenchmarkResult.rows`.

    A method that raises a :class:`MetaoptError` recommends nothing (a note says why).
    """
    tid = held.task_id
    try:
        recs = method.recommend(held, top)[:top]
    except MetaoptError as exc:  # e.g. no training task of this kind in the fold
        recs = []
        notes.append(f"{method.name} made no recommendation for {tid}: {exc}")
    arr = np.asarray([_true_score(method, held, truth, rec) for rec in recs], dtype=float)
    flag = method.out_of_distribution(held) if recs else None
    return {
        "method": method.name, "task_id": tid, "kind": held.kind, "group": held.group,
        "fold": fold,
        "regret_1": float(1.0 - arr[0]) if len(arr) and np.isfinite(arr[0]) else float("nan"),
        "regret_k": float(1.0 - np.nanmax(arr)) if np.isfinite(arr).any() else float("nan"),
        "n_recommended": len(recs), "n_scored": int(np.isfinite(arr).sum()),
        "top1_algorithm": recs[0][0] if recs else None,
        "ood": None if flag is None else bool(flag),
    }


def _true_score(method: BenchMethod, held: HeldOutTask, truth: pd.Series, rec: Recommendation) -> float:
    """A recommendation's true normalized score (outside the pool: the method's own, clipped; NaN if none)."""
    key = _key(rec)
    if key is not None and key in truth.index:
        s = truth[key]
        return 0.0 if pd.isna(s) else float(s)  # inapplicable: worth 0
    ext = method.score_outside_pool(held, rec)
    return float("nan") if ext is None else float(np.clip(ext, 0.0, 1.0))


def _calibration_rows(method: BenchMethod, held: HeldOutTask, truth: pd.Series,
                      params_of: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """The method's mean and σ next to the true score of each scored pool config (none without σ)."""
    avail = truth.dropna()
    if not len(avail):
        return []
    pool = [(a, params_of[(a, c)]) for a, c in avail.index]
    pred = method.predict_pool(held, pool)
    if pred is None:
        return []
    return [{"method": method.name, "task_id": held.task_id, "algorithm": a, "config_id": c,
             "true": float(t), "mean": float(m_), "std": float(s_)}
            for (a, c), t, m_, s_ in zip(avail.index, avail.to_numpy(), *pred, strict=True)]


def _method_notes(methods: Sequence[BenchMethod]) -> list[str]:
    """Each method's own notes, and how each metaopt method was fitted and ranked."""
    notes: list[str] = []
    for m in methods:
        notes.extend(getattr(m, "notes", []) or [])
        if isinstance(m, MetaoptMethod):
            notes.append(f"{m.name}: a Recommender per fold ({m.n_members} surrogate members, "
                         f"{m.surrogate_params}), ranked by Recommender.rank as `metaopt suggest` ranks")
    return notes


# -- formatting helpers ------------------------------------------------------------
def finish_markdown(lines: list[str], notes: Sequence[str], path: str | Path | None) -> str:
    """Join a report's lines (a Notes section appended when there are notes); write to ``path``."""
    if notes:
        lines = [*lines, "## Notes", "", *[f"- {n}" for n in notes], ""]
    text = "\n".join(lines)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text, encoding="utf-8")
    return text


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (a MetaoptError naming the extra if missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MetaoptError(
            "the benchmark plots need matplotlib, which is not installed",
            "pip install 'metaopt[bench]'",
        ) from exc
    return plt


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub table of ``frame``'s columns (not its index), floats to 4 decimals."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _subsections(frame: pd.DataFrame) -> list[str]:
    """One ``###`` table per value of the first index level (in order of appearance)."""
    lines: list[str] = []
    for group in dict.fromkeys(frame.index.get_level_values(0)):
        lines += [f"### {group}", "", _markdown(frame.loc[group], int_columns=("n_tasks",)), ""]
    return lines


def _markdown(frame: pd.DataFrame, int_columns: Sequence[str] = ()) -> str:
    cols = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    for name, row in frame.iterrows():
        cells = [str(int(v)) if c in int_columns else _fmt(v) if isinstance(v, float) else str(v)
                 for c, v in row.items()]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)


def _frame_dict(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(i): {str(c): v for c, v in row.items()} for i, row in frame.iterrows()}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
