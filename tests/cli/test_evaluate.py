"""``metaopt evaluate``: one config, a design of configs, JSON output, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli import app


@pytest.fixture
def csv_file(tmp_path: Path, make_task) -> Path:
    task = make_task("binary", n_rows=150)
    frame = task.X.copy()
    frame["target"] = task.y
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _run(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args], catch_exceptions=False)


def test_one_config_prints_folds_and_status(csv_file: Path) -> None:
    result = _run(str(csv_file), "--algorithm", "hgb", "--params", '{"max_iter": 15}', "--folds", "3")
    assert result.exit_code == 0, result.output
    assert "roc_auc" in result.output and "mean ± sd" in result.output
    assert "status     ok" in result.output and '"max_iter": 15' in result.output


def test_json_output_is_a_record(csv_file: Path) -> None:
    result = _run(str(csv_file), "-a", "hgb", "-p", '{"max_iter": 15}', "--folds", "2",
                  "--metric", "accuracy", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "ok" and record["metric"] == "accuracy"
    assert len(record["fold_scores"]) == 2 and record["params"]["max_iter"] == 15


def test_configs_from_the_design(csv_file: Path) -> None:
    result = _run(str(csv_file), "-a", "hgb", "--configs", "3", "--folds", "2", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 3 and len({r["config_id"] for r in records}) == 3
    table = _run(str(csv_file), "-a", "hgb", "--configs", "2", "--folds", "2")
    assert table.exit_code == 0 and "2 hgb configs" in table.output and "rank" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "hgb", "--params", "{bad"], "--params is not valid JSON"),
        (["-a", "hgb", "--params", "[1]"], "must be a JSON object"),
        (["-a", "nope"], "unknown algorithm"),
        (["-a", "hgb", "--metric", "r2"], "cannot score a binary task"),
        (["-a", "hgb", "--folds", "1"], "n_splits"),
        (["-a", "hgb", "--configs", "2", "--params", "{}"], "exclude each other"),
    ],
)
def test_user_errors_exit_2_with_one_line(csv_file: Path, args: list[str], message: str) -> None:
    result = _run(str(csv_file), *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
