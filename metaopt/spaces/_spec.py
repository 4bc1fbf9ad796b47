"""Estimator specs: scikit-learn estimators as strict JSON, and back.

A spec is ``{"class": "<importable.path.Class>", "params": {...}}`` where ``params``
are the estimator's own constructor arguments (``get_params(deep=False)``), encoded
recursively:

* ``None``, bool, int, str and finite floats are themselves; numpy scalars become
  their Python equivalents;
* non-finite floats are ``{"__float__": "nan" | "inf" | "-inf"}``, so a spec passes
  ``json.dumps(spec, allow_nan=False)``;
* nested estimators are specs; ``Pipeline.steps`` and ``ColumnTransformer.transformers``
  (and the other lists of named estimators: ``transformer_list``, ``estimators``)
  are lists of ``[name, spec-or-"passthrough"/"drop", columns?]``;
* other tuples are ``{"__tuple__": [...]}``, numpy arrays
  ``{"__ndarray__": [...], "dtype": "float64"}``, dicts whose keys are not all
  strings (or that look like a spec) ``{"__dict__": [[key, value], ...]}``, numpy
  scalar types (e.g. an encoder's ``dtype``) ``{"__dtype__": "float64"}``, the
  builtin types ``float``/``int``/``str``/``bool``/``object`` ``{"__type__": "float"}``
  and importable functions ``{"__callable__": "module.name"}``.

Loading a spec imports classes and functions only from modules under
:data:`ALLOWED_PREFIXES` (``sklearn.`` and ``metaopt.``), so a spec from an untrusted
source cannot run arbitrary code at import time. With those default prefixes, a spec
is also held to what an estimator needs, so that fitting one cannot touch the file
system (DESIGN.md, "Estimator spec"):

* classes must be estimators defined in the modules of :data:`ALLOWED_CLASS_MODULES`
  (models, preprocessing, pipelines; not ``sklearn.datasets``, ``sklearn.utils``,
  ``metaopt.kb`` ...), functions in those of :data:`ALLOWED_CALLABLE_MODULES`;
* parameters that name a place on disk (:data:`PATH_PARAMS`: ``memory``, ``cache_dir``,
  ``checkpoint``, ``log_dir`` ...) must be ``None``;
* no parameter value may be a path-like string (one with ``/`` or ``\\``, or starting
  with ``~`` or ``.``) except in :data:`DATA_VALUE_PARAMS`, which hold data values
  (categories, fill values), and in column selectors and dictionary keys.

Passing ``allowed_prefixes`` explicitly widens the modules a spec may import from (the
caller trusts them); the parameter rules always apply. A spec that breaks a rule is a
:class:`~metaopt.ConfigError` naming the parameter and its value.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError

__all__ = [
    "ALLOWED_CALLABLE_MODULES",
    "ALLOWED_CLASS_MODULES",
    "ALLOWED_PREFIXES",
    "DATA_VALUE_PARAMS",
    "PATH_PARAMS",
    "estimator_from_spec",
    "estimator_to_spec",
    "spec_to_estimator",
]

#: Module prefixes from which :func:`spec_to_estimator` may import classes and functions.
ALLOWED_PREFIXES: tuple[str, ...] = ("sklearn.", "metaopt.")

#: With the default prefixes: the modules (and their submodules) that may define a
#: spec's classes: estimators, transformers and the ways to combine them.
ALLOWED_CLASS_MODULES: tuple[str, ...] = tuple(
    f"sklearn.{m}"
    for m in (
        "calibration", "compose", "covariance", "cross_decomposition", "decomposition",
        "discriminant_analysis", "dummy", "ensemble", "feature_extraction",
        "feature_selection", "gaussian_process", "impute", "isotonic", "kernel_approximation",
        "kernel_ridge", "linear_model", "multiclass", "multioutput", "naive_bayes",
        "neighbors", "neural_network", "pipeline", "preprocessing", "random_projection",
        "semi_supervised", "svm", "tree",
    )
) + ("metaopt.models", "metaopt.preprocessing")  # fmt: skip

#: With the default prefixes: the modules whose functions a spec may name
#: (``{"__callable__": ...}``, e.g. a scorer).
ALLOWED_CALLABLE_MODULES: tuple[str, ...] = ("sklearn.metrics",)

#: Parameters that name a place on disk (a cache, a checkpoint, a log): a spec may only
#: leave them ``None``. ``memory`` is Pipeline's / FeatureUnion's joblib cache directory.
PATH_PARAMS: frozenset[str] = frozenset(
    {
        "memory", "cache", "cache_dir", "cachedir", "cache_path", "checkpoint",
        "checkpoint_dir", "checkpoint_path", "log_dir", "logdir", "log_file", "log_path",
        "logging_dir", "output_dir", "output_path", "save_dir", "save_path", "data_home",
        "path", "filename", "file", "dir", "directory", "folder", "temp_folder", "tmp_dir",
    }
)  # fmt: skip

#: Parameters whose strings are data values (category labels, fill values), which may
#: look like paths ("n/a", "1/2") without naming one.
DATA_VALUE_PARAMS: frozenset[str] = frozenset(
    {"categories", "fill_value", "missing_values", "unknown_value", "classes", "labels"}
)

_PATH_LIKE = re.compile(r"[/\\]|^[~.]|^[A-Za-z]:")

#: Constructor arguments holding a list of ``(name, estimator[, columns])`` tuples.
_NAMED_LISTS = frozenset({"steps", "transformers", "transformer_list", "estimators"})
_MARKERS = frozenset(
    {"__float__", "__tuple__", "__ndarray__", "__dict__", "__dtype__", "__type__", "__callable__"}
)
_BUILTIN_TYPES: dict[str, type] = {t.__name__: t for t in (float, int, str, bool, object, complex)}


def _public_path(obj: Any) -> str:
    """The shortest importable ``module.Name`` under which ``obj`` is found.

    ``sklearn.ensemble._forest.RandomForestClassifier`` → ``sklearn.ensemble.RandomForestClassifier``.
    The top-level package alone is skipped unless the object is defined there.
    """
    module, name = obj.__module__, obj.__qualname__
    parts = module.split(".")
    for i in range(min(2, len(parts)), len(parts) + 1):
        candidate = ".".join(parts[:i])
        try:
            if getattr(importlib.import_module(candidate), name, None) is obj:
                return f"{candidate}.{name}"
        except ImportError:  # pragma: no cover - the defining module always imports
            continue
    return f"{module}.{name}"


def _encode(value: Any, where: str) -> Any:
    if isinstance(value, np.generic) and not isinstance(value, np.ndarray):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if hasattr(value, "get_params") and not isinstance(value, type):
        return estimator_to_spec(value, _where=where)
    if isinstance(value, np.ndarray):
        return {
            "__ndarray__": _encode(value.tolist(), where),
            "dtype": value.dtype.str if value.dtype.kind not in "OUS" else "object",
        }
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        plain = all(isinstance(k, str) for k in value) and not (set(value) & _MARKERS)
        plain = plain and not {"class", "params"} <= set(value)
        if plain:
            return {k: _encode(v, f"{where}.{k}") for k, v in value.items()}
        return {
            "__dict__": [
                [_encode(k, where), _encode(v, f"{where}[{k!r}]")] for k, v in value.items()
            ]
        }
    if isinstance(value, type):
        if issubclass(value, np.generic):
            return {"__dtype__": np.dtype(value).name}
        if value.__module__ == "builtins" and value.__name__ in _BUILTIN_TYPES:
            return {"__type__": value.__name__}
    if callable(value) and hasattr(value, "__module__") and hasattr(value, "__qualname__"):
        if "<" not in value.__qualname__:  # lambdas and local functions cannot be imported
            return {"__callable__": _public_path(value)}
    raise ConfigError(
        f"estimator parameter {where!r} holds a {type(value).__name__} ({value!r:.80}), "
        "which an estimator spec cannot express",
        "use plain values (numbers, strings, lists, dicts, estimators) as constructor arguments",
    )


def estimator_to_spec(estimator: Any, *, _where: str = "estimator") -> dict[str, Any]:
    """The JSON spec of an (unfitted or fitted) scikit-learn-style estimator.

    Only constructor arguments are recorded (``get_params(deep=False)``), never fitted
    state; the result passes ``json.dumps(spec, allow_nan=False)``.

    Raises
    ------
    ConfigError
        If a constructor argument has no JSON form (e.g. a lambda or a ``RandomState``).
    """
    if not hasattr(estimator, "get_params"):
        raise ConfigError(
            f"{_where} is a {type(estimator).__name__}, not an estimator with get_params()",
            "pass a scikit-learn estimator or pipeline",
        )
    params: dict[str, Any] = {}
    for key, value in estimator.get_params(deep=False).items():
        where = f"{_where}.{key}"
        if (
            key in _NAMED_LISTS
            and isinstance(value, (list, tuple))
            and all(isinstance(v, tuple) for v in value)
        ):
            params[key] = [
                [_encode(x, f"{where}[{i}]") for x in item] for i, item in enumerate(value)
            ]
        else:
            params[key] = _encode(value, where)
    return {"class": _public_path(type(estimator)), "params": params}


def _import(path: Any, what: str, allowed: Sequence[str]) -> Any:
    if not isinstance(path, str) or not path.startswith(tuple(allowed)):
        raise ConfigError(
            f"estimator spec names {what} {path!r}, outside the allowed modules {list(allowed)!r}",
            "only scikit-learn and metaopt classes can be loaded from a spec",
        )
    module, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f"estimator spec names {what} {path!r}, which cannot be imported ({exc})",
            "check the class path, or the installed scikit-learn / metaopt version",
        ) from None
    return obj


def _check_module(obj: Any, path: str, what: str, allowed: Sequence[str]) -> None:
    """With the default prefixes: ``obj`` must be defined in the allowed class / callable modules."""
    if tuple(allowed) == ALLOWED_PREFIXES:
        modules = ALLOWED_CLASS_MODULES if what == "class" else ALLOWED_CALLABLE_MODULES
        defined = str(getattr(obj, "__module__", "") or "")
        if not any(defined == m or defined.startswith(m + ".") for m in modules):
            raise ConfigError(
                f"estimator spec names {what} {path!r} (defined in {defined or '?'!r}), outside "
                f"the modules a spec may use: {', '.join(modules)}",
                "a spec holds estimators, transformers and pipelines only; pass "
                "allowed_prefixes to trust other modules",
            )


def _check_value(value: Any, where: str) -> None:
    """Refuse a path-like string anywhere in a parameter's JSON value (not in dict keys)."""
    if isinstance(value, str):
        if _PATH_LIKE.search(value):
            raise ConfigError(
                f"estimator spec parameter {where} is {value!r}, which looks like a file-system "
                "path: a spec sets nothing that can read or write files",
                f"remove {where.rsplit('.', 1)[-1]!r} from the spec (or use a value that is not a path)",
            )
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        if set(value) == {"class", "params"}:
            return  # a nested spec: checked when it is built
        if "__dict__" in value and isinstance(value["__dict__"], list):
            for pair in value["__dict__"]:
                if isinstance(pair, list) and len(pair) == 2:
                    _check_value(pair[1], f"{where}[{pair[0]!r}]")
            return
        for k, v in value.items():
            if k in ("__callable__", "__dtype__", "__type__", "dtype"):
                continue  # checked where imported / looked up
            _check_value(v, f"{where}.{k}" if not k.startswith("__") else where)


