"""warm_start on an objective with its own names: param_map, on_out_of_range, the warnings,
provenance, and two warm starts of one study at once."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from metaopt import ConfigError
from metaopt.integrations.optuna import warm_start

HGB = [
    {"algorithm": "hgb", "params": {"learning_rate": 0.05, "max_depth": 6, "max_iter": 200}, "rank": 1},
    {"algorithm": "hgb", "params": {"learning_rate": 0.5, "max_depth": 3, "max_iter": 100}, "rank": 2},
    {"algorithm": "hgb", "params": {"learning_rate": 0.1, "max_depth": 15, "max_iter": 50}, "rank": 3},
]
USER_SPACE = {"lr": FloatDistribution(0.01, 0.3, log=True), "depth": IntDistribution(2, 10)}
MAP = {"lr": "hgb__learning_rate", "depth": "hgb__max_depth"}


def _fixed(study: optuna.Study) -> list[dict]:
    return [t.system_attrs["fixed_params"] for t in study.get_trials(deepcopy=False)]


def test_param_map_enqueues_the_objectives_own_names_and_skips_out_of_range() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.warns(UserWarning, match="2 of 3 suggestions .* skipped .*on_out_of_range='clip'"):
        out = warm_start(study, suggestions=HGB, search_space=USER_SPACE, param_map=MAP)
    # lr=0.5 is above the study's 0.3, depth=15 above its 10: suggestions 2 and 3 are skipped
    assert [e["rank"] for e in out] == [1]
    assert _fixed(study) == [{"lr": 0.05, "depth": 6}]  # never metaopt's names, never {}
    trial = study.get_trials(deepcopy=False)[0]
    assert trial.user_attrs["metaopt_proposer"] == "warm_start" and trial.user_attrs["metaopt_rank"] == 1
    assert out[0]["left_out"] == {"max_iter": 200}


def test_clip_puts_values_into_the_study_distributions() -> None:
    study = optuna.create_study(direction="maximize")
    out = warm_start(study, suggestions=HGB, search_space=USER_SPACE, param_map=MAP, on_out_of_range="clip")
    assert [e["rank"] for e in out] == [1, 2, 3]
    assert _fixed(study) == [{"lr": 0.05, "depth": 6}, {"lr": 0.3, "depth": 3}, {"lr": 0.1, "depth": 10}]


def test_raise_refuses_before_enqueueing_anything() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match="'lr' = 0.5"):
        warm_start(study, suggestions=HGB, search_space=USER_SPACE, param_map=MAP, on_out_of_range="raise")
    assert study.get_trials(deepcopy=False) == []
    with pytest.raises(ConfigError, match="on_out_of_range"):
        warm_start(study, suggestions=HGB, search_space=USER_SPACE, param_map=MAP, on_out_of_range="wrap")


def test_param_map_with_an_algorithm_choice_and_unchecked_names() -> None:
    study = optuna.create_study(direction="maximize")
    out = warm_start(study, param_map={"model": "algorithm", "k": "knn__n_neighbors", "lr": "hgb__learning_rate"},
                     suggestions=[("knn", {"n_neighbors": 9, "p": 1}), ("hgb", {"learning_rate": 0.2}),
                                  ("linear", {"C": 1.0})])
    # no distributions known yet: the mapped names are enqueued unchecked; linear is not mapped
    assert _fixed(study) == [{"model": "knn", "k": 9}, {"model": "hgb", "lr": 0.2}]
    assert [e["algorithm"] for e in out] == ["knn", "hgb"]


def test_nothing_maps_warns_and_enqueues_nothing() -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.create_trial(params={"lr": 0.1, "depth": 3}, distributions=USER_SPACE, value=0.5))
    # the study's own names, no param_map: not metaopt's, and never {}
    with pytest.warns(UserWarning, match="enqueued nothing.*param_map"):
        assert warm_start(study, suggestions=HGB, algorithms=["hgb"]) == []
    assert len(study.get_trials(deepcopy=False)) == 1


def test_bad_param_map_targets_are_config_errors() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match="no parameter 'depth'"):
        warm_start(study, suggestions=HGB, param_map={"d": "hgb__depth"})
    with pytest.raises(ConfigError, match="names no algorithm"):
        warm_start(study, suggestions=HGB, param_map={"d": "max_depth"})
    # with one algorithm, its unprefixed names are targets too
    out = warm_start(study, suggestions=HGB[:1], algorithms=["hgb"], param_map={"d": "max_depth"})
    assert out[0]["params"] == {"d": 6}


def test_two_concurrent_warm_starts_run_each_suggestion_once(tmp_path) -> None:
    """Two processes that warm-start one study at once both pass the "already in the study"
    check and both enqueue; the later one's warm start turns the repeats into plain trials."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    study = optuna.create_study(study_name="s", storage=url, direction="maximize")
    space = {"algorithm": CategoricalDistribution(["knn"]), "knn__n_neighbors": IntDistribution(1, 50)}
    for _ in range(2):  # what the two processes enqueued of suggestions 3 and 5
        for k in (3, 5):
            study.enqueue_trial({"algorithm": "knn", "knn__n_neighbors": k},
                                user_attrs={"metaopt_proposer": "warm_start", "metaopt_rank": 1})
    other = optuna.load_study(study_name="s", storage=url)
    warm_start(other, search_space=space, suggestions=[("knn", {"n_neighbors": k}) for k in (3, 5, 7)])
    trials = study.get_trials(deepcopy=False)
    fixed = [t.system_attrs["fixed_params"] for t in trials if t.system_attrs.get("fixed_params")]
    assert sorted(f["knn__n_neighbors"] for f in fixed) == [3, 5, 7]  # each once
    plain = [t for t in trials if not t.system_attrs.get("fixed_params")]
    assert len(plain) == 2
    assert all(t.user_attrs["metaopt_proposer"] is None and t.user_attrs["metaopt_rank"] is None for t in plain)
    assert all(t.state == TrialState.WAITING for t in trials)
