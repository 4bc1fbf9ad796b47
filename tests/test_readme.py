"""The README's two set-up commands stay true: CI runs them as written, the example exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _ci_commands() -> list[str]:
    """What `.ci/run` runs: the commands `.ci/readme_commands.py` reads from the README."""
    spec = importlib.util.spec_from_file_location(
        "readme_commands", ROOT / ".ci" / "readme_commands.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.quick_start_commands(README)


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_set_up_commands() -> None:
    test_cmd = next(c for c in _commands() if "pytest" in c)
    main_cmd = next(c for c in _commands() if "metaopt " in c and "pytest" not in c)
    assert test_cmd.startswith("pip install torch==2.13.0 && ")
    assert test_cmd.endswith(" && python -m pytest -q")
    assert _ci_commands() == [main_cmd, test_cmd]  # both, in order, nothing else
    # CI runs what the helper reads from the README at run time, in a fresh virtualenv,
    # and hard-codes none of it
    assert "python .ci/readme_commands.py README.md" in CI
    assert 'bash -c "$cmd"' in CI
    assert "-m venv" in CI and "trap " in CI
    code = [line for line in CI.splitlines() if not line.lstrip().startswith("#")]
    assert not any("pytest -q" in line or "torch==" in line for line in code)


def test_main_job_example_file_exists() -> None:
    main_cmd = next(c for c in _commands() if "metaopt " in c and "pytest" not in c)
    assert main_cmd.startswith("pip install torch==2.13.0 && pip install -e . && ")
    paths = [tok for tok in main_cmd.split() if "/" in tok and "." in Path(tok).name]
    assert paths, main_cmd
    for tok in paths:
        assert (ROOT / tok).is_file(), tok


def test_benchmarks_section_present() -> None:
    assert "## Benchmarks" in README
