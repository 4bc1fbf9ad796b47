"""The contract every search space in ``metaopt.spaces.SPACES`` must meet (CONVENTIONS.md 8).

Each test runs once per space (and per task kind where it matters), so a new space,
e.g. the MLP, gets the whole suite by being listed in ``SPACES``.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from metaopt import ConfigError
from metaopt.spaces import (
    SPACES,
    DataShape,
    SearchSpace,
    config_id,
    estimator_to_spec,
    spec_to_estimator,
)

KINDS = ("binary", "multiclass", "regression")
N_ROWS = 120
SIZE_CAP = 8  # ensembles, boosting iterations and epochs are capped in these tests


@pytest.fixture(autouse=True)
def _one_thread():
    """One OpenMP/BLAS thread, as the evaluation engine runs models (DESIGN.md, Scale):
    HGB's OpenMP threads otherwise spin against each other on busy machines."""
    with threadpool_limits(1):
        yield


@pytest.fixture(params=SPACES, ids=[s.name for s in SPACES])
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return request.param


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def task(make_task, space: SearchSpace, kind: str):
    if kind not in space.kinds:
        pytest.skip(f"{space.name} does not support {kind}")
    return make_task(kind, n_rows=N_ROWS, n_numeric=3, n_categorical=2, missing=0.1, seed=3)


def _require(space: SearchSpace, kind: str) -> None:
    if kind not in space.kinds:
        pytest.skip(f"{space.name} does not support {kind}")


def _raw_frame(task) -> pd.DataFrame:
    """The task's features as a user would pass them: strings for categories, an unseen
    category, and extra missing values."""
    raw = task.X.copy()
    for col in task.categorical_columns:
        raw[col] = raw[col].astype(object)
        raw.loc[raw.index[0], col] = "never-seen-before"
        raw.loc[raw.index[1], col] = np.nan
    num = task.numeric_columns[0]
    raw.loc[raw.index[2], num] = np.nan
    return raw


