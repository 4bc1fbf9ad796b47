"""Reading real-world files: encodings, delimiters, quoting, Parquet, ARFF."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt import ColumnError, DataFormatError
from metaopt.tasks import load_task

ROWS = [("Zürich", 1.5, "a"), ("Genève", 2.5, "b"), ("Köln", 3.0, "a"), ("Malmö", 4.25, "b")]


def csv_text(sep: str = ",") -> str:
    return f"city{sep}x{sep}y\n" + "".join(f"{c}{sep}{x}{sep}{y}\n" for c, x, y in ROWS)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("latin-1", "cp1252")],
)
def test_encodings(tmp_path: Path, encoding: str, expected: str) -> None:
    path = tmp_path / "enc.csv"
    path.write_bytes(csv_text().encode(encoding))
    task = load_task(path)
    assert task.provenance["encoding"] == expected
    assert set(task.X["city"].cat.categories) == {"Zürich", "Genève", "Köln", "Malmö"}
    assert list(task.X.columns) == ["city", "x"]  # the BOM is not part of a name


def test_mixed_utf8_and_latin1_bytes(tmp_path: Path) -> None:
    data = csv_text().encode("utf-8") + "Göteborg,5.0,a\n".encode("latin-1")
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    task = load_task(path)
    assert "Göteborg" in task.X["city"].cat.categories
    assert "Zürich" in task.X["city"].cat.categories
    assert task.provenance["encoding"] == "utf-8 with latin-1 fallback"
    assert any("not" in n and "Latin-1" in n for n in task.notices)


@pytest.mark.parametrize(
    ("sep", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe"), (",", "comma")]
)
def test_delimiters(tmp_path: Path, sep: str, name: str) -> None:
    path = tmp_path / "d.txt"
    path.write_text(csv_text(sep), encoding="utf-8")
    task = load_task(path)
    assert task.provenance["delimiter"] == name
    assert task.X["x"].tolist() == [1.5, 2.5, 3.0, 4.25]


def test_tsv_and_whitespace_dat(tmp_path: Path) -> None:
    tsv = tmp_path / "d.tsv"
    tsv.write_text(csv_text("\t"), encoding="utf-8")
    assert load_task(tsv).provenance["format"] == "tsv"
    dat = tmp_path / "d.dat"
    dat.write_text("a  b   y\n1.0  2 x\n 3.5 4  y\n5 6 x\n7   8 y\n", encoding="utf-8")
    task = load_task(dat)
    assert task.provenance["delimiter"] == "whitespace"
    assert task.X["a"].tolist() == [1.0, 3.5, 5.0, 7.0]


def test_headerless_numeric_file(tmp_path: Path) -> None:
    path = tmp_path / "n.dat"
    path.write_text("1 2 0\n3 4 1\n5 6 0\n7 8 1\n", encoding="utf-8")
    task = load_task(path)
    assert list(task.X.columns) == ["V1", "V2"] and task.target == "V3"
    assert any("V1" in n for n in task.notices)


def test_quoted_fields_with_newlines_and_delimiters(tmp_path: Path) -> None:
    text = 'note,x,y\n"line one\nline two",1,a\n"has, comma",2,b\n"say ""hi""",3,a\nplain,4,b\n'
    path = tmp_path / "q.csv"
    path.write_text(text, encoding="utf-8")
    task = load_task(path)
    assert task.n_rows == 4
    assert "line one\nline two" in task.X["note"].cat.categories
    assert 'say "hi"' in task.X["note"].cat.categories


def test_common_missing_tokens(tmp_path: Path) -> None:
    text = "x,c,y\n1,a,p\n?,?,q\nNA,NA,p\n,,q\nnull,None,p\nN/A,b,q\n"
    task = load_task(tmp_path.joinpath("m.csv") if False else _w(tmp_path, "m.csv", text))
    assert task.X["x"].isna().sum() == 5
    assert task.X["c"].isna().sum() == 4
    assert not any("not numbers" in n for n in task.notices)


