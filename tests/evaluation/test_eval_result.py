"""Evaluation records: flat, JSON- and Parquet-friendly, and reversible."""

from __future__ import annotations

import json
import math

import pyarrow as pa

from metaopt.evaluation import Evaluation


def _evaluation(**changes: object) -> Evaluation:
    base = dict(
        task_id="frame:abc", algorithm="hgb", config_id="0123456789abcdef",
        params={"learning_rate": 0.1, "limit_depth": False, "max_iter": 100},
        metric="roc_auc", fold_scores=[0.8, 0.9, 0.85], score=0.85, fit_time=0.5,
        predict_time=0.01, status="ok", message="", seed=0, protocol_id="p1-000000000000",
        n_rows_used=300, versions={"sklearn": "1.9.1", "python": "3.11.7"}, device="cpu",
        started_at="2026-01-01T00:00:00+00:00", time_limit=None,
    )
    base.update(changes)
    return Evaluation(**base)  # type: ignore[arg-type]


def test_record_is_flat_and_round_trips() -> None:
    ev = _evaluation()
    rec = ev.to_record()
    assert rec["params"] == '{"learning_rate":0.1,"limit_depth":false,"max_iter":100}'
    assert all(isinstance(v, (str, int, float, list)) for v in rec.values())
    json.dumps(rec)
    assert Evaluation.from_record(rec) == ev


def test_failed_record_round_trips_through_parquet_types() -> None:
    ev = _evaluation(status="timeout", message="time limit of 2s exceeded", fold_scores=[0.8],
                     score=math.nan, time_limit=2.0)
    rows = pa.Table.from_pylist([ev.to_record(), _evaluation().to_record()]).to_pylist()
    back = Evaluation.from_record(rows[0])
    assert back.status == "timeout" and math.isnan(back.score) and back.time_limit == 2.0
    assert back.fold_scores == [0.8] and back.params == ev.params
    assert Evaluation.from_record(rows[1]).time_limit is None


def test_summary_and_std() -> None:
    ev = _evaluation()
    assabs = abs(ev.score_std - math.sqrt(((0.05) ** 2 + (0.05) ** 2) / 3))
    assert assabs < 1e-12
    assert "roc_auc=0.8500" in ev.summary()
    failed = _evaluation(status="error", message="ValueError: bad", score=math.nan)
    assert math.isnan(failed.score_std) and "error: ValueError: bad" in failed.summary()
