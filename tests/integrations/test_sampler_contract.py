"""Optuna's own sampler contract suites, run against MetaSampler with a small trained optimizer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from integration_fakes import METAFEATURES, SHAPE
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from metaopt.integrations.optuna import MetaSampler


class TestMetaSamplerContract(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self, optimizer) -> Callable[[], BaseSampler]:
        def factory() -> BaseSampler:
            return MetaSampler(metafeatures=METAFEATURES, shape=SHAPE, optimizer=optimizer, seed=0)

        return factory
