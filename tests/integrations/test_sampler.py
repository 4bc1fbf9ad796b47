"""MetaSampler: proposals come from the optimizer, history replay, fixed params, fallbacks."""

from __future__ import annotations

import math

import optuna
import pytest
from integration_fakes import METAFEATURES, SHAPE
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from metaopt import ConfigError, ModelError
from metaopt.integrations.optuna import MetaSampler, objective, search_space
from metaopt.integrations.optuna._sampler import _MISSING, _into_distribution
from metaopt.spaces import get_space

KNN = {"n_neighbors": 7, "weights": "distance", "p": 1}
LINEAR = {"C": 3.0, "penalty": "elasticnet", "l1_ratio": 0.25, "class_weight": "balanced"}


def convention_objective(trial: optuna.Trial, algorithms=("linear", "knn")) -> float:
    """The naming convention without any model fitting: a cheap, deterministic objective."""
    alg = trial.suggest_categorical("algorithm", list(algorithms))
    params = get_space(alg).sample(trial, SHAPE, prefix=f"{alg}__")
    return float(len(str(params))) / 100.0


def make(fake, **kwargs) -> MetaSampler:
    return MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=fake, seed=0, **kwargs)


def test_trials_get_the_optimizers_proposal(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN, "linear": LINEAR}, weights={"knn": 3.0, "linear": 1.0})
    study = optuna.create_study(direction="maximize", sampler=make(fake))
    study.optimize(convention_objective, n_trials=4)
    for trial in study.trials:
        assert trial.params == {"algorithm": "knn", **{f"knn__{k}": v for k, v in KNN.items()}}
    # one run per trial, each replaying the trials finished before it
    assert [len(run.observed) for run in fake.runs] == [0, 1, 2, 3]


def test_proposals_of_the_trained_optimizer_are_valid_configs(optimizer, task) -> None:
    obj = objective(task=task, algorithms=["linear", "knn"])
    sampler = MetaSampler(task=task, algorithms=["linear", "knn"], optimizer=optimizer, seed=1)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: convention_objective(t), n_trials=12)
    space = obj.search_space
    for trial in study.trials:
        alg, params = obj.config(trial)
        assert alg in ("linear", "knn")
        get_space(alg).validate(params, obj.shape)  # raises if outside metaopt's space
        for name, value in trial.params.items():
            assert space[name]._contains(space[name].to_internal_repr(value))


def test_history_replay_order_values_and_failures(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN, "linear": LINEAR})
    sampler = make(fake)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    dists = search_space(SHAPE, ["linear", "knn"])
    knn = {"algorithm": "knn", "knn__n_neighbors": 3, "knn__weights": "uniform", "knn__p": 2}
    lin = {"algorithm": "linear", "linear__C": 0.5, "linear__penalty": "l2", "linear__class_weight": None}
    used = {k: dists[k] for k in {**knn, **lin}}
    study.add_trial(optuna.create_trial(params=knn, distributions={k: used[k] for k in knn}, value=0.7))
    study.add_trial(optuna.create_trial(params=lin, distributions={k: used[k] for k in lin},
                                        state=TrialState.FAIL))
    study.add_trial(optuna.create_trial(params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)},
                                        value=0.9))  # not metaopt's: skipped
    study.ask({"algorithm": dists["algorithm"]})  # left running: ignored
    study.enqueue_trial(knn)  # waiting: ignored
    trial_id = study._storage.create_new_trial(study._study_id)
    frozen = study._storage.get_trial(trial_id)
    assert sampler.sample_independent(study, frozen, "algorithm", dists["algorithm"]) in ("linear", "knn")
    assert fake.runs[-1].observed == [
        ("knn", {"n_neighbors": 3, "weights": "uniform", "p": 2}, 0.7),
        ("linear", {"C": 0.5, "penalty": "l2", "class_weight": None}, None),
    ]
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert TrialState.RUNNING in states and TrialState.WAITING in states


def test_minimize_flips_the_sign(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN})
    study = optuna.create_study(direction="minimize", sampler=make(fake))
    study.optimize(lambda t: 0.25 + convention_objective(t) * 0, n_trials=3)
    assert [v for _, _, v in fake.runs[-1].observed] == [-0.25, -0.25]


