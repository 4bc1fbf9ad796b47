"""`metaopt suggest` (table output) must not import scikit-learn or scipy.stats.

Their imports take most of the 1.5 s budget of a cold `metaopt suggest`; the loader,
the meta-features (numpy landmarkers), the Sobol' designs and the shipped models'
numpy inference avoid them, and a suggestion's scikit-learn spec is built only when
asked for. This test keeps it that way (the budget itself is measured in
benchmarks/bench_suggest.py, not here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "datasets" / "examples" / "penguins.csv"

_SCRIPT = """
import json, sys
from metaopt.cli import main
sys.argv = ["metaopt", "suggest", {path!r}, "--top", "3"]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in ("sklearn", "scipy.stats") if m in sys.modules)
sys.stderr.write("\\nIMPORTS " + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
"""


def _run(script: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    line = [x for x in proc.stderr.splitlines() if x.startswith("IMPORTS ")]
    assert line, proc.stderr[-2000:]
    return json.loads(line[-1][len("IMPORTS "):])


@pytest.mark.slow
def test_table_suggest_imports_neither_sklearn_nor_scipy_stats() -> None:
    out = _run(_SCRIPT.format(path=str(EXAMPLE)))
    assert out["code"] in (0, None)
    assert out["heavy"] == []


@pytest.mark.slow
def test_spec_is_built_on_access_and_then_kept() -> None:
    script = f"""
import json, sys
import metaopt
s = metaopt.suggest({str(EXAMPLE)!r}, top=2)
before = "sklearn" in sys.modules
spec = s[0].spec
assert spec is s[0].spec and spec["class"].endswith("Pipeline"), spec["class"]
doc = s[0].to_dict()
assert doc["spec"] == spec and "spec_source" not in doc
sys.stderr.write("\\nIMPORTS " + json.dumps({{"code": 0, "heavy": [before, "sklearn" in sys.modules]}}) + "\\n")
"""
    assert _run(script)["heavy"] == [False, True]