def _w(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parquet(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "n": rng.normal(size=30),
            "c": pd.Categorical(rng.choice(["u", "v"], 30)),
            "when": pd.date_range("2021-01-01", periods=30, freq="D"),
            "y": rng.choice(["a", "b", "c"], 30),
        }
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    task = load_task(path)
    assert task.provenance["format"] == "parquet"
    assert task.column_roles == {"n": "numeric", "c": "categorical", "when": "datetime"}
    assert task.kind == "multiclass"
    with pytest.raises(DataFormatError, match="not a Parquet file"):
        load_task(_w(tmp_path, "fake.parquet", "a,b\n1,2\n"))


WEKA = """% Old-style Weka file
% with comments
@RELATION 'weather data'

@ATTRIBUTE outlook {sunny, overcast, 'rainy day'}
@attribute 'temp erature' REAL
@Attribute humidity numeric
@attribute windy {TRUE, FALSE}
@attribute "note" string
@attribute when date "yyyy-MM-dd"
@attribute play {yes,no}

@DATA
sunny,85,85,FALSE,'hot, dry',2020-01-01,no
% a comment inside the data
sunny,80,90,TRUE,?,2020-01-02,no
overcast, 83, 86, FALSE, "fine", 2020-02-03, yes
'rainy day',70,?,FALSE,'it''s wet',2020-03-04,yes
'rainy day',68,80,FALSE,wet,2020-03-05,yes
'rainy day',65,70,TRUE,wet,2020-04-06,no
"""


def test_arff_weka_style(tmp_path: Path) -> None:
    task = load_task(_w(tmp_path, "weather.arff", WEKA))
    assert task.provenance["format"] == "arff"
    assert task.target == "play" and task.kind == "binary"
    assert task.column_roles["outlook"] == "categorical"
    assert task.column_roles["temp erature"] == "numeric"
    assert task.column_roles["when"] == "datetime"
    assert "rainy day" in task.X["outlook"].cat.categories
    assert np.isnan(task.X["humidity"].iloc[3])
    assert task.X["temp erature"].tolist() == [85.0, 80.0, 83.0, 70.0, 68.0, 65.0]


SPARSE = """@relation sparse
@attribute a numeric
@attribute b numeric
@attribute c {x,y}
@attribute class {pos,neg}
@data
{0 1.5, 3 neg}
{1 2, 2 y, 3 pos}
{0 ?, 3 neg}
{1 4, 3 pos}
"""


def test_arff_sparse_rows(tmp_path: Path) -> None:
    task = load_task(_w(tmp_path, "s.arff", SPARSE))
    assert task.X["a"].tolist()[:2] == [1.5, 0.0]
    assert np.isnan(task.X["a"].iloc[2])
    assert task.X["b"].tolist() == [0.0, 2.0, 0.0, 4.0]
    assert task.X["c"].tolist() == ["x", "y", "x", "x"]
    assert task.y.tolist() == ["neg", "pos", "neg", "pos"]


def test_arff_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no @data"):
        load_task(_w(tmp_path, "a.arff", "@relation r\n@attribute a numeric\n"))
    with pytest.raises(DataFormatError, match="2 values but 3"):
        load_task(
            _w(
                tmp_path,
                "b.arff",
                "@relation r\n@attribute a numeric\n@attribute b numeric\n"
                "@attribute c {p,q}\n@data\n1,2,p\n3,q\n",
            )
        )
    with pytest.raises(ColumnError, match="'a'"):
        load_task(
            _w(
                tmp_path,
                "c.arff",
                "@relation r\n@attribute a numeric\n@attribute a numeric\n@data\n1,2\n",
            )
        )


def test_wide_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n_rows, n_cols = 30, 10_000
    values = rng.normal(size=(n_rows, n_cols)).round(3)
    header = ",".join(f"f{j}" for j in range(n_cols)) + ",y"
    lines = [header] + [
        ",".join(map(str, row)) + ("," + ("a" if i % 2 else "b")) for i, row in enumerate(values)
    ]
    path = _w(tmp_path, "wide.csv", "\n".join(lines) + "\n")
    task = load_task(path)
    assert task.n_features == n_cols and task.kind == "binary"


def test_trailing_delimiter_and_spaces_after_commas(tmp_path: Path) -> None:
    from metaopt.preprocessing import TabularPreparer

    text = (
        "a, b, c,y,\n1, x, 2020-01-01,p,\n2, y, 2021-02-03,q,\n"
        "3, x, 2021-02-05,p,\n4, ?, 2022-03-04,q,\n"
    )
    path = _w(tmp_path, "t.csv", text)
    task = load_task(path)
    assert task.target == "y"
    assert task.column_roles == {"a": "numeric", "b": "categorical", "c": "datetime"}
    assert task.dropped["Unnamed: 4"].startswith("empty")
    # A plain pd.read_csv keeps " b" and "?": the pipeline's first step copes with both.
    raw = pd.read_csv(path)
    assert " b" in raw.columns
    prepared = TabularPreparer(task.column_roles).fit(raw).transform(raw)
    pd.testing.assert_frame_equal(prepared, task.X)


def test_pipeline_preparer_matches_loader_on_messy_csv(tmp_path: Path) -> None:
    from metaopt.preprocessing import TabularPreparer

    rng = np.random.default_rng(5)
    n = 80
    x = rng.normal(size=n).round(3).astype(str)
    x[[3, 17]] = ["bad", "?"]
    x[20] = "inf"
    flag = rng.choice(["True", "False"], n)
    when = pd.date_range("2019-05-01", periods=n, freq="29h").strftime("%Y-%m-%dT%H:%M:%S")
    cnt = rng.integers(0, 2, n).astype(str)
    y = rng.choice(["u", "v", "w"], n)
    lines = ["x,flag,when,cnt,y"] + [
        f"{a},{b},{c},{d},{e}" for a, b, c, d, e in zip(x, flag, when, cnt, y, strict=True)
    ]
    path = _w(tmp_path, "messy.csv", "\n".join(lines) + "\n")
    task = load_task(path)
    assert task.column_roles == {
        "x": "numeric",
        "flag": "categorical",
        "when": "datetime",
        "cnt": "categorical",
    }
    raw = pd.read_csv(path)
    prepared = TabularPreparer(task.column_roles).fit(raw).transform(raw)
    pd.testing.assert_frame_equal(prepared, task.X)
    again = TabularPreparer(task.column_roles).fit(task.X).transform(task.X)
    pd.testing.assert_frame_equal(again, task.X)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_decoded_with_a_notice(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes((csv_text(";").replace(".", ",")).encode(encoding))  # Excel's "Unicode text"
    task = load_task(path)
    family = encoding[:6].upper()
    assert task.provenance["encoding"].startswith(encoding[:6])
    assert set(task.X["city"].cat.categories) == {"Zürich", "Genève", "Köln", "Malmö"}
    assert task.X["x"].tolist() == [1.5, 2.5, 3.0, 4.25]
    assert any(f"{family}-encoded" in n and "UTF-8" in n for n in task.notices)


def test_broken_utf16_is_named_not_called_binary(tmp_path: Path) -> None:
    data = "a,b\n1,2\n3,4\n".encode("utf-16-le") + b"\x00\xd8"  # a lone surrogate at the end
    path = tmp_path / "broken.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + data)
    with pytest.raises(DataFormatError, match="UTF-16") as info:
        load_task(path)
    assert "binary" not in str(info.value) and "re-save it as UTF-8" in str(info.value)


def test_decimal_commas_are_read_as_numbers(tmp_path: Path) -> None:
    text = "a;b;c;y\n1,5;2;x;1,0\n2,25;3;y;2,5\n-3,75;4;x;3,5\n1.234,5;5;y;4\n,5;6;x;5,5\n"
    path = tmp_path / "european.csv"
    path.write_text(text, encoding="utf-8")
    task = load_task(path)
    assert task.kind == "regression"
    assert task.y.tolist() == [1.0, 2.5, 3.5, 4.0, 5.5]
    assert task.X["a"].tolist() == [1.5, 2.25, -3.75, 1234.5, 0.5]
    assert task.column_roles["a"] == "numeric" and task.column_roles["c"] == "categorical"
    assert any("'a', 'y'" in n and "decimal comma" in n for n in task.notices)
    # text that merely contains commas stays text
    path.write_text("a;t;y\n1;x,y;1\n2;x,z;2\n3;w;3\n", encoding="utf-8")
    task = load_task(path, target="y")
    assert task.column_roles["t"] == "categorical"
    assert not any("decimal comma" in n for n in task.notices)
