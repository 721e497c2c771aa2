"""Incremental models: lineage is the union of both ``is_incremental()`` branches.

tests/fixtures/incremental_project has two incremental models: ``events_incremental`` filters
on its own ``loaded_at`` when incremental, ``customer_totals`` adds its previous total (a left
join to ``{{ this }}``). Before the warehouse is built dbt compiles only the false branch;
after ``dbt build`` twice the true branch reads the model's own relation, and the catalog
resolves it to the model's own columns (self-edges).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from catalog.lineage import build_project_graph
from catalog.manifest import compile_project

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "incremental_project"
DBT = Path(sys.executable).with_name("dbt")
CATALOG = Path(sys.executable).with_name("catalog")
P = "incremental_fixture"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture project, its warehouse in ``tmp_path`` (not built yet)."""
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE, copy)
    monkeypatch.setenv("FJORDBANK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return copy


def _lineage(*args: str) -> subprocess.CompletedProcess[str]:
    """``catalog lineage --format json`` in a subprocess: dbt-duckdb keeps the warehouse open
    (locked) in the process that compiled, and ``dbt build`` follows."""
    return subprocess.run(
        [str(CATALOG), "lineage", *args, "--format", "json"], capture_output=True, text=True
    )


def _edges(project: Path, *args: str) -> set[tuple[str, str, str | None, str, str]]:
    """``catalog lineage --format json``'s edges, short names (the project compiled, or the
    ``--manifest`` given in ``args``)."""
    result = _lineage("--project-dir", str(project), *args)
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    return {
        (
            f"{e['source']['node'].split('.')[-1]}.{e['source']['column']}",
            e["target"]["node"].split(".")[-1],
            e["target"]["column"],
            e["type"],
            e["subtype"],
        )
        for e in graph["edges"]
    }


def _build(project: Path, tmp_path: Path) -> None:
    subprocess.run(
        [
            str(DBT), "build", "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
            "--quiet",
        ],
        check=True,
    )  # fmt: skip


# The edges only the is_incremental() true branch adds: the reads of the model's own relation
# (self-edges) and the filter / join they come with.
TRUE_BRANCH_ONLY = {
    ("events_incremental.loaded_at", "events_incremental", None, "INDIRECT", "FILTER"),
    ("events.loaded_at", "events_incremental", None, "INDIRECT", "FILTER"),
    ("customer_totals.total_cents", "customer_totals", "total_cents", "DIRECT", "AGGREGATION"),
    ("customer_totals.customer_id", "customer_totals", None, "INDIRECT", "JOIN"),
    ("events_incremental.customer_id", "customer_totals", None, "INDIRECT", "JOIN"),
}


@pytest.mark.slow
def test_lineage_before_and_after_the_warehouse_is_built_is_the_union(
    project: Path, tmp_path: Path
) -> None:
    before = _edges(project)
    assert not before & TRUE_BRANCH_ONLY  # dbt compiles is_incremental() false: no relation
    assert ("events.amount", "events_incremental", "amount_cents", "DIRECT", "TRANSFORMATION") in (
        before
    )
    _build(project, tmp_path)
    _build(project, tmp_path)  # the second build runs the incremental branch
    after = _edges(project)
    assert before <= after  # the false branch's edges are kept
    assert after - before == TRUE_BRANCH_ONLY
    # The self-edges are the only edges from a model to itself.
    assert {e for e in after if e[0].split(".")[0] == e[1]} == {
        e for e in TRUE_BRANCH_ONLY if e[0].split(".")[0] == e[1]
    }


@pytest.mark.slow
def test_both_branches_are_compiled_and_columns_are_the_models_own(
    project: Path, tmp_path: Path
) -> None:
    _build(project, tmp_path)
    manifest = compile_project(project, target_path=tmp_path / "compiled")
    node = manifest.node("customer_totals")
    assert "left join" not in node.compiled_code.lower()  # is_incremental() false
    assert node.incremental_code is not None and "left join" in node.incremental_code.lower()
    graph = build_project_graph(manifest)
    assert graph.node(f"model.{P}.customer_totals").columns == ("customer_id", "total_cents")
    # select * downstream expands over the union's columns, no more.
    assert graph.node(f"model.{P}.customer_report").columns == ("customer_id", "total_cents")


@pytest.mark.slow
def test_a_built_projects_manifest_gets_its_other_branch_compiled(
    project: Path, tmp_path: Path
) -> None:
    """dbt's own manifest after a build holds only the is_incremental() true branch; given the
    project, the catalog compiles the false branch too: the same union as compiling itself."""
    _build(project, tmp_path)
    _build(project, tmp_path)  # target/manifest.json compiled with the relations present
    manifest = tmp_path / "target" / "manifest.json"
    assert (
        "left join"
        in json.loads(manifest.read_text())["nodes"][f"model.{P}.customer_totals"][
            "compiled_code"
        ].lower()
    )  # dbt's manifest: the true branch only
    from_manifest = _edges(project, "--manifest", str(manifest))
    assert from_manifest == _edges(project)
    assert from_manifest >= TRUE_BRANCH_ONLY
    assert ("events.amount", "events_incremental", "amount_cents", "DIRECT", "TRANSFORMATION") in (
        from_manifest
    )


@pytest.mark.slow
def test_a_true_branch_manifest_without_its_project_fails_closed_naming_the_models(
    project: Path, tmp_path: Path
) -> None:
    """Without the project, the false branch cannot be compiled: exit 2, one line naming the
    models and what to do, never the true branch alone."""
    _build(project, tmp_path)
    _build(project, tmp_path)
    result = _lineage("--manifest", str(tmp_path / "target" / "manifest.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "only the is_incremental() branch of customer_totals, events_incremental" in line
    assert "pass --project-dir, or omit --manifest" in line


def test_check_counts_models_apart_from_seeds_and_sources(project: Path, tmp_path: Path) -> None:
    """Before the build (is_incremental() false): the summary counts the three models, the seed
    apart, and every column (4 + 4 + 2 + 2)."""
    policy = tmp_path / "policy.yml"
    policy.write_text("")  # the structural rules only: every column untagged, exit 1
    result = subprocess.run(
        [str(CATALOG), "check", "--project-dir", str(project), "--policy", str(policy)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1].endswith(
        "(3 models, 1 seeds, 0 sources, 12 columns checked)"
    )
