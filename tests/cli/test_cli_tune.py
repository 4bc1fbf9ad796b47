"""``metaopt tune``: a warm-started, meta-sampled study in SQLite; workers; outputs; errors."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from metaopt.cli import app

FAST = ["--algorithms", "linear,knn", "--folds", "2", "--seed", "0"]


@pytest.fixture(scope="module")
def root(tuning_root: Path) -> Path:
    """Tiny datasets (``data/``), and models with a small learned optimizer (``models/``).

    The session's ``tuning_root`` (tests/conftest.py), shared with tests/integrations;
    read-only.
    """
    return tuning_root


def run(*args: str):
    return CliRunner().invoke(app, ["tune", *args], catch_exceptions=False)


def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tune.db'}"


def test_table_shows_the_best_trial_and_its_spec(root: Path, tmp_path: Path) -> None:
    result = run(str(root / "data" / "bin01.csv"), *FAST, "--trials", "4", "--warm-start", "2",
                 "--models", str(root / "models"), "--storage", db(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "4 trials (4 run now, 2 warm-started from metaopt suggest, 0 failed)" in out
    assert "best trial #" in out and "roc_auc" in out
    assert '"class": "sklearn.pipeline.Pipeline"' in out


def test_json_rerun_resumes_the_study(root: Path, tmp_path: Path) -> None:
    args = [str(root / "data" / "bin02.csv"), *FAST, "--warm-start", "3", "--models",
            str(root / "models"), "--storage", db(tmp_path), "--json"]
    first = json.loads(run(*args, "--trials", "4").stdout)
    assert first["n_trials"] == 4 and first["new_trials"] == 4 and len(first["warm_started"]) == 3
    assert first["algorithm"] in ("linear", "knn") and first["metric"] == "roc_auc"
    assert first["spec"]["class"] == "sklearn.pipeline.Pipeline"
    warm = [e["params"] for e in first["warm_started"]]
    again = json.loads(run(*args, "--trials", "4").stdout)
    assert again["study_name"] == first["study_name"] and again["new_trials"] == 0
    more = json.loads(run(*args, "--trials", "6").stdout)
    assert more["n_trials"] == 6 and more["new_trials"] == 2 and more["warm_started"] == []
    study = optuna.load_study(study_name=first["study_name"], storage=db(tmp_path))
    assert [t.params for t in study.trials[:3]] == warm  # the suggestions ran first
    assert study.trials[0].user_attrs["metaopt_rank"] == 1


def test_output_saves_the_refitted_pipeline_and_its_spec(root: Path, tmp_path: Path) -> None:
    from metaopt import estimator_from_spec

    out = tmp_path / "best.joblib"
    result = run(str(root / "data" / "reg10.csv"), *FAST, "--trials", "3", "--sampler", "random",
                 "--warm-start", "0", "--storage", db(tmp_path), "--output", str(out), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["output"] == str(out) and doc["spec_path"] == str(out) + ".spec.json"
    spec = json.loads(Path(doc["spec_path"]).read_text())
    assert spec["format"] == "metaopt-tune-spec" and spec["score"] == doc["best_value"]
    assert spec["algorithm"] == doc["algorithm"] and spec["params"] == doc["params"]
    assert "trust" in spec["note"]
    raw = pd.read_csv(root / "data" / "reg10.csv")
    X, y = raw.drop(columns="target"), raw["target"]
    rebuilt = estimator_from_spec(spec["spec"]).fit(X, y)
    fitted = joblib.load(out)  # written by this test: a trusted source
    assert fitted.predict(X[:5]) == pytest.approx(rebuilt.predict(X[:5]))


@pytest.mark.slow
def test_two_worker_processes_share_one_sqlite_study(root: Path, tmp_path: Path) -> None:
    # 4 enqueued trials for 2 workers to pop concurrently (SQLite needs BEGIN IMMEDIATE for that)
    result = run(str(root / "data" / "bin03.csv"), *FAST, "--trials", "6", "--n-jobs", "2",
                 "--warm-start", "4", "--models", str(root / "models"), "--storage", db(tmp_path),
                 "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n_trials"] == 6 and doc["new_trials"] == 6
    study = optuna.load_study(study_name=doc["study_name"], storage=db(tmp_path))
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(6)) and len(set(numbers)) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert {t.user_attrs.get("metaopt_rank") for t in study.trials} >= {1, 2, 3, 4}


def test_default_storage_is_in_the_working_directory(root: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(str(root / "data" / "bin04.csv"), *FAST, "--trials", "2", "--sampler", "tpe",
                 "--warm-start", "0")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "metaopt-tune.db").is_file()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--storage", "foo"], "storage 'foo' is not a database URL"),
        (["--storage", "sqlite:////nonexistent/dir/x.db"], "cannot open the Optuna storage"),
        (["--sampler", "cmaes"], "unknown sampler 'cmaes'; choose one of: meta, tpe, random"),
        (["--algorithms", "xgboost"], "unknown algorithm 'xgboost'"),
        (["--metric", "r2"], "r2"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(root: Path, tmp_path: Path, args, needle) -> None:
    base = [str(root / "data" / "bin00.csv"), "--warm-start", "0", "--sampler", "random",
            "--storage", db(tmp_path)]
    result = CliRunner().invoke(app, ["tune", *base, *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("metaopt: error: ") and needle in lines[0]


def test_missing_optimizer_says_to_run_metaopt_train(root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tune", str(root / "data" / "bin00.csv"), "--warm-start", "0",
                                      "--models", str(tmp_path / "none"), "--storage", db(tmp_path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no trained model" in lines[0] and "metaopt train" in lines[0]
    no_optimizer = tmp_path / "no-optimizer"
    from metaopt.recommend import Recommender

    rec = Recommender.load(root / "models")
    rec.optimizer_ = None
    rec.save(no_optimizer)
    result = CliRunner().invoke(app, ["tune", str(root / "data" / "bin00.csv"), "--warm-start", "0",
                                      "--models", str(no_optimizer), "--storage", db(tmp_path)])
    assert result.exit_code == 2
    assert "without a learned optimizer" in result.output and "metaopt train" in result.output


def test_a_named_study_of_other_data_is_refused(root: Path, tmp_path: Path) -> None:
    common = [*FAST, "--trials", "2", "--sampler", "random", "--warm-start", "0",
              "--storage", db(tmp_path), "--study-name", "mine"]
    assert run(str(root / "data" / "bin00.csv"), *common).exit_code == 0
    result = CliRunner().invoke(app, ["tune", str(root / "data" / "bin05.csv"), *common])
    assert result.exit_code == 2
    assert "study 'mine' tunes another data" in result.output


def test_help_warns_that_the_output_is_a_pickle() -> None:
    result = CliRunner().invoke(app, ["tune", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "PICKLE" in text and "trust" in text and "--n-jobs" in text
