"""suggest(): valid, diversified, explained suggestions whose specs fit the raw CSV."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from recommend_fakes import write_csv

from metaopt import ConfigError, ModelError, ModelVersionError, estimator_from_spec, suggest
from metaopt.recommend import MODELS_ENV, Recommender, Suggestion
from metaopt.spaces import config_id, get_space
from metaopt.tasks import load_task


@pytest.fixture(scope="module")
def new_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset not in the knowledge base, like the ones in it."""
    return write_csv(tmp_path_factory.mktemp("new") / "new.csv", "binary", 160, 4, seed=99)


def test_top_k_valid_diversified(tiny_models: Path, new_csv: Path) -> None:
    out = suggest(new_csv, top=4, models=tiny_models / "models")
    assert [s.rank for s in out] == [1, 2, 3, 4]
    assert all(isinstance(s, Suggestion) for s in out)
    algs = [s.algorithm for s in out]
    assert max(algs.count(a) for a in set(algs)) <= 2  # ceil(4 / 2)
    assert len({s.config_id for s in out}) == 4
    task = load_task(new_csv)
    for s in out:
        assert s.config_id == config_id(s.algorithm, s.params)
        assert get_space(s.algorithm).validate(s.params, task_shape(task)) == s.params
        assert np.isfinite(s.score) and s.uncertainty > 0
        assert s.fit_time is None or s.fit_time > 0
        assert s.evidence and s.evidence[0].name.startswith("bin")
        assert not s.ood


def test_ranking_is_the_family_vote_then_the_similarity_weighted_portfolio(
    tiny_models: Path, new_csv: Path
) -> None:
    from metaopt.learn._transfer import fit_to_shape
    from metaopt.metafeatures import extract
    from metaopt.recommend import diversify_order

    bundle = Recommender.load(tiny_models / "models")
    assert "binary" in bundle.transfer_.kinds
    task = load_task(new_csv)
    mf = dict(extract(task, random_state=0))
    cols = bundle.transfer_.columns("binary")
    order = [j for j, _ in bundle.transfer_.order("binary", len(cols), mf, family_first=True)]
    picked = diversify_order([a for a, _ in cols], order, 4)
    expected = [config_id(a, fit_to_shape(a, p, task_shape(task))) for a, p in (cols[j] for j in picked)]
    out = suggest(new_csv, top=4, models=bundle)
    assert [x.config_id for x in out] == expected


def test_surrogate_fills_when_the_filters_leave_too_few_pool_configs(
    tiny_models: Path, new_csv: Path
) -> None:
    rec = Recommender.load(tiny_models / "models")
    pool_linear = {config_id(a, p) for a, p in rec.transfer_.columns("binary") if a == "linear"}
    out = suggest(new_csv, top=len(pool_linear) + 3, algorithms=["linear"], models=rec)
    assert len(out) == len(pool_linear) + 3  # fresh Sobol configs fill the rest
    fill = out[len(pool_linear):]
    scores = [x.score for x in fill]
    assert scores == sorted(scores, reverse=True)  # ranked by the surrogate


def task_shape(task):
    from metaopt.spaces import DataShape

    return DataShape.of(task)


def test_specs_round_trip_json_and_fit_raw_csv(tiny_models: Path, new_csv: Path) -> None:
    out = suggest(new_csv, top=3, algorithms=["linear", "knn", "hgb"], models=tiny_models / "models")
    raw = pd.read_csv(new_csv)
    X, y = raw.drop(columns="target"), raw["target"]
    for s in out:
        spec = json.loads(json.dumps(s.to_dict()))["spec"]
        model = estimator_from_spec(spec).fit(X, y)
        assert model.predict(X.head(5)).shape == (5,)
        assert set(model.predict(X)) <= set(y)


def test_algorithms_filter(tiny_models: Path, new_csv: Path) -> None:
    out = suggest(new_csv, top=5, algorithms=["linear"], models=tiny_models / "models")
    assert out and {s.algorithm for s in out} == {"linear"}
    with pytest.raises(ConfigError, match="unknown algorithm"):
        suggest(new_csv, algorithms=["gbm"], models=tiny_models / "models")


def test_time_budget_drops_slow_configs(tiny_models: Path, new_csv: Path) -> None:
    models = Recommender.load(tiny_models / "models")
    free = suggest(new_csv, top=6, algorithms=["hgb", "linear", "knn"], models=models)
    times = {s.algorithm: s.fit_time for s in free}
    others = [t for a, t in times.items() if a != "hgb"]
    assert others and times["hgb"] > max(others)  # the planted fit times were learned
    budget = (times["hgb"] + max(others)) / 2
    out = suggest(new_csv, top=6, algorithms=["hgb", "linear", "knn"], time_budget=budget,
                  models=models)
    assert out and all(s.fit_time is not None and s.fit_time <= budget for s in out)
    assert "hgb" not in {s.algorithm for s in out}
    with pytest.raises(ConfigError, match="time budget|within"):
        suggest(new_csv, algorithms=["hgb"], time_budget=1e-9, models=models)


