"""Fixtures of the report tests: the tiny manifest (fast) and the real project compiled once per
session (``real_project``, in ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mini_project import write_manifest

from catalog.loader import Catalog, load_catalog
from catalog.manifest import Manifest, load_manifest


@pytest.fixture
def mini_manifest_path(tmp_path: Path) -> Path:
    return write_manifest(tmp_path)


@pytest.fixture
def mini_catalog(mini_manifest_path: Path) -> Catalog:
    return load_catalog(load_manifest(mini_manifest_path))


@pytest.fixture(scope="session")
def real_catalog(real_project: tuple[Manifest, Path]) -> Catalog:
    return load_catalog(real_project[0])
