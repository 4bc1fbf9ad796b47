"""``metaopt metafeatures DATA`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from metaopt.cli import app
from metaopt.metafeatures import FEATURE_NAMES, VERSION


def _csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=120),
            "b": rng.choice(["x", "y", "z"], size=120),
            "label": rng.choice(["p", "q"], size=120),
        }
    )
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    return path


def test_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["metafeatures", str(_csv(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["version"] == VERSION
    assert list(doc["features"]) == list(FEATURE_NAMES)
    assert doc["features"]["n_rows"] == 120
    assert doc["features"]["target_skewness"] is None


def test_table_and_group(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["metafeatures", str(_csv(tmp_path)), "-g", "simple"])
    assert result.exit_code == 0, result.output
    assert "class_entropy" in result.stdout and "lm_stump" not in result.stdout


def test_unknown_group_is_a_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["metafeatures", str(_csv(tmp_path)), "-g", "nope"])
    assert result.exit_code == 2
    assert "unknown meta-feature group 'nope'" in result.output
