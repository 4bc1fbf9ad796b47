"""``metaopt suggest`` and ``metaopt train`` on a tiny knowledge base of real tasks."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli import app

_FAKES = Path(__file__).resolve().parents[1] / "recommend" / "recommend_fakes.py"
_spec = importlib.util.spec_from_file_location("recommend_fakes", _FAKES)
assert _spec is not None and _spec.loader is not None
fakes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakes)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny knowledge base (``kb/``), its datasets (``data/``) and no models yet."""
    path = tmp_path_factory.mktemp("cli_suggest")
    fakes.build_kb(path)
    return path


@pytest.fixture(scope="module")
def models(root: Path) -> Path:
    """Models trained by ``metaopt train`` on the tiny knowledge base.

    ``suggest`` never uses the learned optimizer, so it gets 20 meta-training updates,
    not the default 600 (most of this fixture's time).
    """
    result = CliRunner().invoke(
        app,
        ["train", "--kb", str(root / "kb"), "--out", str(root / "models"), "--members", "2",
         "--optimizer-iterations", "20"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "trained on 8 tasks" in result.output
    doc = json.loads((root / "models" / "manifest.json").read_text())["doc"]
    assert doc["optimizer"]["params"]["iterations"] == 20  # the option reaches the optimizer
    return root / "models"


def run(*args: str):
    return CliRunner().invoke(app, ["suggest", *args], catch_exceptions=False)


def test_table_with_evidence(root: Path, models: Path) -> None:
    result = run(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "suggestions for bin03" in result.output and "predicted ± σ" in result.output
    assert "evidence" in result.output
    assert "outside the knowledge base" not in result.output


def test_json_document_has_every_spec(root: Path, models: Path) -> None:
    result = run(str(root / "data" / "reg10.csv"), "--models", str(models), "--json",
                 "--top", "2", "--algorithms", "linear,knn")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["kind"] == "regression" and len(doc["suggestions"]) == 2
    for item in doc["suggestions"]:
        assert item["algorithm"] in ("linear", "knn")
        assert item["spec"]["class"] == "sklearn.pipeline.Pipeline"
        assert set(item) >= {"rank", "params", "config_id", "score", "uncertainty", "fit_time",
                             "evidence", "ood"}


def test_evaluate_adds_real_scores(root: Path, models: Path) -> None:
    result = run(str(root / "data" / "bin01.csv"), "--models", str(models), "--json",
                 "--top", "2", "--algorithms", "linear,knn", "--evaluate", "--folds", "3")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    for item in doc["suggestions"]:
        assert item["evaluation"]["status"] == "ok" and 0 <= item["evaluation"]["score"] <= 1


def test_missing_models_one_line_exit_2(root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["suggest", str(root / "data" / "bin00.csv"),
                                      "--models", str(tmp_path / "none")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("metaopt: error: no trained models")
    assert "metaopt train" in lines[0]


def test_mismatched_models_one_line_exit_2(root: Path, models: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["mf_version"] = "0.9"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(app, ["suggest", str(root / "data" / "bin00.csv"),
                                      "--models", str(copy)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "meta-feature version 0.9" in lines[0]
    assert "metaopt train" in lines[0]


def test_suggest_imports_neither_torch_nor_optuna(root: Path, models: Path) -> None:
    code = (
        "import sys\n"
        "from metaopt.cli._main import app\n"
        f"sys.argv = ['metaopt', 'suggest', {str(root / 'data' / 'bin02.csv')!r}, "
        f"'--models', {str(models)!r}, '--json']\n"
        "try:\n"
        "    app(prog_name='metaopt')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('HEAVY', sorted(m for m in ('torch', 'optuna') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY []"
