"""The one save format of everything metaopt trains: JSON + numpy arrays, checksummed.

A saved model is a directory with two files:

``manifest.json``
    ``format`` (``"metaopt-saved"``), ``format_version``, ``kind`` (what was saved:
    ``"recommender"``, ``"surrogate"``, ``"transfer"``, ``"optimizer"``),
    ``metaopt_version``, ``mf_version`` (the meta-feature version the model reads),
    ``arrays`` (the arrays file and its SHA-256), and the model's own JSON document
    under ``doc``.
``arrays.npz``
    Plain numpy arrays (``np.savez_compressed``; read with ``allow_pickle=False``).

:func:`write_saved` writes both atomically (arrays first, the manifest last, so a
reader never sees a manifest whose arrays are missing); :func:`read_saved` checks, in
order, that the manifest exists and parses (:class:`~metaopt.ModelError`), that the
format, version, kind and meta-feature version are this metaopt's
(:class:`~metaopt.ModelVersionError`), and that the arrays match the checksum
(:class:`~metaopt.ModelError`). Every error names the fix: retrain with
``metaopt train``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from metaopt._exceptions import ModelError, ModelVersionError
from metaopt._version import __version__

__all__ = ["FORMAT", "FORMAT_VERSION", "RETRAIN", "read_saved", "write_saved"]

FORMAT = "metaopt-saved"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
#: The fix every load error names.
RETRAIN = "retrain with `metaopt train` (or point --models / METAOPT_MODELS at models this metaopt wrote)"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (strict JSON)."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_saved(
    path: str | os.PathLike[str],
    kind: str,
    doc: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    mf_version: str | None = None,
) -> Path:
    """Write ``doc`` and ``arrays`` as a saved model of ``kind`` into directory ``path``."""
    from metaopt.metafeatures import VERSION

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tmp = path / f".{ARRAYS}.tmp"
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    os.replace(tmp, path / ARRAYS)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "metaopt_version": __version__,
        "mf_version": str(VERSION if mf_version is None else mf_version),
        "arrays": {"file": ARRAYS, "sha256": digest},
        "doc": _finite(dict(doc)),
    }
    tmp_m = path / f".{MANIFEST}.tmp"
    tmp_m.write_text(
        json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False, default=_json_default),
        encoding="utf-8",
    )
    os.replace(tmp_m, path / MANIFEST)
    return path


def read_manifest(path: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """The checked manifest of a saved model (format, version and ``kind`` when given).

    Raises
    ------
    ModelError
        If there is no readable metaopt manifest at ``path``.
    ModelVersionError
        If it is of another format version or another kind.
    """
    path = Path(path)
    what = {None: "model", "recommender": "models"}.get(kind, kind)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelError(f"no trained {what} at {path} (no {MANIFEST})", RETRAIN)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the manifest {manifest_path} is unreadable ({exc})", RETRAIN) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelVersionError(
            f"{manifest_path} is not a saved model of this metaopt (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, expected {FORMAT!r})",
            RETRAIN,
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelVersionError(
            f"the {what} at {path} has format version {manifest.get('format_version')}, this "
            f"metaopt (version {__version__}) reads {FORMAT_VERSION}",
            RETRAIN,
        )
    if kind is not None and manifest.get("kind") != kind:
        raise ModelVersionError(
            f"{path} holds a saved {manifest.get('kind')!r}, not a {kind!r}", RETRAIN
        )
    return manifest


def read_saved(
    path: str | os.PathLike[str], kind: str, *, metafeature_version: str | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a saved model of ``kind``: ``(manifest, arrays)`` (see the module for the checks).

    ``metafeature_version`` defaults to :data:`metaopt.metafeatures.VERSION`.
    """
    from metaopt.metafeatures import VERSION

    path = Path(path)
    manifest = read_manifest(path, kind)
    expected = VERSION if metafeature_version is None else metafeature_version
    if str(manifest.get("mf_version")) != str(expected):
        raise ModelVersionError(
            f"the {kind} at {path} was trained on meta-feature version "
            f"{manifest.get('mf_version')}, this metaopt computes version {expected}",
            RETRAIN,
        )
    info = manifest.get("arrays") or {}
    arrays_path = path / str(info.get("file", ARRAYS))
    try:
        blob = arrays_path.read_bytes()
    except OSError as exc:
        raise ModelError(f"the arrays of the {kind} at {path} are missing ({exc})", RETRAIN) from exc
    if hashlib.sha256(blob).hexdigest() != info.get("sha256"):
        raise ModelError(
            f"{arrays_path} does not match its manifest's checksum (a partial copy or an edit)",
            RETRAIN,
        )
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ModelError(f"{arrays_path} is unreadable ({exc})", RETRAIN) from exc
    return manifest, arrays
