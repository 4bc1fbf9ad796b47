"""A 1M-row CSV loads through pandas' C engine (slow: writing the file takes seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaopt.tasks import load_task


@pytest.mark.slow
def test_million_rows(tmp_path: Path) -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    a = rng.integers(0, 1000, n)
    b = rng.integers(0, 10_000, n)
    c = np.array(["x", "y", "z"])[rng.integers(0, 3, n)]
    y = rng.integers(0, 2, n)
    # Written as one string with vectorised formatting: much faster than DataFrame.to_csv.
    body = np.char.add(
        np.char.add(np.char.add(a.astype(str), ","), np.char.add(b.astype(str), ".5,")),
        np.char.add(np.char.add(c, ","), y.astype(str)),
    )
    path = tmp_path / "big.csv"
    path.write_text("a,b,c,y\n" + "\n".join(body.tolist()) + "\n", encoding="utf-8")
    task = load_task(path)
    assert task.n_rows == n and task.kind == "binary"
    assert task.column_roles == {"a": "numeric", "b": "numeric", "c": "categorical"}
    assert task.X["b"].iloc[0] == b[0] + 0.5
    small = load_task(path, max_rows=5000)
    assert small.n_rows == 5000 and small.task_id == task.task_id
