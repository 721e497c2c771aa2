"""The dbt CLI resource's start-up (``DbtCoreCliResource``): the dbt version read without a
second dbt process, no dbt adapter built in the run's process. Fast: no dbt build."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource

from dagster_project.assets.dbt import DbtCoreCliResource
from dagster_project.project import DBT_PROJECT_DIR

BESIDE = Path(sys.executable).with_name("dbt")


def _resource(executable: str) -> DbtCoreCliResource:
    return DbtCoreCliResource(
        project_dir=str(DBT_PROJECT_DIR), target="duckdb", dbt_executable=executable
    )


def test_dagster_dbt_still_has_the_members_overridden():
    # An upgrade that renames them would silently bring the start-up costs back.
    assert "_cli_version" in DbtCliResource.__dict__
    assert "_initialize_dbt_core_adapter" in DbtCliResource.__dict__


def test_version_of_the_dbt_beside_python_is_read_without_running_it(monkeypatch):
    import dagster_dbt.core.resource as resource_module

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt was run: {args}")

    monkeypatch.setattr(resource_module, "check_output", no_subprocess)
    version = _resource(str(BESIDE))._cli_version
    out = subprocess.run([str(BESIDE), "--version"], capture_output=True, text=True).stdout
    assert str(version) == re.search(r"(\d+\.\d+\.\d+)", out).group(1)
    assert version.major < 2  # dbt Core, not Fusion


def test_another_dbt_executable_is_still_asked(monkeypatch, tmp_path):
    import dagster_dbt.core.resource as resource_module

    other = tmp_path / "bin" / "dbt"
    other.parent.mkdir()
    other.symlink_to(BESIDE)

    calls = []

    def fake(args, *rest, **kwargs):
        calls.append(args)
        return b"Core:\n  - installed: 1.11.3\n"

    monkeypatch.setattr(resource_module, "check_output", fake)
    assert str(_resource(str(other))._cli_version) == "1.11.3"
    assert calls == [[str(other), "--version"]]


def test_no_dbt_adapter_is_built_in_the_run_process():
    assert _resource(str(BESIDE))._initialize_dbt_core_adapter(["build"]) is None


@pytest.mark.parametrize("member", ["fetch_row_counts", "fetch_column_metadata"])
def test_the_assets_ask_for_no_metadata_that_needs_the_adapter(member):
    source = (Path(__file__).parents[1] / "dagster_project" / "assets" / "dbt.py").read_text()
    assert f".{member}(" not in source