def _check_params(class_path: str, raw: dict[str, Any]) -> None:
    """The parameter rules of the module docstring (raises ConfigError)."""
    name = class_path.rsplit(".", 1)[-1]
    for key, value in raw.items():
        where = f"{name}.{key}"
        if key in PATH_PARAMS and value is not None:
            raise ConfigError(
                f"estimator spec sets {where}={value!r:.80}: {key!r} names a place on disk that "
                "fitting would write to, and a spec sets nothing that touches the file system",
                f"remove {key!r} from the spec (or set it to null)",
            )
        if key in DATA_VALUE_PARAMS:
            continue
        if key in _NAMED_LISTS and isinstance(value, list):
            # [name, spec | "passthrough" | "drop", columns?]: the spec is checked when
            # built; names and column selectors are labels, not paths.
            for i, item in enumerate(value):
                if isinstance(item, list) and len(item) >= 2:
                    _check_value(item[1], f"{where}[{i}]")
            continue
        _check_value(value, where)


def _decode(value: Any, allowed: Sequence[str]) -> Any:
    if isinstance(value, list):
        return [_decode(v, allowed) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"class", "params"}:
        return spec_to_estimator(value, allowed_prefixes=allowed)
    markers = set(value) & _MARKERS
    if len(markers) == 1 and (len(value) == 1 or set(value) == {"__ndarray__", "dtype"}):
        (marker,) = markers
        payload: Any = value[marker]
        if marker == "__float__":
            return float(payload)
        if marker == "__tuple__":
            return tuple(_decode(v, allowed) for v in payload)
        if marker == "__ndarray__":
            return np.array(
                _decode(payload, allowed), dtype=np.dtype(value.get("dtype", "float64"))
            )
        if marker == "__dict__":
            return {_decode(k, allowed): _decode(v, allowed) for k, v in payload}
        if marker == "__dtype__":
            return np.dtype(payload).type
        if marker == "__type__":
            if payload not in _BUILTIN_TYPES:
                raise ConfigError(
                    f"estimator spec names unknown type {payload!r}", "check the spec"
                )
            return _BUILTIN_TYPES[payload]
        if marker == "__callable__":
            fn = _import(payload, "function", allowed)
            if not callable(fn):
                raise ConfigError(f"estimator spec's {payload!r} is not callable", "check the spec")
            _check_module(fn, payload, "function", allowed)
            return fn
    return {k: _decode(v, allowed) for k, v in value.items()}


