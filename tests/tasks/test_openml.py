"""OpenML source against a cache folder in openml-python's own on-disk format.

The tests write ``org/openml/www/datasets/<id>/description.xml`` + ``dataset.arff``
(and ``tasks/<id>/task.xml``) themselves, and make every HTTP call of openml-python
raise, so that a test that would reach the network fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metaopt import SourceError
from metaopt.tasks._openml import OpenMLSource, load_openml
from metaopt.tasks._sources import SourceEntry, get_source

openml = pytest.importorskip("openml")


class _NoNetwork(ConnectionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any request openml-python tries to send raises (a ConnectionError subclass)."""
    import openml._api_calls as api

    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(str(args[:2]))
        raise _NoNetwork(f"test: network disabled ({args[:2]})")

    monkeypatch.setattr(api, "_send_request", refuse)
    monkeypatch.setattr(api, "_download_minio_file", refuse, raising=False)
    monkeypatch.setattr(api, "_download_minio_bucket", refuse, raising=False)
    yield calls


def _description(did: int, name: str, target: str, *, row_id=None, ignore=None) -> str:
    extra = ""
    if row_id:
        extra += f"  <oml:row_id_attribute>{row_id}</oml:row_id_attribute>\n"
    if ignore:
        extra += f"  <oml:ignore_attribute>{ignore}</oml:ignore_attribute>\n"
    return f"""<oml:data_set_description xmlns:oml="http://openml.org/openml">
  <oml:id>{did}</oml:id>
  <oml:name>{name}</oml:name>
  <oml:version>1</oml:version>
  <oml:description>test fixture</oml:description>
  <oml:format>ARFF</oml:format>
  <oml:upload_date>2014-04-06T23:19:24</oml:upload_date>
  <oml:licence>Public</oml:licence>
  <oml:url>https://invalid.invalid/data/v1/download/{did}/{name}.arff</oml:url>
  <oml:file_id>{did}</oml:file_id>
  <oml:default_target_attribute>{target}</oml:default_target_attribute>
{extra}  <oml:visibility>public</oml:visibility>
  <oml:status>active</oml:status>
</oml:data_set_description>
"""


def _write_dataset(root: Path, did: int, name: str, target: str, arff: str, **kw) -> None:
    d = root / "org" / "openml" / "www" / "datasets" / str(did)
    d.mkdir(parents=True, exist_ok=True)
    (d / "description.xml").write_text(_description(did, name, target, **kw))
    (d / "dataset.arff").write_text(arff)


def _classification_arff(n: int = 40) -> str:
    rows = []
    for i in range(n):
        colour = ["red", "green", "blue"][i % 3]
        cls = "good" if i % 2 == 0 else "bad"
        rows.append(f"{i},{i * 0.5:.1f},{colour},{100 + i},{cls}")
    return (
        "@RELATION credit\n"
        "@ATTRIBUTE row_id NUMERIC\n"
        "@ATTRIBUTE amount NUMERIC\n"
        "@ATTRIBUTE colour {red,green,blue}\n"
        "@ATTRIBUTE junk NUMERIC\n"
        "@ATTRIBUTE class {good,bad}\n"
        "@DATA\n" + "\n".join(rows) + "\n"
    )


def _regression_arff(n: int = 40) -> str:
    rows = [f"{i % 7}.0,{['a', 'b'][i % 2]},{i * 1.5 + 0.25}" for i in range(n)]
    return (
        "@RELATION houses\n"
        "@ATTRIBUTE rooms NUMERIC\n"
        "@ATTRIBUTE zone {a,b}\n"
        "@ATTRIBUTE price NUMERIC\n"
        "@DATA\n" + "\n".join(rows) + "\n"
    )


def _task_xml(tid: int, did: int, target: str, ttype: str = "Supervised Classification") -> str:
    type_id = 1 if "Classification" in ttype else 2
    return f"""<oml:task xmlns:oml="http://openml.org/openml">
  <oml:task_id>{tid}</oml:task_id>
  <oml:task_name>Task {tid}</oml:task_name>
  <oml:task_type_id>{type_id}</oml:task_type_id>
  <oml:task_type>{ttype}</oml:task_type>
  <oml:input name="source_data">
    <oml:data_set>
      <oml:data_set_id>{did}</oml:data_set_id>
      <oml:target_feature>{target}</oml:target_feature>
    </oml:data_set>
  </oml:input>
  <oml:input name="estimation_procedure">
    <oml:estimation_procedure>
      <oml:id>1</oml:id>
      <oml:type>crossvalidation</oml:type>
      <oml:data_splits_url>https://invalid.invalid/api_splits/get/{tid}/Task_{tid}_splits.arff</oml:data_splits_url>
      <oml:parameter name="number_repeats">1</oml:parameter>
      <oml:parameter name="number_folds">10</oml:parameter>
      <oml:parameter name="percentage"></oml:parameter>
      <oml:parameter name="stratified_sampling">true</oml:parameter>
    </oml:estimation_procedure>
  </oml:input>
  <oml:input name="evaluation_measures">
    <oml:evaluation_measures>
      <oml:evaluation_measure>predictive_accuracy</oml:evaluation_measure>
    </oml:evaluation_measures>
  </oml:input>
</oml:task>
"""


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    root = tmp_path / "openml-cache"
    _write_dataset(root, 9001, "credit-mini", "class", _classification_arff(),
                   row_id="row_id", ignore="junk")
    _write_dataset(root, 9002, "houses-mini", "price", _regression_arff())
    t = root / "org" / "openml" / "www" / "tasks" / "77"
    t.mkdir(parents=True)
    (t / "task.xml").write_text(_task_xml(77, 9001, "class"))
    return root


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
