"""Meta-evaluation: leave-dataset-out and leave-source-out benchmark of metaopt against the baselines.

:func:`leave_dataset_out_benchmark` folds the knowledge base's tasks by base dataset
(``protocol="dataset"``, :func:`ldo_folds`) or by corpus source (``protocol="source"``,
cross-domain, :func:`lso_folds`), fits every method on the training tasks of each fold, and scores the top-1 and the
best-of-top-``k`` recommendations on the held-out tasks with their true normalized
scores; :class:`BenchmarkResult` summarises (mean / median regret, win rates, average
ranks, a Wilcoxon test against the best baseline, ±1σ coverage) and writes Markdown,
JSON and PNG plots. A new recommender is a :class:`BenchMethod` (two methods). This is
what ``metaopt benchmark`` runs (FLAML's zero-shot method, ``--flaml``, is in
``_flaml``).

The experiments that only the scripts in ``benchmarks/`` run (the tuning benchmark, the
transfer stage's variants, the noise floor) live outside the library, in the
``benchmarks/harness`` package, built on this core.
"""

from metaopt.bench._ldo import (
    BenchmarkError,
    BenchmarkResult,
    default_methods,
    ldo_folds,
    leave_dataset_out_benchmark,
    lso_folds,
    markdown_table,
    task_sources,
)
from metaopt.bench._methods import (
    BaselineMethod,
    BenchMethod,
    HeldOutTask,
    MetaoptMethod,
    Recommendation,
)

__all__ = [
    "BaselineMethod",
    "BenchMethod",
    "BenchmarkError",
    "BenchmarkResult",
    "HeldOutTask",
    "MetaoptMethod",
    "Recommendation",
    "default_methods",
    "ldo_folds",
    "leave_dataset_out_benchmark",
    "lso_folds",
    "markdown_table",
    "task_sources",
]
