"""Every spec fits the user's raw data, however the class labels are coded (issue 15, §3).

For every algorithm, its default and every knowledge-base pool config that sets a
label-dependent parameter (``class_weight``), the exported spec — rebuilt with
:func:`metaopt.estimator_from_spec`, as a user would — is cross-validated (3 folds) on
the raw penguins frame with the labels coded as integers, digit strings, mixed strings,
other strings, pandas ``category`` and ``string`` dtypes (booleans for a binary task;
the codings that break label-dependent parameters for every pool config, all of them
for the default and the first such config), and fitted on a training fold that lacks a
class. Predictions must come back in the
user's coding. Model sizes are capped to keep it short.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from metaopt.kb._build import plan_task
from metaopt.spaces import ALGORITHMS, estimator_from_spec, estimator_to_spec, get_space
from metaopt.tasks import Task, load_task

PENGUINS = Path(__file__).resolve().parents[2] / "datasets" / "examples" / "penguins.csv"
SIZE_CAP = 8


#: Codings whose sorted order differs from the species' (classes permuted): a forest's
#: random draws then differ, so their scores are not compared exactly here (the
#: metamorphic suite bounds how much a permutation may change).
PERMUTED = {"mixed strings", "permuted ints"}


def _codings(species: pd.Series) -> dict[str, Any]:
    """The penguins' three species under every coding a user may have."""
    codes = species.astype("category").cat.codes.to_numpy()
    digits = np.array(["0", "1", "2"], dtype=object)[codes]
    return {
        "ints": codes.astype(np.int64),
        "permuted ints": np.array([2, 0, 1])[codes],
        "digit strings": digits,
        "mixed strings": np.array(["x0", "1", "2"], dtype=object)[codes],
        "other strings": species.to_numpy(dtype=object),
        "category of digits": pd.Series(digits, dtype="category"),
        "string dtype": pd.Series(digits, dtype="string"),
        "category of ints": pd.Series(codes, dtype="category"),
    }


def _label_configs(algorithm: str, task: Task) -> list[dict[str, Any]]:
    """The default, and every pool config with a label-dependent parameter set."""
    plan = plan_task(task, [algorithm], 32)
    configs = [dict(get_space(algorithm).default(task.kind))]
    configs += [p for _, _, p in plan.jobs if p.get("class_weight") is not None]
    return configs


@pytest.fixture(scope="module")
def penguins() -> tuple[Task, pd.DataFrame, pd.Series]:
    raw = pd.read_csv(PENGUINS)
    task = load_task(PENGUINS, target="species")
    return task, raw.drop(columns=["species"]), raw["species"]


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


def _spec_model(algorithm: str, params: dict[str, Any], task: Task) -> Any:
    model = get_space(algorithm).to_estimator(params, task, size_cap=SIZE_CAP)
    return estimator_from_spec(estimator_to_spec(model))


def _cross_validate(model: Any, X: pd.DataFrame, y: Any, splits: Any) -> list[float]:
    from sklearn.base import clone
    from sklearn.metrics import balanced_accuracy_score

    y_arr = np.asarray(y, dtype=object)
    scores = []
    for train, test in splits:
        fitted = clone(model).fit(X.iloc[train], _take(y, train))
        pred = fitted.predict(X.iloc[test])
        labels = set(np.asarray(_take(y, train), dtype=object).tolist())
        assert set(np.asarray(pred, dtype=object).tolist()) <= labels, (
            f"predictions {sorted(map(str, set(pred)))} are not in the training labels"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores.append(balanced_accuracy_score(y_arr[test].astype(str), pred.astype(str)))
    return scores


def _take(y: Any, rows: np.ndarray) -> Any:
    return y.iloc[rows].reset_index(drop=True) if isinstance(y, pd.Series) else y[rows]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_label_coding_fits_and_predicts_in_its_own_coding(algorithm, penguins) -> None:
    task, X, species = penguins
    codings = _codings(species)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, species))
    configs = _label_configs(algorithm, task)
    for i, params in enumerate(configs):
        model = _spec_model(algorithm, params, task)
        reference = None
        # every coding for the default and the first label-dependent config; for the
        # other pool configs the codings that break label-dependent parameters
        names = list(codings) if i < 2 else ["ints", "digit strings", "mixed strings"]
        for name in names:
            y = codings[name]
            try:
                scores = _cross_validate(model, X, y, splits)
            except Exception as exc:  # noqa: BLE001 - the failure names what broke
                pytest.fail(f"{algorithm} {params} with labels coded as {name}: {exc!r}")
            if reference is None:
                reference = scores
            if name not in PERMUTED:  # the same classes in the same order: the same models
                assert np.allclose(scores, reference, atol=1e-9), (
                    f"{algorithm} {params}: balanced accuracy with labels coded as {name} "
                    f"{np.round(scores, 4)} differs from integer labels {np.round(reference, 4)}"
                )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_class_absent_from_a_training_fold(algorithm, penguins) -> None:
    """A rare class whose rows all sit in one test fold is missing from that training fold."""
    task, X, species = penguins
    digits = _codings(species)["digit strings"].copy()
    digits[:3] = "9"  # the first fold's test rows hold every member of class "9"
    for params in _label_configs(algorithm, task):
        model = _spec_model(algorithm, params, task)
        splits = list(KFold(3, shuffle=False).split(X))
        try:
            _cross_validate(model, X, digits, splits)
        except Exception as exc:  # noqa: BLE001 - the failure names what broke
            pytest.fail(f"{algorithm} {params} with a class absent from a training fold: {exc!r}")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_boolean_labels_on_a_binary_task(algorithm, penguins) -> None:
    task, X, species = penguins
    is_adelie = (species == "Adelie").to_numpy()
    binary = load_task(pd.concat([X, pd.Series(is_adelie, name="adelie")], axis=1), target="adelie")
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, is_adelie))
    for params in _label_configs(algorithm, binary)[:2]:
        model = _spec_model(algorithm, params, binary)
        for name, y in {
            "booleans": is_adelie,
            "boolean strings": np.where(is_adelie, "True", "False").astype(object),
            "0/1 strings": np.where(is_adelie, "1", "0").astype(object),
        }.items():
            try:
                _cross_validate(model, X, y, splits)
            except Exception as exc:  # noqa: BLE001 - the failure names what broke
                pytest.fail(f"{algorithm} {params} with labels coded as {name}: {exc!r}")
