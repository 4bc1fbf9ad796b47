"""Files metaopt reads back, damaged: one line naming the file and the fix, exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli import app


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("damage", ["arrays.npz", "manifest.json", "evidence.json"])
@pytest.mark.parametrize("command", ["suggest", "tune"])
def test_damaged_models_are_one_line(tuning_root: Path, tmp_path: Path, damage: str, command: str) -> None:
    models = tmp_path / "models"
    shutil.copytree(tuning_root / "models", models)
    if damage == "evidence.json":  # a file an older metaopt wrote: ignored, never read
        (models / damage).write_text("[]")
    else:
        _truncate(models / damage)
    data = str(tuning_root / "data" / "bin00.csv")
    args = [command, data, "--models", str(models)]
    if command == "tune":
        args += ["--algorithms", "linear,knn", "--folds", "2", "--trials", "1", "--storage", f"sqlite:///{tmp_path / 'tune.db'}", "--json"]
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    if damage == "evidence.json":
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("metaopt: error: ") and damage in line and "metaopt train" in line
