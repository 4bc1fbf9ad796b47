"""Package layout that pyproject.toml alone cannot express.

The command-line front end lives in the top-level ``cli/`` folder (DESIGN.md's layout)
but installs as ``metaopt.cli``, so that no generic top-level module named ``cli`` lands
on users' import path. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["metaopt", "metaopt.*"]) + ["metaopt.cli"],
    package_dir={"metaopt.cli": "cli"},
)
