"""warm_start: suggestions mapped onto the study's names and distributions, or refused."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaopt import ConfigError
from metaopt.integrations.optuna import search_space, warm_start
from metaopt.spaces import DataShape


def test_enqueues_the_top_suggestions_under_the_convention(task, models) -> None:
    study = optuna.create_study(direction="maximize")
    out = warm_start(study, task=task, n=3, algorithms=["linear", "knn"], models=models)
    assert [e["rank"] for e in out] == [1, 2, 3]
    space = search_space(DataShape.of(task), ["linear", "knn"])
    waiting = study.get_trials(deepcopy=False)
    assert len(waiting) == 3
    for entry, trial in zip(out, waiting, strict=True):
        params = trial.system_attrs["fixed_params"]
        assert params == entry["params"] and params["algorithm"] == entry["algorithm"]
        assert all(k == "algorithm" or k.startswith(entry["algorithm"] + "__") for k in params)
        for name, value in params.items():
            assert space[name]._contains(space[name].to_internal_repr(value))
        assert trial.user_attrs["metaopt_rank"] == entry["rank"]
        assert trial.user_attrs["metaopt_prediction"] == pytest.approx(entry["prediction"])
        assert entry["left_out"] == {}
    # a second call finds them in the study and enqueues nothing
    assert warm_start(study, task=task, n=3, algorithms=["linear", "knn"], models=models) == []
    assert len(study.get_trials(deepcopy=False)) == 3


def test_data_path_and_study_trials_give_the_space(root, models) -> None:
    study = optuna.create_study(direction="maximize")
    study.add_trial(optuna.create_trial(
        params={"algorithm": "knn", "knn__n_neighbors": 5},
        distributions={"algorithm": CategoricalDistribution(["knn", "linear"]),
                       "knn__n_neighbors": IntDistribution(1, 100, log=True)},
        value=0.5,
    ))
    out = warm_start(study, root / "data" / "bin02.csv", n=2, models=models)
    assert out and {e["algorithm"] for e in out} <= {"knn", "linear"}
    # names the trials have not shown yet come from metaopt's own space
    assert any(len(e["params"]) > 2 for e in out)


def test_a_value_outside_the_study_distribution_is_refused(task) -> None:
    study = optuna.create_study(direction="maximize")
    space = {"algorithm": CategoricalDistribution(["knn"]),
             "knn__n_neighbors": IntDistribution(1, 10)}
    with pytest.raises(ConfigError) as info:
        warm_start(study, task=task, search_space=space, on_out_of_range="raise",
                   suggestions=[{"algorithm": "knn", "params": {"n_neighbors": 40}, "rank": 1}])
    text = str(info.value)
    assert "'knn__n_neighbors'" in text and "40" in text and "IntDistribution" in text
    assert "widen" in text and "smaller n" in text and "on_out_of_range" in text
    assert study.get_trials(deepcopy=False) == []  # nothing half-enqueued


def test_an_algorithm_that_is_not_a_choice_is_refused() -> None:
    study = optuna.create_study(direction="maximize")
    space = {"algorithm": CategoricalDistribution(["knn", "linear"])}
    with pytest.raises(ConfigError, match="'algorithm' = 'hgb'"):
        warm_start(study, search_space=space, suggestions=[("hgb", {"max_depth": 3})],
                   on_out_of_range="raise")


def test_params_the_study_does_not_search_are_left_out_and_reported() -> None:
    study = optuna.create_study(direction="maximize")
    space = {"algorithm": CategoricalDistribution(["knn"]), "knn__n_neighbors": IntDistribution(1, 50)}
    out = warm_start(study, search_space=space,
                     suggestions=[("knn", {"n_neighbors": 9, "weights": "distance", "p": 1})])
    assert out[0]["params"] == {"algorithm": "knn", "knn__n_neighbors": 9}
    assert out[0]["left_out"] == {"weights": "distance", "p": 1}
    assert out[0]["prediction"] is None


def test_single_algorithm_study_with_unprefixed_names_is_inferred(task, models) -> None:
    study = optuna.create_study(direction="maximize")
    space = {"n_neighbors": IntDistribution(1, 100, log=True),
             "weights": CategoricalDistribution(["uniform", "distance"])}
    out = warm_start(study, task=task, n=4, search_space=space, models=models)
    assert out and all(e["algorithm"] == "knn" for e in out)
    assert all(set(e["params"]) == {"n_neighbors", "weights"} for e in out)
    assert all(set(e["left_out"]) == {"p"} for e in out)


def test_single_algorithm_study_with_prefixed_names(models, task) -> None:
    study = optuna.create_study(direction="maximize")
    space = {"linear__C": FloatDistribution(1e-3, 1e3, log=True)}
    out = warm_start(study, task=task, n=2, search_space=space, models=models)
    assert out and all(set(e["params"]) == {"linear__C"} for e in out)


@pytest.mark.parametrize(
    ("space", "algorithms", "match"),
    [
        ({"C": FloatDistribution(1e-3, 1e3, log=True)}, None, "cannot tell which algorithm"),
        ({"hgb__max_depth": IntDistribution(2, 10), "knn__p": CategoricalDistribution([1, 2])}, None,
         "several algorithms"),
        ({"C": FloatDistribution(1e-3, 1e3, log=True)}, ["svm", "linear"], "searches one algorithm"),
    ],
)
def test_ambiguous_single_algorithm_studies_need_algorithms(space, algorithms, match) -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match=match):
        warm_start(study, search_space=space, algorithms=algorithms, suggestions=[("svm", {"C": 1.0})])


def test_explicit_algorithm_picks_among_ambiguous_names() -> None:
    study = optuna.create_study(direction="maximize")
    space = {"C": FloatDistribution(1e-3, 1e3, log=True)}
    out = warm_start(study, search_space=space, algorithms=["svm"],
                     suggestions=[("linear", {"C": 2.0}), ("svm", {"C": 3.0})])
    assert [e["params"] for e in out] == [{"C": 3.0}]


def test_algorithms_outside_the_study_choices() -> None:
    study = optuna.create_study(direction="maximize")
    space = {"algorithm": CategoricalDistribution(["knn", "linear"])}
    with pytest.raises(ConfigError, match="is a choice of the study's 'algorithm'"):
        warm_start(study, search_space=space, algorithms=["hgb"], suggestions=[("hgb", {})])


def test_nothing_to_go_on() -> None:
    study = optuna.create_study(direction="maximize")
    with pytest.raises(ConfigError, match="search space"):
        warm_start(study, suggestions=[("knn", {"n_neighbors": 3})])
    with pytest.raises(ConfigError, match="non-negative"):
        warm_start(study, n=-1)
    assert warm_start(study, n=0) == []
