"""``metaopt tune``: a warm-started, meta-sampled study in SQLite; workers; outputs; errors."""

from __future__ import annotations

import json
import shlex
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


def test_summary_is_short_and_the_spec_goes_to_a_file(root: Path, tmp_path: Path) -> None:
    result = run(str(root / "data" / "bin01.csv"), *FAST, "--trials", "4", "--warm-start", "2",
                 "--models", str(root / "models"), "--storage", db(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert len(out.strip().splitlines()) <= 6 and '"class"' not in out
    assert out.startswith("best: ") and "roc_auc" in out and "(trial #" in out
    assert "4 trials done (4 scored, 0 failed); 4 run now, 2 warm-started from metaopt suggest" in out
    spec_line = next(line for line in out.splitlines() if line.startswith("spec: "))
    spec_file = Path(spec_line.split()[1])
    assert spec_file.parent == tmp_path and spec_file.name.endswith(".spec.json")
    doc = json.loads(spec_file.read_text())
    assert doc["format"] == "metaopt-tune-spec" and doc["spec"]["class"] == "sklearn.pipeline.Pipeline"
    # the first lines (stderr) say the time limit and where the study is
    first = result.stderr.splitlines()
    assert "60 s per trial (auto: 10 × the expected" in first[0] and "--time-limit to change" in first[0]
    assert f"in {tmp_path / 'tune.db'} (new): running 4 trials, 2 of them metaopt's suggestions" in first[1]


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


def test_default_storage_is_in_the_working_directory_and_says_so(
    root: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(str(root / "data" / "bin04.csv"), *FAST, "--trials", "2", "--sampler", "tpe",
                 "--warm-start", "0")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "metaopt-tune.db").is_file()
    assert f"in {tmp_path / 'metaopt-tune.db'} (new)" in result.stderr


def test_the_repository_ignores_the_default_study_and_spec_files() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().split()
    assert "metaopt-tune.db" in ignored and "metaopt-*.spec.json" in ignored


def test_another_sampler_gets_its_own_study_and_a_rerun_says_what_it_resumes(
    root: Path, tmp_path: Path
) -> None:
    args = [str(root / "data" / "bin05.csv"), *FAST, "--warm-start", "0", "--storage", db(tmp_path)]
    first = run(*args, "--sampler", "random", "--trials", "2")
    assert first.exit_code == 0, first.output and "(new): running 2 trials" in first.stderr
    other = run(*args, "--sampler", "tpe", "--trials", "2")
    assert "-tpe-" in other.stderr and "(new): running 2 trials" in other.stderr
    again = run(*args, "--sampler", "random", "--trials", "2")
    assert "(resumed: 2 of 2 trials done): nothing to run; pass --trials 12 to run 10 more" in again.stderr
    assert "0 run now" in again.stdout
    more = run(*args, "--sampler", "random", "--trials", "3")
    assert "(resumed: 2 of 3 trials done): running 1 more" in more.stderr and "1 run now" in more.stdout
    named = [*args, "--study-name", "mine", "--trials", "1"]
    assert run(*named, "--sampler", "random").exit_code == 0
    switched = run(*named, "--sampler", "tpe")
    assert "earlier runs of this study proposed with random; this run uses tpe" in switched.stderr


def test_time_limit_option_and_help(root: Path, tmp_path: Path) -> None:
    base = [str(root / "data" / "bin02.csv"), *FAST, "--trials", "1", "--sampler", "random",
            "--warm-start", "0", "--storage", db(tmp_path)]
    given = run(*base, "--time-limit", "30")
    assert given.exit_code == 0 and "30 s per trial (given" in given.stderr.splitlines()[0]
    none = run(*base, "--time-limit", "none")
    assert none.exit_code == 0 and "no time limit per trial" in none.stderr.splitlines()[0]
    bad = CliRunner().invoke(app, ["tune", *base, "--time-limit", "soon"])
    assert bad.exit_code == 2
    assert bad.output.strip() == (
        "metaopt: error: --time-limit 'soon' is not a number of seconds; "
        "pass seconds such as --time-limit 120, auto (the default) or none"
    )
    text = " ".join(CliRunner().invoke(app, ["tune", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "auto: 10 x the expected time" in text and "within 60-600 s" in text


def test_ctrl_c_says_what_was_saved_and_how_to_resume(root: Path, tmp_path: Path, monkeypatch) -> None:
    from metaopt.integrations.optuna._objective import Objective

    real = Objective.evaluate
    calls = []

    def interrupted_third(self, algorithm, params):
        calls.append(algorithm)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, algorithm, params)

    monkeypatch.setattr(Objective, "evaluate", interrupted_third)
    data = str(root / "data" / "bin03.csv")
    args = [data, *FAST, "--trials", "4", "--sampler", "random", "--warm-start", "0",
            "--storage", db(tmp_path)]
    result = CliRunner().invoke(app, ["tune", *args])
    assert result.exit_code == 130
    lines = result.output.strip().splitlines()[-2:]
    assert "Traceback" not in result.output
    assert lines[0].startswith("metaopt: interrupted: study metaopt-") and f"in {tmp_path / 'tune.db'}" in lines[0]
    assert "keeps 2 of 4 trials" in lines[0]
    assert lines[1].startswith("resume with: metaopt tune ")
    words = shlex.split(lines[1].removeprefix("resume with: "))
    assert words[:3] == ["metaopt", "tune", data]
    assert dict(zip(words[3::2], words[4::2], strict=True)) == dict(zip(args[1::2], args[2::2], strict=True))
    monkeypatch.setattr(Objective, "evaluate", real)
    again = CliRunner().invoke(app, words[1:], catch_exceptions=False)  # the command, as printed
    assert again.exit_code == 0 and "(resumed: 2 of 4 trials done; 1 lost/interrupted trial(s) rerun)" in again.stderr
    assert "4 trials done (4 scored, 0 failed, 1 lost or interrupted and rerun); 2 run now" in again.stdout
    name = lines[0].split()[3]
    study = optuna.load_study(study_name=name, storage=db(tmp_path))
    stopped = study.trials[2]
    assert stopped.state == optuna.trial.TrialState.FAIL and stopped.user_attrs["status"] == "interrupted"
    rerun = [t for t in study.trials if t.user_attrs.get("rerun_of") == 2]
    assert len(rerun) == 1 and rerun[0].params == stopped.params
    assert rerun[0].state == optuna.trial.TrialState.COMPLETE


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
