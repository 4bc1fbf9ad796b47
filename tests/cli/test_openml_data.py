"""``openml:ID`` wherever a command takes data, read offline from an openml-python cache.

The cache is the fake one of ``tests/tasks/openml_fakes.py`` (openml-python's own
on-disk format); every HTTP call of openml-python raises, so nothing reaches the network.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli import app

sys.path.insert(0, str(Path(__file__).parents[1] / "tasks"))
import openml_fakes  # noqa: E402

runner = CliRunner()
BINARY = f"openml:{openml_fakes.CLASSIFICATION_ID}"
REGRESSION = f"openml:{openml_fakes.REGRESSION_ID}"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("openml")
    monkeypatch.delenv("METAOPT_OPENML_CACHE", raising=False)
    openml_fakes.disable_network(monkeypatch)
    return openml_fakes.make_cache(tmp_path / "openml-cache")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_info(cache: Path) -> None:
    result = invoke("info", BINARY, "--openml-cache", str(cache), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["task_id"] == BINARY and doc["name"] == "credit-mini"
    assert doc["kind"] == "binary" and doc["rows"] == 40


def test_info_openml_task(cache: Path) -> None:
    result = invoke("info", f"openml-task:{openml_fakes.TASK_ID}", "--openml-cache", str(cache),
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task_id"] == BINARY


def test_env_var_still_names_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAOPT_OPENML_CACHE", str(cache))
    result = invoke("info", REGRESSION, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "regression"


def test_metafeatures(cache: Path) -> None:
    result = invoke("metafeatures", REGRESSION, "--openml-cache", str(cache), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["task_id"] == REGRESSION and doc["features"]


def test_evaluate(cache: Path) -> None:
    result = invoke("evaluate", BINARY, "--algorithm", "linear", "--folds", "2",
                    "--openml-cache", str(cache), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["task_id"] == BINARY and doc["status"] == "ok"


def test_suggest(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import metaopt.recommend

    seen = []

    def fake_suggest(task, **kwargs):
        seen.append(task)
        return []

    monkeypatch.setattr(metaopt.recommend, "suggest", fake_suggest)
    result = invoke("suggest", BINARY, "--openml-cache", str(cache), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task_id"] == BINARY
    assert [t.task_id for t in seen] == [BINARY]


def test_tune(cache: Path, tmp_path: Path) -> None:
    result = invoke("tune", REGRESSION, "--openml-cache", str(cache), "--sampler", "random",
                    "--warm-start", "0", "--trials", "2", "--algorithms", "linear", "--folds", "2",
                    "--seed", "0", "--storage", f"sqlite:///{tmp_path / 'tune.db'}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["task_id"] == REGRESSION


def test_kb_build(cache: Path, tmp_path: Path) -> None:
    result = invoke("kb", "build", "--source", REGRESSION, "--openml-cache", str(cache),
                    "--kb", str(tmp_path / "kb"), "--algorithms", "linear", "-n", "0",
                    "--quiet", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tasks_loaded"] == 1 and report["evaluations_ok"] == 1


def test_not_cached_offline_is_one_line_naming_the_option(cache: Path) -> None:
    result = invoke("info", "openml:31", "--openml-cache", str(cache))
    assert result.exit_code == 2
    assert result.stderr.startswith("metaopt: error: OpenML dataset 31 is not in the cache at")
    assert "--openml-cache" in result.stderr and result.stderr.count("\n") == 1


def test_kb_build_with_no_loadable_task_exits_1(cache: Path, tmp_path: Path) -> None:
    result = invoke("kb", "build", "--source", "openml:31", "--openml-cache", str(cache),
                    "--kb", str(tmp_path / "kb"), "--algorithms", "linear", "-n", "0", "--quiet")
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.startswith("metaopt: error: no task of 'openml:31' could be loaded")
    assert "OpenML dataset 31 is not in the cache" in err and err.count("\n") == 1


def test_missing_openml_package_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "openml", None)
    for args in (["info", BINARY], ["kb", "build", "--source", BINARY, "--kb", str(tmp_path / "kb")]):
        result = invoke(*args, "--openml-cache", str(tmp_path))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("metaopt: error: ")
        assert 'pip install "metaopt[openml]"' in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "kb").exists()  # failed before creating a knowledge base
