"""Fixtures shared by every test folder: the real dbt project compiled once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.manifest import Manifest, compile_project
from dagster_project.project import DBT_PROJECT_DIR
from tests.lineage.soundness import compile_from_scratch


@pytest.fixture(scope="session")
def real_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """The real dbt project's manifest and the path of its manifest.json (slow: ~20 s),
    compiled against an empty scratch warehouse: a warehouse where the incremental models are
    built (a developer's ``data/``, an earlier test's run) would make dbt's own manifest.json the
    ``is_incremental()`` branch, which a ``--manifest`` command refuses without its project."""
    target = tmp_path_factory.mktemp("real_project_target")
    manifest = compile_from_scratch(compile_project, DBT_PROJECT_DIR, target)
    return manifest, target / "manifest.json"


@pytest.fixture(autouse=True, scope="module")
def _environment_restored_after_each_module() -> Iterator[None]:
    """A whole-platform run exports the settings dbt's profile reads into ``os.environ``
    (``dagster_project.project.export_dbt_environment``), as a run's process should; between
    test modules that would point the next module's settings at the last one's warehouse."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


# --doctest-modules (pyproject.toml) would import every conftest.py as a module of its own, and
# two of them (tests/lineage, tests/policy) clash by name when both folders are given at once;
# conftest files are loaded by pytest anyway and hold no examples.
collect_ignore_glob = ["*/conftest.py"]
