"""What Optuna's own tests (tests/samplers_tests/test_samplers.py) check of every sampler,
run on MetaSampler with the shipped models: seeding (also in another process),
reseed_rng, pickle and deepcopy, n_jobs > 1 (the constant liar: few duplicate configs,
also with two processes on one SQLite study), provenance, and param_map."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import joblib
import optuna
import pytest
from integration_fakes import METAFEATURES, SHAPE

from metaopt.integrations.optuna import MetaSampler, warm_start
from metaopt.spaces import get_space

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "datasets" / "models"
ALGS = ["hgb", "random_forest", "extra_trees", "linear", "knn"]


def synthetic(trial: optuna.Trial, algorithms=ALGS, pause: float = 0.0) -> float:
    """metaopt's naming, scored by a hash of the config: cheap, deterministic, no fitting."""
    alg = trial.suggest_categorical("algorithm", list(algorithms))
    params = get_space(alg).sample(trial, SHAPE, prefix=f"{alg}__")
    if pause:
        time.sleep(pause)
    digest = hashlib.sha256(json.dumps([alg, sorted(params.items())], default=str).encode()).digest()
    return digest[0] / 255.0


def sampler(seed: int | None = 0, **kwargs) -> MetaSampler:
    return MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=MODELS, seed=seed, **kwargs)


def params_of(study: optuna.Study) -> list[dict]:
    return [t.params for t in sorted(study.trials, key=lambda t: t.number)]


def run(s: MetaSampler, n: int = 6, **kwargs) -> list[dict]:
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(synthetic, n_trials=n, **kwargs)
    return params_of(study)


def duplicate_rate(study: optuna.Study) -> float:
    keys = [json.dumps(sorted(t.params.items()), default=str) for t in study.trials]
    return 1 - len(set(keys)) / len(keys)


def test_seed_reproduces_the_study_and_different_seeds_differ() -> None:
    first = run(sampler(5))
    assert run(sampler(5)) == first
    others = [run(sampler(seed)) for seed in (6, 7)]
    assert all(other != first for other in others)
    # the transfer stage's first proposal is its best pool configuration, whatever the seed
    assert all(other[0] == first[0] for other in others)


def test_seed_reproduces_the_study_in_another_process() -> None:
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        import optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        from test_sampler_host_contract import run, sampler
        print(json.dumps(run(sampler(5))))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "123"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(run(sampler(5))))


def test_reseed_rng_changes_the_sampling() -> None:
    s = sampler(5)
    s.reseed_rng()
    assert run(s) != run(sampler(5))


@pytest.mark.parametrize("roundtrip", [lambda s: pickle.loads(pickle.dumps(s)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_pickle_and_deepcopy_continue_the_same_stream(roundtrip) -> None:
    s = sampler(3)
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(synthetic, n_trials=3)
    twin = optuna.create_study(direction="maximize", sampler=roundtrip(s))
    twin.add_trials(study.trials)
    study.optimize(synthetic, n_trials=3)
    twin.optimize(synthetic, n_trials=3)
    assert params_of(twin) == params_of(study)


def test_pickled_sampler_is_small_and_joblib_dumps_the_study() -> None:
    s = sampler(0)
    assert len(pickle.dumps(s)) < 100_000  # the optimizer travels as its directory
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(synthetic, n_trials=2)
    buffer = io.BytesIO()
    joblib.dump(study, buffer)  # Optuna's recipe for saving an in-memory study
    buffer.seek(0)
    loaded = joblib.load(buffer)
    loaded.optimize(synthetic, n_trials=1)
    assert len(loaded.trials) == 3


def test_threads_give_few_duplicate_configs() -> None:
    s = sampler(0)
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(lambda t: synthetic(t, pause=0.01), n_trials=20, n_jobs=4)
    assert len(study.trials) == 20
    assert duplicate_rate(study) <= 0.05
    assert {t.user_attrs["metaopt_proposer"] for t in study.trials} == {"transfer"}


@pytest.mark.slow
def test_two_processes_on_one_sqlite_study_give_few_duplicate_configs(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    optuna.create_study(study_name="two", storage=url, direction="maximize")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        import optuna
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        from test_sampler_host_contract import sampler, synthetic
        study = optuna.load_study(study_name="two", storage={url!r}, sampler=sampler(int(sys.argv[1])))
        study.optimize(lambda t: synthetic(t, pause=0.02), n_trials=10)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(seed)], env=env) for seed in (1, 2)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    study = optuna.load_study(study_name="two", storage=url)
    assert len(study.trials) == 20
    assert duplicate_rate(study) <= 0.05


def test_constant_liar_off_replays_the_same_history() -> None:
    """The defect the liar fixes: without it, parallel trials propose the same config."""
    study = optuna.create_study(direction="maximize", sampler=sampler(0, constant_liar=False))
    trials = [study.ask() for _ in range(3)]
    for trial in trials:
        synthetic(trial)
    assert len({json.dumps(sorted(t.params.items()), default=str) for t in trials}) == 1
    study = optuna.create_study(direction="maximize", sampler=sampler(0))
    trials = [study.ask() for _ in range(3)]
    for trial in trials:
        synthetic(trial)
    assert len({json.dumps(sorted(t.params.items()), default=str) for t in trials}) == 3
    assert all("metaopt:claim" in study._storage.get_trial(t._trial_id).system_attrs for t in trials)


def test_every_trial_records_who_proposed_it() -> None:
    study = optuna.create_study(direction="maximize", sampler=sampler(0, max_meta_trials=3))
    warm_start(study, search_space={"algorithm": optuna.distributions.CategoricalDistribution(ALGS)},
               suggestions=[("knn", {})])
    study.enqueue_trial({"algorithm": "linear"})
    study.optimize(synthetic, n_trials=5)
    proposers = [t.user_attrs["metaopt_proposer"] for t in sorted(study.trials, key=lambda t: t.number)]
    assert proposers == ["warm_start", "enqueued", "transfer", "fallback:TPESampler", "fallback:TPESampler"]
    study = optuna.create_study(direction="maximize", sampler=sampler(0, transfer=False))
    study.optimize(synthetic, n_trials=2)
    assert {t.user_attrs["metaopt_proposer"] for t in study.trials} == {"learned_optimizer"}


def user_objective(trial: optuna.Trial) -> float:
    lr = trial.suggest_float("lr", 0.01, 0.3, log=True)
    leaves = trial.suggest_int("leaves", 8, 64, log=True)
    return -abs(lr - 0.1) - abs(leaves - 31) / 100


def test_param_map_lets_the_optimizer_drive_an_objectives_own_names() -> None:
    s = sampler(0, algorithms=["hgb"], param_map={"lr": "hgb__learning_rate", "leaves": "hgb__max_leaf_nodes"})
    study = optuna.create_study(direction="maximize", sampler=s)
    study.optimize(user_objective, n_trials=6)
    assert {t.user_attrs["metaopt_proposer"] for t in study.trials} == {"transfer"}
    assert all(0.01 <= t.params["lr"] <= 0.3 and 8 <= t.params["leaves"] <= 64 for t in study.trials)
    # the history maps back, and no configuration is proposed twice as the study sees it
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 6


def test_unknown_names_warn_once_and_go_to_the_fallback() -> None:
    study = optuna.create_study(direction="maximize", sampler=sampler(0, algorithms=["hgb"]))
    with pytest.warns(UserWarning, match="param_map=") as record:
        study.optimize(user_objective, n_trials=3)
    assert sum("param_map" in str(w.message) for w in record) == 1
    assert {t.user_attrs["metaopt_proposer"] for t in study.trials} == {"fallback:TPESampler"}
