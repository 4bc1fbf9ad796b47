"""The benchmark scripts' experiment harness: tuning, the transfer stage, the noise floor.

What only the scripts in ``benchmarks/`` (and their tests in ``tests/bench``) use lives
here, outside the library; the leave-dataset-out core that ``metaopt benchmark`` runs
(folds, methods, :class:`~metaopt.bench.BenchmarkResult`) stays in :mod:`metaopt.bench`,
and everything here builds on it. The scripts run as ``python benchmarks/bench_x.py``
from the repository root, so ``benchmarks/`` is first on ``sys.path`` and this package
imports as ``harness`` (``tests/bench/conftest.py`` puts it there for the tests).

:func:`leave_dataset_out_tuning` meta-evaluates *tuning*: regret curves of Optuna
samplers (random, TPE, warm-started TPE, WS-CMA-ES, MetaSampler) on the held-out tasks'
evaluated pools, summarised by :class:`TuningResult`; a new tuning method is a
:class:`TuneMethod`. :func:`transfer_stage_curves` runs the learned optimizer's transfer
stage alone (numpy, no Optuna) to compare its variants against an oracle bound, and
:func:`similarity_quality` scores the learned task similarity; :func:`split_fold_curves`
scores picks on a held-out CV fold of the held-out task, next to the task's own ranking
of its other folds, to show how much regret is evaluation noise.

Real data instead of pools: :mod:`harness._heldout` loads held-out tasks from their
corpus source with an outer train / test split and fits (or reuses) the folds'
Recommenders (``bench_automl.py``, ``bench_tune_real.py``); :func:`run_task` runs the
tuning methods' studies on one such task with real cross-validation, and
:func:`summarize` judges their incumbents on the outer test part
(:class:`RealTuningResult`).
"""

from harness._noise import NOISE_VARIANTS, noise_curves, noise_table, split_fold_curves
from harness._transfer import (
    TRANSFER_VARIANTS,
    similarity_quality,
    transfer_stage_curves,
    transfer_summary,
)
from harness._tune import TuningResult, leave_dataset_out_tuning
from harness._tune_methods import TuneMethod, TuneTask, default_tuning_methods
from harness._tune_real import RealSettings, RealTuningResult, run_task, summarize

__all__ = [
    "NOISE_VARIANTS",
    "RealSettings",
    "RealTuningResult",
    "TRANSFER_VARIANTS",
    "TuneMethod",
    "TuneTask",
    "TuningResult",
    "default_tuning_methods",
    "leave_dataset_out_tuning",
    "noise_curves",
    "noise_table",
    "run_task",
    "similarity_quality",
    "split_fold_curves",
    "summarize",
    "transfer_stage_curves",
    "transfer_summary",
]
