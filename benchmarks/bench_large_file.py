"""Time and peak memory of reading a large CSV and suggesting for it, stage by stage.

Generates an ``ROWS × COLS`` CSV of numbers (5 decimals, a binary target) in a temporary
folder and runs each stage in a fresh process, reporting its wall time and peak resident
memory (``getrusage`` of the child): ``read_table`` (bytes → raw frame), ``load_task``
(read + column typing), ``load_task + extract`` (+ meta-features), the same on the
streamed random sample of ``SAMPLE_ROWS`` (100,000) rows that ``suggest`` reads, and the
shipped command ``python -m metaopt suggest FILE`` end to end (which reads the sample;
``--evaluate`` / ``--fit`` read every row, as ``load_task`` does). Prints a Markdown table; nothing
is asserted (CONVENTIONS.md 12). The target of issue 19 is a 1M-row file under 3 s and
500 MB in ``suggest``.

Results (2-core machine shared with another benchmark, load ≈ 4; 1M × 20, 161 MB):
the table in the README's "Large files" paragraph (suggest: 5.9–10.1 s and 923 MB
before, 3.0 s and 197 MB after).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_large_file.py [--rows 1000000] [--cols 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STAGES = {
    "read_table": "from metaopt.tasks._read import read_table; read_table(PATH)",
    "load_task": "from metaopt.tasks import load_task; load_task(PATH)",
    "load_task + extract": (
        "from metaopt.tasks import load_task; from metaopt.metafeatures import extract; "
        "extract(load_task(PATH))"
    ),
    "load_task(sample_rows) + extract": (
        "from metaopt.tasks import load_task; from metaopt.metafeatures import extract; "
        "from metaopt.recommend import SAMPLE_ROWS; "
        "extract(load_task(PATH, sample_rows=SAMPLE_ROWS))"
    ),
}


_PEAK = (
    "import atexit, resource, sys; atexit.register(lambda: print('peak-kb', "
    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))\n"
)


_WRITE = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
frame = pd.DataFrame({{f"x{{i}}": rng.normal(size={rows}).round(5) for i in range({cols} - 1)}})
frame["y"] = (frame["x0"] + rng.normal(size={rows}) > 0).astype(int)
frame.to_csv({path!r}, index=False)
"""


def _run(code: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of a fresh Python process running ``code``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK + code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    lines = proc.stderr.strip().splitlines()
    peak = next((int(ln.split()[1]) for ln in reversed(lines) if ln.startswith("peak-kb")), 0)
    if proc.returncode:
        print(f"failed: {[ln for ln in lines if not ln.startswith('peak-kb')][-1:]}", file=sys.stderr)
    return wall, peak / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.csv"
        # Written by a child process: Linux carries a forked parent's peak RSS into the
        # children it runs, so a parent that held the frame would floor every peak below.
        subprocess.run([sys.executable, "-c", _WRITE.format(
            rows=args.rows, cols=args.cols, path=str(path))], check=True)
        size = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows × {args.cols} columns, {size:.0f} MB CSV\n")
        print("| stage | wall s | peak MB |\n|---|---:|---:|")
        rows = []
        for name, code in STAGES.items():
            rows.append((name, *_run(code.replace("PATH", repr(str(path))))))
        suggest = (
            f"import runpy; sys.argv = ['metaopt', 'suggest', {str(path)!r}]; "
            "runpy.run_module('metaopt', run_name='__main__')"
        )
        rows.append(("python -m metaopt suggest", *_run(suggest)))
        for name, wall, peak, rc in rows:
            print(f"| {name}{' (failed)' if rc else ''} | {wall:.1f} | {peak:.0f} |")


if __name__ == "__main__":
    main()
