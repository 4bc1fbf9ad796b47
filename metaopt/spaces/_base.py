"""The search-space extension point: parameter types, data shapes and the base class.

A search space describes one algorithm (``"hgb"``, ``"svm"``, ...) for every task kind
it supports: which hyperparameters exist and in which ranges (:class:`Param`), the
library's default configuration, and how a configuration becomes a scikit-learn
estimator. Everything downstream speaks through it:

* the knowledge-base builder draws space-filling designs (:meth:`SearchSpace.design`),
* the surrogate and the RNN optimizer work in unit coordinates
  (:meth:`SearchSpace.to_unit` / :meth:`SearchSpace.from_unit`),
* the Optuna integration uses :meth:`SearchSpace.distributions` and
  :meth:`SearchSpace.sample`,
* the evaluation engine calls :meth:`SearchSpace.to_estimator`.

Parameter names are *unprefixed* (``"learning_rate"``, not ``"hgb__learning_rate"``)
everywhere in this module; :meth:`SearchSpace.sample` takes an optional ``prefix`` for
studies that mix several algorithms.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import numpy as np

from metaopt._exceptions import ConfigError
from metaopt.spaces._sobol import Sobol

if TYPE_CHECKING:  # pragma: no cover - typing only
    from optuna.distributions import BaseDistribution
    from optuna.trial import BaseTrial
    from sklearn.base import BaseEstimator
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from metaopt.tasks import Task

__all__ = ["DataShape", "Param", "ParamType", "SearchSpace"]

ParamType = Literal["float", "int", "categorical"]
Choice = Any  # None | bool | int | float | str, the types Optuna accepts as choices


def _plain(value: Any) -> Any:
    """Numpy scalars to their Python equivalents; everything else unchanged."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same_choice(a: Any, b: Any) -> bool:
    """Equality for categorical choices that keeps ``True`` apart from ``1``."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, str) != isinstance(b, str):
        return False
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - exotic types are never choices
        return False


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a search space.

    Parameters
    ----------
    name
        The parameter's name in configurations (unprefixed).
    type
        ``"float"``, ``"int"`` or ``"categorical"``.
    low, high
        Inclusive bounds of a numeric parameter.
    log
        Whether a numeric parameter is searched on a log scale (requires ``low > 0``).
    choices
        The values of a categorical parameter (``None``, bool, int, float or str).
    condition
        ``None`` (always active) or ``(parent_name, values)``: the parameter is active
        only when the (active) parent's value is one of ``values``. Parents come
        before their children in :meth:`SearchSpace.params`.

    Notes
    -----
    Unit coordinates (:meth:`from_unit`, :meth:`to_unit`) map ``[0, 1]`` linearly onto
    ``[low, high]``, or onto ``[log low, log high]`` when ``log``. An integer parameter
    owns the interval ``[v - 0.5, v + 0.5]`` around each value ``v`` (in log space
    when ``log``), so all integers get equal-width bins and ``to_unit`` returns the
    centre of the value's bin. A categorical with ``k`` choices splits ``[0, 1]`` into
    ``k`` equal bins; ``to_unit`` returns the centre of the choice's bin.
    """

    name: str
    type: ParamType
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Choice, ...] = ()
    condition: tuple[str, tuple[Choice, ...]] | None = None

    def __post_init__(self) -> None:
        if self.type not in ("float", "int", "categorical"):
            raise ValueError(f"Param {self.name!r}: unknown type {self.type!r}")
        if self.type == "categorical":
            if not self.choices:
                raise ValueError(f"Param {self.name!r}: a categorical needs choices")
            object.__setattr__(self, "choices", tuple(self.choices))
            if self.log:
                raise ValueError(f"Param {self.name!r}: a categorical cannot be log-scaled")
        else:
            if self.low is None or self.high is None or not self.low <= self.high:
                raise ValueError(
                    f"Param {self.name!r}: needs low <= high, got {self.low}, {self.high}"
                )
            if self.log and self.low <= 0:
                raise ValueError(f"Param {self.name!r}: a log-scaled parameter needs low > 0")
            if self.type == "int":
                object.__setattr__(self, "low", int(self.low))
                object.__setattr__(self, "high", int(self.high))
            else:
                object.__setattr__(self, "low", float(self.low))
                object.__setattr__(self, "high", float(self.high))
        if self.condition is not None:
            parent, values = self.condition
            object.__setattr__(self, "condition", (str(parent), tuple(values)))

    # -- describing --------------------------------------------------------------------

    def describe(self) -> str:
        """The parameter's range in words, e.g. ``"a float in [0.01, 1] (log scale)"``."""
        if self.type == "categorical":
            return f"one of {list(self.choices)!r}"
        scale = " (log scale)" if self.log else ""
        return f"an {self.type} in [{self.low:g}, {self.high:g}]{scale}"

    def is_active(self, config: dict[str, Any]) -> bool:
        """Whether this parameter is active given the (already resolved) parent values."""
        if self.condition is None:
            return True
        parent, values = self.condition
        if parent not in config:
            return False
        return any(_same_choice(config[parent], v) for v in values)

    # -- Optuna ------------------------------------------------------------------------

    def to_optuna(self) -> BaseDistribution:
        """The equivalent Optuna distribution (imports optuna)."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.type == "categorical":
            return CategoricalDistribution(self.choices)
        if self.type == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return FloatDistribution(float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]

    def suggest(self, trial: BaseTrial, name: str | None = None) -> Any:
        """Ask ``trial`` for a value of this parameter (under ``name``, default its own)."""
        key = self.name if name is None else name
        if self.type == "categorical":
            return trial.suggest_categorical(key, self.choices)
        if self.type == "int":
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log)  # type: ignore[arg-type]
        return trial.suggest_float(key, float(self.low), float(self.high), log=self.log)  # type: ignore[arg-type]

    # -- unit coordinates --------------------------------------------------------------

    def _edges(self) -> tuple[float, float]:
        """The interval that ``[0, 1]`` maps onto (log-transformed where ``log``)."""
        assert self.low is not None and self.high is not None
        low, high = float(self.low), float(self.high)
        if self.type == "int":
            low, high = low - 0.5, high + 0.5
        if self.log:
            return math.log(low), math.log(high)
        return low, high

    def from_unit(self, u: float) -> Any:
        """The value at unit coordinate ``u`` (clipped to ``[0, 1]``)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.type == "categorical":
            k = len(self.choices)
            return self.choices[min(int(u * k), k - 1)]
        assert self.low is not None and self.high is not None
        a, b = self._edges()
        x = a + u * (b - a)
        if self.log:
            x = math.exp(x)
        if self.type == "int":
            return int(min(max(math.floor(x + 0.5), int(self.low)), int(self.high)))
        return float(min(max(x, float(self.low)), float(self.high)))

    def to_unit(self, value: Any) -> float:
        """The unit coordinate of ``value`` (the bin centre for ints and categoricals)."""
        if self.type == "categorical":
            return (self.index(value) + 0.5) / len(self.choices)
        a, b = self._edges()
        x = float(value)
        if self.log:
            x = math.log(x)
        if b == a:
            return 0.5
        return float(min(max((x - a) / (b - a), 0.0), 1.0))

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices of a categorical (ValueError if absent)."""
        value = _plain(value)
        for i, choice in enumerate(self.choices):
            if _same_choice(choice, value):
                return i
        raise ValueError(f"{value!r} is not a choice of {self.name!r}")

    # -- validation --------------------------------------------------------------------

    def validate(self, value: Any, algorithm: str = "") -> Any:
        """Check ``value`` and return it normalised (Python int / float / choice).

        Raises
        ------
        ConfigError
            If the value has the wrong type or lies outside the parameter's range.
        """
        where = f"{algorithm} parameter" if algorithm else "parameter"
        value = _plain(value)
        problem = f"{where} {self.name!r} must be {self.describe()}, got {value!r}"
        hint = f"pass {self.name}= {self.describe()}, or leave it out to use the default"
        if self.type == "categorical":
            try:
                return self.choices[self.index(value)]
            except ValueError:
                raise ConfigError(problem, hint) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(problem, hint)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(problem, hint)
        if self.type == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    raise ConfigError(problem, hint)
                value = int(value)
        else:
            value = float(value)
        assert self.low is not None and self.high is not None
        # a relative tolerance absorbs round-off of values that went through exp/log
        tol = 1e-9 * max(1.0, abs(float(self.high)), abs(float(self.low)))
        if self.type == "float" and (value < self.low - tol or value > self.high + tol):
            raise ConfigError(problem, hint)
        if self.type == "float":
            return float(min(max(value, self.low), self.high))
        if value < self.low or value > self.high:
            raise ConfigError(problem, hint)
        return int(value)


class DataShape(NamedTuple):
    """The size facts a search space may depend on.

    Attributes
    ----------
    n_rows
        Number of training rows.
    n_features
        Number of feature columns of the task's ``X`` (before encoding).
    kind
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    n_classes
        Number of classes (0 for regression).
    """

    n_rows: int
    n_features: int
    kind: str
    n_classes: int = 0

    @classmethod
    def of(cls, task: Task) -> DataShape:
        """The shape of a :class:`~metaopt.tasks.Task` (all its source's rows when ``X``
        is a sample of them: ``Task.n_rows_total``)."""
        return cls(
            n_rows=int(task.n_rows_total),
            n_features=int(task.n_features),
            kind=str(task.kind),
            n_classes=len(task.classes) if task.is_classification else 0,
        )


class SearchSpace(ABC):
    """Base class of the per-algorithm search spaces.

    A subclass sets the class attributes and implements three methods:

    * :meth:`params` - the hyperparameters for a data shape (ranges may depend on the
      data size, mildly: the surrogate compares configurations across tasks by their
      raw / log values, so a parameter must mean the same thing on every task);
    * :meth:`default` - the library's defaults, expressed in this space's parameters;
    * :meth:`build` - the model step (an unfitted scikit-learn estimator) for a
      *validated* configuration.

    Everything else is provided: validation, unit coordinates, Sobol designs, Optuna
    distributions and sampling, and :meth:`to_estimator`, which wraps the model in the
    preprocessing the algorithm needs (``prepare`` → ``encode`` → ``model``).

    Lifecycle: an instance is stateless and shared (``metaopt.spaces.SPACES``); every
    method takes the data shape or task it needs, so one instance serves every task.

    Attributes
    ----------
    name
        The algorithm's name in configurations and the knowledge base, e.g. ``"hgb"``.
    kinds
        Task kinds the space supports.
    scale_sensitive
        True when numeric features must be imputed and standardised (linear, SVM,
        k-NN, MLP); False for trees, which get the numeric columns as they are.
    encoding
        How categorical columns are encoded: ``"ordinal"`` (trees; unknown and missing
        categories become NaN) or ``"onehot"`` (bounded one-hot; infrequent and unseen
        categories share one column).
    fill_empty_numeric
        True when numeric columns without any value at fit time must become constant
        (:class:`metaopt.preprocessing.EmptyColumnFiller`) instead of passing through:
        ``hgb``, whose binning fails on them.
    size_params
        Names of the model's constructor arguments that measure its size (number of
        trees, boosting iterations, epochs). ``to_estimator(..., size_cap=k)`` lowers
        them to at most ``k``: a low-fidelity option used by the tests.
    max_onehot_categories
        Upper bound on one-hot columns per categorical feature (``"onehot"`` encoding).
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")
    scale_sensitive: ClassVar[bool] = False
    encoding: ClassVar[Literal["ordinal", "onehot"]] = "ordinal"
    fill_empty_numeric: ClassVar[bool] = False
    size_params: ClassVar[tuple[str, ...]] = ()
    max_onehot_categories: ClassVar[int] = 20
    max_ordinal_categories: ClassVar[int] = 255

    # -- the three abstract members ----------------------------------------------------

    @abstractmethod
    def params(self, shape: DataShape) -> list[Param]:
        """The hyperparameters for data of this shape; parents before children."""

    @abstractmethod
    def default(self, kind: str) -> dict[str, Any]:
        """The library's default configuration for task kind ``kind`` (active params only)."""

    @abstractmethod
    def build(self, params: dict[str, Any], task: Task, *, seed: int = 0) -> BaseEstimator:
        """The unfitted model step for a validated configuration.

        Parameters
        ----------
        params
            A configuration as returned by :meth:`validate`.
        task
            The task the model will be fitted on (its kind, size and columns).
        seed
            Seed for the estimator's ``random_state``.
        """

    # -- provided, overridable ---------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def low_cost(self, kind: str) -> dict[str, Any]:
        """A cheap configuration to start a search from (the default unless overridden)."""
        return dict(self.default(kind))

    def supports(self, shape: DataShape) -> str | None:
        """``None`` if the space applies to data of this shape, else the reason it is skipped."""
        if shape.kind not in self.kinds:
            return f"{self.name} does not support {shape.kind} tasks (only {', '.join(self.kinds)})"
        return None

    def distributions(self, shape: DataShape) -> dict[str, BaseDistribution]:
        """Optuna distributions of all parameters (conditional ones included), by name."""
        return {p.name: p.to_optuna() for p in self.params(shape)}

    def sample(self, trial: BaseTrial, shape: DataShape, *, prefix: str = "") -> dict[str, Any]:
        """Ask an Optuna trial for a configuration, suggesting only active parameters.

        Parameters
        ----------
        trial
            An Optuna trial (``Trial``, ``FixedTrial``, ...).
        shape
            The data shape that fixes the ranges.
        prefix
            Prepended to every name passed to ``trial.suggest_*`` (e.g. ``"hgb__"`` when
            one study searches several algorithms). The returned keys are unprefixed.
        """
        config: dict[str, Any] = {}
        for p in self.params(shape):
            if p.is_active(config):
                config[p.name] = p.suggest(trial, prefix + p.name)
        return config

    def from_unit(self, u: np.ndarray, shape: DataShape) -> dict[str, Any]:
        """The configuration at point ``u`` of ``[0, 1]^d`` (``d = len(params(shape))``).

        Coordinates of inactive conditional parameters are ignored, and those
        parameters are left out of the result.
        """
        params = self.params(shape)
        u = np.asarray(u, dtype=float).ravel()
        if u.shape[0] != len(params):
            raise ConfigError(
                f"a point in {self.name}'s unit cube needs {len(params)} coordinates, got {u.shape[0]}",
                "pass one coordinate per parameter of space.params(shape)",
            )
        config: dict[str, Any] = {}
        for p, ui in zip(params, u, strict=True):
            if p.is_active(config):
                config[p.name] = p.from_unit(0.5 if np.isnan(ui) else float(ui))
        return config

    def to_unit(self, params: dict[str, Any], shape: DataShape) -> np.ndarray:
        """The unit coordinates of a configuration; NaN for inactive parameters."""
        config = self.validate(params, shape)
        return np.array(
            [p.to_unit(config[p.name]) if p.name in config else np.nan for p in self.params(shape)],
            dtype=float,
        )

    def design(self, n: int, shape: DataShape, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` distinct configurations from a scrambled Sobol sequence.

        Points are drawn in powers of two (keeping Sobol's balance), mapped with
        :meth:`from_unit`, and de-duplicated by ``config_id``; a space with fewer than
        ``n`` distinct configurations returns them all. Deterministic given ``seed``: the
        points are those of ``scipy.stats.qmc.Sobol(d, scramble=True,
        rng=np.random.default_rng(seed))``, drawn without importing ``scipy.stats``
        (see :mod:`metaopt.spaces._sobol`).
        """
        from metaopt.spaces._config import config_id

        if n <= 0:
            return []
        d = len(self.params(shape))
        sampler = Sobol(max(d, 1), scramble=True, rng=np.random.default_rng(seed))
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        m = max(int(math.ceil(math.log2(n))), 0)
        points = sampler.random_base2(m)
        drawn = points.shape[0]
        while True:
            for row in points:
                config = self.from_unit(row[:d], shape)
                cid = config_id(self.name, config)
                if cid not in seen:
                    seen.add(cid)
                    out.append(config)
                    if len(out) == n:
                        return out
            if drawn >= 64 * n:  # the space has fewer than n distinct configurations
                return out
            points = sampler.random(drawn)  # doubles the total: still a power of two
            drawn *= 2

    def validate(self, params: dict[str, Any] | None, shape: DataShape) -> dict[str, Any]:
        """A complete, normalised configuration from a partial one.

        Missing active parameters come from :meth:`default` (or, for a conditional
        parameter the default leaves inactive, the middle of its range). Values are
        returned as Python ``int`` / ``float`` / choice, in :meth:`params` order.

        Raises
        ------
        ConfigError
            On an unknown parameter name, an out-of-range or mistyped value, or a
            value for a parameter that its parent's value switches off.
        """
        given = dict(params or {})
        plist = self.params(shape)
        names = [p.name for p in plist]
        unknown = sorted(set(given) - set(names), key=str)
        if unknown:
            raise ConfigError(
                f"{self.name} has no parameter {unknown[0]!r} (its parameters for {shape.kind}: "
                f"{', '.join(names)})",
                "check the spelling, or use metaopt.spaces.get_space(name).params(shape)",
            )
        defaults = self.default(shape.kind)
        config: dict[str, Any] = {}
        for p in plist:
            if not p.is_active(config):
                if p.name in given:
                    parent, values = p.condition  # type: ignore[misc]
                    raise ConfigError(
                        f"{self.name} parameter {p.name!r} is only used when {parent!r} is one of "
                        f"{list(values)!r}, but {parent!r} is {config.get(parent)!r}",
                        f"pass {parent}={values[0]!r} too, or leave {p.name!r} out",
                    )
                continue
            if p.name in given:
                config[p.name] = p.validate(given[p.name], self.name)
            elif p.name in defaults:
                config[p.name] = self._fit_default(p, defaults[p.name])
            else:
                config[p.name] = p.from_unit(0.5)
        return config

    @staticmethod
    def _fit_default(p: Param, value: Any) -> Any:
        """A default value clipped into a size-dependent range (e.g. k-NN's k on tiny data)."""
        if p.type != "categorical" and p.low is not None and p.high is not None:
            value = min(max(value, p.low), p.high)
        return p.validate(value)

    # -- estimators --------------------------------------------------------------------

    def preprocessor(self, task: Task, params: dict[str, Any]) -> ColumnTransformer:
        """The ``encode`` step: selects the task's columns by name and encodes them.

        Numeric columns: passed through (NaN kept) for trees — columns empty at fit
        set to 0 when :attr:`fill_empty_numeric`; median-imputed with missing
        indicators and standardised when :attr:`scale_sensitive`. Categorical
        columns: :attr:`encoding` as described on the class. Other columns are dropped.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

        numeric = [str(c) for c in task.numeric_columns]
        categorical = [str(c) for c in task.categorical_columns]
        transformers: list[tuple[str, Any, list[str]]] = []
        if numeric:
            if self.scale_sensitive:
                num: Any = Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                        ("scale", StandardScaler()),
                    ]
                )
            elif self.fill_empty_numeric:
                from metaopt.preprocessing import EmptyColumnFiller

                num = EmptyColumnFiller()
            else:
                num = "passthrough"
            transformers.append(("numeric", num, numeric))
        if categorical:
            if self.encoding == "onehot":
                cat: Any = OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=5,
                    max_categories=self.max_onehot_categories,
                    sparse_output=False,
                )
            else:
                cat = OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                    max_categories=self.ordinal_max_categories(params),
                )
            transformers.append(("categorical", cat, categorical))
        return ColumnTransformer(
            transformers, remainder="drop", n_jobs=1, verbose_feature_names_out=False
        )

    def ordinal_max_categories(self, params: dict[str, Any]) -> int:
        """Cap on ordinal codes per categorical column (HGB needs it at most ``max_bins``)."""
        return self.max_ordinal_categories

    def categorical_indices(self, task: Task) -> list[int]:
        """Positions of the categorical columns in the ``encode`` step's output (trees).

        Only meaningful for ``"ordinal"`` encoding, where numeric columns come first,
        one column each, followed by one column per categorical feature.
        """
        n_num = len(task.numeric_columns)
        return list(range(n_num, n_num + len(task.categorical_columns)))

    def to_estimator(
        self,
        params: dict[str, Any] | None,
        task: Task,
        *,
        seed: int = 0,
        size_cap: int | None = None,
    ) -> Pipeline:
        """The full, unfitted pipeline ``prepare`` → ``encode`` → ``model`` for ``task``.

        The pipeline accepts the task's raw data (the columns of
        ``task.column_roles``) as well as ``task.X``.

        Parameters
        ----------
        params
            A (partial) configuration; validated against the task's shape.
        task
            The task whose columns, kind and size the pipeline is built for.
        seed
            ``random_state`` of the model.
        size_cap
            If given, every constructor argument named in :attr:`size_params` is
            lowered to at most this value (a cheap, low-fidelity model for tests).

        Raises
        ------
        ConfigError
            If the configuration is invalid, or the space does not support the task.
        """
        from sklearn.pipeline import Pipeline

        from metaopt.preprocessing import TabularPreparer

        shape = DataShape.of(task)
        reason = self.supports(shape)
        if reason is not None:
            raise ConfigError(reason, "choose another algorithm for this task")
        config = self.validate(params, shape)
        model = self.build(config, task, seed=seed)
        if size_cap is not None:
            capped = {
                key: int(size_cap)
                for key, value in model.get_params(deep=True).items()
                if key.rsplit("__", 1)[-1] in self.size_params
                and isinstance(value, (int, np.integer))
                and not isinstance(value, bool)
                and value > size_cap
            }
            if capped:
                model.set_params(**capped)
        return Pipeline(
            [
                ("prepare", TabularPreparer(roles=dict(task.column_roles))),
                ("encode", self.preprocessor(task, config)),
                ("model", model),
            ]
        )
