"""``metaopt kb info | build | compact`` through typer's CliRunner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metaopt.cli import app
from metaopt.kb import KnowledgeBase
from metaopt.kb._build import build

sys.path.insert(0, str(Path(__file__).parents[1] / "kb"))
import kb_fakes  # noqa: E402

runner = CliRunner()


@pytest.fixture
def built_kb(tmp_path) -> Path:
    build(tmp_path / "kb", "fake", configs_per_algorithm=3, components=kb_fakes.components(),
          batch_size=2, compact=False)
    return tmp_path / "kb"


def test_info_json(built_kb):
    result = runner.invoke(app, ["kb", "info", "--kb", str(built_kb), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["n_tasks"] == 4 and info["n_tasks_failed"] == 1
    assert set(info["evaluations_by_algorithm"]) == {"narrow", "wide"}
    assert info["mf_coverage"]["fake-mf-1"]["tasks"] == 3


def test_info_tables(built_kb):
    result = runner.invoke(app, ["kb", "info", "--kb", str(built_kb)])
    assert result.exit_code == 0, result.output
    for text in ("tasks: 4", "narrow", "regression", "failures by reason", "skipped by reason",
                 "meta-features"):
        assert text in result.output


def test_info_env_var(built_kb, monkeypatch):
    monkeypatch.setenv("METAOPT_KB", str(built_kb))
    assert runner.invoke(app, ["kb", "info", "--json"]).exit_code == 0


def test_missing_kb_is_one_line_error(tmp_path):
    result = runner.invoke(app, ["kb", "info", "--kb", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "metaopt: error: no knowledge base" in result.output
    assert "Traceback" not in result.output


def test_compact(built_kb):
    before = KnowledgeBase(built_kb).evaluations()
    result = runner.invoke(app, ["kb", "compact", "--kb", str(built_kb)])
    assert result.exit_code == 0, result.output
    assert len(list((built_kb / "evaluations").glob("part-*.parquet"))) == 1
    assert len(KnowledgeBase(built_kb).evaluations()) == len(before)


def test_build_real_components_and_json_report(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    data.mkdir()
    df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    df["target"] = df["a"] * 2 + rng.normal(size=60)
    df.to_csv(data / "reg.csv", index=False)
    args = ["kb", "build", "--source", f"dir:{data}", "--kb", str(tmp_path / "kb"),
            "--algorithms", "linear", "-n", "1", "--quiet", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tasks_loaded"] == 1 and report["evaluations_run"] == 2
    again = json.loads(runner.invoke(app, args).output)
    assert again["evaluations_run"] == 0 and again["evaluations_present"] == 2


def test_rerun_build_keeps_the_recorded_limits_and_the_manifest(tmp_path):
    """The README's `kb build` on a complete knowledge base changes nothing: it keeps the
    time limit the KB was built with (not the default's) and leaves the manifest as it was."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    data = tmp_path / "data"
    data.mkdir()
    df = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    df["target"] = df["a"] + rng.normal(size=40)
    df.to_csv(data / "reg.csv", index=False)
    args = ["kb", "build", "--source", f"dir:{data}", "--kb", str(tmp_path / "kb"),
            "--algorithms", "linear", "-n", "0", "--quiet"]
    assert runner.invoke(app, [*args, "--time-limit", "120"]).exit_code == 0
    manifest = tmp_path / "kb" / "manifest.json"
    before = manifest.read_text()
    assert json.loads(before)["protocol"]["time_limit"] == 120
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert manifest.read_text() == before


def test_build_bad_options_exit_2(tmp_path):
    args = ["kb", "build", "--source", "nosuch:x", "--kb", str(tmp_path / "kb"), "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "metaopt: error" in result.output
    result = runner.invoke(app, ["kb", "build", "--source", "dir:/tmp", "--shard", "9/2",
                                 "--kb", str(tmp_path / "kb2")])
    assert result.exit_code == 2


def test_build_exits_1_when_no_task_loads(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("y\n1\n2\n3\n")
    (data / "b.csv").write_text("x,y\n1,2\n")
    args = ["kb", "build", "--source", f"dir:{data}", "--kb", str(tmp_path / "kb"),
            "--algorithms", "linear", "-n", "0", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    err = result.stderr
    assert err.startswith(f"metaopt: error: no task of 'dir:{data}' could be loaded (2 selected, 2 failed)")
    assert "first failure: dir:a: ColumnError: file" in err and "only the target column" in err
    assert err.count("\n") == 1
    # a rerun (nothing retried) still loads nothing, and says how to retry
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 1 and json.loads(again.stdout)["tasks_loaded"] == 0
    assert "--retry-failed" in again.stderr


def test_export_csv_and_parquet(built_kb, tmp_path):
    import pandas as pd

    for fmt in ("csv", "parquet"):
        result = runner.invoke(app, ["kb", "export", str(tmp_path / fmt), "--kb", str(built_kb),
                                     "--format", fmt])
        assert result.exit_code == 0, result.output
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        ev = read(tmp_path / fmt / f"evaluations.{fmt}")
        assert len(ev) == len(KnowledgeBase(built_kb).evaluations())
        assert len(read(tmp_path / fmt / f"metafeatures.{fmt}")) == 3
    result = runner.invoke(app, ["kb", "export", str(tmp_path / "x"), "--kb", str(built_kb),
                                 "--format", "xlsx"])
    assert result.exit_code == 2


def test_shards_merge_into_the_full_kb(tmp_path):
    comp = kb_fakes.components()
    for k in range(2):
        build(tmp_path / f"shard{k}", "fake", configs_per_algorithm=2, components=comp, shard=(k, 2))
    build(tmp_path / "full", "fake", configs_per_algorithm=2, components=comp)
    args = ["kb", "merge", str(tmp_path / "shard0"), str(tmp_path / "shard1"), "--kb", str(tmp_path / "merged")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, args).exit_code == 0  # merging again copies nothing
    merged, full = KnowledgeBase(tmp_path / "merged"), KnowledgeBase(tmp_path / "full")
    key = ["task_id", "algorithm", "config_id", "protocol_id"]
    assert len(merged.backend.read("evaluations")) == len(full.evaluations())
    assert set(merged.evaluations()[key].itertuples(index=False)) == set(full.evaluations()[key].itertuples(index=False))
    assert sorted(merged.tasks()["task_id"]) == sorted(full.tasks()["task_id"])
    assert merged.metafeatures().sort_index().equals(full.metafeatures().sort_index())


def test_damaged_or_lost_parts_are_one_line_errors(built_kb):
    KnowledgeBase(built_kb).compact()
    (mf,) = sorted((built_kb / "metafeatures").glob("part-*.parquet"))
    data = bytearray(mf.read_bytes())
    data[4 : len(data) - 8] = b"\x07" * (len(data) - 12)  # the pages, not the footer
    mf.write_bytes(bytes(data))
    result = runner.invoke(app, ["kb", "info", "--kb", str(built_kb), "--json"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("metaopt: error: ") and mf.name in result.output
    assert len(result.output.strip().splitlines()) == 1
    mf.unlink()
    result = runner.invoke(app, ["kb", "info", "--kb", str(built_kb)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("metaopt: error: ") and "'metafeatures'" in result.output
    assert len(result.output.strip().splitlines()) == 1
