"""OpenML source against a cache folder in openml-python's own on-disk format.

The fake cache and the network block live in ``openml_fakes.py`` (shared with the CLI
tests): every HTTP call of openml-python raises, so that a test that would reach the
network fails loudly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from metaopt import SourceError
from metaopt.tasks._openml import OpenMLSource, load_openml
from metaopt.tasks._sources import SourceEntry, get_source

openml = pytest.importorskip("openml")

sys.path.insert(0, str(Path(__file__).parent))
import openml_fakes  # noqa: E402


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any request openml-python tries to send raises (a ConnectionError subclass)."""
    return openml_fakes.disable_network(monkeypatch)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return openml_fakes.make_cache(tmp_path / "openml-cache")


def test_dataset_from_cache_nominal_target(cache, no_network):
    task = load_openml(9001, cache_dir=cache)
    assert no_network == []
    assert task.task_id == "openml:9001"
    assert task.source == "openml"
    assert task.name == "credit-mini"
    assert task.target == "class"  # OpenML's default_target_attribute
    assert task.kind == "binary"
    assert "row_id" not in task.X.columns and "junk" not in task.X.columns
    assert "class" not in task.X.columns
    assert isinstance(task.X["colour"].dtype, pd.CategoricalDtype)
    assert task.n_rows == 40
    assert task.provenance["openml_id"] == 9001
    assert set(task.provenance["openml_dropped"]) == {"row_id", "junk"}


def test_dataset_from_cache_numeric_target_is_regression(cache, no_network):
    task = get_source("openml:9002", openml_cache=cache).load(
        SourceEntry(task_id="openml:9002", source="openml", name="9002", openml_id=9002)
    )
    assert no_network == []
    assert task.kind == "regression"
    assert task.target == "price"
    assert task.y.dtype == "float64"
    assert list(task.X.columns) == ["rooms", "zone"]


def test_env_var_names_the_cache(cache, monkeypatch):
    monkeypatch.setenv("METAOPT_OPENML_CACHE", str(cache))
    src = get_source("openml:9002")
    (entry,) = src.entries()
    assert entry.task_id == "openml:9002"
    json.dumps(entry.to_dict())  # shippable
    assert src.load(entry.to_dict()).kind == "regression"


def test_openml_task_from_cache(cache, no_network):
    src = get_source("openml-task:77", openml_cache=cache)
    (entry,) = src.entries()
    assert entry.openml_id == 9001 and entry.target == "class"
    task = src.load(entry)
    assert task.task_id == "openml:9001"
    assert task.kind == "binary"
    assert no_network == []


def test_missing_dataset_offline_is_a_clear_error(cache, no_network):
    with pytest.raises(SourceError) as info:
        load_openml(31, cache_dir=cache)
    msg = str(info.value)
    assert "OpenML dataset 31 is not in the cache at" in msg
    assert str(cache) in msg
    assert "--openml-cache" in msg
    assert no_network  # it did try, and the try failed loudly


def test_suite_offline_without_listing_is_a_clear_error(cache):
    with pytest.raises(SourceError, match="OpenML suite 'OpenML-CC18' is not in the cache"):
        get_source("openml:OpenML-CC18", openml_cache=cache).entries()


def test_suite_from_cached_listing(cache, no_network):
    listing = {
        "suite": "mini-suite", "suite_id": 1, "name": "mini",
        "tasks": [{"task_id": 77, "dataset_id": 9001, "name": "credit-mini",
                   "target": "class", "task_type": "classification"}],
    }
    path = cache / "metaopt" / "suites" / "mini-suite.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(listing))
    src = get_source("openml:mini-suite", openml_cache=cache)
    (entry,) = src.entries()
    assert entry.task_id == "openml:9001" and entry.name == "credit-mini"
    task = src.load(json.loads(entry.to_json()))
    assert task.task_id == "openml:9001" and task.target == "class"
    assert no_network == []


def test_bad_specs():
    with pytest.raises(SourceError):
        get_source("openml:")
    with pytest.raises(SourceError):
        OpenMLSource(datasets=["abc"])
    with pytest.raises(SourceError):
        get_source("nosuch:1")


# -- load_task("openml:ID"): the same loader as every file ------------------------------


def test_load_task_accepts_an_openml_dataset_id(cache, no_network):
    from metaopt import load_task

    task = load_task("openml:9001", openml_cache=cache)
    assert task.task_id == "openml:9001" and task.name == "credit-mini"
    assert task.kind == "binary" and task.target == "class"
    assert "row_id" not in task.X.columns
    assert load_task(Path("openml:9002"), openml_cache=cache).kind == "regression"
    assert no_network == []


def test_load_task_openml_options(cache, no_network):
    from metaopt import load_task

    small = load_task("openml:9001", openml_cache=cache, max_rows=10)
    assert small.n_rows == 10 and any("subsampled 10 of 40" in n for n in small.notices)
    assert load_task("openml:9002", "rooms", openml_cache=cache).target == "rooms"
    forced = load_task("openml:9002", "rooms", kind="multiclass", openml_cache=cache)
    assert forced.kind == "multiclass"


def test_load_task_accepts_an_openml_task_id(cache, no_network):
    from metaopt import load_task

    task = load_task("openml-task:77", openml_cache=cache)
    assert task.task_id == "openml:9001" and task.target == "class"
    assert no_network == []


def test_load_task_env_var_names_the_cache(cache, monkeypatch):
    from metaopt import load_task

    monkeypatch.setenv("METAOPT_OPENML_CACHE", str(cache))
    assert load_task("openml:9001").task_id == "openml:9001"


def test_load_task_openml_not_cached_names_the_option(cache, no_network):
    from metaopt import load_task

    with pytest.raises(SourceError, match="OpenML dataset 31 is not in the cache") as info:
        load_task("openml:31", openml_cache=cache)
    assert "--openml-cache" in str(info.value)


@pytest.mark.parametrize("ref", ["openml:OpenML-CC18", "openml:task/3", "openml-suite:99", "openml:"])
def test_load_task_rejects_what_is_not_one_dataset(ref, cache):
    from metaopt import load_task

    with pytest.raises(SourceError, match="does not name one OpenML dataset or task") as info:
        load_task(ref, openml_cache=cache)
    assert "openml:ID" in str(info.value)


def test_an_existing_file_named_like_a_reference_is_a_file(tmp_path, monkeypatch):
    from metaopt import load_task

    monkeypatch.chdir(tmp_path)
    Path("openml:5").write_text("a,b\n1,x\n2,y\n3,x\n4,y\n")
    assert load_task("openml:5").source == "file"


# -- openml-python missing: the openml extra ---------------------------------------------


def test_missing_openml_names_the_extra(cache, monkeypatch):
    from metaopt import MetaoptError, MissingDependencyError, load_task

    monkeypatch.setitem(sys.modules, "openml", None)
    with pytest.raises(MissingDependencyError) as info:
        load_task("openml:9001", openml_cache=cache)
    msg = str(info.value)
    assert isinstance(info.value, MetaoptError) and isinstance(info.value, ImportError)
    assert "'openml'" in msg and 'pip install "metaopt[openml]"' in msg
    assert "\n" not in msg
    with pytest.raises(MissingDependencyError, match=r"metaopt\[openml\]"):
        get_source("openml:9001", openml_cache=cache)
    with pytest.raises(MissingDependencyError, match=r"metaopt\[openml\]"):
        load_openml(9001, cache_dir=cache)