def test_enqueued_algorithm_is_kept_and_its_params_proposed(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN, "linear": LINEAR}, weights={"knn": 10.0, "linear": 1.0})
    study = optuna.create_study(direction="maximize", sampler=make(fake))
    study.enqueue_trial({"algorithm": "linear", "linear__C": 42.0})
    study.optimize(convention_objective, n_trials=1)
    params = study.trials[0].params
    assert params["algorithm"] == "linear" and params["linear__C"] == 42.0  # fixed values win
    assert params["linear__penalty"] == "elasticnet" and params["linear__l1_ratio"] == 0.25
    assert ("linear", "linear") in {(asked, got) for asked, got, _ in fake.runs[-1].proposed}


def test_algorithm_choices_are_restricted_to_the_study_and_to_algorithms(fake_optimizer) -> None:
    fake = fake_optimizer(algorithms=("hgb", "linear", "knn"), weights={"hgb": 100.0})
    study = optuna.create_study(direction="maximize", sampler=make(fake, algorithms=["hgb", "knn"]))
    study.optimize(lambda t: convention_objective(t, ("linear", "knn")), n_trials=6)
    assert {t.params["algorithm"] for t in study.trials} == {"knn"}


def test_unknown_params_go_to_the_fallback(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN}, weights={"knn": 2.0})
    fallback = optuna.samplers.RandomSampler(seed=3)
    study = optuna.create_study(direction="maximize", sampler=make(fake, fallback=fallback))

    def obj(trial: optuna.Trial) -> float:
        convention_objective(trial)
        return trial.suggest_float("extra", 10.0, 20.0) + trial.suggest_int("knn__unknown", 0, 5)

    study.optimize(obj, n_trials=5)
    extras = {t.params["extra"] for t in study.trials}
    assert len(extras) == 5 and all(10 <= x <= 20 for x in extras)
    assert all(t.params["knn__n_neighbors"] == 7 for t in study.trials)


def test_after_max_meta_trials_everything_goes_to_the_fallback(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN}, weights={"knn": 5.0})
    study = optuna.create_study(
        direction="maximize",
        sampler=make(fake, max_meta_trials=2, fallback=optuna.samplers.RandomSampler(seed=0)),
    )
    study.optimize(convention_objective, n_trials=12)
    assert len(fake.runs) == 2
    later = [t.params.get("knn__n_neighbors") for t in study.trials[2:]]
    assert later != [7] * len(later)


def test_values_are_mapped_into_narrower_study_distributions(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": {"n_neighbors": 40, "weights": "distance", "p": 1},
                                   "linear": LINEAR})
    study = optuna.create_study(direction="maximize", sampler=make(fake))

    def obj(trial: optuna.Trial) -> float:
        trial.suggest_categorical("algorithm", ["knn"])
        k = trial.suggest_int("knn__n_neighbors", 2, 20, step=3)
        w = trial.suggest_categorical("knn__weights", ["uniform"])  # single: Optuna fixes it
        p = trial.suggest_categorical("knn__p", [2, 3])  # 1 is not a choice: the fallback
        c = trial.suggest_float("linear__C", 0.1, 1.85, step=0.25)
        return float(k + p + c + len(w))

    study.optimize(obj, n_trials=3)
    for t in study.trials:
        assert t.params["knn__n_neighbors"] == 20 and t.params["knn__p"] in (2, 3)
        assert t.params["linear__C"] == pytest.approx(1.85)


@pytest.mark.parametrize(
    ("value", "dist", "expected"),
    [
        (150, IntDistribution(1, 100), 100),
        (0.4, IntDistribution(1, 100), 1),
        (7.6, IntDistribution(0, 10, step=2), 8),
        (11, IntDistribution(0, 8, step=2), 8),
        (1e-9, FloatDistribution(1e-3, 1.0, log=True), 1e-3),
        (0.33, FloatDistribution(0.0, 1.0, step=0.25), 0.25),
        (0.99, FloatDistribution(-1.0, 1.0, step=0.1), 1.0),
        ("distance", CategoricalDistribution(["uniform", "distance"]), "distance"),
        (True, CategoricalDistribution([1, 0]), _MISSING),
        ("l1", FloatDistribution(0.0, 1.0), _MISSING),
        (float("nan"), FloatDistribution(0.0, 1.0), _MISSING),
    ],
)
def test_into_distribution(value, dist, expected) -> None:
    got = _into_distribution(value, dist)
    if expected is _MISSING:
        assert got is _MISSING
    else:
        assert got == pytest.approx(expected) and type(got) is type(expected)
        assert dist._contains(dist.to_internal_repr(got))


