"""The command's entry points: `python -m metaopt`, shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from metaopt.cli._main import app

ROOT = Path(__file__).resolve().parents[2]


def _python_m(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "metaopt", *args],
        capture_output=True, text=True, timeout=120, env=full_env, cwd=ROOT,
    )  # fmt: skip


def test_python_m_metaopt_runs_the_command() -> None:
    result = _python_m("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("metaopt ")
    result = _python_m("info", str(ROOT / "datasets" / "examples" / "penguins.csv"))
    assert result.returncode == 0, result.stderr
    assert "species" in result.stdout
    # errors stay one line and exit 2 through this entry point too
    result = _python_m("info", "no-such-file.csv")
    assert result.returncode == 2
    assert result.stderr.startswith("metaopt: error: ") and "Traceback" not in result.stderr


def test_shell_completion_is_offered_and_completes_commands() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert "--install-completion" in result.output and "--show-completion" in result.output
    # what the installed bash completion script asks the program
    result = _python_m(
        env={"_METAOPT_COMPLETE": "complete_bash", "COMP_WORDS": "metaopt su", "COMP_CWORD": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["suggest"]
    result = _python_m("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert result.returncode == 0 and "_METAOPT_COMPLETE=complete_bash" in result.stdout
