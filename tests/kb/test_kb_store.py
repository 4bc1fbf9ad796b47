"""The knowledge-base store: manifest, atomic parts, duplicate resolution, compaction."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from metaopt import KnowledgeBaseError, SchemaVersionError
from metaopt.kb import KB_ENV, KnowledgeBase, ParquetDirectoryBackend, default_kb_path
from metaopt.kb._info import failure_reason


def _task(tid: str, kind: str = "binary", status: str = "ok", source: str = "keel") -> dict:
    return {"task_id": tid, "source": source, "name": tid, "group": tid, "kind": kind,
            "status": status, "message": "" if status == "ok" else "DataError: bad target"}


def _ev(tid: str, alg: str, cid: str, status: str = "ok", score: float = 0.5, msg: str = "") -> dict:
    return {"task_id": tid, "algorithm": alg, "config_id": cid, "protocol_id": "p1",
            "status": status, "message": msg, "score": score, "params": {"a": 1},
            "fold_scores": [score, score]}


# One factory per backend: every backend runs the same contract tests below.
BACKENDS = {"parquet-dir": lambda path: None}


@pytest.fixture(params=sorted(BACKENDS))
def kb(request, tmp_path) -> KnowledgeBase:
    store = KnowledgeBase.create(tmp_path / "kb")
    backend = BACKENDS[request.param](store.path)
    return KnowledgeBase(store.path, backend=backend) if backend is not None else store


def test_create_writes_manifest_and_open_reads_it(tmp_path):
    kb = KnowledgeBase.create(tmp_path / "kb", mf_version="1.0", protocol_id="p1")
    manifest = json.loads((tmp_path / "kb" / "manifest.json").read_text())
    assert manifest["schema_version"] == 1 and manifest["mf_version"] == "1.0"
    assert {"created", "updated", "metaopt_version", "protocol_id"} <= set(manifest)
    assert KnowledgeBase.open(tmp_path / "kb").manifest["protocol_id"] == "p1"
    with pytest.raises(KnowledgeBaseError, match="already exists"):
        KnowledgeBase.create(kb.path)
    assert KnowledgeBase.create(kb.path, exist_ok=True).path == kb.path


def test_missing_and_corrupt_kb_are_clear_errors(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="no knowledge base") as err:
        KnowledgeBase.open(tmp_path / "nowhere")
    assert "metaopt kb build" in str(err.value)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(KnowledgeBaseError, match="not a knowledge base"):
        KnowledgeBase.create(tmp_path / "junk")
    kb = KnowledgeBase.create(tmp_path / "kb")
    (kb.path / "manifest.json").write_text("{not json")
    with pytest.raises(KnowledgeBaseError, match="unreadable"):
        KnowledgeBase.open(kb.path)


def test_other_schema_version_raises_with_fix(tmp_path):
    kb = KnowledgeBase.create(tmp_path / "kb")
    manifest = json.loads((kb.path / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (kb.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SchemaVersionError, match="schema 99, this metaopt reads 1") as err:
        KnowledgeBase.open(kb.path)
    assert err.value.hint and "metaopt kb build" in err.value.hint


def test_part_of_other_schema_raises(kb):
    kb.append("tasks", [_task("a")])
    frame = pa.Table.from_pandas(pd.DataFrame([_task("b")])).replace_schema_metadata(
        {b"metaopt.kb.schema_version": b"7"})
    pq.write_table(frame, kb.path / "tasks" / "part-99999999T000000000000-000000-x.parquet")
    with pytest.raises(SchemaVersionError, match="schema 7"):
        kb.tasks()


def test_every_part_carries_schema_metadata(kb):
    kb.append("evaluations", [_ev("a", "hgb", "c1")])
    (part,) = ParquetDirectoryBackend(kb.path).parts("evaluations")
    meta = pq.read_schema(part).metadata
    assert meta[b"metaopt.kb.schema_version"] == b"1" and meta[b"metaopt.kb.table"] == b"evaluations"


def test_round_trip_and_nested_values(kb):
    kb.append("evaluations", [_ev("a", "hgb", "c1", score=0.7)])
    ev = kb.evaluations()
    assert len(ev) == 1 and ev.loc[0, "score"] == 0.7
    assert json.loads(ev.loc[0, "params"]) == {"a": 1}
    assert list(ev.loc[0, "fold_scores"]) == [0.7, 0.7]


def test_readers_ignore_temporaries(kb):
    kb.append("tasks", [_task("a")])
    (kb.path / "tasks" / ".part-20990101T000000000000-000000-abc.parquet.1.tmp").write_bytes(b"PAR1 half")
    assert list(kb.tasks()["task_id"]) == ["a"]


def test_duplicate_parts_resolve_to_one_row_preferring_ok(kb):
    kb.append("evaluations", [_ev("a", "hgb", "c1", "error", math.nan, "ValueError: x"),
                              _ev("a", "hgb", "c2", score=0.1)])
    kb.append("evaluations", [_ev("a", "hgb", "c1", score=0.9), _ev("a", "hgb", "c2", score=0.1)])
    kb.append("evaluations", [_ev("a", "hgb", "c1", score=0.3)])  # a later duplicate: first ok wins
    ev = kb.evaluations().set_index("config_id")
    assert len(ev) == 2 and ev.loc["c1", "score"] == 0.9 and ev.loc["c1", "status"] == "ok"
    assert len(kb.evaluations(status="error")) == 0
    kb.append("tasks", [_task("t")])
    kb.append("tasks", [_task("t")])
    assert len(kb.tasks()) == 1


def test_compact_merges_and_an_interrupted_compaction_changes_nothing(kb):
    for i in range(5):
        kb.append("evaluations", [_ev("a", "hgb", f"c{i}"), _ev("a", "hgb", "c0")])
    before = kb.evaluations()
    backend = ParquetDirectoryBackend(kb.path)
    # A compaction killed after writing the merged part and before removing the old ones.
    backend.append("evaluations", kb.evaluations())
    pd.testing.assert_frame_equal(kb.evaluations(), before)
    assert kb.compact(["evaluations"]) == {"evaluations": 6}
    assert len(backend.parts("evaluations")) == 1
    pd.testing.assert_frame_equal(kb.evaluations(), before)


def test_metafeatures_wide_and_long_per_version(kb):
    kb.add_metafeatures([("a", "1.0", {"n_rows": 10.0, "ratio": math.nan}),
                         ("b", "1.0", {"n_rows": 20.0, "ratio": 0.5})])
    kb.add_metafeatures([("a", "2.0", {"n_rows": 10.0, "extra": 1.0, "ratio": 0.1})])
    wide = kb.metafeatures("1.0")
    assert list(wide.columns) == ["n_rows", "ratio"] and list(wide.index) == ["a", "b"]
    assert wide.index.name == "task_id" and math.isnan(wide.loc["a", "ratio"])
    assert list(kb.metafeatures("2.0").columns) == ["n_rows", "extra", "ratio"]
    long = kb.metafeatures("1.0", long=True)
    assert list(long.columns) == ["task_id", "mf_version", "feature", "value"] and len(long) == 4
    assert kb.metafeatures("9.9").empty


def test_evaluation_filters(kb):
    kb.append("evaluations", [_ev("a", "hgb", "c1"), _ev("a", "knn", "c2", "error", msg="boom"),
                              _ev("b", "hgb", "c3")])
    assert set(kb.evaluations(task_ids=["a"])["config_id"]) == {"c1", "c2"}
    assert set(kb.evaluations(algorithms=["hgb"])["config_id"]) == {"c1", "c3"}
    assert set(kb.evaluations(status="error")["config_id"]) == {"c2"}
    assert kb.evaluations(protocol_id="other").empty
    assert list(kb.evaluations(columns=["config_id"]).columns) == ["config_id"]
    assert kb.keys("evaluations") == {("a", "hgb", "c1", "p1"), ("a", "knn", "c2", "p1"), ("b", "hgb", "c3", "p1")}


def test_info_summarises_coverage(kb):
    kb.append("tasks", [_task("a"), _task("b", "regression", source="openml"), _task("c", status="error")])
    kb.append("evaluations", [_ev("a", "hgb", "c1"), _ev("a", "hgb", "c2"),
                              _ev("a", "knn", "c3", "error", msg="ValueError: k=12 > n_samples=10"),
                              _ev("a", "knn", "c4", "timeout", msg="timeout after 300.0 s"),
                              _ev("b", "svm", "c5", "skipped", msg="svm is limited to 10000 rows")])
    kb.add_metafeatures([("a", "1.0", {"x": 1.0}), ("b", "1.0", {"x": math.nan})])
    info = kb.info()
    assert info.n_tasks == 3 and info.n_tasks_failed == 1
    assert info.tasks_by_kind_source == {"binary": {"keel": 1}, "regression": {"openml": 1}}
    assert info.evaluations_by_algorithm == {"hgb": {"ok": 2}, "knn": {"error": 1, "timeout": 1},
                                             "svm": {"skipped": 1}}
    assert info.configs_per_task == {"hgb": 2.0}
    assert info.failures_by_reason == {"ValueError: k=# > n_samples=#": 1, "timeout after # s": 1,
                                       "task load: DataError: bad target": 1}
    assert info.skipped_by_reason == {"svm is limited to # rows": 1}
    assert info.mf_coverage == {"1.0": {"tasks": 2, "features": 1, "nan_fraction": 0.5}}
    assert info.disk_bytes > 0 and info.parts["evaluations"] == 1
    json.dumps(info.to_dict())


def test_failure_reason():
    assert failure_reason("MemoryError: 4096 MiB\nTraceback...") == "MemoryError: # MiB"
    assert failure_reason(None) == "(no message)"


def test_writer_lock_is_exclusive(kb):
    with kb.writer():
        with pytest.raises(KnowledgeBaseError, match="another process"):
            with KnowledgeBase(kb.path).writer():
                pass
    with KnowledgeBase(kb.path).writer():
        pass


def test_default_path_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv(KB_ENV, str(tmp_path / "elsewhere"))
    assert default_kb_path() == tmp_path / "elsewhere"
    monkeypatch.delenv(KB_ENV)
    assert default_kb_path().parts[-2:] == ("datasets", "kb")


def test_no_pickle_in_the_store(kb):
    kb.append("evaluations", [_ev("a", "hgb", "c1")])
    kb.add_metafeatures([("a", "1.0", {"x": 1.0})])
    files = [p for p in kb.path.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".parquet", ".lock", ""}
    for p in files:
        assert b"\x80\x04\x95" not in p.read_bytes()[:3]


def _overwrite_inside(path, fraction: float = 0.4, n: int = 64) -> None:
    data = bytearray(path.read_bytes())
    start = int(len(data) * fraction)
    data[start : start + n] = b"A" * n
    path.write_bytes(bytes(data))


def test_a_damaged_part_is_a_clear_error_naming_it(tmp_path):
    kb = KnowledgeBase.create(tmp_path / "kb")
    kb.append("evaluations", [_ev(f"t{i}", "hgb", f"c{j}", score=i + j / 7) for i in range(40)
                              for j in range(20)])  # fmt: skip
    (part,) = kb.backend.parts("evaluations")
    _overwrite_inside(part)
    with pytest.raises(KnowledgeBaseError, match="is damaged") as err:
        kb.evaluations()
    assert part.name in str(err.value) and "metaopt kb build" in str(err.value)


def test_a_lost_table_is_an_error_not_an_empty_table(tmp_path):
    kb = KnowledgeBase.create(tmp_path / "kb", mf_version="1")
    assert kb.metafeatures().empty and kb.tasks().empty  # a new knowledge base is just empty
    kb.append("tasks", [_task("t1")])
    kb.add_metafeatures([("t1", "1", {"n_rows": 10.0})])
    assert set(KnowledgeBase(kb.path).manifest["tables_written"]) == {"tasks", "metafeatures"}
    for part in kb.backend.parts("metafeatures"):
        part.unlink()
    reopened = KnowledgeBase(kb.path)
    with pytest.raises(KnowledgeBaseError, match="lost its 'metafeatures' table") as err:
        reopened.metafeatures()
    assert "metaopt kb build" in err.value.hint
    with pytest.raises(KnowledgeBaseError, match="metafeatures"):
        reopened.info()
    # a manifest written before `tables_written`: meta-feature names imply the table
    manifest = json.loads((kb.path / "manifest.json").read_text())
    del manifest["tables_written"]
    (kb.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowledgeBaseError, match="lost its 'metafeatures' table"):
        KnowledgeBase(kb.path).metafeatures()
