"""Score normalization (metaopt.learn._targets): bounds, edge cases, the score matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.learn import (
    config_table,
    default_config_id,
    is_default_config,
    normalized_scores,
    regret,
    score_matrix,
)
from metaopt.spaces import config_id, get_space


def _frame(rows: list[tuple[str, str, str, float | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["task_id", "algorithm", "config_id", "score", "status"])


def test_min_max_per_task_over_all_algorithms() -> None:
    ev = _frame([
        ("t1", "a", "1", 0.5, "ok"), ("t1", "a", "2", 0.7, "ok"), ("t1", "b", "1", 0.9, "ok"),
        ("t2", "a", "1", 10.0, "ok"), ("t2", "b", "1", 20.0, "ok"),
    ])
    norm = normalized_scores(ev)
    assert norm.index.equals(ev.index)
    np.testing.assert_allclose(norm.to_numpy(), [0.0, 0.5, 1.0, 0.0, 1.0])


def test_bounds_on_synthetic_kb(synthetic) -> None:
    ev = synthetic.kb.evaluations()
    norm = normalized_scores(ev)
    ok = ev["status"] == "ok"
    assert norm[ok].between(0, 1).all()
    for _, group in norm[ok].groupby(ev.loc[ok, "task_id"]):
        assert group.max() == pytest.approx(1.0) and group.min() == pytest.approx(0.0)


def test_single_config_and_equal_scores_are_best() -> None:
    ev = _frame([("t1", "a", "1", 0.3, "ok"), ("t2", "a", "1", 0.4, "ok"), ("t2", "b", "1", 0.4, "ok")])
    assert normalized_scores(ev).tolist() == [1.0, 1.0, 1.0]


def test_failures_are_worst_and_skipped_is_nan() -> None:
    ev = _frame([
        ("t1", "a", "1", 0.5, "ok"), ("t1", "a", "2", 0.9, "ok"), ("t1", "a", "3", None, "error"),
        ("t1", "b", "1", None, "timeout"), ("t1", "c", "1", None, "skipped"),
        ("t1", "a", "4", float("nan"), "ok"),  # an "ok" row without a score counts as failed
    ])
    norm = normalized_scores(ev)
    assert norm.tolist()[:4] == [0.0, 1.0, 0.0, 0.0]
    assert np.isnan(norm.iloc[4])
    assert norm.iloc[5] == 0.0


def test_all_failed_task_is_all_zero() -> None:
    ev = _frame([("t1", "a", "1", None, "error"), ("t1", "b", "1", None, "timeout")])
    assert normalized_scores(ev).tolist() == [0.0, 0.0]


def test_empty_frame_and_missing_columns() -> None:
    assert normalized_scores(_frame([])).empty
    with pytest.raises(ValueError, match="status"):
        normalized_scores(pd.DataFrame({"task_id": ["t"], "score": [1.0]}))


def test_regret() -> None:
    assert regret(1.0) == 0.0
    np.testing.assert_allclose(regret(np.array([0.0, 0.25])), [1.0, 0.75])


def test_score_matrix_shape_kind_filter_and_nan(synthetic) -> None:
    kb = synthetic.kb
    ev = kb.evaluations()
    kinds = kb.tasks().set_index("task_id")["kind"]
    binary = score_matrix(ev, "binary", task_kinds=kinds)
    assert list(binary.index) == sorted(synthetic.side)
    assert binary.shape == (12, 18)
    assert binary.columns.names == ["algorithm", "config_id"]
    # the error and timeout rows are 0, not NaN; everything else is evaluated
    assert not binary.isna().any().any()
    knn_bad = [c for c in binary.columns if c[0] == "knn"]
    assert (binary.loc[["bin00", "bin01"], knn_bad].min(axis=1) == 0.0).all()
    reg = score_matrix(ev, "regression", task_kinds=kinds)
    assert list(reg.index) == ["reg00", "reg01"]
    # knn skipped on reg01: NaN there, and its design configs were never run
    assert reg.loc["reg01", [c for c in reg.columns if c[0] == "knn"]].isna().all()
    full = score_matrix(ev)
    assert set(full.index) == set(kinds.index)
    with pytest.raises(ValueError, match="task_kinds"):
        score_matrix(ev, "binary")


def test_default_config_detection(synthetic) -> None:
    for alg in ("hgb", "knn"):
        for kind in ("binary", "regression"):
            expected = config_id(alg, dict(get_space(alg).default(kind)))
            assert default_config_id(alg, kind) == expected == synthetic.defaults[(alg, kind)]
    ev = synthetic.kb.evaluations()
    kinds = synthetic.kb.tasks().set_index("task_id")["kind"]
    flags = is_default_config(ev, kinds)
    # one default per task and algorithm (the skipped row sits under the default's id)
    per = ev[flags].groupby(["task_id", "algorithm"]).size()
    assert (per == 1).all() and len(per) == 14 * 3
    assert not is_default_config(ev.assign(algorithm="nope"), kinds).any()


def test_config_table_parses_params(synthetic) -> None:
    table = config_table(synthetic.kb.evaluations())
    cid = synthetic.defaults[("hgb", "binary")]
    assert table.loc[("hgb", cid), "params"] == get_space("hgb").default("binary")
