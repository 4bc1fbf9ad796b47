"""Packaging: cheap imports, no stray top-level `cli` module, a working console script."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

HEAVY = ("torch", "optuna")


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout


@pytest.mark.parametrize(
    "code",
    [
        "import metaopt",
        "import metaopt; metaopt.load_task; metaopt.Task",
        "import metaopt; metaopt.MetaoptClassifier; metaopt.MetaoptRegressor",
        # `metaopt --help`: the console script's code path, in-process so sys.modules is visible.
        "import sys; sys.argv = ['metaopt', '--help']\n"
        "from metaopt.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass",
    ],
)
def test_heavy_libraries_are_not_imported(code: str) -> None:
    out = _run(code + f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert out.strip().splitlines()[-1] == "[]"


def test_cli_is_not_a_top_level_module() -> None:
    # Run from a neutral directory: the repository root itself holds a `cli/` folder.
    result = subprocess.run(
        [sys.executable, "-c", "import cli"], capture_output=True, text=True, cwd="/", timeout=120
    )
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_console_script_help() -> None:
    script = shutil.which("metaopt")
    cmd = [script] if script else [sys.executable, "-c", "from metaopt.cli import main; main()"]
    result = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "info" in result.stdout


def test_public_names() -> None:
    import metaopt
    import metaopt.preprocessing
    import metaopt.tasks

    assert {"load_task", "Task", "MetaoptError"} <= set(metaopt.__all__)
    assert {"load_task", "load_xy", "Task"} <= set(metaopt.tasks.__all__)
    assert "TabularPreparer" in metaopt.preprocessing.__all__


def test_import_metaopt_skips_scikit_learn() -> None:
    out = _run("import sys, metaopt\nprint('sklearn' in sys.modules)")
    assert out.strip() == "False"