def _fit_predict(space: SearchSpace, params, task, seed: int = 0) -> np.ndarray:
    est = space.to_estimator(params, task, seed=seed, size_cap=SIZE_CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny capped models
        est.fit(task.X, task.y)
        pred = np.asarray(est.predict(_raw_frame(task)))
    assert pred.shape == (task.n_rows,)
    if task.kind == "regression":
        assert np.isfinite(pred.astype(float)).all()
    else:
        assert set(pred.tolist()) <= set(task.classes)
    return pred


# -- configurations ---------------------------------------------------------------------


def test_class_attributes(space: SearchSpace) -> None:
    assert isinstance(space.name, str) and space.name
    assert set(space.kinds) <= set(KINDS) and space.kinds
    assert space.encoding in ("ordinal", "onehot")
    assert isinstance(space.scale_sensitive, bool)


def test_params_are_well_formed(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(N_ROWS, 5, kind, 0 if kind == "regression" else 3)
    params = space.params(shape)
    names = [p.name for p in params]
    assert len(names) == len(set(names))
    seen: set[str] = set()
    for p in params:
        if p.condition is not None:
            assert p.condition[0] in seen, f"{p.name}'s parent must come before it"
        seen.add(p.name)


def test_default_and_low_cost_validate(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(N_ROWS, 5, kind, 0 if kind == "regression" else 3)
    for config in (space.default(kind), space.low_cost(kind)):
        valid = space.validate(config, shape)
        assert valid == space.validate(valid, shape)
        json.dumps(valid, allow_nan=False)
    # on data of ordinary size the defaults are already canonical (same config_id)
    big = DataShape(5000, 10, kind, 0 if kind == "regression" else 3)
    for config in (space.default(kind), space.low_cost(kind)):
        assert space.validate(config, big) == config
        assert config_id(space.name, space.validate(config, big)) == config_id(space.name, config)


def test_default_fits_and_predicts_raw_data(space: SearchSpace, task) -> None:
    _fit_predict(space, space.default(task.kind), task)
    _fit_predict(space, space.low_cost(task.kind), task)


def test_design_validates_builds_and_a_subset_fits(space: SearchSpace, task) -> None:
    shape = DataShape.of(task)
    design = space.design(50, shape, seed=0)
    assert len(design) == 50
    assert len({config_id(space.name, c) for c in design}) == 50
    for config in design:
        assert space.validate(config, shape) == config
        space.to_estimator(config, task, size_cap=SIZE_CAP)
    for config in design[:4]:
        _fit_predict(space, config, task)


def test_design_is_deterministic(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(500, 8, kind, 0 if kind == "regression" else 3)
    a = space.design(20, shape, seed=1)
    assert a == space.design(20, shape, seed=1)
    assert a != space.design(20, shape, seed=2)


def test_unit_corners_and_random_points_fit(space: SearchSpace, task) -> None:
    shape = DataShape.of(task)
    d = len(space.params(shape))
    rng = np.random.default_rng(0)
    corners = [np.zeros(d), np.ones(d)]
    for u in corners + list(rng.random((10, d))):
        config = space.from_unit(u, shape)
        assert space.validate(config, shape) == config
        space.to_estimator(config, task, size_cap=SIZE_CAP)
    for u in corners:
        _fit_predict(space, space.from_unit(u, shape), task)


def test_unit_round_trip(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(1000, 6, kind, 0 if kind == "regression" else 3)
    params = space.params(shape)
    rng = np.random.default_rng(1)
    for u in rng.random((40, len(params))):
        config = space.from_unit(u, shape)
        v = space.to_unit(config, shape)
        assert v.shape == (len(params),)
        assert space.from_unit(v, shape) == config
        for p, ui, vi in zip(params, u, v, strict=True):
            if p.name not in config:
                assert math.isnan(vi)
                continue
            assert 0.0 <= vi <= 1.0
            if p.type == "float":
                assert vi == pytest.approx(ui, abs=1e-9)
            else:  # ints and categoricals return the centre of the value's bin
                assert p.from_unit(vi) == p.from_unit(ui)


def test_validate_rejects_unknown_and_out_of_range(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(N_ROWS, 5, kind, 0 if kind == "regression" else 3)
    with pytest.raises(ConfigError, match="no_such_param"):
        space.validate({"no_such_param": 1}, shape)
    # a configuration with every parameter active is easiest to break one at a time
    full = space.from_unit(np.ones(len(space.params(shape))), shape)
    for p in space.params(shape):
        bad: object
        if p.type == "categorical":
            bad = "not-a-choice"
        else:
            bad = p.high * 10 + 10  # type: ignore[operator]
        base = full if p.name in full else {}
        if p.name not in full:
            continue
        with pytest.raises(ConfigError, match=p.name) as info:
            space.validate({**base, p.name: bad}, shape)
        assert info.value.hint
        if p.type != "categorical":
            with pytest.raises(ConfigError, match=p.name):
                space.validate({**base, p.name: p.low - 1 if not p.log else p.low / 10}, shape)


def test_validate_rejects_switched_off_parameters(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    shape = DataShape(N_ROWS, 5, kind, 0 if kind == "regression" else 3)
    for p in space.params(shape):
        if p.condition is None:
            continue
        parent, values = p.condition
        parent_param = next(q for q in space.params(shape) if q.name == parent)
        off = [c for c in parent_param.choices if c not in values]
        if not off:
            continue
        with pytest.raises(ConfigError, match=p.name):
            space.validate({parent: off[0], p.name: p.from_unit(0.5)}, shape)


# -- Optuna -----------------------------------------------------------------------------


def test_distributions_and_sampling_respect_conditions(space: SearchSpace, kind: str) -> None:
    _require(space, kind)
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shape = DataShape(N_ROWS, 5, kind, 0 if kind == "regression" else 3)
    dists = space.distributions(shape)
    assert list(dists) == [p.name for p in space.params(shape)]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        config = space.sample(trial, shape, prefix=f"{space.name}__")
        assert space.validate(config, shape) == config
        assert set(trial.params) == {f"{space.name}__{k}" for k in config}
        study.tell(trial, 0.0)
    # a FixedTrial replays a configuration exactly (e.g. a warm start)
    for config in space.design(8, shape, seed=3):
        assert space.sample(optuna.trial.FixedTrial(config), shape) == config
        for name, value in config.items():
            assert dists[name]._contains(dists[name].to_internal_repr(value))


# -- estimators -------------------------------------------------------------------------


def test_estimators_are_single_threaded_and_seeded(space: SearchSpace, task) -> None:
    shape = DataShape.of(task)
    for config in [space.default(task.kind), *space.design(5, shape, seed=0)]:
        est = space.to_estimator(config, task, seed=7)
        assert [name for name, _ in est.steps] == ["prepare", "encode", "model"]
        for key, value in est.get_params(deep=True).items():
            leaf = key.rsplit("__", 1)[-1]
            if leaf == "n_jobs":
                owner = (
                    est.get_params(deep=True).get(key.rsplit("__", 1)[0]) if "__" in key else est
                )
                if type(owner).__name__ != "LogisticRegression":  # n_jobs has no effect there
                    assert value == 1, key
            if leaf == "random_state":
                assert value == 7, key


def test_spec_round_trip_gives_identical_predictions(space: SearchSpace, task) -> None:
    shape = DataShape.of(task)
    for config in [space.default(task.kind), space.design(3, shape, seed=5)[-1]]:
        est = space.to_estimator(config, task, seed=3, size_cap=SIZE_CAP)
        spec = estimator_to_spec(est)
        text = json.dumps(spec, allow_nan=False)
        rebuilt = spec_to_estimator(json.loads(text))
        assert estimator_to_spec(rebuilt) == spec
        assert sorted(rebuilt.get_params(deep=True)) == sorted(est.get_params(deep=True))
        a = _fit_predict(space, config, task, seed=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = np.asarray(rebuilt.fit(task.X, task.y).predict(_raw_frame(task)))
        np.testing.assert_array_equal(a, b)


def test_supports_small_data(space: SearchSpace, kind: str) -> None:
    if kind not in space.kinds:
        assert isinstance(space.supports(DataShape(100, 5, kind, 3)), str)
    else:
        assert space.supports(DataShape(100, 5, kind, 0 if kind == "regression" else 3)) is None


@pytest.mark.parametrize(("n_numeric", "n_categorical"), [(3, 0), (0, 3)])
def test_only_numeric_or_only_categorical_columns(
    space: SearchSpace, make_task, n_numeric, n_categorical
) -> None:
    kind = space.kinds[0]
    task = make_task(
        kind, n_rows=80, n_numeric=n_numeric, n_categorical=n_categorical, missing=0.1, seed=1
    )
    shape = DataShape.of(task)
    for config in (space.default(kind), space.from_unit(np.ones(len(space.params(shape))), shape)):
        est = space.to_estimator(config, task, size_cap=SIZE_CAP)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(task.X, task.y)
            assert len(est.predict(task.X)) == task.n_rows


def test_high_cardinality_categories(space: SearchSpace, make_task) -> None:
    kind = space.kinds[-1]
    task = make_task(kind, n_rows=300, n_numeric=2, n_categorical=1, missing=0.0, seed=2)
    codes = np.arange(task.n_rows) % 120  # 120 levels: more than HGB's smallest max_bins
    task.X["cat0"] = pd.Categorical([f"level{c}" for c in codes])
    shape = DataShape.of(task)
    params = space.params(shape)
    for config in (space.default(kind), space.from_unit(np.zeros(len(params)), shape)):
        est = space.to_estimator(config, task, size_cap=SIZE_CAP)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(task.X, task.y)
            assert len(est.predict(task.X)) == task.n_rows
