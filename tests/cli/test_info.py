"""`metaopt info`: the rich report, --json, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli._main import app

EXAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_info_report(runner: CliRunner) -> None:
    result = runner.invoke(app, ["info", str(EXAMPLE)], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in ("344", "species (multiclass)", "Adelie", "Chinstrap", "island", "sex", "11"):
        assert expected in out


def test_info_json(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["info", str(EXAMPLE), "--target", "body_mass_g", "--drop-missing-target", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kind"] == "regression" and doc["rows"] == 342
    assert doc["target_summary"]["min"] == 2700.0
    assert "species" in doc["columns"]["categorical"]
    assert doc["missing"]["sex"] == 9
    assert any("dropped 2 row(s)" in n for n in doc["notices"])
    assert doc["provenance"]["format"] == "csv"


def test_info_task_and_max_rows(runner: CliRunner) -> None:
    result = runner.invoke(app, ["info", str(EXAMPLE), "--max-rows", "100", "--json"])
    doc = json.loads(result.stdout)
    assert doc["rows"] == 100 and doc["kind"] == "multiclass"
    bad = runner.invoke(app, ["info", str(EXAMPLE), "--task", "regression"])
    assert bad.exit_code == 2
    assert "cannot be a regression target" in bad.stderr


def test_info_dropped_and_rare_classes(runner: CliRunner, tmp_path: Path) -> None:
    rows = ["id,x,y"] + [f"u{i},{i % 7},{'a' if i % 2 else 'b'}" for i in range(30)] + ["u99,3,c"]
    path = tmp_path / "r.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    err = runner.invoke(app, ["info", str(path)])
    assert err.exit_code == 2 and "--drop-rare-classes" in err.stderr
    ok = runner.invoke(app, ["info", str(path), "--drop-rare-classes"], env={"COLUMNS": "150"})
    assert ok.exit_code == 0, ok.output
    assert "identifier" in ok.stdout and "rare class" in ok.stdout


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        (None, [], "does not exist"),
        (b"", [], "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", [], "PNG"),
        (b"a,b\n1,x\n2,y\n3,x\n", ["--target", "c"], "not in file"),
    ],
)
def test_info_errors_are_one_line(
    runner: CliRunner, tmp_path: Path, content: bytes | None, args: list[str], needle: str
) -> None:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["info", str(path), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("metaopt: error: ")
    assert needle in result.stderr
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_info_reads_utf16_files_with_decimal_commas(runner: CliRunner, tmp_path: Path) -> None:
    # what Excel's "Unicode text" export of a European sheet looks like
    text = "length;width;kind\n" + "".join(
        f"{i},5;{i % 3},25;{'ab'[i % 2]}\n" for i in range(12)
    )
    path = tmp_path / "sheet.csv"
    path.write_bytes(text.encode("utf-16"))
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sorted(doc["columns"]["numeric"]) == ["length", "width"]
    notices = " ".join(doc["notices"])
    assert "UTF-16" in notices and "decimal comma" in notices
