"""load_task on frames, arrays and CSV files: typing, target rules, notices, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metaopt
from metaopt import ColumnError, ConfigError, DataFormatError, TargetError
from metaopt.preprocessing import TabularPreparer
from metaopt.tasks import Task, load_task, load_xy

EXAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def mixed_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row_id": np.arange(1, n + 1),
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50_000, 10_000, n).round(2),
            "city": rng.choice(["Oslo", "Bergen", "Tromsø"], n),
            "member": rng.choice([True, False], n),
            "signup": pd.date_range("2020-01-01", periods=n, freq="37h").strftime("%Y-%m-%d %H:%M"),
            "comment": [f"free text number {i} about something" for i in range(n)],
            "label": rng.choice(["yes", "no"], n),
        }
    )


# -- the example dataset ---------------------------------------------------------------


def test_penguins_example() -> None:
    task = metaopt.load_task(EXAMPLE)
    assert isinstance(task, Task)
    assert task.kind == "multiclass"
    assert task.target == "species"
    assert task.n_rows == 344
    assert task.task_id.startswith("file:") and len(task.task_id) == len("file:") + 16
    assert task.name == "penguins" and task.source == "file"
    assert task.column_roles["island"] == "categorical"
    assert task.column_roles["bill_length_mm"] == "numeric"
    assert task.X["sex"].isna().sum() == 11
    assert task.classes == ["Adelie", "Chinstrap", "Gentoo"]
    prov = task.provenance
    assert prov["format"] == "csv" and prov["encoding"] == "utf-8"
    assert prov["delimiter"] == "comma" and prov["original_shape"] == [344, 8]
    assert len(prov["sha256"]) == 64


def test_task_id_is_stable_and_content_based(tmp_path: Path) -> None:
    a = load_task(EXAMPLE)
    copy = write(tmp_path, "other_name.csv", EXAMPLE.read_bytes())
    assert load_task(copy).task_id == a.task_id
    assert load_task(pd.read_csv(EXAMPLE)).task_id == load_task(pd.read_csv(EXAMPLE)).task_id


def test_pipeline_preparer_matches_loader_on_raw_csv() -> None:
    task = load_task(EXAMPLE, target="body_mass_g", drop_missing_target=True)
    raw = pd.read_csv(EXAMPLE)
    raw = raw[raw["body_mass_g"].notna()].reset_index(drop=True)
    prepared = TabularPreparer(roles=task.column_roles).fit(raw).transform(raw)
    pd.testing.assert_frame_equal(prepared, task.X)


def test_column_typing_on_mixed_frame() -> None:
    task = load_task(mixed_frame(), target="label")
    assert task.kind == "binary"
    assert task.dropped["row_id"].startswith("identifier")
    assert task.dropped["comment"].startswith(("identifier", "free text"))
    assert task.column_roles == {
        "age": "numeric",
        "income": "numeric",
        "city": "categorical",
        "member": "categorical",
        "signup": "datetime",
    }
    assert {"signup__month", "signup__day", "signup__hour"} <= set(task.X.columns)
    assert "signup__year" not in task.X.columns  # all in 2020: does not vary
    assert all(t == "float64" or isinstance(t, pd.CategoricalDtype) for t in task.X.dtypes)
    assert task.source == "frame" and task.task_id.startswith("frame:")


def test_free_text_dropped_with_notice() -> None:
    rng = np.random.default_rng(1)
    n = 200
    words = np.array(["red", "blue", "green", "tall", "short", "wide", "thin", "old", "new"])
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "text": [" ".join(rng.choice(words, 4)) for _ in range(n)],
            "y": rng.choice(["a", "b"], n),
        }
    )
    task = load_task(frame)
    assert task.dropped["text"].startswith("free text")
    assert any("dropped 1 column" in n for n in task.notices)


def test_garbage_tokens_in_numeric_column(tmp_path: Path) -> None:
    rows = ["x,y"] + [f"{i * 1.5},{'a' if i % 2 else 'b'}" for i in range(40)]
    rows[5] = "oops,a"
    rows[9] = "n.a.,b"
    rows[12] = "?,a"
    task = load_task(write(tmp_path, "g.csv", "\n".join(rows)))
    assert task.column_roles["x"] == "numeric"
    assert task.X["x"].isna().sum() == 3
    notice = next(n for n in task.notices if "not numbers" in n)
    assert "'oops'" in notice and "'n.a.'" in notice


def test_inf_in_features_becomes_nan_with_notice(tmp_path: Path) -> None:
    text = "x,z,y\n" + "\n".join(
        f"{v},{i},{i % 2}" for i, v in enumerate(["1", "inf", "-inf", "2", "3", "4"])
    )
    task = load_task(write(tmp_path, "inf.csv", text))
    assert task.X["x"].isna().sum() == 2
    assert any("infinite" in n and "'x'" in n for n in task.notices)


def test_inf_in_target_is_error() -> None:
    frame = pd.DataFrame({"x": range(6), "y": [1.5, np.inf, 2.5, 3.5, 4.5, 0.5]})
    with pytest.raises(TargetError, match="infinite"):
        load_task(frame)


# -- kind inference ---------------------------------------------------------------


def test_kind_rules() -> None:
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=n)
    assert load_task(pd.DataFrame({"x": x, "y": rng.normal(size=n)})).kind == "regression"
    assert load_task(pd.DataFrame({"x": x, "y": rng.integers(0, 2, n)})).kind == "binary"
    assert load_task(pd.DataFrame({"x": x, "y": rng.choice([True, False], n)})).kind == "binary"
    assert load_task(pd.DataFrame({"x": x, "y": rng.choice(list("abc"), n)})).kind == "multiclass"
    counts = rng.integers(0, 150, n)  # many distinct integers -> regression
    assert load_task(pd.DataFrame({"x": x, "y": counts})).kind == "regression"


def test_few_integers_are_multiclass_with_notice() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "grade": rng.integers(1, 6, 300)})
    task = load_task(frame)
    assert task.kind == "multiclass"
    assert task.classes == [1, 2, 3, 4, 5]  # whole-number labels stay integers
    assert any("--task regression" in n for n in task.notices)
    assert load_task(frame, kind="regression").kind == "regression"


def test_kind_validation() -> None:
    frame = pd.DataFrame({"x": range(8), "y": list("abcabcab")})
    with pytest.raises(TargetError, match="regression"):
        load_task(frame, kind="regression")
    with pytest.raises(TargetError, match="exactly two"):
        load_task(frame, kind="binary")
    with pytest.raises(ConfigError, match="'ranking'"):
        load_task(frame, kind="ranking")
    with pytest.raises(TargetError, match="three or more"):
        load_task(pd.DataFrame({"x": range(6), "y": list("ababab")}), kind="multiclass")


# -- arrays -------------------------------------------------------------------------


def test_load_xy_and_tuple() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    task = load_xy(X, y)
    assert task.kind == "binary" and task.source == "arrays"
    assert list(task.X.columns) == ["x0", "x1", "x2"] and task.target == "target"
    same = load_task((X, y))
    assert same.task_id == task.task_id
    named = load_xy(
        pd.DataFrame(X, columns=["a", "b", "c"]), pd.Series(y * 1.5 + X[:, 1], name="t")
    )
    assert named.kind == "regression" and named.target == "t"
    with pytest.raises(DataFormatError, match="49 values"):
        load_xy(X, y[:-1])


def test_max_rows_stratified_subsample() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    y = np.where(rng.random(n) < 0.1, "rare", "common")
    frame = pd.DataFrame({"x": rng.normal(size=n), "y": y})
    task = load_task(frame, max_rows=100, random_state=3)
    assert task.n_rows == 100
    share = (task.y == "rare").mean()
    assert abs(share - (y == "rare").mean()) < 0.02
    assert any("subsampled 100 of 1000" in n for n in task.notices)
    again = load_task(frame, max_rows=100, random_state=3)
    pd.testing.assert_frame_equal(task.X, again.X)
    reg = load_task(pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n)}), max_rows=10)
    assert reg.n_rows == 10
    with pytest.raises(ConfigError):
        load_task(frame, max_rows=1)


# -- errors, each with a small file ------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    write(tmp_path, "data.csv", "a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="does not exist") as info:
        load_task(tmp_path / "dta.csv")
    assert "data.csv" in info.value.message and info.value.hint


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="is a directory"):
        load_task(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="empty"):
        load_task(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataFormatError, match="empty"):
        load_task(write(tmp_path, "w.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no data rows"):
        load_task(write(tmp_path, "h.csv", "a,b,c\n"))


def test_one_row(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="1 data row"):
        load_task(write(tmp_path, "one.csv", "a,b,c\n1,2,x\n"))


def test_target_absent_suggests_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "age,income,species\n1,2,a\n3,4,b\n5,6,a\n7,8,b\n")
    with pytest.raises(TargetError) as info:
        load_task(path, target="specis")
    assert "'age', 'income', 'species'" in info.value.message
    assert "did you mean 'species'" in info.value.hint


def test_target_all_missing(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="no values"):
        load_task(write(tmp_path, "m.csv", "a,y\n1,?\n2,NA\n3,\n"))


def test_some_target_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", "a,y\n1,x\n2,?\n3,y\n4,x\n5,y\n6,\n")
    with pytest.raises(TargetError, match="2 missing") as info:
        load_task(path)
    assert "--drop-missing-target" in info.value.hint
    task = load_task(path, drop_missing_target=True)
    assert task.n_rows == 4
    assert any("dropped 2 row(s)" in n for n in task.notices)


def test_single_class(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="single class"):
        load_task(write(tmp_path, "s.csv", "a,y\n1,x\n2,x\n3,x\n"))


def test_class_with_one_row(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,y\n1,x\n2,x\n3,y\n4,y\n5,lonely\n")
    with pytest.raises(TargetError, match="'lonely'") as info:
        load_task(path)
    assert "--drop-rare-classes" in info.value.hint
    task = load_task(path, drop_rare_classes=True)
    assert task.classes == ["x", "y"] and task.n_rows == 4
    assert any("rare class" in n for n in task.notices)


def test_regression_target_constant(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "a,y\n1,2.5\n2,2.5\n3,2.5\n")
    with pytest.raises(TargetError, match="single value"):
        load_task(path)
    with pytest.raises(TargetError, match="constant"):
        load_task(path, kind="regression")


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "a,b,a,y\n1,2,3,x\n4,5,6,y\n")
    with pytest.raises(ColumnError, match="'a' \\(2 times\\)"):
        load_task(path)
    frame = pd.DataFrame([[1, 2, "x"], [3, 4, "y"]], columns=["a", "a", "y"])
    with pytest.raises(ColumnError, match="'a'"):
        load_task(frame)


def test_binary_file(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(DataFormatError, match="PNG image"):
        load_task(write(tmp_path, "image.csv", png))
    with pytest.raises(DataFormatError, match="NUL bytes"):
        load_task(write(tmp_path, "blob.csv", b"a,b\n1,\x00\x01\x02\n"))


def test_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="Excel") as info:
        load_task(write(tmp_path, "book.xlsx", b"PK\x03\x04"))
    assert "CSV" in info.value.hint


def test_no_feature_columns_left(tmp_path: Path) -> None:
    text = "id,y\n" + "\n".join(f"user{i},{i % 2}" for i in range(30))
    with pytest.raises(ColumnError, match="no feature columns") as info:
        load_task(write(tmp_path, "ids.csv", text))
    assert "'id'" in info.value.message


def test_only_target_column(tmp_path: Path) -> None:
    with pytest.raises(ColumnError, match="only the target"):
        load_task(write(tmp_path, "y.csv", "y\n1\n2\n3\n"))


def test_bad_data_type() -> None:
    with pytest.raises(DataFormatError, match="int"):
        load_task(42)  # type: ignore[arg-type]


def test_errors_have_message_and_hint(tmp_path: Path) -> None:
    with pytest.raises(metaopt.MetaoptError) as info:
        load_task(write(tmp_path, "h.csv", "a,b\n"))
    assert info.value.message and info.value.hint
    assert str(info.value) == f"{info.value.message}; {info.value.hint}"
