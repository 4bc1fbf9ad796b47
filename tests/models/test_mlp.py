"""MLPClassifier / MLPRegressor: behaviour, determinism, persistence, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from metaopt import ConfigError, ModelError, ModelVersionError
from metaopt.models import MLPClassifier, MLPRegressor

FAST = {"max_epochs": 15, "width": 32, "batch_size": 64, "device": "cpu", "random_state": 0}


def test_import_does_not_load_torch():
    code = (
        "import sys, metaopt.models, metaopt.spaces;"
        "from metaopt.models import MLPClassifier;"
        "m = MLPClassifier(width=8); m.get_params();"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_classifier_learns_binary(binary_data):
    Xtr, ytr, Xv, yv = binary_data
    m = MLPClassifier(**FAST, learning_rate=0.01).fit(Xtr, ytr)
    assert m.score(Xv, yv) > 0.8
    proba = m.predict_proba(Xv)
    assert proba.shape == (len(Xv), 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert 1 <= m.n_iter_ <= 15
    assert len(m.loss_curve_) == m.n_iter_


def test_classifier_string_labels_multiclass(multiclass_data):
    Xtr, ytr, Xv, yv = multiclass_data
    m = MLPClassifier(**FAST, learning_rate=0.01).fit(Xtr, ytr)
    assert list(m.classes_) == ["a", "b", "c"]
    assert set(m.predict(Xv)) <= {"a", "b", "c"}
    assert m.score(Xv, yv) > 0.6


def test_regressor_standardises_targets(regression_data):
    Xtr, ytr, Xv, yv = regression_data
    m = MLPRegressor(**FAST, learning_rate=0.01).fit(Xtr, ytr)
    assert m.y_mean_[0] == pytest.approx(ytr.mean())
    assert m.score(Xv, yv) > 0.8
    two = MLPRegressor(**FAST).fit(Xtr, np.c_[ytr, -ytr])
    assert two.predict(Xv).shape == (len(Xv), 2)


@pytest.mark.parametrize(
    "arch",
    [
        {"norm": "batch", "dropout": 0.2, "residual": True, "activation": "gelu"},
        {"norm": "layer", "shape": "tapering", "taper_ratio": 0.5, "hidden_layers": 3},
        {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.05, "schedule": "cosine"},
        {"optimizer": "adamw", "weight_decay": 0.01, "schedule": "onecycle", "activation": "silu"},
        {"activation": "tanh", "early_stopping": False},
    ],
)
def test_architectures_are_deterministic(binary_data, arch):
    Xtr, ytr, Xv, yv = binary_data
    a = MLPClassifier(**{**FAST, **arch}).fit(Xtr, ytr)
    b = MLPClassifier(**{**FAST, **arch}).fit(Xtr, ytr)
    np.testing.assert_array_equal(a.predict_proba(Xv), b.predict_proba(Xv))
    assert a.score(Xv, yv) > 0.7
    c = MLPClassifier(**{**FAST, **arch, "random_state": 1}).fit(Xtr, ytr)
    assert not np.array_equal(a.predict_proba(Xv), c.predict_proba(Xv))


def test_tapering_widths_and_weight_shapes(binary_data):
    Xtr, ytr, _, _ = binary_data
    m = MLPClassifier(
        **{**FAST, "width": 64}, hidden_layers=3, shape="tapering", taper_ratio=0.5
    ).fit(Xtr, ytr)
    assert [m.weights_[f"W{i}"].shape for i in range(4)] == [(10, 64), (64, 32), (32, 16), (16, 2)]


def test_early_stopping_keeps_best_epoch(binary_data):
    Xtr, ytr, _, _ = binary_data
    m = MLPClassifier(
        **{**FAST, "max_epochs": 200, "width": 128}, learning_rate=0.05, patience=3
    ).fit(Xtr, ytr)
    assert m.n_iter_ < 200
    curve = m.validation_loss_curve_
    assert m.best_epoch_ == int(np.argmin(curve)) + 1
    assert m.n_iter_ - m.best_epoch_ >= 3


def test_lr_zero_changes_nothing(binary_data):
    Xtr, ytr, _, _ = binary_data
    a = MLPClassifier(**{**FAST, "max_epochs": 1}, learning_rate=0.0, early_stopping=False)
    b = MLPClassifier(**{**FAST, "max_epochs": 3}, learning_rate=0.0, early_stopping=False)
    a.fit(Xtr, ytr)
    b.fit(Xtr, ytr)
    for k in a.weights_:
        np.testing.assert_array_equal(a.weights_[k], b.weights_[k])


def test_save_load_roundtrip(tmp_path, multiclass_data, regression_data):
    Xtr, ytr, Xv, _ = multiclass_data
    m = MLPClassifier(**FAST, norm="batch").fit(Xtr, ytr)
    path = m.save(tmp_path / "clf")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.safetensors"]
    back = MLPClassifier.load(path)
    np.testing.assert_array_equal(back.predict_proba(Xv), m.predict_proba(Xv))
    assert back.get_params() == m.get_params()
    assert list(back.classes_) == ["a", "b", "c"]

    Xtr, ytr, Xv, _ = regression_data
    r = MLPRegressor(**FAST).fit(Xtr, ytr)
    back_r = MLPRegressor.load(r.save(tmp_path / "reg"), device="cpu")
    np.testing.assert_array_equal(back_r.predict(Xv), r.predict(Xv))
    with pytest.raises(ModelError, match="MLPRegressor"):
        MLPClassifier.load(tmp_path / "reg")


def test_load_rejects_other_versions_and_missing(tmp_path, binary_data):
    Xtr, ytr, _, _ = binary_data
    path = MLPClassifier(**FAST).fit(Xtr, ytr).save(tmp_path / "m")
    meta = json.loads((path / "model.json").read_text())
    meta["format_version"] = 999
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError, match="999"):
        MLPClassifier.load(path)
    with pytest.raises(ModelError, match="not a saved metaopt MLP"):
        MLPClassifier.load(tmp_path / "nothing")


@pytest.mark.parametrize(
    "bad",
    [
        {"norm": "group"},
        {"hidden_layers": 0},
        {"dropout": 1.0},
        {"learning_rate": -1.0},
        {"validation_fraction": 0.0},
        {"residual": "yes"},
        {"device": "tpu"},
    ],
)
def test_invalid_hyperparameters_raise_config_error(binary_data, bad):
    Xtr, ytr, _, _ = binary_data
    with pytest.raises(ConfigError) as info:
        MLPClassifier(**{**FAST, **bad}).fit(Xtr, ytr)
    assert info.value.hint


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier(**FAST).fit(np.ones((10, 2)), np.zeros(10))


def test_tiny_data_trains_without_holdout():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    m = MLPClassifier(**FAST).fit(X, [0, 1, 1])
    assert m.validation_loss_curve_ == []
    assert m.predict(X).shape == (3,)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_check_estimator(cls):
    from sklearn.utils.estimator_checks import check_estimator

    est = cls(
        max_epochs=30, learning_rate=0.01, width=32, batch_size=32, device="cpu", random_state=0
    )
    check_estimator(est)
