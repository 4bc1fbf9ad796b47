"""A non-editable install (``pip install .``) ships the trained models and the knowledge base."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _sh(*cmd: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.slow
def test_wheel_ships_models_and_kb_and_suggest_runs_from_it(tmp_path: Path) -> None:
    # Build from a copy of what the wheel is made of, so the checkout gets no build/ folder.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in ("metaopt", "cli", "datasets"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    _sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", str(tmp_path / "dist"), str(src), cwd=tmp_path)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("metaopt-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT / "datasets").as_posix() for p in (ROOT / "datasets").rglob("*")
               if p.is_file() and p.parts[len(ROOT.parts) + 1] in ("models", "kb")
               and not p.name.startswith(".")}  # fmt: skip
    assert {"models/manifest.json", "models/arrays.npz", "kb/manifest.json"} <= shipped
    missing = sorted(s for s in shipped if f"metaopt/datasets/{s}" not in names)
    assert not missing, f"the wheel lacks {missing}"
    assert "metaopt/cli/__init__.py" in names and "metaopt/__main__.py" in names
    assert not any(n.startswith(("cli/", "datasets/")) for n in names)

    # Install it into a fresh environment (dependencies from this one) and run the
    # README's first command from a directory that is not the checkout.
    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", "--system-site-packages", str(venv), cwd=tmp_path)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    _sh(str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"OMP_NUM_THREADS": "1", "PYTHONPATH": "", "METAOPT_MODELS": "", "METAOPT_KB": ""}
    where = _sh(str(python), "-c", "import metaopt.recommend as r, metaopt.kb as k; "
                "print(r.default_models_path()); print(k.default_kb_path())",
                cwd=elsewhere, env=env).stdout.split()  # fmt: skip
    assert all(str(venv) in w and "metaopt/datasets" in Path(w).as_posix() for w in where), where
    data = str(ROOT / "datasets" / "examples" / "penguins.csv")
    out = _sh(str(python), "-m", "metaopt", "suggest", data, "--json", cwd=elsewhere, env=env).stdout
    assert '"algorithm"' in out
