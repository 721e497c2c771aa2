"""Fixtures of the report tests: the tiny manifest (fast) and the real project compiled once per
session into a temporary directory (slow: ~20 s)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mini_project import write_manifest

from catalog.manifest import Manifest, compile_project, load_manifest
from catalog.reports.context import Catalog, load_catalog
from dagster_project.project import DBT_PROJECT_DIR


@pytest.fixture
def mini_manifest_path(tmp_path: Path) -> Path:
    return write_manifest(tmp_path)


@pytest.fixture
def mini_catalog(mini_manifest_path: Path) -> Catalog:
    return load_catalog(load_manifest(mini_manifest_path))


@pytest.fixture(scope="session")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """The real dbt project's manifest and the path of its manifest.json."""
    target = tmp_path_factory.mktemp("real_project_target")
    manifest = compile_project(DBT_PROJECT_DIR, target_path=target)
    return manifest, target / "manifest.json"


@pytest.fixture(scope="session")
def real_catalog(real_project: tuple[Manifest, Path]) -> Catalog:
    return load_catalog(real_project[0])
