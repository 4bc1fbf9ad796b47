"""The README's two set-up commands stay true: CI runs the test command, the example exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_test_command_is_what_ci_runs() -> None:
    test_cmd = next(c for c in _commands() if "pytest" in c)
    assert test_cmd.startswith("pip install torch==2.13.0 && ")
    assert test_cmd in CI.splitlines()


def test_main_job_example_file_exists() -> None:
    main_cmd = next(c for c in _commands() if "metaopt " in c and "pytest" not in c)
    assert main_cmd.startswith("pip install torch==2.13.0 && pip install -e . && ")
    paths = [tok for tok in main_cmd.split() if "/" in tok and "." in Path(tok).name]
    assert paths, main_cmd
    for tok in paths:
        assert (ROOT / tok).is_file(), tok


def test_benchmarks_section_present() -> None:
    assert "## Benchmarks" in README
