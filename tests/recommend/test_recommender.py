"""The Recommender: one trained object, one save format, checked at load time."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from recommend_fakes import write_csv

from metaopt import ModelError, ModelVersionError, suggest
from metaopt.metafeatures import VERSION, extract
from metaopt.recommend import Recommender, space_fingerprint
from metaopt.spaces import ALGORITHMS, SPACES, KNNSpace
from metaopt.tasks import load_task


@pytest.fixture(scope="module")
def rec(tiny_models: Path) -> Recommender:
    return Recommender.load(tiny_models / "models")


@pytest.fixture(scope="module")
def new_mf(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    path = write_csv(tmp_path_factory.mktemp("rec") / "new.csv", "binary", 150, 4, seed=77)
    return dict(extract(load_task(path)))


def test_one_directory_one_manifest_records_what_was_trained(tiny_models: Path) -> None:
    root = tiny_models / "models"
    assert sorted(p.name for p in root.iterdir()) == ["arrays.npz", "manifest.json"]
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["kind"] == "recommender" and manifest["mf_version"] == VERSION
    doc = manifest["doc"]
    assert doc["algorithms"] == {a: space_fingerprint(a) for a in ("hgb", "linear", "knn")}
    assert len(doc["kb"]["fingerprint"]) == 16 and doc["kb"]["n_tasks"] == 8
    assert doc["kb"]["n_tasks_by_kind"] == {"binary": 6, "multiclass": 0, "regression": 2}
    # the pool's configurations are stored once: in the transfer portfolio's document
    text = (root / "manifest.json").read_text()
    one = json.dumps(doc["transfer"]["kinds"]["binary"][0][1], sort_keys=True)
    assert text.count(one[:40]) == 1 or "pool" not in doc


def test_save_load_round_trip_ranks_identically(rec: Recommender, new_mf, tmp_path: Path) -> None:
    again = Recommender.load(rec.save(tmp_path / "m").path_)
    for kind in ("binary", "regression"):
        a, b = rec.rank(new_mf, kind, 4), again.rank(new_mf, kind, 4)
        assert [(c.algorithm, c.params, c.column) for c in a] == [(c.algorithm, c.params, c.column) for c in b]
        np.testing.assert_allclose([c.score for c in a], [c.score for c in b])
    assert again.evidence(new_mf, "binary", "hgb", 2) == rec.evidence(new_mf, "binary", "hgb", 2)
    assert again.optimizer_ is not None and again.optimizer_.transfer_ is again.transfer_


def test_saving_over_an_old_models_directory_removes_its_files(rec: Recommender, tmp_path: Path) -> None:
    old = tmp_path / "models"
    (old / "surrogate").mkdir(parents=True)
    (old / "surrogate" / "manifest.json").write_text("{}")
    (old / "nearest.json").write_text("{}")
    (old / "notes.txt").write_text("mine")
    rec.save(old)
    assert sorted(p.name for p in old.iterdir()) == ["arrays.npz", "manifest.json", "notes.txt"]


def test_evidence_is_the_similarity_s_most_weighted_tasks(rec: Recommender, new_mf) -> None:
    ev = rec.evidence(new_mf, "binary", "hgb", 3)
    assert len(ev) == 3 and all(e.name.startswith("bin") for e in ev)
    z = rec.transfer_.encoder_.scale_metafeatures(new_mf)[0]
    d = rec.transfer_.similarity_.discordance("binary", z)
    best = np.argsort(d, kind="stable")[:3]
    assert [e.task_id for e in ev] == [rec.transfer_.pools_["binary"].task_ids[i] for i in best]
    agreements = [e.agreement for e in ev]
    assert agreements == sorted(agreements, reverse=True)
    lw = rec.transfer_.prior_log_weights("binary", new_mf)
    assert int(np.argmax(lw)) == int(best[0])  # the ranking's heaviest task leads the evidence
    assert all(e.score is not None and 0.8 <= e.score <= 1.0 for e in ev)  # planted hgb scores
    # two regression tasks: no similarity model, nearest by the meta-features it reads
    reg = rec.evidence(new_mf, "regression", "linear", 2)
    assert len(reg) == 2 and all(e.agreement is None for e in reg)


def test_rank_without_the_kind_says_so(rec: Recommender, new_mf) -> None:
    with pytest.raises(ModelError, match="no multiclass task"):
        rec.rank(new_mf, "multiclass", 3)


class _FakeSpace(KNNSpace):
    """A registered family the models never saw."""

    name = "fake"


def test_a_new_family_is_reported_at_load_time(tiny_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import metaopt.spaces as spaces

    monkeypatch.setattr(spaces, "SPACES", (*SPACES, _FakeSpace()))
    monkeypatch.setattr(spaces, "ALGORITHMS", (*ALGORITHMS, "fake"))
    with pytest.raises(ModelVersionError, match="not fake.*metaopt kb build.*metaopt train"):
        Recommender.load(tiny_models / "models", algorithms=["hgb", "fake"])
    rec = Recommender.load(tiny_models / "models")  # asked for nothing in particular: loads
    assert "fake" in rec.unknown_algorithms
    data = tiny_models / "data" / "bin01.csv"
    with pytest.raises(ModelVersionError, match="not fake"):
        suggest(data, algorithms=["fake"], models=tiny_models / "models")
    with pytest.warns(UserWarning, match="do not know .*fake"):
        out = suggest(data, top=3, models=tiny_models / "models")
    assert out and "fake" not in {s.algorithm for s in out}


def test_a_changed_space_is_refused(tiny_models: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(tiny_models / "models", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["doc"]["algorithms"]["knn"] = "0" * 12
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelVersionError, match="search space of knn changed"):
        Recommender.load(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ModelVersionError, match="knn"):
            suggest(tiny_models / "data" / "bin01.csv", models=copy)


def test_unfitted_recommender_says_how_to_get_one() -> None:
    with pytest.raises(ModelError, match="fit"):
        Recommender().rank({}, "binary")


def test_shipped_models_are_no_larger_than_their_knowledge_base() -> None:
    root = Path(__file__).resolve().parents[2] / "datasets"
    if not (root / "models" / "manifest.json").is_file():
        pytest.skip("no shipped models in this checkout")
    size = {d: sum(p.stat().st_size for p in (root / d).rglob("*") if p.is_file()) for d in ("models", "kb")}
    assert size["models"] <= size["kb"]
