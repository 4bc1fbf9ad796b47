"""Evaluation: scoring a config on a task under a fixed, documented protocol.

:func:`evaluate` scores one ``(task, algorithm, params)`` by cross-validation under a
:class:`Protocol` and returns an :class:`Evaluation` (fold scores, fit and predict
times, status ``ok | timeout | error``). :func:`evaluate_many` runs many of them in
parallel, with joblib worker processes or on a Dask cluster, and yields results as
they finish. Failing and runaway configs are recorded, never raised: a time limit is
enforced by running each evaluation in a killable worker process.
"""

from metaopt.evaluation._engine import EstimatorFactory, evaluate, space_estimator
from metaopt.evaluation._parallel import Job, ProgressCallback, evaluate_many
from metaopt.evaluation._protocol import DEFAULT_METRICS, PROTOCOL_VERSION, Protocol
from metaopt.evaluation._result import STATUSES, Evaluation, EvaluationStatus
from metaopt.evaluation._sandbox import shutdown_workers, start_worker

__all__ = [
    "DEFAULT_METRICS",
    "PROTOCOL_VERSION",
    "STATUSES",
    "EstimatorFactory",
    "Evaluation",
    "EvaluationStatus",
    "Job",
    "ProgressCallback",
    "Protocol",
    "evaluate",
    "evaluate_many",
    "shutdown_workers",
    "space_estimator",
    "start_worker",
]