def spec_to_estimator(
    spec: dict[str, Any], *, allowed_prefixes: Sequence[str] = ALLOWED_PREFIXES
) -> Any:
    """Rebuild an unfitted estimator from its spec (inverse of :func:`estimator_to_spec`).

    Parameters
    ----------
    spec
        ``{"class": "sklearn....", "params": {...}}`` as written by :func:`estimator_to_spec`
        (or by hand).
    allowed_prefixes
        Module prefixes classes and functions may come from.

    Raises
    ------
    ConfigError
        If the spec is malformed, names a class outside ``allowed_prefixes`` (or, with
        the default prefixes, outside :data:`ALLOWED_CLASS_MODULES`) or one that cannot
        be imported, sets a parameter that can touch the file system (see the module),
        or the class rejects the parameters.
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ConfigError(
            f"an estimator spec is {{'class': ..., 'params': {{...}}}}, got {spec!r:.120}",
            "write the spec as produced by metaopt.spaces.estimator_to_spec",
        )
    cls = _import(spec["class"], "class", allowed_prefixes)
    if not isinstance(cls, type) or not hasattr(cls, "get_params"):
        raise ConfigError(
            f"estimator spec class {spec['class']!r} is not an estimator class",
            "name a scikit-learn-style estimator class",
        )
    _check_module(cls, spec["class"], "class", allowed_prefixes)
    raw = spec.get("params") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"estimator spec params must be an object, got {raw!r:.80}", "check the spec"
        )
    _check_params(spec["class"], raw)
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if (
            key in _NAMED_LISTS
            and isinstance(value, list)
            and all(isinstance(v, list) for v in value)
        ):
            params[key] = [tuple(_decode(x, allowed_prefixes) for x in item) for item in value]
        else:
            params[key] = _decode(value, allowed_prefixes)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(
            f"{spec['class']} does not accept the spec's parameters ({exc})",
            "the spec was written for another version; rebuild it with estimator_to_spec",
        ) from None


#: Alias of :func:`spec_to_estimator`.
estimator_from_spec: Callable[..., Any] = spec_to_estimator
