"""Meta-evaluation: leave-dataset-out benchmark of metaopt against the baselines.

:func:`leave_dataset_out_benchmark` folds the knowledge base's tasks by base dataset,
fits every method on the training tasks of each fold, and scores the top-1 and the
best-of-top-``k`` recommendations on the held-out tasks with their true normalized
scores; :class:`BenchmarkResult` summarises (mean / median regret, win rates, average
ranks, a Wilcoxon test against the best baseline, ±1σ coverage) and writes Markdown,
JSON and PNG plots. A new recommender is a :class:`BenchMethod` (two methods).

:func:`leave_dataset_out_tuning` meta-evaluates *tuning* the same way: regret curves of
Optuna samplers (random, TPE, warm-started TPE, WS-CMA-ES, MetaSampler) on the held-out
tasks' evaluated pools, summarised by :class:`TuningResult`; a new tuning method is a
:class:`TuneMethod`. :func:`transfer_stage_curves` runs the learned optimizer's transfer
stage alone (numpy, no Optuna) to compare its variants against an oracle bound;
:func:`split_fold_curves` scores picks on a held-out CV fold of the held-out task, next to
the task's own ranking of its other folds, to show how much regret is evaluation noise.
"""

from metaopt.bench._ldo import (
    BenchmarkError,
    BenchmarkResult,
    default_methods,
    ldo_folds,
    leave_dataset_out_benchmark,
    markdown_table,
)
from metaopt.bench._methods import (
    BaselineMethod,
    BenchMethod,
    HeldOutTask,
    MetaoptMethod,
    Recommendation,
)
from metaopt.bench._noise import NOISE_VARIANTS, noise_curves, noise_table, split_fold_curves
from metaopt.bench._transfer import (
    TRANSFER_VARIANTS,
    similarity_quality,
    transfer_stage_curves,
    transfer_summary,
)
from metaopt.bench._tune import TuningResult, leave_dataset_out_tuning
from metaopt.bench._tune_methods import TuneMethod, TuneTask, default_tuning_methods

__all__ = [
    "BaselineMethod",
    "BenchMethod",
    "BenchmarkError",
    "BenchmarkResult",
    "HeldOutTask",
    "MetaoptMethod",
    "NOISE_VARIANTS",
    "Recommendation",
    "TRANSFER_VARIANTS",
    "TuneMethod",
    "TuneTask",
    "TuningResult",
    "default_methods",
    "default_tuning_methods",
    "ldo_folds",
    "leave_dataset_out_benchmark",
    "leave_dataset_out_tuning",
    "markdown_table",
    "noise_curves",
    "noise_table",
    "similarity_quality",
    "split_fold_curves",
    "transfer_stage_curves",
    "transfer_summary",
]
