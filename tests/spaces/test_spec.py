"""Estimator specs: strict JSON, exact round trips, and the import allow-list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import metaopt
from metaopt import ConfigError
from metaopt.spaces import estimator_from_spec, estimator_to_spec, spec_to_estimator


def _round_trip(est):
    spec = estimator_to_spec(est)
    rebuilt = spec_to_estimator(json.loads(json.dumps(spec, allow_nan=False)))
    assert estimator_to_spec(rebuilt) == spec
    return spec, rebuilt


def test_public_class_paths_and_plain_params() -> None:
    spec, rebuilt = _round_trip(RandomForestClassifier(n_estimators=7, max_depth=3, random_state=1))
    assert spec["class"] == "sklearn.ensemble.RandomForestClassifier"
    assert spec["params"]["n_estimators"] == 7
    assert (
        rebuilt.get_params()
        == RandomForestClassifier(n_estimators=7, max_depth=3, random_state=1).get_params()
    )


def test_nested_pipelines_and_column_transformers() -> None:
    est = Pipeline(
        [
            (
                "encode",
                ColumnTransformer([("num", StandardScaler(), ["a", "b"]), ("cat", "drop", ["c"])]),
            ),
            ("model", LogisticRegression(C=0.5)),
        ]
    )
    spec, rebuilt = _round_trip(est)
    steps = spec["params"]["steps"]
    assert [s[0] for s in steps] == ["encode", "model"]
    transformers = steps[0][1]["params"]["transformers"]
    assert transformers[1] == ["cat", "drop", ["c"]]
    assert transformers[0][1]["class"] == "sklearn.preprocessing.StandardScaler"
    assert isinstance(rebuilt.steps[0], tuple)
    assert isinstance(rebuilt.named_steps["encode"].transformers[0], tuple)
    assert rebuilt.named_steps["model"].C == 0.5


def test_special_values_are_strict_json() -> None:
    est = FeatureUnion(
        [
            (
                "onehot",
                OneHotEncoder(categories=[np.array(["x", "y"], dtype=object)], dtype=np.float32),
            ),
            ("scale", StandardScaler()),
        ],
        transformer_weights={"onehot": np.float64(np.inf), "scale": float("nan")},
    )
    spec, rebuilt = _round_trip(est)
    text = json.dumps(spec, allow_nan=False)
    assert '"__float__": "inf"' in text and '"__float__": "nan"' in text
    enc = rebuilt.transformer_list[0][1]
    assert enc.dtype is np.float32
    assert enc.categories[0].tolist() == ["x", "y"]
    weights = rebuilt.transformer_weights
    assert weights["onehot"] == np.inf and np.isnan(weights["scale"])


def test_tuples_and_non_string_dict_keys() -> None:
    from sklearn.neural_network import MLPClassifier

    spec, rebuilt = _round_trip(LogisticRegression(class_weight={0: 1.0, 1: 3.0}))
    assert rebuilt.class_weight == {0: 1.0, 1: 3.0}
    _, mlp = _round_trip(MLPClassifier(hidden_layer_sizes=(8, 4)))
    assert mlp.hidden_layer_sizes == (8, 4)


def test_importable_functions_round_trip_but_lambdas_do_not() -> None:
    spec = estimator_to_spec(FunctionTransformer(func=np.log1p))
    assert spec["params"]["func"] == {"__callable__": "numpy.log1p"}
    with pytest.raises(ConfigError, match="outside the allowed modules"):
        spec_to_estimator(spec)  # numpy is not on the default allow-list
    rebuilt = spec_to_estimator(spec, allowed_prefixes=("sklearn.", "numpy."))
    assert rebuilt.func is np.log1p
    with pytest.raises(ConfigError, match="func"):
        estimator_to_spec(FunctionTransformer(func=lambda x: x))
    with pytest.raises(ConfigError, match="RandomState"):
        estimator_to_spec(RandomForestClassifier(random_state=np.random.RandomState(0)))


def test_loading_refuses_classes_outside_the_allow_list() -> None:
    for path in ("os.system", "builtins.eval", "subprocess.Popen", "sklearnx.Thing"):
        with pytest.raises(ConfigError, match="allowed"):
            spec_to_estimator({"class": path, "params": {}})
    with pytest.raises(ConfigError, match="allowed"):
        spec_to_estimator(
            {
                "class": "sklearn.preprocessing.FunctionTransformer",
                "params": {"func": {"__callable__": "os.system"}},
            }
        )


def test_loading_reports_bad_specs() -> None:
    with pytest.raises(ConfigError, match="cannot be imported"):
        spec_to_estimator({"class": "sklearn.ensemble.NoSuchForest", "params": {}})
    with pytest.raises(ConfigError, match="not an estimator"):
        spec_to_estimator({"class": "sklearn.base.clone", "params": {}})
    with pytest.raises(ConfigError, match="does not accept"):
        spec_to_estimator(
            {"class": "sklearn.ensemble.RandomForestClassifier", "params": {"n_trees": 3}}
        )
    with pytest.raises(ConfigError, match="class"):
        spec_to_estimator({"params": {}})  # type: ignore[arg-type]


def test_aliases() -> None:
    assert estimator_from_spec is spec_to_estimator
    assert metaopt.estimator_from_spec is spec_to_estimator


# -- a spec cannot touch the file system (DESIGN.md, "Estimator spec") ----------------------


def _fit_small(est):
    X = np.arange(40, dtype=float).reshape(20, 2)
    y = np.array([0, 1] * 10)
    return est.fit(X, y)


def test_a_spec_that_would_write_files_is_refused(tmp_path) -> None:
    target = tmp_path / "cache"
    # Pipeline(memory=...) would create a joblib cache under `target` when fitted.
    attack = {
        "class": "sklearn.pipeline.Pipeline",
        "params": {
            "steps": [
                ["scale", {"class": "sklearn.preprocessing.StandardScaler", "params": {}}],
                ["model", {"class": "sklearn.linear_model.LogisticRegression", "params": {}}],
            ],
            "memory": str(target),
        },
    }
    # The attack works without the rule: fitting the plain estimator writes the cache.
    unchecked = Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression())], memory=str(tmp_path / "proof")
    )
    _fit_small(unchecked)
    assert (tmp_path / "proof").exists()
    with pytest.raises(ConfigError, match=r"Pipeline\.memory.*remove 'memory'"):
        spec_to_estimator(attack)
    assert not target.exists()
    # also when hidden inside a nested spec, and through a JSON round trip
    nested = {"class": "sklearn.pipeline.Pipeline", "params": {"steps": [["inner", attack]]}}
    with pytest.raises(ConfigError, match="memory"):
        spec_to_estimator(json.loads(json.dumps(nested)))
    assert not target.exists()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        # a path-like string in any parameter
        ({"class": "sklearn.ensemble.RandomForestClassifier", "params": {"criterion": "/tmp/x"}},
         "looks like a file-system path"),
        ({"class": "sklearn.linear_model.LogisticRegression",
          "params": {"solver": "../../etc/passwd"}}, "path"),
        # a function that writes files, with its path in kw_args
        ({"class": "sklearn.preprocessing.FunctionTransformer",
          "params": {"func": {"__callable__": "sklearn.datasets.dump_svmlight_file"},
                     "kw_args": {"f": "/tmp/evil.svm"}}}, "sklearn.datasets|path"),
        # path parameters of any class
        ({"class": "sklearn.preprocessing.StandardScaler", "params": {"checkpoint": "x"}},
         "checkpoint"),
        # classes outside the estimator modules (data loaders, utilities, metaopt internals)
        ({"class": "sklearn.utils.Bunch", "params": {}}, "outside|not an estimator"),
        ({"class": "metaopt.estimators.MetaoptClassifier", "params": {}}, "outside"),
    ],
)  # fmt: skip
def test_specs_are_restricted_to_safe_classes_and_parameters(spec, match) -> None:
    with pytest.raises(ConfigError, match=match):
        spec_to_estimator(spec)


def test_data_values_and_column_names_may_look_like_paths() -> None:
    from sklearn.impute import SimpleImputer

    est = Pipeline(
        [
            ("encode", ColumnTransformer([("num", StandardScaler(), ["price/sqft", "a\\b"])])),
            ("impute", SimpleImputer(strategy="constant", fill_value="n/a")),
        ]
    )
    spec, rebuilt = _round_trip(est)
    assert rebuilt.named_steps["impute"].fill_value == "n/a"
    enc = OneHotEncoder(categories=[np.array(["1/2", "3/4"], dtype=object)])
    _round_trip(enc)
