"""Every command that reads data takes the same data options, and every hint names one it has.

A file with missing target values (penguins' ``body_mass_g``) or a class seen once fails
with a one-line hint; for each data-reading command the options the hint names are in
that command's ``--help``, and passing them makes the command work.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from metaopt.cli import app
from metaopt.cli._options import DATA_OPTIONS, DataOptions

EXAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"
WIDE = {"COLUMNS": "200"}


def _extra(command: str, root: Path, tmp_path: Path) -> list[str]:
    """What each command needs besides the data (fast settings, the test models)."""
    models = ["--models", str(root / "models")]
    return {
        "info": [],
        "metafeatures": ["--group", "simple"],
        "evaluate": ["--algorithm", "linear", "--folds", "2"],
        "suggest": [*models, "--algorithms", "linear,knn", "--top", "2"],
        "tune": [*models, "--algorithms", "linear,knn", "--trials", "1", "--warm-start", "0",
                 "--sampler", "random", "--folds", "2", "--storage",
                 f"sqlite:///{tmp_path / 'tune.db'}", "--json"],
    }[command]


COMMANDS = ["info", "metafeatures", "evaluate", "suggest", "tune"]


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args, env=WIDE, catch_exceptions=False)


def _hinted_options(message: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", message))


@pytest.fixture
def rare_class_csv(tmp_path: Path) -> Path:
    """Adelie and Gentoo penguins plus one Chinstrap: binary once the rare class is dropped."""
    frame = pd.read_csv(EXAMPLE)
    chinstrap = frame[frame["species"] == "Chinstrap"].head(1)
    frame = pd.concat([frame[frame["species"] != "Chinstrap"], chinstrap])
    path = tmp_path / "rare.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_data_command_has_the_shared_options(command: str) -> None:
    help_text = _invoke([command, "--help"]).output
    expected = {"--target", "--task", "--drop-missing-target", "--drop-rare-classes", "--openml-cache",
                "--max-rows"}
    assert expected <= _hinted_options(help_text), command


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_target_hint_names_an_option_the_command_has(
    command: str, tuning_root: Path, tmp_path: Path
) -> None:
    args = [command, str(EXAMPLE), "--target", "body_mass_g", *_extra(command, tuning_root, tmp_path)]
    failed = _invoke(args)
    assert failed.exit_code == 2, failed.output
    lines = failed.output.strip().splitlines()
    assert len(lines) == 1 and "2 missing value(s)" in lines[0], failed.output
    hinted = _hinted_options(lines[0])
    assert "--drop-missing-target" in hinted
    help_text = _invoke([command, "--help"]).output
    assert hinted <= _hinted_options(help_text), (command, hinted)
    fixed = _invoke([*args, "--drop-missing-target"])
    assert fixed.exit_code == 0, fixed.output


@pytest.mark.parametrize("command", COMMANDS)
def test_rare_class_hint_names_an_option_the_command_has(
    command: str, rare_class_csv: Path, tuning_root: Path, tmp_path: Path
) -> None:
    args = [command, str(rare_class_csv), "--target", "species", *_extra(command, tuning_root, tmp_path)]
    failed = _invoke(args)
    assert failed.exit_code == 2, failed.output
    line = failed.output.strip()
    assert "--drop-rare-classes" in _hinted_options(line)
    assert _hinted_options(line) <= _hinted_options(_invoke([command, "--help"]).output)
    fixed = _invoke([*args, "--drop-rare-classes"])
    assert fixed.exit_code == 0, fixed.output


def test_max_rows_subsamples() -> None:
    result = _invoke(["info", str(EXAMPLE), "--target", "species", "--max-rows", "100", "--json"])
    assert result.exit_code == 0 and '"rows": 100' in result.output


def test_one_definition() -> None:
    """DataOptions and the option table list the same names, in the same order."""
    assert list(DATA_OPTIONS) == list(DataOptions.__dataclass_fields__)
    opts = DataOptions(target="y b", drop_missing_target=True)
    assert opts.command("tune", Path("my data.csv")) == (
        "metaopt tune 'my data.csv' --target 'y b' --drop-missing-target"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_large_file_says_what_it_reads_on_stderr(
    command: str, tuning_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file is announced before it is read and followed by what was read, on
    stderr, by every data command; with --json stdout stays one JSON document (issue 19;
    the thresholds made small instead of a 1M-row file)."""
    import json

    import metaopt.cli._options as options

    data = tuning_root / "data" / "bin00.csv"  # binary: the test models know that kind
    rows, columns = pd.read_csv(data).shape
    size = data.stat().st_size
    monkeypatch.setattr(options, "LARGE_BYTES", size)  # the file is "large" from here on
    monkeypatch.setattr(options, "LARGE_ROWS", 10**9)
    extra = [a for a in _extra(command, tuning_root, tmp_path) if a != "--json"]
    result = _invoke([command, str(data), *extra, "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # nothing but the document on stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith(("reading ", "read "))]
    assert lines[0] == f"reading {data} ({size / 1e6:.1f} MB)…", result.stderr
    assert re.fullmatch(rf"read {rows:,} rows × {columns} columns in \d+\.\d s", lines[1]), result.stderr


def test_many_rows_are_reported_and_small_files_are_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    import metaopt.cli._options as options

    quiet = _invoke(["info", str(EXAMPLE), "--target", "species"])
    assert quiet.exit_code == 0 and "read " not in quiet.stderr and "reading " not in quiet.stderr
    # many rows in a small file: no "reading" line (the rows are known only once read),
    # then what was read
    monkeypatch.setattr(options, "LARGE_ROWS", 300)
    result = _invoke(["info", str(EXAMPLE), "--target", "species"])
    assert result.exit_code == 0, result.output
    assert "reading " not in result.stderr
    assert re.search(r"^read 344 rows × 8 columns in \d+\.\d s$", result.stderr, re.M), result.stderr
    assert "read 344 rows" not in result.stdout
