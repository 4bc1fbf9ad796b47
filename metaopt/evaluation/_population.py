"""MLP configs on a GPU: train every config of a task together, fold by fold.

:func:`evaluate_many` routes the MLP configs of each task here when torch sees a GPU
(or a device is forced). For each fold, the configs whose preprocessing is identical
share one fitted ``prepare → encode`` step; their encoded training rows go to
:func:`metaopt.models.train_population`, which trains the whole population at once and
returns, per config (in order), its outputs on the encoded held-out rows (class
probabilities or predictions; the held-out rows are never used for training or early
stopping); these are scored with the protocol's scorer through a stand-in estimator
that replays them, as the one-at-a-time path would score the fitted model. If the batched trainer is unavailable or fails as a whole, the
configs are evaluated one at a time instead, so nothing is lost.

The time limit is not enforced per config here (the population shares one GPU
process); the fit time recorded for each config is its share of the population's
training time.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from metaopt.evaluation._engine import (
    _Checked,
    _Prepared,
    evaluate_checked,
    now_iso,
    space_estimator,
    to_evaluation,
)
from metaopt.evaluation._protocol import Protocol, _scorer
from metaopt.evaluation._result import Evaluation, runtime_versions, truncate

__all__ = ["evaluate_population"]


class _Replay:
    """Stand-in fitted estimator that returns a population member's held-out outputs."""

    @staticmethod
    def of(result: Any, kind: str) -> Any:
        from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

        output = np.asarray(result.val_output)
        if kind == "regression":

            class _Regressor(RegressorMixin, BaseEstimator):
                def predict(self, X: Any) -> np.ndarray:
                    return output

            return _Regressor()

        classes = np.asarray(result.classes)

        class _Classifier(ClassifierMixin, BaseEstimator):
            classes_ = classes

            def predict_proba(self, X: Any) -> np.ndarray:
                return output

            def predict(self, X: Any) -> np.ndarray:
                return classes[np.argmax(output, axis=1)]

        return _Classifier()


def _load_trainer() -> Callable[..., Any] | None:
    """``metaopt.models.train_population``, or None if it cannot be imported."""
    try:
        from metaopt.models import train_population
    except ImportError:
        return None
    return train_population


def evaluate_population(
    prepared_by_task: dict[int, _Prepared],
    population: dict[int, list[_Checked]],
    protocol: Protocol,
    device: str,
) -> Iterator[Evaluation]:
    """Evaluate the MLP configs of each task with the batched trainer on ``device``."""
    trainer = _load_trainer()
    for key, checked in population.items():
        prepared = prepared_by_task[key]
        results = None if trainer is None else _train_task(trainer, prepared, checked, protocol, device)
        if results is None:  # batched path unavailable or failed: one at a time
            for c in checked:
                yield evaluate_checked(prepared, c, protocol, None)
        else:
            yield from results


def _train_task(
    trainer: Callable[..., Any],
    prepared: _Prepared,
    checked: list[_Checked],
    protocol: Protocol,
    device: str,
) -> list[Evaluation] | None:
    from sklearn.base import clone

    started_at = now_iso()
    scorer = _scorer(checked[0].metric)
    outcomes: list[dict[str, Any]] = [
        {"status": "ok", "message": "", "fold_scores": [], "fit_times": [], "predict_times": [], "device": device}
        for _ in checked
    ]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipelines = [space_estimator(c.algorithm, dict(c.params), prepared.task, protocol.seed) for c in checked]
            groups: dict[str, list[int]] = {}
            for j, pipe in enumerate(pipelines):
                groups.setdefault(repr(pipe[:-1]), []).append(j)
            X, y = prepared.task.X, prepared.y
            for train, test in protocol.folds(y if prepared.stratify else None, len(y)):
                for members in groups.values():
                    pre = clone(pipelines[members[0]][:-1])
                    t0 = time.perf_counter()
                    X_train = pre.fit_transform(X.iloc[train], y[train])
                    X_test = pre.transform(X.iloc[test])
                    results = list(trainer(
                        X_train, y[train], X_test, y[test],
                        [pipelines[j][-1].get_params(deep=False) for j in members],
                        prepared.task.kind, device, protocol.seed,
                    ))
                    share = (time.perf_counter() - t0) / len(members)
                    if len(results) != len(members):
                        raise RuntimeError(
                            f"train_population returned {len(results)} results for {len(members)} configs"
                        )
                    for j, result in zip(members, results, strict=True):
                        model = _Replay.of(result, prepared.task.kind)
                        out = outcomes[j]
                        if out["status"] != "ok":
                            continue
                        t1 = time.perf_counter()
                        try:
                            value = float(scorer(model, X_test, y[test]))
                        except Exception as exc:  # noqa: BLE001 - one member failing is data
                            out["status"], out["message"] = "error", truncate(f"{type(exc).__name__}: {exc}")
                            continue
                        out["fit_times"].append(share)
                        out["predict_times"].append(time.perf_counter() - t1)
                        if value != value or value in (float("inf"), float("-inf")):
                            out["status"] = "error"
                            out["message"] = f"the {checked[j].metric} scorer returned {value}"
                        else:
                            out["fold_scores"].append(value)
    except Exception:  # noqa: BLE001 - the batched path failed as a whole
        return None
    versions = runtime_versions(with_torch=True)
    return [
        to_evaluation(prepared, c, protocol, {**out, "versions": versions}, started_at)
        for c, out in zip(checked, outcomes, strict=True)
    ]
