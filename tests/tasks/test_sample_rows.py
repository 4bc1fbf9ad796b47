"""``load_task(..., sample_rows=N)``: a large text file read as a random sample of its rows,
with the file's true row count kept for every count (issue 19)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt.metafeatures import extract
from metaopt.spaces import DataShape
from metaopt.tasks import load_task

N = 20_000
SAMPLE = 2_000
COUNTS = ("n_rows", "log_n_rows", "log_rows_per_column")


def _frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),  # a row counter: dropped whether sampled or not
        "a": rng.normal(size=n).round(4),
        "b": rng.integers(0, 50, n),
        "c": np.array(["red", "green", "blue"])[rng.integers(0, 3, n)],
    })
    frame["y"] = (frame["a"] + rng.normal(size=n) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "big.csv"
    _frame().to_csv(path, index=False)
    return path


def test_sample_keeps_true_counts(big: Path) -> None:
    full = load_task(big)
    part = load_task(big, sample_rows=SAMPLE)
    assert full.sampled_from is None and full.n_rows_total == N
    assert part.n_rows == SAMPLE and part.sampled_from == N and part.n_rows_total == N
    assert part.task_id == full.task_id  # the hash is of the whole file
    assert part.column_roles == full.column_roles and "id" in part.dropped
    assert any("random sample of 2,000" in n for n in part.notices)
    assert part.provenance["original_shape"] == full.provenance["original_shape"]
    assert part.provenance["sample_rows"] == SAMPLE
    mf_full, mf_part = extract(full), extract(part)
    assert mf_part.n_rows == N
    for name in COUNTS:
        assert mf_part[name] == pytest.approx(mf_full[name]), name
    assert mf_part["n_columns"] == mf_full["n_columns"]
    assert mf_part["class_share_min"] == pytest.approx(mf_full["class_share_min"], abs=0.05)
    assert DataShape.of(part) == DataShape.of(full)


def test_sample_is_seeded(big: Path) -> None:
    one = load_task(big, sample_rows=SAMPLE, random_state=1)
    again = load_task(big, sample_rows=SAMPLE, random_state=1)
    other = load_task(big, sample_rows=SAMPLE, random_state=2)
    pd.testing.assert_frame_equal(one.X, again.X)
    assert not one.X.equals(other.X)


def test_small_file_is_read_whole(big: Path) -> None:
    task = load_task(big, sample_rows=N)  # no more rows than the sample: nothing to sample
    assert task.sampled_from is None and task.n_rows == N
    assert not any("random sample" in n for n in task.notices)


def test_quoted_or_non_ascii_file_is_read_whole(tmp_path: Path) -> None:
    frame = _frame(3_000)
    frame["c"] = frame["c"].map({"red": "rot, hell", "green": "grün", "blue": "blau"})
    path = tmp_path / "quoted.csv"
    frame.to_csv(path, index=False)  # "rot, hell" is quoted; "grün" is not ASCII
    task = load_task(path, sample_rows=500)
    assert task.sampled_from is None and task.n_rows == 3_000


def test_blank_lines_crlf_and_no_final_newline(tmp_path: Path) -> None:
    frame = _frame(3_000)
    text = frame.to_csv(index=False, lineterminator="\r\n")
    lines = text.split("\r\n")
    text = "\r\n".join(lines[:100] + ["", ""] + lines[100:]).rstrip("\r\n")  # blanks, no final EOL
    path = tmp_path / "crlf.csv"
    path.write_bytes(text.encode("ascii"))
    assert load_task(path).n_rows == 3_000
    task = load_task(path, sample_rows=500)
    assert task.sampled_from == 3_000 and task.n_rows <= 500


def test_headerless_file_counts_its_first_row(tmp_path: Path) -> None:
    path = tmp_path / "nohead.csv"
    _frame(3_000).drop(columns=["c"]).to_csv(path, index=False, header=False)
    task = load_task(path, sample_rows=500)
    assert task.sampled_from == 3_000


def test_bad_sample_rows_is_a_config_error(big: Path) -> None:
    from metaopt import ConfigError

    with pytest.raises(ConfigError, match="sample_rows"):
        load_task(big, sample_rows=1)


def test_a_class_seen_once_in_the_sample_falls_back_to_every_row(tmp_path: Path) -> None:
    frame = _frame(20_000)
    frame.loc[[5_000, 15_000], "y"] = 2  # a class with two rows in the file
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    fell_back = 0
    for seed in range(10):
        task = load_task(path, sample_rows=SAMPLE, random_state=seed)  # never a TargetError
        fell_back += task.sampled_from is None
        assert task.y.value_counts().min() >= 2
    assert fell_back  # some seeds sample exactly one of the two rows