def test_extreme_dataset_is_flagged_ood(tiny_models: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame(rng.lognormal(0, 3, size=(n, 120)), columns=[f"c{i}" for i in range(120)])
    for i in range(20):
        frame[f"k{i}"] = rng.choice([f"v{j}" for j in range(40)], n)
    frame["target"] = np.where(rng.random(n) < 0.1, "rare", "common")
    path = tmp_path / "extreme.csv"
    frame.to_csv(path, index=False)
    out = suggest(path, top=3, models=tiny_models / "models")
    assert out and all(s.ood for s in out)
    _, threshold = Recommender.load(tiny_models / "models").novelty({}, "binary")
    assert out[0].ood_distance > threshold
    # a knowledge-base dataset itself is in distribution
    inside = suggest(tiny_models / "data" / "bin00.csv", top=3, models=tiny_models / "models")
    assert not inside[0].ood and inside[0].ood_distance == 0.0


def test_models_found_through_environment(tiny_models: Path, new_csv: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_ENV, str(tiny_models / "models"))
    assert len(suggest(new_csv, top=2)) == 2


def test_missing_and_mismatched_models(tiny_models: Path, new_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="metaopt train"):
        suggest(new_csv, models=tmp_path / "nowhere")
    copy = tmp_path / "models"
    shutil.copytree(tiny_models / "models", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["mf_version"] = "0.1"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelVersionError, match="meta-feature version 0.1.*metaopt train"):
        suggest(new_csv, models=copy)
    manifest["mf_version"] = json.loads((tiny_models / "models" / "manifest.json").read_text())["mf_version"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with (copy / "arrays.npz").open("ab") as fh:
        fh.write(b"0")
    with pytest.raises(ModelError, match="checksum"):
        suggest(new_csv, models=copy)


def _crafted(src: Path, dst: Path, change) -> Path:
    """A copy of the models at ``src`` changed by ``change(doc, arrays)``, checksum recomputed
    (what a crafted file, or a damaged one re-saved by a tool, looks like)."""
    from metaopt.learn._saved import read_saved, write_saved

    manifest, arrays = read_saved(src, "recommender")
    change(manifest["doc"], arrays)
    return write_saved(dst, "recommender", manifest["doc"], arrays, mf_version=manifest["mf_version"])


def _first(arrays, prefix):
    return next(k for k in sorted(arrays) if k.startswith(prefix))


CRAFTED = {
    "optimizer weight shape": lambda d, a: a.update(
        {"optimizer.head1_W": a["optimizer.head1_W"][:, :3]}),
    "optimizer NaN weights": lambda d, a: a.update(
        {"optimizer.head2_b": a["optimizer.head2_b"] * np.nan}),
    "optimizer parameters": lambda d, a: d["optimizer"]["params"].update({"evil": 1}),
    "optimizer encoder null": lambda d, a: d["optimizer"].update({"encoder": None}),
    "surrogate tree truncated": lambda d, a: a.update(
        {_first(a, "surrogate."): a[_first(a, "surrogate.")][:1]}),
    "evidence rows truncated": lambda d, a: a.update(
        {k: a[k][:1] for k in a if k.startswith("evidence.")}),
    "document fields of the wrong type": lambda d, a: d.update({"transfer": []}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_damaged_or_crafted_models_are_one_clear_error(
    tiny_models: Path, new_csv: Path, tmp_path: Path, case: str
) -> None:
    copy = _crafted(tiny_models / "models", tmp_path / "models", CRAFTED[case])
    with pytest.raises(ModelError, match="metaopt train") as info:
        Recommender.load(copy)
    assert str(copy) in str(info.value)
    with pytest.raises(ModelError):
        suggest(new_csv, models=copy)


def test_a_crafted_standalone_optimizer_is_one_clear_error(tiny_models: Path, tmp_path: Path) -> None:
    from metaopt.learn import LearnedOptimizer
    from metaopt.learn._saved import read_saved, write_saved

    saved = Recommender.load(tiny_models / "models").optimizer_.save(tmp_path / "opt")
    assert LearnedOptimizer.load(saved).algorithms
    manifest, arrays = read_saved(saved, "optimizer")
    arrays["optimizer.gru_W_hh"] = arrays["optimizer.gru_W_hh"][:5]
    write_saved(saved, "optimizer", manifest["doc"], arrays, mf_version=manifest["mf_version"])
    with pytest.raises(ModelError, match="gru_W_hh.*metaopt train"):
        LearnedOptimizer.load(saved)


def test_a_path_is_read_as_a_sample_with_the_true_row_count(
    tiny_models: Path, new_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """suggest(path) reads SAMPLE_ROWS rows of a larger text file; shape-dependent bounds use
    the file's row count (issue 19; the sample size made small)."""
    import metaopt.recommend._suggest as mod
    import metaopt.tasks

    seen = []
    real = metaopt.tasks.load_task

    def spy(*args, **kwargs):
        seen.append(task := real(*args, **kwargs))
        return task

    monkeypatch.setattr(mod, "SAMPLE_ROWS", 60)
    monkeypatch.setattr(metaopt.tasks, "load_task", spy)
    out = suggest(new_csv, top=3, models=tiny_models / "models")
    (task,) = seen
    assert (task.n_rows, task.n_rows_total) == (60, 160)
    full = load_task(new_csv)
    for s in out:
        assert get_space(s.algorithm).validate(s.params, task_shape(full)) == s.params
