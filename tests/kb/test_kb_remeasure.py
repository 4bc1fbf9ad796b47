"""``remeasure``: stored rows re-evaluated under the current code replace the old ones."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

import kb_fakes  # noqa: E402

from metaopt.kb import KnowledgeBase, remeasure  # noqa: E402
from metaopt.kb._build import build  # noqa: E402

SPECS = [("alpha", "binary", 60), ("beta", "regression", 150), ("gamma", "regression", 80)]


def _shifted(shift: float):
    """The fake engine, with regression scores moved by ``shift`` and a fresh timestamp."""

    def evaluate_many(jobs, protocol, **kwargs):
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        for record in kb_fakes.fake_evaluate_many(jobs, protocol, **kwargs):
            task = next(t for t, _, _ in jobs if t.task_id == record["task_id"])
            if task.kind == "regression" and record["status"] == "ok":
                record = {**record, "score": record["score"] + shift}
            yield {**record, "started_at": now}

    comp = kb_fakes.components(SPECS)
    comp.evaluate_many = evaluate_many
    return comp


@pytest.fixture
def store(tmp_path) -> KnowledgeBase:
    comp = kb_fakes.components(SPECS)
    build(tmp_path / "kb", "fake", components=comp, configs_per_algorithm=4)
    return KnowledgeBase(tmp_path / "kb")


def test_selected_rows_are_replaced_and_their_moves_reported(store) -> None:
    before = store.evaluations()
    cutoff = "2100-01-01T00:00:00+00:00"
    report = remeasure(store, kinds=["regression"], algorithms=["narrow"],
                       measured_before=cutoff, components=_shifted(0.05))
    after = store.evaluations()
    assert len(after) == len(before)  # replaced, not appended
    chosen = before[before["task_id"].isin(["fake:beta", "fake:gamma"])
                    & (before["algorithm"] == "narrow") & (before["status"] != "skipped")]
    assert report.selected == len(chosen) == len(report.moves)
    ok = report.moves["old_status"] == "ok"
    np.testing.assert_allclose(report.moves.loc[ok, "move"], 0.05, atol=1e-9)
    key = ["task_id", "algorithm", "config_id"]
    merged = before.merge(after, on=key, suffixes=("_old", "_new"))
    changed = merged[(merged["score_new"] - merged["score_old"]).abs() > 1e-12]
    assert set(map(tuple, changed[key].to_numpy())) == set(
        map(tuple, report.moves.loc[ok, key].to_numpy())
    )
    summary = report.summary()
    assert summary.to_dict("records") == [{
        "algorithm": "narrow", "kind": "regression", "rows": len(chosen),
        "moved": int(ok.sum()), "largest": pytest.approx(0.05), "mean_abs": pytest.approx(0.05),
        "status_changed": 0,
    }]


def test_an_interrupted_run_resumes_without_measuring_twice(store) -> None:
    cutoff = datetime.now(timezone.utc).isoformat(timespec="seconds")
    first = remeasure(store, kinds=["regression"], tasks=["fake:beta"], measured_before=cutoff,
                      components=_shifted(0.05))
    again = remeasure(store, kinds=["regression"], measured_before=cutoff, components=_shifted(0.05))
    assert again.already_done == len(first.moves) > 0
    assert set(again.moves["task_id"]) == {"fake:gamma"}
    third = remeasure(store, kinds=["regression"], measured_before=cutoff, components=_shifted(0.05))
    assert third.already_done == third.selected and third.moves.empty


def test_cli_remeasure_prints_the_table(tmp_path, monkeypatch) -> None:
    import metaopt.kb._remeasure as module
    from metaopt.cli import app

    comp = kb_fakes.components(SPECS)
    build(tmp_path / "kb", "fake", components=comp, configs_per_algorithm=2)
    monkeypatch.setattr(module, "default_components", lambda: _shifted(0.02))
    out = tmp_path / "moves.csv"
    result = CliRunner().invoke(app, ["kb", "remeasure", "--kb", str(tmp_path / "kb"),
                                      "--kind", "regression", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "re-measured now" in result.output and "regression" in result.output
    assert out.is_file()


def test_a_bad_timestamp_is_a_config_error(store) -> None:
    from metaopt import ConfigError

    with pytest.raises(ConfigError, match="not an ISO time"):
        remeasure(store, measured_before="yesterday", components=_shifted(0.0))
