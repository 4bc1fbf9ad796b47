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
source cannot run arbitrary code at import time.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError

__all__ = ["ALLOWED_PREFIXES", "estimator_from_spec", "estimator_to_spec", "spec_to_estimator"]

#: Module prefixes from which :func:`spec_to_estimator` may import classes and functions.
ALLOWED_PREFIXES: tuple[str, ...] = ("sklearn.", "metaopt.")

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
        If the spec is malformed, names a class outside ``allowed_prefixes`` or one that
        cannot be imported, or the class rejects the parameters.
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
    raw = spec.get("params") or {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"estimator spec params must be an object, got {raw!r:.80}", "check the spec"
        )
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
