"""``suggest(data)``: ranked, diversified, explained configurations for a new dataset.

How a suggestion list is made (every step but the first two is the trained
:class:`~metaopt.recommend.Recommender`'s :meth:`~metaopt.recommend.Recommender.rank`,
the same call the leave-dataset-out benchmark makes):

1. the data is loaded (:func:`metaopt.load_task`) and its meta-features extracted;
2. the algorithms that support the data's shape are kept (``algorithms`` filters them);
3. the ranking is the knowledge base's pool of the task's kind ordered by a
   **similarity-weighted greedy portfolio** (:meth:`metaopt.learn.TransferPortfolio.order`):
   every training task is weighted by how alike the learned task similarity
   (:class:`~metaopt.learn.TaskSimilarity`) predicts its ranking of the pool to be to
   this dataset's, from their meta-features. The first place is chosen **family
   first** (:func:`metaopt.learn.family_vote`): each weighted training task votes for
   the algorithm family whose best config wins on it, and the winning family's config
   with the best weighted mean score is taken; each later place goes to the configuration
   with the highest weighted expected best score given the places before it — at most
   ``ceil(top/2)`` per algorithm (:func:`~metaopt.recommend.diversify_order`). Pool
   configs are fitted to the data's shape, and with ``time_budget`` those whose
   expected fit time on this data exceeds it are dropped (unknown fit times are kept).
   The surrogate gives every suggestion its predicted score, σ and fit time, and
   ranks the other candidates (every algorithm's default and ``n_fresh`` new configs
   from each space's Sobol design) only when the filters leave fewer than ``top`` pool
   configs;
4. the evidence of each suggestion is how its algorithm did on the knowledge-base
   datasets the same similarity weights most.

Out of distribution (the similarity's :meth:`~metaopt.learn.TaskSimilarity.novelty`
beyond its calibrated threshold): every suggestion is flagged ``ood`` and the ranking
falls back toward robust choices: the similarity prior's sharpness is scaled by
``1 − w`` (toward uniform weights: the static portfolio), and where the surrogate ranks,
its key becomes ``(1 − w) · predicted + w · prior`` (``prior``: the config's mean
normalized score over the kind's training tasks), with
``w = max(0.5, 1 − threshold / distance)``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from metaopt._exceptions import ConfigError, ModelVersionError
from metaopt.recommend._recommender import Candidate, Evidence, Recommender

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from metaopt.tasks import Task

__all__ = ["SAMPLE_ROWS", "Evidence", "Suggestion", "suggest", "suggestions_document"]

#: :func:`suggest` given a path to a delimited text file with more data rows than this
#: reads a random sample of this many (``load_task(..., sample_rows=SAMPLE_ROWS)``): the
#: meta-features sample at most 10,000 rows anyway, and the row count, the search-space
#: bounds and the expected fit times use the file's true count (``Task.n_rows_total``).
SAMPLE_ROWS = 100_000


@dataclass(frozen=True)
class Suggestion:
    """One recommended configuration.

    Attributes
    ----------
    rank
        1 = the best.
    algorithm, params, config_id
        The configuration (validated for the data's shape).
    spec
        The full scikit-learn Pipeline as a plain-JSON estimator spec
        (:func:`metaopt.spaces.estimator_to_spec`); it fits the raw table read with
        ``pandas.read_csv`` (target column removed). Built on first access (it needs
        scikit-learn, whose import would otherwise dominate a table-only
        ``metaopt suggest``), then kept.
    score, uncertainty
        The surrogate's predicted normalized score (0 = worst, 1 = best of the
        knowledge base's configs on a task) and its σ.
    fit_time
        Expected seconds to fit once on this data (``None`` if unknown).
    evidence
        The most similar knowledge-base datasets and how this algorithm did there.
    ood, ood_distance
        Whether the dataset lies outside the knowledge base's meta-feature range, and
        the excess distance that decided it.
    """

    rank: int
    algorithm: str
    params: dict[str, Any]
    config_id: str
    spec_source: dict[str, Any] | Callable[[], dict[str, Any]] = field(repr=False, compare=False)
    score: float
    uncertainty: float
    fit_time: float | None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    ood: bool = False
    ood_distance: float = 0.0

    @property
    def spec(self) -> dict[str, Any]:
        """The estimator spec (see the class docstring), built once on first access."""
        source = self.spec_source
        if callable(source):
            source = source()
            object.__setattr__(self, "spec_source", source)  # frozen: cache by hand
        return source

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``spec`` included, ``evidence`` as a list of dicts)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "spec_source":
                out["spec"] = self.spec
            elif f.name == "evidence":
                out["evidence"] = [asdict(e) for e in self.evidence]
            else:
                out[f.name] = getattr(self, f.name)
        return out


def suggest(
    data: str | os.PathLike[str] | pd.DataFrame | Task,
    target: str | None = None,
    top: int = 5,
    algorithms: Sequence[str] | None = None,
    time_budget: float | None = None,
    *,
    models: str | os.PathLike[str] | Recommender | None = None,
    kind: str | None = None,
    n_fresh: int = 4,
    n_evidence: int = 3,
    seed: int = 0,
) -> list[Suggestion]:
    """Recommend ``top`` configurations for a dataset (see the module docstring).

    Parameters
    ----------
    data
        A file path, a DataFrame, or a loaded :class:`~metaopt.tasks.Task`. A text file
        with more than :data:`SAMPLE_ROWS` data rows is read as a random sample of that
        many (with a notice; see :func:`~metaopt.load_task`'s ``sample_rows``).
    target
        Target column (default: the last); ignored for a Task.
    top
        How many suggestions.
    algorithms
        Only these algorithms (names of :data:`metaopt.spaces.ALGORITHMS`).
    time_budget
        Drop configs whose expected fit time on this data exceeds this many seconds.
    models
        The models directory or a loaded :class:`~metaopt.recommend.Recommender`;
        default ``$METAOPT_MODELS``, then ``datasets/models``.
    kind
        Task kind override (``binary``, ``multiclass``, ``regression``).
    n_fresh
        New Sobol configs per algorithm added to the candidates.
    n_evidence
        Similar knowledge-base datasets listed per suggestion.
    seed
        Seed of the fresh configs and of the meta-features' sampling.

    Returns
    -------
    list of Suggestion
        Best first; fewer than ``top`` only if fewer candidates pass the filters.

    Raises
    ------
    ModelError, ModelVersionError
        If the models are missing, were trained for another metaopt, or do not know
        one of the algorithms asked for.
    ConfigError
        If ``algorithms`` names an unknown algorithm, or no candidate passes the
        filters.
    DataError
        If the data cannot be loaded.
    """
    from metaopt.metafeatures import extract
    from metaopt.spaces import DataShape, get_space
    from metaopt.tasks import Task, load_task

    if top < 1:
        raise ConfigError(f"top must be at least 1, got {top}", "pass --top 1 or more")
    if time_budget is not None and not time_budget > 0:
        raise ConfigError(f"time budget must be positive, got {time_budget}", "pass seconds > 0")
    rec = _recommender(models, algorithms)
    wanted = _wanted_algorithms(algorithms, rec)
    task = (
        data if isinstance(data, Task)
        else load_task(data, target, kind=kind, sample_rows=SAMPLE_ROWS, random_state=seed)
    )
    mf = dict(extract(task, random_state=seed))
    shape = DataShape.of(task)
    spaces = {a: get_space(a) for a in wanted if get_space(a).supports(shape) is None}
    if not spaces:
        raise ConfigError(
            f"none of the algorithms {', '.join(wanted)} supports this {task.kind} task "
            f"of {task.n_rows_total} rows",
            "allow more algorithms (--algorithms)",
        )
    extra = [  # outside the pool: ranked by the surrogate only when the pool runs short
        (alg, p)
        for alg, space in spaces.items()
        for p in [dict(space.default(task.kind)), *space.design(n_fresh, shape, seed=seed)]
    ]
    ranked = rec.rank(
        mf, task.kind, top, shape=shape, n_rows=task.n_rows_total, algorithms=list(spaces),
        time_budget=time_budget, extra=extra,
    )
    if not ranked:
        _nothing_fits(rec, mf, extra, task.n_rows_total, time_budget)
    ood, distance, _ = rec.ood_weight(mf, task.kind)
    similar = rec.similar_tasks(mf, task.kind, n_evidence)
    return [
        _suggestion(rank, cand, rec, mf, task, similar, ood, distance, seed)
        for rank, cand in enumerate(ranked, start=1)
    ]


def _nothing_fits(
    rec: Recommender,
    mf: Mapping[str, float],
    extra: Sequence[tuple[str, dict[str, Any]]],
    n_rows: int,
    time_budget: float | None,
) -> None:
    """Raise the ConfigError for a time budget that no candidate fits in."""
    times = rec.surrogate_.expected_fit_time(mf, list(extra), n_rows)
    fastest = float(np.nanmin(times)) if len(times) else float("nan")
    raise ConfigError(
        f"no candidate is expected to fit within {time_budget:g} s on this data "
        f"(the fastest is expected to take {fastest:.3g} s)",
        "raise --time-budget or allow more algorithms",
    )


def _recommender(
    models: str | os.PathLike[str] | Recommender | None, algorithms: Sequence[str] | None
) -> Recommender:
    """The recommender, loaded and checked for the algorithms asked for."""
    from metaopt.spaces import get_space

    names = None if algorithms is None else [a.strip() for a in algorithms if a.strip()]
    for alg in names or []:
        get_space(alg)  # ConfigError naming the valid algorithms
    if not isinstance(models, Recommender):
        return Recommender.load(models, algorithms=names)
    missing = [a for a in names or [] if a not in models.algorithms]
    if missing:
        raise ModelVersionError(
            f"the models know the algorithms {', '.join(models.algorithms)}, not {', '.join(missing)}",
            "run `metaopt kb build` for it, then `metaopt train` (or pass --algorithms without it)",
        )
    return models


def _wanted_algorithms(algorithms: Sequence[str] | None, rec: Recommender) -> list[str]:
    """The algorithms asked for; by default every one the models know (a warning names the rest)."""
    from metaopt.spaces import ALGORITHMS

    if algorithms is not None:
        return [a.strip() for a in algorithms if a.strip()]
    unknown = rec.unknown_algorithms
    if unknown:
        warnings.warn(
            f"the models do not know {', '.join(unknown)}, so no suggestion uses "
            f"{'it' if len(unknown) == 1 else 'them'}: run `metaopt kb build`, then `metaopt train`",
            UserWarning,
            stacklevel=3,
        )
    return [a for a in ALGORITHMS if a not in unknown]


def _suggestion(
    rank: int,
    cand: Candidate,
    rec: Recommender,
    mf: Mapping[str, float],
    task: Task,
    similar: Sequence[tuple[int, float | None]],
    ood: bool,
    distance: float,
    seed: int,
) -> Suggestion:
    """One :class:`Suggestion` of a ranked candidate (its spec built on first access)."""
    from metaopt.spaces import config_id, estimator_to_spec, get_space

    def spec(alg: str = cand.algorithm, params: dict[str, Any] = cand.params) -> dict[str, Any]:
        return estimator_to_spec(get_space(alg).to_estimator(params, task, seed=seed))

    return Suggestion(
        rank=rank,
        algorithm=cand.algorithm,
        params=cand.params,
        config_id=config_id(cand.algorithm, cand.params),
        spec_source=spec,
        score=cand.score,
        uncertainty=cand.uncertainty,
        fit_time=cand.fit_time,
        evidence=tuple(rec.evidence(mf, task.kind, cand.algorithm, len(similar), similar)),
        ood=ood,
        ood_distance=distance,
    )


def suggestions_document(
    suggestions: Sequence[Suggestion], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document ``metaopt suggest --json`` prints."""
    return {**(extra or {}), "suggestions": [s.to_dict() for s in suggestions]}
