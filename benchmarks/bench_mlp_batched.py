"""Configs per second: batched population training vs one-by-one torch vs scikit-learn.

The issue's anchor setup: a 5,000 x 50 binary synthetic task (plus 1,000 validation
rows), 2 x 128 ReLU MLPs trained with Adam for 20 epochs at batch size 256, no early
stopping; configurations differ in learning rate, weight decay and seed.

Measured, on the chosen device (CUDA when present unless ``--device cpu``):

(a) scikit-learn's ``MLPClassifier``, one config after another, on the CPU with
    ``--sklearn-threads`` BLAS threads (2 by default);
(b) ``metaopt.models.MLPClassifier`` one config after another on the device;
(c) ``metaopt.models.train_population`` with each population size on the device.

Members of (c) are compared with the same configs trained by (b): mean absolute
difference of validation accuracy and ROC-AUC. Results go to
``benchmarks/results/mlp_batched_<device>.{json,md,png}``.

Usage::

    python benchmarks/bench_mlp_batched.py                 # full run (GPU machine)
    python benchmarks/bench_mlp_batched.py --device cuda   # insist on the GPU
    python benchmarks/bench_mlp_batched.py --quick         # small CPU run
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _configs(n: int, args: argparse.Namespace) -> list[dict]:
    rng = np.random.default_rng(12345)
    return [
        {
            "hidden_layers": args.layers,
            "width": args.width,
            "activation": "relu",
            "optimizer": "adam",
            "learning_rate": float(10 ** rng.uniform(-3.5, -2)),
            "weight_decay": float(10 ** rng.uniform(-6, -3)),
            "batch_size": args.batch,
            "max_epochs": args.epochs,
            "early_stopping": False,
            "random_state": i,
        }
        for i in range(n)
    ]


def _scores(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    return float(np.mean((proba[:, 1] > 0.5) == y)), float(roc_auc_score(y, proba[:, 1]))


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--val-rows", type=int, default=1000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--populations", default="8,64,256", help="comma-separated sizes")
    p.add_argument("--sequential", type=int, default=8, help="configs trained one by one")
    p.add_argument("--sklearn", type=int, default=3, help="configs for scikit-learn (0: skip)")
    p.add_argument("--sklearn-threads", type=int, default=2)
    p.add_argument("--torch-threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--quick", action="store_true", help="populations 8,32; 4 sequential; 2 sklearn")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--label", default="", help="note for the machine, e.g. 'CPU, under load'")
    args = p.parse_args(argv)
    if args.quick:
        args.populations, args.sequential, args.sklearn = "8,32", 4, 2

    import torch
    from sklearn.datasets import make_classification
    from threadpoolctl import threadpool_limits

    from metaopt.models import MLPClassifier, train_population
    from metaopt.models._core import resolve_device

    device = resolve_device(args.device)
    torch.set_num_threads(args.torch_threads)
    sizes = [int(s) for s in args.populations.split(",") if s]
    X, y = make_classification(
        args.rows + args.val_rows, args.features, n_informative=args.features // 2,
        random_state=0,
    )  # fmt: skip
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    Xtr, ytr, Xv, yv = X[: args.rows], y[: args.rows], X[args.rows :], y[args.rows :]
    configs = _configs(max(sizes + [args.sequential]), args)
    gpu = torch.cuda.get_device_name(device) if device.startswith("cuda") else None
    machine = {
        "device": device,
        "gpu": gpu,
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": args.torch_threads,
        "python": platform.python_version(),
        "label": args.label,
    }
    print(f"device {device} ({gpu or 'CPU'}), torch {torch.__version__}", flush=True)

    # warm-up: CUDA context, kernels, allocator
    train_population(Xtr[:512], ytr[:512], Xv, yv, configs[:2], "binary", device=device)
    MLPClassifier(**{**configs[0], "max_epochs": 1}, device=device).fit(Xtr[:512], ytr[:512])

    rows: list[dict] = []

    # (a) scikit-learn
    if args.sklearn > 0:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier as SkMLP

        t0 = time.perf_counter()
        sk_scores = []
        with threadpool_limits(args.sklearn_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for c in configs[: args.sklearn]:
                m = SkMLP(
                    hidden_layer_sizes=(args.width,) * args.layers,
                    learning_rate_init=c["learning_rate"],
                    alpha=c["weight_decay"],
                    batch_size=args.batch,
                    max_iter=args.epochs,
                    random_state=c["random_state"],
                ).fit(Xtr, ytr)
                sk_scores.append(_scores(m.predict_proba(Xv), yv))
        dt = time.perf_counter() - t0
        rows.append(
            {"method": f"scikit-learn MLPClassifier, CPU {args.sklearn_threads} threads",
             "configs": args.sklearn, "seconds": dt,
             "mean_val_accuracy": float(np.mean([s[0] for s in sk_scores])),
             "mean_val_auc": float(np.mean([s[1] for s in sk_scores]))}
        )  # fmt: skip
        print(f"sklearn: {args.sklearn} configs in {dt:.2f} s", flush=True)

    # (b) one by one on the device
    seq_scores = []
    _sync(device)
    t0 = time.perf_counter()
    for c in configs[: args.sequential]:
        m = MLPClassifier(**c, device=device).fit(Xtr, ytr)
        seq_scores.append(_scores(m.predict_proba(Xv), yv))
    _sync(device)
    dt = time.perf_counter() - t0
    rows.append(
        {"method": f"metaopt MLPClassifier one by one, {device}", "configs": args.sequential,
         "seconds": dt, "mean_val_accuracy": float(np.mean([s[0] for s in seq_scores])),
         "mean_val_auc": float(np.mean([s[1] for s in seq_scores]))}
    )  # fmt: skip
    print(f"sequential: {args.sequential} configs in {dt:.2f} s", flush=True)

    # (c) populations
    for n in sizes:
        _sync(device)
        t0 = time.perf_counter()
        res = train_population(Xtr, ytr, Xv, yv, configs[:n], "binary", device=device)
        _sync(device)
        dt = time.perf_counter() - t0
        sc = [_scores(r.val_output, yv) for r in res]
        k = min(n, args.sequential)
        diff_acc = float(np.mean([abs(sc[i][0] - seq_scores[i][0]) for i in range(k)]))
        diff_auc = float(np.mean([abs(sc[i][1] - seq_scores[i][1]) for i in range(k)]))
        rows.append(
            {"method": f"train_population, {n} members, {device}", "configs": n,
             "seconds": dt, "mean_val_accuracy": float(np.mean([s[0] for s in sc])),
             "mean_val_auc": float(np.mean([s[1] for s in sc])),
             "passes": len({r.bucket for r in res}),
             "vs_sequential_abs_diff_accuracy": diff_acc,
             "vs_sequential_abs_diff_auc": diff_auc, "compared_configs": k}
        )  # fmt: skip
        print(f"population {n}: {dt:.2f} s, |acc diff| {diff_acc:.4f} on {k}", flush=True)

    for r in rows:
        r["configs_per_second"] = r["configs"] / r["seconds"]
        r["seconds_per_config"] = r["seconds"] / r["configs"]
    seq = next(r for r in rows if "one by one" in r["method"])
    sk = next((r for r in rows if r["method"].startswith("scikit")), None)
    best = max((r for r in rows if r["method"].startswith("train_population")),
               key=lambda r: r["configs_per_second"])  # fmt: skip
    summary = {
        "batched_vs_sequential": best["configs_per_second"] / seq["configs_per_second"],
        "batched_vs_sklearn": (
            best["configs_per_second"] / sk["configs_per_second"] if sk else None
        ),
        "targets": {"batched_vs_sequential": 100, "batched_vs_sklearn": 1000},
        "best_population": best["configs"],
    }
    command = "python " + " ".join(["benchmarks/bench_mlp_batched.py", *(argv or sys.argv[1:])])
    setup = {k: getattr(args, k) for k in ("rows", "val_rows", "features", "layers", "width",
                                           "epochs", "batch", "sklearn_threads")}  # fmt: skip
    report = {"setup": setup, "machine": machine, "command": command, "rows": rows,
              "summary": summary}  # fmt: skip

    tag = "cuda" if device.startswith("cuda") else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"mlp_batched_{tag}.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"# MLP population training ({tag})",
        "",
        f"Machine: {gpu or machine['cpu']}, torch {torch.__version__}"
        + (f" — {args.label}" if args.label else ""),
        f"Command: `{command}`",
        f"Setup: {args.rows} x {args.features} binary, {args.layers} x {args.width} ReLU MLP, "
        f"Adam, {args.epochs} epochs, batch {args.batch}, {args.val_rows} validation rows.",
        "",
        "| method | configs | seconds | s/config | configs/s | val acc | val AUC | "
        "abs diff acc vs one-by-one |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        diff = r.get("vs_sequential_abs_diff_accuracy")
        lines.append(
            f"| {r['method']} | {r['configs']} | {r['seconds']:.2f} | "
            f"{r['seconds_per_config']:.4f} | {r['configs_per_second']:.3f} | "
            f"{r['mean_val_accuracy']:.4f} | {r['mean_val_auc']:.4f} | "
            f"{'' if diff is None else f'{diff:.4f}'} |"
        )
    vs_sk = summary["batched_vs_sklearn"]
    lines += [
        "",
        f"Batched ({best['configs']} members) vs one by one: "
        f"{summary['batched_vs_sequential']:.1f}x configs/s (target >= 100x on a GPU).",
        f"Batched vs scikit-learn: {'n/a' if vs_sk is None else f'{vs_sk:.1f}x'} "
        "(target >= 1000x on a GPU).",
    ]
    md = "\n".join(lines) + "\n"
    (args.out / f"mlp_batched_{tag}.md").write_text(md)
    print("\n" + md)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.barh([r["method"] for r in rows], [r["configs_per_second"] for r in rows])
        ax.set_xscale("log")
        ax.set_xlabel("configurations per second (log scale)")
        ax.set_title(f"2x128 MLP, {args.rows}x{args.features}, {args.epochs} epochs — "
                     f"{gpu or 'CPU'}")  # fmt: skip
        fig.tight_layout()
        fig.savefig(args.out / f"mlp_batched_{tag}.png", dpi=120)
    except ImportError:
        print("matplotlib missing: no plot (pip install 'metaopt[bench]')")
    if tag == "cpu":
        print("On a GPU machine run:  python benchmarks/bench_mlp_batched.py --device cuda")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
