"""Configurations: ``(algorithm, params)`` pairs and their stable identifiers."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaopt._exceptions import ConfigError

__all__ = ["Config", "canonical_json", "config_id"]

#: Length of a config id in hex digits (64 bits of a sha1).
CONFIG_ID_LENGTH = 16


def _canonical(value: Any, where: str) -> Any:
    """A JSON-ready copy of ``value`` with numpy scalars and -0.0 normalised."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(
                f"parameter {where!r} is {value!r}, which a configuration cannot hold",
                "use a finite number",
            )
        return 0.0 if value == 0.0 else value  # -0.0 and 0.0 are one value
    if isinstance(value, (list, tuple)):
        return [_canonical(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v, f"{where}.{k}") for k, v in value.items()}
    raise ConfigError(
        f"parameter {where!r} has type {type(value).__name__}, which a configuration cannot hold",
        "use None, bool, int, float, str or lists/dicts of them",
    )


def canonical_json(algorithm: str, params: dict[str, Any]) -> str:
    """The canonical JSON text of a configuration: sorted keys, no spaces.

    Floats are written by Python's ``repr`` (the shortest text that round-trips), so
    equal floats always give equal text; ``1`` and ``1.0`` differ, which is why
    configurations are normalised by :meth:`SearchSpace.validate` before hashing.
    """
    body = {"algorithm": str(algorithm), "params": _canonical(dict(params), "params")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_id(algorithm: str, params: dict[str, Any]) -> str:
    """A stable identifier of a configuration: 16 hex digits of the sha1 of its canonical JSON.

    The same configuration gets the same id in every process and on every machine
    (no dependence on ``PYTHONHASHSEED`` or dict order).
    """
    text = canonical_json(algorithm, params)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:CONFIG_ID_LENGTH]


@dataclass(frozen=True, eq=False)
class Config:
    """One configuration of one algorithm.

    Equality and hashing go by :attr:`config_id`.

    Parameters
    ----------
    algorithm
        The search space's name, e.g. ``"hgb"``.
    params
        Hyperparameter values by (unprefixed) name; JSON-serialisable.
    """

    algorithm: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _canonical(dict(self.params), "params"))

    @property
    def config_id(self) -> str:
        """See :func:`config_id`."""
        return config_id(self.algorithm, self.params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.config_id == other.config_id

    def __hash__(self) -> int:
        return hash(self.config_id)

    def to_dict(self) -> dict[str, Any]:
        """``{"algorithm": ..., "params": {...}, "config_id": ...}``."""
        return {
            "algorithm": self.algorithm,
            "params": dict(self.params),
            "config_id": self.config_id,
        }

    def to_json(self) -> str:
        """The configuration as strict JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """Inverse of :meth:`to_dict`; a stored ``config_id`` must match the content."""
        try:
            config = cls(algorithm=str(data["algorithm"]), params=dict(data.get("params") or {}))
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f"a configuration needs 'algorithm' and 'params', got {data!r}",
                'write it as {"algorithm": "hgb", "params": {...}}',
            ) from exc
        stored = data.get("config_id")
        if stored is not None and stored != config.config_id:
            raise ConfigError(
                f"configuration says config_id {stored!r} but its content hashes to "
                f"{config.config_id!r}",
                "the configuration was edited or corrupted; drop 'config_id' to recompute it",
            )
        return config

    @classmethod
    def from_json(cls, text: str) -> Config:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"configuration is not valid JSON: {exc}", "check the text") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"a configuration is a JSON object, got {data!r}", "check the text")
        return cls.from_dict(data)
