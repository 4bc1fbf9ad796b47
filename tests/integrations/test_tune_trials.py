"""tune(): a trial whose process is killed is recorded as lost, reclaimed after the
heartbeat grace period and rerun; progress reports the trial in flight and an ETA;
the default per-trial time limit follows the models' fit-time prediction."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import metaopt.integrations.optuna._tune as tune_module
from metaopt.integrations.optuna import TuneProgress, tune

REPO = Path(__file__).resolve().parents[2]

# Started in a child process: the same tune() call, with every evaluation hanging, so the
# parent can SIGKILL it in the middle of its first trial.
_HANGING_RUN = """
import sys, time
import metaopt.integrations.optuna._tune as T
from metaopt.integrations.optuna._objective import Objective
T.HEARTBEAT_INTERVAL_S, T.HEARTBEAT_GRACE_S = 1, 2
Objective.evaluate = lambda self, algorithm, params: time.sleep(600)
T.tune(sys.argv[1], n_trials=3, sampler="random", warm_start=0, algorithms=["linear"],
       folds=2, storage=sys.argv[2], study_name="s", time_limit=None, seed=0)
"""


def _running_trial(url: str, deadline: float) -> optuna.trial.FrozenTrial:
    while time.monotonic() < deadline:
        try:  # the child may be creating the schema or the study right now
            study = optuna.load_study(study_name="s", storage=tune_module.open_storage(url))
        except (KeyError, tune_module.ConfigError):
            time.sleep(0.2)
            continue
        running = study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
        if running and "algorithm" in running[0].params:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("the child process started no trial within its deadline")


@pytest.mark.slow
def test_a_killed_trial_is_marked_lost_reclaimed_and_rerun(root: Path, tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    data = str(root / "data" / "bin00.csv")
    child = subprocess.Popen([sys.executable, "-c", _HANGING_RUN, data, url], cwd=REPO)
    try:
        victim = _running_trial(url, time.monotonic() + 120)
        time.sleep(0.5)  # let it record a heartbeat or two
    finally:
        child.kill()  # SIGKILL: no cleanup, the trial stays RUNNING
        child.wait()
    killed_at = time.time()

    monkeypatch.setattr(tune_module, "HEARTBEAT_INTERVAL_S", 1)
    monkeypatch.setattr(tune_module, "HEARTBEAT_GRACE_S", 2)
    result = tune(data, n_trials=3, sampler="random", warm_start=0, algorithms=["linear"], folds=2,
                  storage=url, study_name="s", time_limit=None, seed=0)

    study = optuna.load_study(study_name="s", storage=url)
    lost = study.trials[victim.number]
    assert lost.state == optuna.trial.TrialState.FAIL
    assert lost.user_attrs["status"] == "lost" and "heartbeat" in lost.user_attrs["message"]
    reclaim_s = lost.datetime_complete.timestamp() - killed_at
    print(f"reclaimed {reclaim_s:.1f} s after SIGKILL (heartbeat 1 s, grace 2 s)")
    # stale once the last heartbeat (≤ 1 s before the kill) is 2 s old; checked every second
    assert reclaim_s <= 2 + 1 + 1.5
    reruns = [t for t in study.trials if t.user_attrs.get("rerun_of") == victim.number]
    assert len(reruns) == 1 and reruns[0].state == optuna.trial.TrialState.COMPLETE
    assert reruns[0].params == lost.params
    assert result.n_done == 3 and result.n_lost == 1 and result.n_complete == 3


def test_progress_names_the_trial_in_flight_and_an_eta(task, tmp_path: Path) -> None:
    seen: list[TuneProgress] = []
    plans = []
    result = tune(task=task, n_trials=3, sampler="random", warm_start=0, algorithms=["linear", "knn"],
                  folds=2, storage=f"sqlite:///{tmp_path / 'p.db'}", time_limit=None, seed=0,
                  progress=seen.append, on_start=plans.append)
    assert result.n_done == 3
    assert len(plans) == 1 and plans[0].to_run == 3 and not plans[0].resumed
    assert plans[0].location == str((tmp_path / "p.db").resolve())
    in_flight = [p for p in seen if p.running]
    assert in_flight and all(r.algorithm in ("linear", "knn") for p in in_flight for r in p.running)
    assert all(r.started <= time.time() for p in in_flight for r in p.running)
    later = [p for p in seen if p.done >= 1 and p.done < 3]
    assert later and all(p.mean_trial_s is not None and p.eta() is not None for p in later)
    assert seen[-1].done == 3 and seen[-1].eta() == 0.0


def test_the_auto_time_limit_follows_the_expected_fit_time(task, models: Path, tmp_path: Path) -> None:
    plans = []
    common = {"task": task, "n_trials": 1, "sampler": "random", "warm_start": 0, "folds": 2,
              "algorithms": ["linear"], "storage": f"sqlite:///{tmp_path / 'a.db'}", "on_start": plans.append}
    result = tune(models=models, **common)
    # 150 rows: linear's expected fit is milliseconds, so the floor applies
    assert result.time_limit == 60.0 and plans[0].time_limit == 60.0
    assert plans[0].time_limit_note.startswith("auto: 10 × the expected")
    tune(models=tmp_path / "no-models", **common)
    assert plans[1].time_limit == 300.0 and "no fit-time model" in plans[1].time_limit_note
    assert tune(time_limit=None, **common).time_limit is None
    with pytest.raises(tune_module.ConfigError, match="time_limit must be 'auto', None or a positive"):
        tune(time_limit=-1, **common)
