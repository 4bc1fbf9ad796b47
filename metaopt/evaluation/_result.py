"""The record of one evaluation: scores, times, status, and where it came from."""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["STATUSES", "Evaluation", "EvaluationStatus", "runtime_versions"]

EvaluationStatus = Literal["ok", "timeout", "error"]
STATUSES: tuple[str, ...] = ("ok", "timeout", "error")

#: Longest ``message`` kept (tracebacks of some libraries run to pages).
MAX_MESSAGE = 500


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def truncate(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` cut to ``limit`` characters (with a marker when cut)."""
    return message if len(message) <= limit else message[: limit - 15] + " …[truncated]"


def runtime_versions(with_torch: bool = False) -> dict[str, str]:
    """Versions that can change a score: python, numpy, scikit-learn, metaopt (+ torch)."""
    import numpy
    import sklearn

    from metaopt._version import __version__

    versions = {
        "metaopt": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
    }
    if with_torch and "torch" in sys.modules:
        versions["torch"] = sys.modules["torch"].__version__
    return versions


@dataclass
class Evaluation:
    """The outcome of scoring one config on one task under one protocol.

    Failures are data (DESIGN.md): a config that raises is recorded with
    ``status="error"`` and the exception in ``message``; one that runs past the time
    limit with ``status="timeout"``. Neither is ever raised or dropped.

    Attributes
    ----------
    task_id, algorithm, config_id, params
        What was evaluated; ``config_id`` is :func:`metaopt.spaces.config_id`.
    metric
        The scikit-learn scorer name; scores follow its convention (greater is better).
    fold_scores
        Score of each completed fold, in fold order (may be partial on a timeout).
    score
        Mean of ``fold_scores`` when ``status == "ok"``, NaN otherwise.
    fit_time, predict_time
        Mean seconds per completed fold to fit, and to predict + score the held-out
        rows (NaN if no fold completed). Measured single-threaded.
    status
        ``"ok"``, ``"timeout"`` or ``"error"``.
    message
        Empty when ok; otherwise ``"<ExceptionType>: <text>"`` (truncated to 500
        characters) or a description of the timeout.
    seed, protocol_id
        The protocol's seed and :attr:`Protocol.protocol_id`.
    n_rows_used
        Rows after the protocol's subsample.
    versions
        Library versions that produced the score (see :func:`runtime_versions`).
    device
        ``"cpu"`` or the torch device that trained the model (``"cuda:0"``).
    started_at
        UTC start time, ISO 8601.
    time_limit
        The time limit in seconds that applied (None: none).
    """

    task_id: str
    algorithm: str
    config_id: str
    params: dict[str, Any]
    metric: str
    fold_scores: list[float]
    score: float
    fit_time: float
    predict_time: float
    status: EvaluationStatus
    message: str
    seed: int
    protocol_id: str
    n_rows_used: int
    versions: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    started_at: str = ""
    time_limit: float | None = None

    @property
    def ok(self) -> bool:
        """True when the evaluation finished and ``score`` is meaningful."""
        return self.status == "ok"

    @property
    def score_std(self) -> float:
        """Standard deviation of the fold scores (population; NaN when not ok)."""
        if not self.ok or not self.fold_scores:
            return math.nan
        mean = sum(self.fold_scores) / len(self.fold_scores)
        return math.sqrt(sum((s - mean) ** 2 for s in self.fold_scores) / len(self.fold_scores))

    def to_record(self) -> dict[str, Any]:
        """A flat dict of JSON- and Parquet-friendly values.

        ``params`` and ``versions`` become canonical JSON strings, ``fold_scores`` a
        list of floats, ``time_limit`` a float (NaN for none); everything else is a
        str, int or float. :meth:`from_record` inverts it.
        """
        return {
            "task_id": self.task_id,
            "algorithm": self.algorithm,
            "config_id": self.config_id,
            "params": canonical_json(self.params),
            "metric": self.metric,
            "fold_scores": [float(s) for s in self.fold_scores],
            "score": float(self.score),
            "fit_time": float(self.fit_time),
            "predict_time": float(self.predict_time),
            "status": self.status,
            "message": self.message,
            "seed": int(self.seed),
            "protocol_id": self.protocol_id,
            "n_rows_used": int(self.n_rows_used),
            "versions": canonical_json(self.versions),
            "device": self.device,
            "started_at": self.started_at,
            "time_limit": math.nan if self.time_limit is None else float(self.time_limit),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Evaluation:
        """Rebuild an Evaluation from :meth:`to_record` output (e.g. a Parquet row)."""
        names = {f.name for f in fields(cls)}
        data = {k: v for k, v in record.items() if k in names}
        for key in ("params", "versions"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key])
        data["fold_scores"] = [float(s) for s in list(data.get("fold_scores", []))]
        limit = data.get("time_limit")
        data["time_limit"] = None if limit is None or (isinstance(limit, float) and math.isnan(limit)) else float(limit)
        for key in ("score", "fit_time", "predict_time"):
            data[key] = float(data[key])
        for key in ("seed", "n_rows_used"):
            data[key] = int(data[key])
        return cls(**data)

    def summary(self) -> str:
        """One line: algorithm, status, mean ± sd score, mean fit time."""
        if self.ok:
            return (
                f"{self.algorithm} {self.metric}={self.score:.4f} ± {self.score_std:.4f} "
                f"({len(self.fold_scores)} folds, fit {self.fit_time:.2f}s/fold)"
            )
        return f"{self.algorithm} {self.status}: {self.message}"
