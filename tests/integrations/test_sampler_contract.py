"""Optuna's own sampler contract suites (``optuna.testing.pytest_samplers``), run against
MetaSampler: as shipped (their names ``x``, ``y``, ``z`` are not metaopt's, so they exercise
the fallback), and with those names mapped onto metaopt's parameters through
``param_map``, so the learned optimizer of the shipped models proposes the values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from integration_fakes import METAFEATURES, SHAPE
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from metaopt.integrations.optuna import MetaSampler

MODELS = Path(__file__).resolve().parents[2] / "datasets" / "models"

#: The suites' names on hgb's unconditional parameters.
XYZ = {"x": "hgb__learning_rate", "y": "hgb__max_leaf_nodes", "z": "hgb__l2_regularization"}


@pytest.mark.filterwarnings("ignore:MetaSampler sampled every parameter:UserWarning")
class TestMetaSamplerContract(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self, optimizer) -> Callable[[], BaseSampler]:
        def factory() -> BaseSampler:
            return MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=optimizer, seed=0)

        return factory


class TestMetaSamplerContractInMetaoptNames(
    BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase
):
    """The same cases with the learned optimizer (transfer stage and policy) proposing."""

    @pytest.fixture
    def sampler(self, shipped_optimizer) -> Callable[[], BaseSampler]:
        def factory() -> BaseSampler:
            return MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=shipped_optimizer,
                               algorithms=["hgb"], param_map=XYZ, seed=0)

        return factory


def test_the_mapped_suites_are_driven_by_the_learned_optimizer(shipped_optimizer) -> None:
    import optuna

    s = MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=shipped_optimizer,
                    algorithms=["hgb"], param_map=XYZ, seed=0)
    study = optuna.create_study(sampler=s)
    study.optimize(lambda t: t.suggest_float("x", 0, 10) + t.suggest_int("y", 0, 10), n_trials=4)
    assert {t.user_attrs["metaopt_proposer"] for t in study.trials} == {"transfer"}
