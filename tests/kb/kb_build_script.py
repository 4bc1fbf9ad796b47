"""Run a fake-component build (used by the SIGKILL test in a subprocess): ARGS: KB_DIR."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import kb_fakes  # noqa: E402

from metaopt.kb._build import build  # noqa: E402

build(sys.argv[1], "fake", configs_per_algorithm=6, components=kb_fakes.components(),
      batch_size=2, compact=False)
