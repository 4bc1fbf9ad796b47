"""A fake openml-python cache, in openml-python's own on-disk format, and no network.

:func:`make_cache` writes ``org/openml/www/datasets/<id>/description.xml`` +
``dataset.arff`` (and ``tasks/<id>/task.xml``) under a folder;
:func:`disable_network` makes every HTTP call of openml-python raise, so that a test
that would reach the network fails loudly. Used by ``tests/tasks/test_openml.py`` and
by the CLI tests (``sys.path`` insert of this folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Dataset ids of :func:`make_cache`: a binary classification one (with a row id and an
#: ignore attribute) and a regression one; task 77 is a classification task on 9001.
CLASSIFICATION_ID = 9001
REGRESSION_ID = 9002
TASK_ID = 77


class NoNetwork(ConnectionError):
    pass


def description(did: int, name: str, target: str, *, row_id=None, ignore=None) -> str:
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


def write_dataset(root: Path, did: int, name: str, target: str, arff: str, **kw) -> None:
    d = root / "org" / "openml" / "www" / "datasets" / str(did)
    d.mkdir(parents=True, exist_ok=True)
    (d / "description.xml").write_text(description(did, name, target, **kw))
    (d / "dataset.arff").write_text(arff)


def classification_arff(n: int = 40) -> str:
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


def regression_arff(n: int = 40) -> str:
    rows = [f"{i % 7}.0,{['a', 'b'][i % 2]},{i * 1.5 + 0.25}" for i in range(n)]
    return (
        "@RELATION houses\n"
        "@ATTRIBUTE rooms NUMERIC\n"
        "@ATTRIBUTE zone {a,b}\n"
        "@ATTRIBUTE price NUMERIC\n"
        "@DATA\n" + "\n".join(rows) + "\n"
    )


def task_xml(tid: int, did: int, target: str, ttype: str = "Supervised Classification") -> str:
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


def disable_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make openml-python's requests raise :class:`NoNetwork`; returns the attempted calls."""
    import openml._api_calls as api

    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(str(args[:2]))
        raise NoNetwork(f"test: network disabled ({args[:2]})")

    monkeypatch.setattr(api, "_send_request", refuse)
    monkeypatch.setattr(api, "_download_minio_file", refuse, raising=False)
    monkeypatch.setattr(api, "_download_minio_bucket", refuse, raising=False)
    return calls


def make_cache(root: Path) -> Path:
    """Write the fake cache under ``root`` and return ``root``."""
    write_dataset(root, CLASSIFICATION_ID, "credit-mini", "class", classification_arff(),
                  row_id="row_id", ignore="junk")
    write_dataset(root, REGRESSION_ID, "houses-mini", "price", regression_arff())
    t = root / "org" / "openml" / "www" / "tasks" / str(TASK_ID)
    t.mkdir(parents=True)
    (t / "task.xml").write_text(task_xml(TASK_ID, CLASSIFICATION_ID, "class"))
    return root
