"""Surrogate: exact numpy trees, planted interactions, uncertainty, persistence, imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt.learn import (
    ConfigEncoder,
    Surrogate,
    leave_dataset_out,
    training_table,
)
from metaopt.learn._trees import export_hgb, predict_trees

FAST = dict(n_members=4, max_iter=60, learning_rate=0.1, min_samples_leaf=5)


# --------------------------------------------------------------------------- trees


@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_trees_match_sklearn_exactly_with_nan(seed):
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1500, 6))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 5] = rng.normal(size=1500)  # no NaN in training: NaN at predict time must still route
    y = (
        np.nan_to_num(X[:, 0]) * np.isnan(X[:, 1])
        + np.sin(np.nan_to_num(X[:, 2]))
        + 0.1 * rng.normal(size=1500)
    )
    from threadpoolctl import threadpool_limits

    est = HistGradientBoostingRegressor(
        max_iter=80, max_leaf_nodes=15 + 10 * seed, early_stopping=False, random_state=seed
    )
    with threadpool_limits(limits=1, user_api="openmp"):
        est.fit(X, y, sample_weight=rng.integers(1, 3, 1500))
    trees = export_hgb(est)
    Xt = rng.normal(scale=2.0, size=(700, 6))
    Xt[rng.random(Xt.shape) < 0.3] = np.nan
    np.testing.assert_array_equal(predict_trees(trees, Xt), est.predict(Xt))
    again = type(trees).from_arrays(trees.to_arrays("p_"), "p_")
    np.testing.assert_array_equal(predict_trees(again, Xt), est.predict(Xt))


# --------------------------------------------------------------------------- synthetic data


def synthetic(n_tasks: int, seed: int, m0_range=(-1.0, 1.0)):
    """Tasks with meta-features m0 (matters), m1 (noise), m2 (NaN on some tasks).

    hgb: the best unit learning rate is (m0 + 1) / 2 (an interaction);
    knn: good when m0 > 0, bad when m0 < 0.
    """
    rng = np.random.default_rng(seed)
    enc = ConfigEncoder(metafeature_names=["m0", "m1", "m2"], algorithms=["hgb", "knn"])
    lr = next(p for p in enc.params_["hgb"] if p.name == "learning_rate")
    rows, algs, params, y, tasks = [], [], [], [], []
    for t in range(n_tasks):
        m0 = rng.uniform(*m0_range)
        mf = {"m0": m0, "m1": rng.normal(), "m2": np.nan if t % 4 == 0 else rng.normal()}
        for u in np.linspace(0.05, 0.95, 10):
            algs.append("hgb")
            params.append({"learning_rate": lr.from_unit(u)})
            y.append(0.9 - 2.0 * (u - (m0 + 1) / 2) ** 2)
            rows.append(mf)
            tasks.append(f"t{seed}_{t}")
        for k in (1, 5, 25):
            algs.append("knn")
            params.append({"n_neighbors": k})
            y.append(0.5 + 0.35 * m0 + 0.01 * np.log(k))
            rows.append(mf)
            tasks.append(f"t{seed}_{t}")
    y = np.asarray(y) + rng.normal(scale=0.01, size=len(y))
    mf_frame = pd.DataFrame(rows)
    enc.fit(mf_frame.drop_duplicates())
    return enc, enc.transform(mf_frame, algs, params), y, np.asarray(tasks)


@pytest.fixture(scope="module")
def data():
    enc, X, y, tasks = synthetic(40, seed=0)
    _, Xt, yt, tt = synthetic(12, seed=1)
    model = Surrogate(**FAST).fit(
        X,
        y,
        tasks,
        n_metafeatures=enc.n_metafeatures,
        fit_time=np.log1p(np.abs(X[:, enc.n_metafeatures])),
    )
    model.encoder_ = enc
    return enc, X, y, tasks, Xt, yt, tt, model


def mean_spearman(pred, y, tasks):
    from scipy.stats import spearmanr

    return np.mean([spearmanr(pred[tasks == t], y[tasks == t]).statistic for t in np.unique(tasks)])


def test_learns_planted_interaction_better_than_blind_baseline(data):
    enc, X, y, tasks, Xt, yt, tt, model = data
    mean, std = model.predict(Xt)
    assert mean.shape == std.shape == (len(yt),) and (std > 0).all()
    blind = X.copy()
    blind[:, : enc.n_metafeatures] = 0.0  # the same model, meta-feature-blind
    blind_model = Surrogate(**FAST).fit(blind, y, tasks)
    Xb = Xt.copy()
    Xb[:, : enc.n_metafeatures] = 0.0
    ours, theirs = mean_spearman(mean, yt, tt), mean_spearman(blind_model.predict(Xb)[0], yt, tt)
    assert ours > 0.8 and ours > theirs + 0.2
    # top-1 regret on held-out tasks is small
    regret = [yt[tt == t].max() - yt[tt == t][np.argmax(mean[tt == t])] for t in np.unique(tt)]
    assert np.mean(regret) < 0.1


def test_std_grows_far_from_training_tasks(data):
    enc, X, y, tasks, Xt, yt, tt, model = data
    near = Xt.copy()
    far = Xt.copy()
    far[:, 0] = enc.clip  # m0 far beyond the training range (scaled, clipped)
    far[:, 1] = -enc.clip
    assert model.ood_distance(near).mean() < model.ood_distance(far).mean()
    assert model.predict(far)[1].mean() > 1.5 * model.predict(near)[1].mean()
    # the ensemble spread alone also reflects which tasks were drawn
    assert model.std_floor_ >= 0.0


@pytest.fixture(scope="module")
def noisy_fits():
    """90 synthetic tasks, scores noisier (0.15) where m0 > 0: 60 to fit on, 30 held out."""
    enc, X, y, tasks = synthetic(90, seed=2)
    noisy = X[:, 0] > 0  # the scaled m0 has the sign of the raw one
    y = y + np.where(noisy, np.random.default_rng(3).normal(0, 0.15, len(y)), 0.0)
    train = np.isin(tasks, np.unique(tasks)[:60])
    fits = {
        u: Surrogate(**FAST, uncertainty=u).fit(
            X[train], y[train], tasks[train], n_metafeatures=enc.n_metafeatures
        )
        for u in ("heteroscedastic", "floor")
    }
    return fits, (enc, X[~train], y[~train], tasks[~train], noisy[~train])


def test_error_head_gives_noisy_tasks_the_wider_sigma(noisy_fits) -> None:
    fits, (_enc, Xt, yt, _tt, noisy) = noisy_fits
    het, floor = fits["heteroscedastic"], fits["floor"]
    assert len(het.sigma_models_) == 2 and floor.sigma_models_ == []
    assert het.training_["sigma_head"] and het.sigma_floor_ > 0 and het.sigma_scale_ > 0
    mean_h, sd_h = het.predict(Xt)
    _mean_f, sd_f = floor.predict(Xt)
    err = np.abs(mean_h - yt)
    # held-out errors are far larger on the noisy tasks: the head's σ follows, and is
    # sharper than the single floor's where the errors are small; one floor for all
    # rows cannot tell the parts apart
    assert np.sqrt(np.mean(err[noisy] ** 2)) > 3 * np.sqrt(np.mean(err[~noisy] ** 2))
    assert np.median(sd_h[noisy]) > 1.5 * np.median(sd_h[~noisy])
    assert np.median(sd_h[~noisy]) < 0.7 * np.median(sd_f[~noisy])
    assert np.median(sd_f[noisy]) < 1.2 * np.median(sd_f[~noisy])
    assert 0.85 <= np.mean(err <= 2 * sd_h) <= 1.0

    def nll(sd, mean):
        return np.mean(0.5 * ((mean - yt) / sd) ** 2 + np.log(sd))

    assert nll(sd_h, mean_h) < nll(sd_f, floor.predict(Xt)[0])


def test_error_head_round_trips_and_old_models_load_with_the_floor(noisy_fits, tmp_path) -> None:
    fits, (_enc, Xt, *_rest) = noisy_fits
    het = fits["heteroscedastic"]
    het.mf_version_ = "test-mf"
    het.save(tmp_path / "h")
    loaded = Surrogate.load(tmp_path / "h", metafeature_version="test-mf")
    assert loaded.uncertainty == "heteroscedastic" and len(loaded.sigma_models_) == 2
    np.testing.assert_array_equal(loaded.predict(Xt)[1], het.predict(Xt)[1])
    floor = fits["floor"]
    assert floor.sigma_models_ == []
    mean, std = floor.predict(Xt)
    spread = floor._member_predictions(Xt).std(axis=0)
    np.testing.assert_allclose(std, np.sqrt(spread**2 + floor.std_floor_**2 + (0.1 * floor.ood_distance(Xt)) ** 2))


def test_unknown_uncertainty_is_refused(data) -> None:
    _enc, X, y, tasks, *_ = data
    with pytest.raises(ValueError, match="uncertainty must be one of heteroscedastic, floor"):
        Surrogate(**FAST, uncertainty="bayes").fit(X, y, tasks)


def test_save_load_round_trip_identical(data, tmp_path):
    enc, X, y, tasks, Xt, yt, tt, model = data
    model.mf_version_ = "test-mf"
    model.save(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["format"] == "metaopt-saved" and manifest["kind"] == "surrogate"
    assert manifest["mf_version"] == "test-mf"
    assert manifest["doc"]["metafeature_names"] == ["m0", "m1", "m2"]
    loaded = Surrogate.load(tmp_path / "s", metafeature_version="test-mf")
    for a, b in zip(model.predict(Xt), loaded.predict(Xt), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict_log_fit_time(Xt), loaded.predict_log_fit_time(Xt))
    pairs = [("hgb", {"learning_rate": 0.1}), ("knn", {"n_neighbors": 3})]
    mf = {"m0": 0.3, "m1": 0.0, "m2": float("nan")}
    for a, b in zip(
        model.predict_configs(mf, pairs), loaded.predict_configs(mf, pairs), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert (loaded.expected_fit_time(mf, pairs, n_rows=2000) > 0).all()
    assert loaded.get_params() == model.get_params()


def test_load_errors(data, tmp_path):
    model = data[-1]
    model.mf_version_ = "old-version"
    model.save(tmp_path / "s")
    with pytest.raises(ModelVersionError, match="retrain with `metaopt train`"):
        Surrogate.load(tmp_path / "s", metafeature_version="new-version")
    with pytest.raises(ModelVersionError, match="meta-feature version old-version"):
        Surrogate.load(tmp_path / "s")  # this metaopt's VERSION differs
    manifest_path = tmp_path / "s" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["doc"]["params"]["model"] = "quantum"
    (tmp_path / "s2").mkdir()
    (tmp_path / "s2" / "arrays.npz").write_bytes((tmp_path / "s" / "arrays.npz").read_bytes())
    (tmp_path / "s2" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelVersionError, match="'quantum'"):
        Surrogate.load(tmp_path / "s2", metafeature_version="old-version")
    with pytest.raises(ModelError, match="no trained surrogate"):
        Surrogate.load(tmp_path / "nothing")
    w = tmp_path / "s" / "arrays.npz"
    w.write_bytes(w.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="checksum"):
        Surrogate.load(tmp_path / "s", metafeature_version="old-version")


def test_unfitted_and_params():
    s = Surrogate()
    with pytest.raises(ModelError, match="not fitted"):
        s.predict(np.zeros((1, 3)))
    assert s.set_params(n_members=3).get_params()["n_members"] == 3
    with pytest.raises(ValueError):
        s.set_params(nope=1)


def test_mlp_ensemble_learns_and_round_trips(data, tmp_path):
    pytest.importorskip("torch")
    enc, X, y, tasks, Xt, yt, tt, _ = data
    model = Surrogate(model="mlp", n_members=2, hidden=(32,), epochs=40, mlp_lr=1e-2).fit(
        X, y, tasks, n_metafeatures=enc.n_metafeatures
    )
    mean, std = model.predict(Xt)
    assert mean_spearman(mean, yt, tt) > 0.5
    model.mf_version_ = "v"
    loaded = Surrogate.load(model.save(tmp_path / "mlp"), metafeature_version="v")
    np.testing.assert_array_equal(loaded.predict(Xt)[0], mean)


def test_leave_dataset_out_table(data):
    enc, X, y, tasks, *_ = data
    table = leave_dataset_out(
        X,
        y,
        tasks,
        tasks,
        {"gbt": FAST | {"n_members": 2}},
        n_splits=3,
        n_metafeatures=enc.n_metafeatures,
    )
    assert list(table.index) == ["gbt"]
    assert table.loc["gbt", "spearman"] > 0.5 and 0 <= table.loc["gbt", "regret"] <= 1


def test_from_kb_on_synthetic_kb(synthetic, tmp_path):
    model = Surrogate.from_kb(synthetic.kb, n_members=3, max_iter=40, min_samples_leaf=3)
    assert model.kb_info_["n_tasks"] == 14 and len(model.kb_info_["fingerprint"]) == 16
    pool = dict(synthetic.pool["binary"])
    mf = synthetic.kb.metafeatures()
    by_side = {s: [t for t, v in synthetic.side.items() if v == s] for s in "AB"}
    for side, (alg, cid) in synthetic.best.items():
        task = by_side[side][0]
        mean, _ = model.predict_configs(
            mf.loc[task].to_dict(), [(alg, pool[cid]), ("knn" if alg == "hgb" else "hgb", {})]
        )
        assert mean[0] > mean[1]  # the side's winning algorithm beats the other side's
    loaded = Surrogate.load(model.save(tmp_path / "kb_model"))
    assert loaded.kb_info_["fingerprint"] == model.kb_info_["fingerprint"]


def test_prediction_after_load_imports_neither_torch_nor_sklearn(data, tmp_path):
    model = data[-1]
    model.mf_version_ = "v"
    model.save(tmp_path / "s")
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        import metaopt.learn
        from metaopt.learn import Surrogate
        s = Surrogate.load({str(tmp_path / "s")!r}, metafeature_version="v")
        mean, std = s.predict_configs({{"m0": 0.1, "m1": 0.0, "m2": 1.0}}, [("hgb", {{"learning_rate": 0.1}})])
        assert np.isfinite(mean).all() and np.isfinite(std).all()
        bad = [m for m in ("torch", "sklearn") if m in sys.modules]
        print("heavy:", bad)
        sys.exit(1 if bad else 0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_from_kb_selects_by_leave_dataset_out(synthetic):
    candidates = {"small": {"max_iter": 5, "learning_rate": 0.01}, "fit": {"max_iter": 40}}
    model = Surrogate.from_kb(
        synthetic.kb, candidates=candidates, n_splits=3, n_members=2, min_samples_leaf=3
    )
    sel = model.training_["selection"]
    assert set(sel["table"]) == {"small", "fit"} and sel["chosen"] in candidates
    best = max(
        sel["table"], key=lambda k: (sel["table"][k]["spearman"], -sel["table"][k]["regret"])
    )
    assert sel["chosen"] == best and model.max_iter == candidates[best]["max_iter"]


def test_training_table_scores_failures_zero_and_drops_skipped(synthetic):
    table = training_table(synthetic.kb)
    assert "skipped" not in set(table["status"])
    failed = table[table["status"].isin(["error", "timeout"])]
    assert len(failed) == 2 and (failed["target"] == 0).all()
    assert failed["log_fit_time"].isna().all()
    ok = table[table["status"] == "ok"]
    assert ok["target"].between(0, 1).all()  # (the fixture records no row counts: no fit times)
    assert np.allclose(ok.groupby("task_id")["target"].max(), 1.0)


@pytest.mark.parametrize("kind", ["gbt", "mlp"])
def test_surrogate_contract(kind, data, tmp_path):
    """What every member kind must do: shapes, positive σ, determinism, identical reload."""
    if kind == "mlp":
        pytest.importorskip("torch")
    enc, X, y, tasks, Xt, *_ = data
    params = {"model": kind, "n_members": 2, "max_iter": 20, "epochs": 5, "hidden": (16,)}
    a = Surrogate(**params).fit(X, y, tasks, n_metafeatures=enc.n_metafeatures)
    b = Surrogate(**params).fit(X, y, tasks, n_metafeatures=enc.n_metafeatures)
    mean, std = a.predict(Xt)
    assert mean.shape == std.shape == (len(Xt),) and np.isfinite(mean).all() and (std > 0).all()
    np.testing.assert_array_equal(mean, b.predict(Xt)[0])  # same seed, same model
    with pytest.raises(ValueError, match="expects"):
        a.predict(Xt[:, :-1])
    a.mf_version_ = "v"
    loaded = Surrogate.load(a.save(tmp_path / kind), metafeature_version="v")
    for u, v in zip(a.predict(Xt), loaded.predict(Xt), strict=True):
        np.testing.assert_array_equal(u, v)


def test_predict_can_return_the_member_spread(noisy_fits) -> None:
    fits, (_enc, Xt, *_rest) = noisy_fits
    model = fits["heteroscedastic"]
    mean, std, spread = model.predict(Xt, return_spread=True)
    np.testing.assert_array_equal(mean, model.predict(Xt)[0])
    np.testing.assert_array_equal(std, model.predict(Xt)[1])
    np.testing.assert_allclose(spread, model._member_predictions(Xt).std(axis=0))
    assert not np.allclose(spread, std)  # σ is the error head's, not the spread
