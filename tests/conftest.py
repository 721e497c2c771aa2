"""Fixtures shared by every test folder: the real dbt project compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.manifest import Manifest, compile_project
from dagster_project.project import DBT_PROJECT_DIR


@pytest.fixture(scope="session")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """The real dbt project's manifest and the path of its manifest.json (slow: ~20 s)."""
    target = tmp_path_factory.mktemp("real_project_target")
    manifest = compile_project(DBT_PROJECT_DIR, target_path=target)
    return manifest, target / "manifest.json"


# --doctest-modules (pyproject.toml) would import every conftest.py as a module of its own, and
# two of them (tests/lineage, tests/policy) clash by name when both folders are given at once;
# conftest files are loaded by pytest anyway and hold no examples.
collect_ignore_glob = ["*/conftest.py"]
