"""Fixed-length encodings of (meta-features, algorithm, config) for the surrogate.

A row of the surrogate's input is ``scaled meta-features ‖ config encoding``:

Meta-features
    One column per meta-feature name (``mf:<name>``, in the order given at
    construction, by default :data:`metaopt.metafeatures.FEATURE_NAMES`), robust-scaled
    with a median and inter-quartile range learned on the training tasks
    (:meth:`ConfigEncoder.fit`), clipped to ``[-clip, clip]``. NaN stays NaN (tree
    models route it); :meth:`ConfigEncoder.impute` fills it for models that need it.

Config encoding (the column order is fixed by the search spaces and frozen into the
encoder's JSON, so a saved surrogate keeps its meaning if a space changes later)
    1. ``alg:<algorithm>``: one-hot of the algorithm, over ``algorithms`` (default
       :data:`metaopt.spaces.ALGORITHMS`, in that order);
    2. then, for every algorithm in that order, its parameters in the order of
       ``space.params(reference_shape(kind))`` for kinds ``binary``, ``multiclass``,
       ``regression`` (union, first occurrence wins): a float or int parameter is one
       column ``<algorithm>:<param>`` holding :meth:`~metaopt.spaces.Param.to_unit` of
       the value; a categorical one column per choice ``<algorithm>:<param>=<choice>``
       (one-hot).

    Columns of a parameter that is inactive (its condition is off, or it is absent from
    the config) and of every other algorithm are NaN.

The reference shape (:func:`reference_shape`: 3,000 rows, the knowledge base's row
cap, 20 features) only fixes the parameter ranges used for unit coordinates: the
knowledge base evaluates one shape-independent pool of configs per algorithm and kind.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import ConfigError
from metaopt.spaces import ALGORITHMS, DataShape, Param, get_space

__all__ = ["ConfigEncoder", "reference_shape"]

_KINDS = ("binary", "multiclass", "regression")
_FORMAT = "metaopt-config-encoder"
_FORMAT_VERSION = 1


def reference_shape(kind: str) -> DataShape:
    """The data shape whose parameter ranges define unit coordinates for ``kind``."""
    n_classes = {"binary": 2, "multiclass": 3}.get(kind, 0)
    return DataShape(n_rows=3000, n_features=20, kind=kind, n_classes=n_classes)


def _param_to_json(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "type": p.type}
    if p.type == "categorical":
        out["choices"] = list(p.choices)
    else:
        out.update(low=p.low, high=p.high, log=p.log)
    return out


def _param_from_json(d: Mapping[str, Any]) -> Param:
    if d["type"] == "categorical":
        return Param(d["name"], "categorical", choices=tuple(d["choices"]))
    return Param(d["name"], d["type"], low=d["low"], high=d["high"], log=bool(d["log"]))


def _choice_label(choice: Any) -> str:
    return json.dumps(choice)


class ConfigEncoder:
    """Encodes (meta-features, algorithm, params) rows as fixed-length float vectors.

    Parameters
    ----------
    metafeature_names
        Meta-feature columns, in order; default
        :data:`metaopt.metafeatures.FEATURE_NAMES`.
    algorithms
        Algorithms of the one-hot and parameter blocks, in order; default
        :data:`metaopt.spaces.ALGORITHMS`.
    clip
        Scaled meta-features are clipped to ``[-clip, clip]``.

    Attributes
    ----------
    params_
        ``{algorithm: [Param, ...]}``: the frozen parameter definitions.
    center_, scale_
        Per meta-feature median and IQR (set by :meth:`fit`; 0 and 1 before).

    Examples
    --------
    >>> enc = ConfigEncoder().fit(kb.metafeatures())            # doctest: +SKIP
    >>> X = enc.transform(mf_rows, ["hgb"], [{"learning_rate": 0.1}])  # doctest: +SKIP
    """

    def __init__(
        self,
        metafeature_names: Sequence[str] | None = None,
        algorithms: Sequence[str] | None = None,
        clip: float = 5.0,
    ) -> None:
        if metafeature_names is None:
            from metaopt.metafeatures import FEATURE_NAMES

            metafeature_names = FEATURE_NAMES
        self.metafeature_names = [str(n) for n in metafeature_names]
        self.algorithms = [str(a) for a in (ALGORITHMS if algorithms is None else algorithms)]
        self.clip = float(clip)
        self.params_: dict[str, list[Param]] = {}
        for alg in self.algorithms:
            space = get_space(alg)
            seen: dict[str, Param] = {}
            for kind in _KINDS:
                if kind not in space.kinds:
                    continue
                for p in space.params(reference_shape(kind)):
                    seen.setdefault(p.name, Param(p.name, p.type, p.low, p.high, p.log, p.choices))
            self.params_[alg] = list(seen.values())
        self.center_ = np.zeros(len(self.metafeature_names))
        self.scale_ = np.ones(len(self.metafeature_names))
        self._layout()

    def _layout(self) -> None:
        """Column names and per-parameter column offsets."""
        names = [f"mf:{n}" for n in self.metafeature_names]
        names += [f"alg:{a}" for a in self.algorithms]
        self._offsets: dict[str, dict[str, int]] = {}
        for alg in self.algorithms:
            self._offsets[alg] = {}
            for p in self.params_[alg]:
                self._offsets[alg][p.name] = len(names)
                if p.type == "categorical":
                    names += [f"{alg}:{p.name}={_choice_label(c)}" for c in p.choices]
                else:
                    names.append(f"{alg}:{p.name}")
        self.feature_names: list[str] = names
        self.n_metafeatures = len(self.metafeature_names)

    @property
    def n_features(self) -> int:
        """Length of an encoded row."""
        return len(self.feature_names)

    # -- meta-features -------------------------------------------------------------

    def fit(self, metafeatures: pd.DataFrame) -> ConfigEncoder:
        """Learn the robust scaler from one row per training task.

        Parameters
        ----------
        metafeatures
            Wide frame (one row per task, columns named like the meta-features, as
            :meth:`~metaopt.kb.KnowledgeBase.metafeatures` returns); missing columns
            count as all-NaN.
        """
        raw = self._metafeature_matrix(metafeatures)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                q25, med, q75 = np.nanpercentile(raw, [25, 50, 75], axis=0)
                std = np.nanstd(raw, axis=0)
        iqr = q75 - q25
        scale = np.where(
            np.isfinite(iqr) & (iqr > 0), iqr, np.where(np.isfinite(std) & (std > 0), std, 1.0)
        )
        self.center_ = np.where(np.isfinite(med), med, 0.0).astype(np.float64)
        self.scale_ = scale.astype(np.float64)
        return self

    def _metafeature_matrix(self, frame: pd.DataFrame | Mapping[str, float]) -> np.ndarray:
        if isinstance(frame, Mapping):
            frame = pd.DataFrame([dict(frame)])
        cols = frame.reindex(columns=self.metafeature_names)
        return cols.to_numpy(dtype=np.float64, na_value=np.nan)

    def scale_metafeatures(self, metafeatures: pd.DataFrame | Mapping[str, float]) -> np.ndarray:
        """Scaled meta-feature block ``(n, n_metafeatures)`` (NaN kept, infinities clipped)."""
        raw = self._metafeature_matrix(metafeatures)
        with np.errstate(invalid="ignore"):
            z = (raw - self.center_) / self.scale_
        return np.clip(z, -self.clip, self.clip)

    # -- configs -------------------------------------------------------------------

    def encode_configs(
        self, algorithms: Sequence[str], params_list: Sequence[Mapping[str, Any] | str]
    ) -> np.ndarray:
        """The config block ``(n, n_features - n_metafeatures)``.

        ``params_list`` holds dicts or canonical JSON strings (as the knowledge base
        stores them).

        Raises
        ------
        ConfigError
            On an algorithm the encoder does not know, or a categorical value that is
            not one of its choices.
        """
        if len(algorithms) != len(params_list):
            raise ValueError(f"{len(algorithms)} algorithms but {len(params_list)} configs")
        width = self.n_features - self.n_metafeatures
        out = np.full((len(algorithms), width), np.nan)
        base = self.n_metafeatures
        n_alg = len(self.algorithms)
        out[:, :n_alg] = 0.0
        alg_index = {a: i for i, a in enumerate(self.algorithms)}
        for row, (alg, params) in enumerate(zip(algorithms, params_list, strict=True)):
            alg = str(alg)
            if alg not in alg_index:
                raise ConfigError(
                    f"the surrogate's encoder knows algorithms {self.algorithms}, not {alg!r}",
                    "retrain the surrogate with `metaopt train` after adding an algorithm",
                )
            out[row, alg_index[alg]] = 1.0
            values = json.loads(params) if isinstance(params, str) else dict(params)
            for p in self.params_[alg]:
                if p.name not in values or values[p.name] is None and p.type != "categorical":
                    continue
                col = self._offsets[alg][p.name] - base
                value = values[p.name]
                if p.type == "categorical":
                    try:
                        idx = p.index(value)
                    except ValueError:
                        raise ConfigError(
                            f"{alg} parameter {p.name!r} = {value!r} is not one of {list(p.choices)!r}",
                            "pass one of the listed values, or retrain the surrogate",
                        ) from None
                    out[row, col : col + len(p.choices)] = 0.0
                    out[row, col + idx] = 1.0
                else:
                    v = float(value)
                    out[row, col] = p.to_unit(v) if math.isfinite(v) else np.nan
        return out

    def transform(
        self,
        metafeatures: pd.DataFrame | Mapping[str, float],
        algorithms: Sequence[str],
        params_list: Sequence[Mapping[str, Any] | str],
    ) -> np.ndarray:
        """Encoded rows ``(n, n_features)``.

        Parameters
        ----------
        metafeatures
            One row per config (aligned with ``algorithms``), or a single row / mapping
            that applies to every config.
        algorithms, params_list
            The configs, as for :meth:`encode_configs`.
        """
        mf = self.scale_metafeatures(metafeatures)
        n = len(algorithms)
        if mf.shape[0] == 1 and n != 1:
            mf = np.repeat(mf, n, axis=0)
        if mf.shape[0] != n:
            raise ValueError(f"{mf.shape[0]} meta-feature rows for {n} configs")
        return np.hstack([mf, self.encode_configs(algorithms, params_list)])

    def impute(self, X: np.ndarray) -> np.ndarray:
        """``X`` with NaN filled (for models that cannot route NaN).

        Meta-features: 0 (the training median). Config columns: 0, so an inactive or
        foreign parameter contributes nothing; the algorithm one-hot says which block
        is meaningful.
        """
        return np.nan_to_num(np.asarray(X, dtype=np.float64), nan=0.0)

    # -- persistence ---------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The encoder as plain JSON data (frozen parameter definitions and scaler)."""
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "metafeature_names": list(self.metafeature_names),
            "algorithms": list(self.algorithms),
            "clip": self.clip,
            "params": {a: [_param_to_json(p) for p in ps] for a, ps in self.params_.items()},
            "center": [float(x) for x in self.center_],
            "scale": [float(x) for x in self.scale_],
            "feature_names": list(self.feature_names),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConfigEncoder:
        """Inverse of :meth:`to_json` (does not consult the current search spaces)."""
        from metaopt._exceptions import ModelVersionError

        if data.get("format") != _FORMAT or data.get("format_version") != _FORMAT_VERSION:
            raise ModelVersionError(
                f"config encoder format {data.get('format')!r} v{data.get('format_version')}, "
                f"this metaopt reads {_FORMAT!r} v{_FORMAT_VERSION}",
                "retrain with `metaopt train`",
            )
        enc = cls.__new__(cls)
        enc.metafeature_names = list(data["metafeature_names"])
        enc.algorithms = list(data["algorithms"])
        enc.clip = float(data["clip"])
        enc.params_ = {a: [_param_from_json(d) for d in ps] for a, ps in data["params"].items()}
        enc.center_ = np.asarray(data["center"], dtype=np.float64)
        enc.scale_ = np.asarray(data["scale"], dtype=np.float64)
        enc._layout()
        if enc.feature_names != list(data.get("feature_names", enc.feature_names)):
            raise ModelVersionError(
                "the saved encoder's column names do not match its parameter definitions",
                "retrain with `metaopt train`",
            )
        return enc
