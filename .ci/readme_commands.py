"""Print the README's set-up commands, one a line, as `.ci/run` runs them.

The commands are every line of the ```bash blocks in the README's "## Quick start"
section, in order (blank lines and ``#`` comments skipped, ``\\`` continuations
joined). CI reads them from here at run time, so the README and CI cannot drift;
tests/test_readme.py checks what this returns.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SECTION = "## Quick start"


def quick_start_commands(readme: str) -> list[str]:
    """The commands of the ```bash blocks under ``SECTION`` in the README text ``readme``."""
    lines = readme.splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        raise SystemExit(
            f"README.md has no '{SECTION}' heading; CI reads its commands there"
        ) from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    section = "\n".join(lines[start + 1 : end]) + "\n"
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```", section, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                commands.append(line)
    if not commands:
        raise SystemExit(f"README.md's '{SECTION}' section has no ```bash commands")
    return commands


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "README.md"
    print("\n".join(quick_start_commands(path.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
