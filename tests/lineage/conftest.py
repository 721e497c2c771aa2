"""The fixture dbt project, compiled once per test session into a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalog.lineage import ProjectGraph, build_project_graph
from catalog.manifest import Manifest, compile_project
from catalog.settings import REPO_ROOT

FIXTURE_PROJECT = REPO_ROOT / "tests" / "fixtures" / "lineage_project"


@pytest.fixture(scope="session")
def fixture_project_dir() -> Path:
    return FIXTURE_PROJECT


@pytest.fixture(scope="session")
def compiled_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """The fixture project's manifest and the path of its manifest.json."""
    target = tmp_path_factory.mktemp("lineage_fixture_target")
    manifest = compile_project(FIXTURE_PROJECT, target_path=target)
    return manifest, target / "manifest.json"


@pytest.fixture(scope="session")
def fixture_manifest(compiled_fixture: tuple[Manifest, Path]) -> Manifest:
    return compiled_fixture[0]


@pytest.fixture(scope="session")
def fixture_graph(fixture_manifest: Manifest) -> ProjectGraph:
    return build_project_graph(fixture_manifest)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or ``$FJORDBANK_SHARED_DIR``); tests that need it skip without it."""
    path = Path(os.environ.get("FJORDBANK_SHARED_DIR") or REPO_ROOT.parent / "shared")
    if not path.is_dir():
        pytest.skip(f"the shared directory {path} is absent (set FJORDBANK_SHARED_DIR)")
    return path
