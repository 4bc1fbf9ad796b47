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
    assert "trained on 8 tasks" in result.stdout
    for component in ("surrogate", "optimizer and similarity", "evidence"):  # progress on stderr
        assert f"] {component} done in " in result.stderr
    assert "] optimizer and similarity: 10/20 updates…" in result.stderr  # progress within the step
    doc = json.loads((root / "models" / "manifest.json").read_text())["doc"]
    assert doc["optimizer"]["params"]["iterations"] == 20  # the option reaches the optimizer
    return root / "models"


def run(*args: str):
    return CliRunner().invoke(app, ["suggest", *args], catch_exceptions=False)


def test_table_with_evidence(root: Path, models: Path) -> None:
    result = run(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "suggestions for bin03" in result.output and "predicted¹ ± σ" in result.output
    assert "(0–1, vs KB)" in result.output  # the unit under the header
    legend = " ".join(result.output.split())
    assert ("¹ predicted (0–1, vs KB): the config's expected place among the configs the knowledge "
            "base tried on similar data (1 = the best, 0 = the worst), not a roc_auc value") in legend
    assert "evidence" in result.output
    assert "outside the knowledge base" not in result.output


def test_json_names_the_relative_prediction(root: Path, models: Path) -> None:
    """--json keeps score/uncertainty and adds the same numbers under names that say
    what they are, with a ``scales`` entry per score field (issue 19)."""
    data = str(root / "data" / "bin03.csv")
    doc = json.loads(run(data, "--models", str(models), "--top", "2", "--json").stdout)
    assert doc["metric"] == "roc_auc"
    assert "not a roc_auc value" in doc["scales"]["predicted_relative"]
    assert "evaluation.score" not in doc["scales"]
    for item in doc["suggestions"]:
        assert item["predicted_relative"] == item["score"]
        assert item["predicted_relative_sigma"] == item["uncertainty"]
    doc = json.loads(run(data, "--models", str(models), "--top", "2", "--json", "--evaluate",
                         "--folds", "2", "--algorithms", "linear,knn").stdout)
    assert "roc_auc" in doc["scales"]["evaluation.score"]


def test_out_of_distribution_warns_and_points_to_evaluate(
    root: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metaopt.recommend import Recommender

    monkeypatch.setattr(Recommender, "ood_weight", lambda self, mf, kind: (True, 3.0, 0.6))
    result = run(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "2")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "lies outside the knowledge base" in text and "rerun with --evaluate" in text
    assert "metaopt.MetaoptClassifier" in text


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


def wide(*args: str, columns: int = 200):
    return CliRunner().invoke(app, ["suggest", *args], env={"COLUMNS": str(columns)},
                              catch_exceptions=False)


def test_full_config_and_next_steps(root: Path, models: Path) -> None:
    data = str(root / "data" / "bin03.csv")
    doc = json.loads(run(data, "--models", str(models), "--top", "3", "--json").stdout)
    result = wide(data, "--models", str(models), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "…" not in result.output.split("evidence")[0]
    for item in doc["suggestions"]:  # every hyperparameter is shown, not the first four
        for key in item["params"]:
            assert f"{key}=" in result.output
    tail = result.output[result.output.index("\nnext\n"):]
    first = doc["suggestions"][0]
    target = doc["target"]
    assert f"metaopt evaluate {data} --target {target} --algorithm {first['algorithm']} --params" in tail
    assert f"metaopt tune {data} --target {target}" in tail
    assert f"metaopt suggest {data} --target {target} --fit 1 --output model.joblib" in tail


def test_evaluate_table_fits_80_columns(root: Path, models: Path) -> None:
    result = wide(str(root / "data" / "bin01.csv"), "--models", str(models), "--top", "3",
                  "--algorithms", "linear,knn", "--evaluate", "--folds", "2", columns=80)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert table and all(len(line) <= 80 for line in table), "\n".join(table)
    header = "\n".join(line for line in table if line.startswith("┃"))
    assert "CV roc_auc² ± sd" in header and "predicted¹ ± σ" in header and "(0–1, vs KB)" in header
    assert "\nhyperparameters\n" in result.stdout  # listed under the narrow table
    text = " ".join(result.stdout.split())
    assert "² CV roc_auc: the real 2-fold cross-validated roc_auc on your data, in roc_auc's own units" in text
    assert "compare the order of the two columns, not their values" in text
    assert "check: the " in text  # did the highest prediction score best?
    assert "(the best CV score) on all rows and save it" in result.stdout
    # everything but the copy-paste commands of "next" fits the terminal
    body = lines[: lines.index("next")]
    assert all(len(line) <= 80 for line in body), "\n".join(line for line in body if len(line) > 80)
    # a wrapped hyperparameter line stays under its text, not under "#1"
    params = body[body.index("hyperparameters") + 1:]
    assert all(line.startswith("  #") or line.startswith("     ") for line in params[:3])


def test_top_beyond_the_candidates_says_how_many(root: Path, models: Path) -> None:
    result = wide(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "1000",
                  "--algorithms", "linear")
    assert result.exit_code == 0, result.output
    n = len(json.loads(run(str(root / "data" / "bin03.csv"), "--models", str(models), "--top",
                           "1000", "--algorithms", "linear", "--json").stdout)["suggestions"])
    assert 0 < n < 1000
    assert f"only {n} candidates pass the filters (--top 1000); showing all" in result.output


def test_flat_predictions_are_flagged(root: Path, models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import metaopt.recommend as recommend

    real = recommend.suggest

    def flat(*args, **kwargs):
        out = real(*args, **kwargs)
        return [s.__class__(**{**{f: getattr(s, f) for f in s.__dataclass_fields__}, "score": 0.9,
                               "uncertainty": 0.05}) for s in out]

    monkeypatch.setattr(recommend, "suggest", flat)
    result = wide(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "the predictions are flat: they span 0.000, less than their σ (0.050)" in result.output
    assert "--evaluate" in result.output and "metaopt.MetaoptClassifier" in result.output
    doc = json.loads(run(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "3",
                         "--json").stdout)
    assert doc["flat"] is True


def test_spread_predictions_are_not_flagged(
    root: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metaopt.recommend as recommend

    real = recommend.suggest

    def spread(*args, **kwargs):  # predictions 0.3 apart, σ 0.05: the order is clear
        out = real(*args, **kwargs)
        return [s.__class__(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                               "score": 0.9 - 0.3 * i, "uncertainty": 0.05}) for i, s in enumerate(out)]

    monkeypatch.setattr(recommend, "suggest", spread)
    result = wide(str(root / "data" / "bin03.csv"), "--models", str(models), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "predictions are flat" not in result.output


def test_fit_saves_the_model_and_spec(root: Path, models: Path, tmp_path: Path) -> None:
    import joblib
    import pandas as pd

    data = root / "data" / "reg10.csv"
    out = tmp_path / "model.joblib"
    result = wide(str(data), "--models", str(models), "--top", "2", "--algorithms", "linear,knn",
                  "--fit", "2", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert f"saved #2 fitted on all rows to {out}" in " ".join(result.output.split())
    spec = json.loads((tmp_path / "model.joblib.spec.json").read_text())
    assert spec["format"] == "metaopt-tune-spec" and spec["rank"] == 2  # the files tune writes
    assert spec["spec"]["class"] == "sklearn.pipeline.Pipeline"
    frame = pd.read_csv(data)
    model = joblib.load(out)
    assert len(model.predict(frame.drop(columns=[spec["target"]]))) == len(frame)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fit", "1"], "--fit 1 needs --output PATH"),
        (["--output", "m.joblib"], "--output needs --fit K"),
        (["--fit", "9", "--output", "m.joblib", "--top", "2"], "--fit 9, but there are 2 suggestions"),
    ],
)
def test_fit_errors_one_line(root: Path, models: Path, args: list[str], message: str) -> None:
    result = run(str(root / "data" / "bin01.csv"), "--models", str(models), *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_ctrl_c_during_evaluate_says_what_was_done(
    root: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metaopt.evaluation as evaluation

    real = evaluation.evaluate_many

    def interrupted(jobs, *args, **kwargs):
        jobs = list(jobs)
        yield from real(jobs[:1], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "evaluate_many", interrupted)
    result = run(str(root / "data" / "bin01.csv"), "--models", str(models), "--top", "3",
                 "--evaluate", "--folds", "2")
    assert result.exit_code == 130
    lines = [line for line in result.stderr.splitlines() if line.startswith("metaopt:")]
    assert len(lines) == 1 and "interrupted: cross-validated 1 of 3 suggestions (#1 " in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


def test_large_file_is_sampled_unless_training(
    root: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranking reads a sample of a large file's rows (true count kept, with a note);
    --evaluate trains, so it reads every row (issue 19; the sample size made small)."""
    import metaopt.recommend

    monkeypatch.setattr(metaopt.recommend, "SAMPLE_ROWS", 100)
    data = str(root / "data" / "bin03.csv")  # 210 rows
    common = ("--models", str(models), "--top", "2", "--algorithms", "linear,knn")
    doc = json.loads(run(data, *common, "--json").output)
    assert (doc["rows"], doc["rows_read"]) == (210, 100)
    result = wide(data, *common)
    assert result.exit_code == 0, result.output
    assert "(binary, 210 rows)" in result.output
    assert "random sample of 100 of the file's 210 rows" in result.output
    doc = json.loads(run(data, *common, "--json", "--evaluate", "--folds", "3").output)
    assert (doc["rows"], doc["rows_read"]) == (210, 210)
