"""Package layout that pyproject.toml alone cannot express.

The command-line front end lives in the top-level ``cli/`` folder (DESIGN.md's layout)
but installs as ``metaopt.cli``, so that no generic top-level module named ``cli`` lands
on users' import path. The shipped knowledge base and trained models live in
``datasets/`` (their one home in the repository) and install as package data under
``metaopt/datasets/kb`` and ``metaopt/datasets/models``, where ``metaopt._paths`` finds
them when there is no checkout (a non-editable install); which files go there is
declared in pyproject.toml's package-data (which would override a ``package_data``
given here). Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["metaopt", "metaopt.*"]) + ["metaopt.cli", "metaopt.datasets"],
    package_dir={"metaopt.cli": "cli", "metaopt.datasets": "datasets"},
)