def test_relative_sampling_agrees_with_independent(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN}, weights={"knn": 2.0})
    sampler = make(fake)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(convention_objective, n_trials=3)
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    space = sampler.infer_relative_search_space(study, frozen)
    assert set(space) == {"algorithm", "knn__n_neighbors", "knn__weights", "knn__p"}
    relative = sampler.sample_relative(study, frozen, space)
    assert relative == {"algorithm": "knn", **{f"knn__{k}": v for k, v in KNN.items()}}
    assert trial.suggest_int("knn__n_neighbors", 1, 100, log=True) == 7


def test_single_algorithm_mode_knows_unprefixed_names(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN})
    study = optuna.create_study(direction="maximize", sampler=make(fake, algorithms=["knn"]))

    def obj(trial: optuna.Trial) -> float:
        return float(trial.suggest_int("n_neighbors", 1, 50) + trial.suggest_categorical("p", [1, 2]))

    study.optimize(obj, n_trials=3)
    assert all(t.params == {"n_neighbors": 7, "p": 1} for t in study.trials)
    # the unprefixed history maps back to knn configs
    assert fake.runs[-1].observed[0][:2] == ("knn", {"n_neighbors": 7, "weights": "uniform", "p": 1})


def test_seed_makes_it_deterministic(optimizer) -> None:
    def run(seed: int, transfer: bool = True) -> list[dict]:
        sampler = MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=optimizer,
                              algorithms=["linear", "knn"], seed=seed, transfer=transfer)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(convention_objective, n_trials=6)
        return [t.params for t in study.trials]

    assert run(5) == run(5)
    # the RNN samples (the transfer stage is deterministic)
    assert run(5, transfer=False) == run(5, transfer=False)
    assert run(5, transfer=False) != run(6, transfer=False)


def test_first_trials_come_from_the_transfer_stage(optimizer) -> None:
    assert optimizer.transfer_ is not None and optimizer.meta_trials >= optimizer.horizon
    sampler = MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=optimizer,
                          algorithms=["linear", "knn"], seed=0)
    assert sampler.max_meta_trials == optimizer.meta_trials
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(convention_objective, n_trials=4)
    run = optimizer.start(METAFEATURES, SHAPE, algorithms=["linear", "knn"])
    compared = 0
    for trial in study.trials:
        if run.stage != "transfer":
            break
        alg, params = run.propose()
        assert trial.params["algorithm"] == alg
        for name, value in params.items():
            assert trial.params[f"{alg}__{name}"] == pytest.approx(value)
        run.observe(alg, params, trial.value)
        compared += 1
    assert compared >= 2, compared


def test_threads_share_one_sampler(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN}, weights={"knn": 2.0}, horizon=50)
    sampler = make(fake)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(convention_objective, n_trials=12, n_jobs=3)
    assert len(study.trials) == 12 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert all(t.params["knn__n_neighbors"] == 7 for t in study.trials)
    assert sampler._cache == {}  # every trial's proposal was dropped when it ended


def test_multi_objective_is_refused(fake_optimizer) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=make(fake_optimizer()))
    with pytest.raises(ValueError, match="single-objective"):
        study.optimize(lambda t: (convention_objective(t), 0.0), n_trials=1)


def test_missing_weights_say_to_run_metaopt_train(tmp_path, task) -> None:
    with pytest.raises(ModelError, match="metaopt train"):
        MetaSampler(task=task, optimizer=tmp_path / "none")


def test_needs_the_data(fake_optimizer) -> None:
    with pytest.raises(ConfigError, match="needs the data"):
        MetaSampler(optimizer=fake_optimizer())
    with pytest.raises(ConfigError, match="unknown algorithm"):
        make(fake_optimizer(), algorithms=["xgboost"])
    with pytest.raises(ConfigError, match="known to the learned optimizer"):
        make(fake_optimizer(), algorithms=["svm"])


def test_nan_values_in_history_are_failures(fake_optimizer) -> None:
    fake = fake_optimizer(configs={"knn": KNN})
    study = optuna.create_study(direction="maximize", sampler=make(fake))
    study.optimize(lambda t: math.nan if convention_objective(t) else 0.0, n_trials=3)
    assert all(t.state == TrialState.FAIL for t in study.trials)
    assert [v for _, _, v in fake.runs[-1].observed] == [None, None]
