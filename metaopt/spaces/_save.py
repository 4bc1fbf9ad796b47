"""``save_fitted``: one config's pipeline fitted on all rows, saved with its JSON spec.

The one writer behind ``metaopt tune --output`` and ``metaopt suggest --fit K --output``:
``PATH`` is a joblib pickle of the fitted pipeline (load it only from a source you
trust; metaopt never loads it), ``PATH.spec.json`` the pickle-free estimator spec with
the params, what chose the config and, where known, its score.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaopt._exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from metaopt.tasks import Task

__all__ = ["SPEC_FORMAT", "SPEC_VERSION", "save_fitted"]

#: Format tag and version of the ``PATH.spec.json`` file written next to the model.
SPEC_FORMAT = "metaopt-tune-spec"
SPEC_VERSION = 1


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def save_fitted(
    output: str | os.PathLike[str],
    task: Task,
    algorithm: str,
    params: Mapping[str, Any],
    spec: Mapping[str, Any],
    info: Mapping[str, Any] | None = None,
) -> tuple[str, str]:
    """Fit ``algorithm`` with ``params`` on all of ``task``'s rows; save model and spec.

    Parameters
    ----------
    output
        Where the joblib pickle goes; the spec goes to ``output + ".spec.json"``.
    spec
        The config's estimator spec (:func:`metaopt.spaces.estimator_to_spec`).
    info
        More fields for the spec file (e.g. the study and trial, or the suggestion's
        rank), placed before ``algorithm``, ``params``, ``fit_seconds`` and ``spec``.

    Returns
    -------
    (str, str)
        The model's path and the spec file's path.

    Raises
    ------
    ConfigError
        If the folder does not exist or a file cannot be written.
    """
    import joblib

    from metaopt.spaces import get_space

    path = Path(output)
    spec_path = Path(str(path) + ".spec.json")
    if path.parent and not path.parent.is_dir():
        raise ConfigError(f"cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist",
                          "create it, or pass another --output")
    if path.is_dir():
        raise ConfigError(f"cannot write {str(path)!r}: it is a folder",
                          "pass a file path as --output, e.g. model.joblib")
    model = get_space(algorithm).to_estimator(dict(params), task)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(task.X, task.y)
    fit_seconds = time.perf_counter() - t0
    try:
        joblib.dump(model, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(path)!r}: {exc}", "pass another --output") from None
    doc = {
        "format": SPEC_FORMAT,
        "version": SPEC_VERSION,
        "note": (
            f"{path.name} is a joblib pickle of this pipeline fitted on all rows: load it only "
            "from a source you trust. The spec below rebuilds the same unfitted pipeline without "
            "pickle: metaopt.estimator_from_spec(spec)."
        ),
        "model_file": path.name,
        "task_id": task.task_id,
        "task_name": task.name,
        "kind": str(task.kind),
        "target": task.target,
        **dict(info or {}),
        "algorithm": algorithm,
        "params": dict(params),
        "fit_seconds": fit_seconds,
        "spec": dict(spec),
    }
    try:
        spec_path.write_text(
            json.dumps(_finite(doc), indent=2, allow_nan=False, default=str) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(f"cannot write {str(spec_path)!r}: {exc}", "pass another --output") from None
    return str(path), str(spec_path)
