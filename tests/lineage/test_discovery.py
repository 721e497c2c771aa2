"""Column discovery for sources the YAML does not declare (catalog/discovery.py): catalog.json,
the DuckDB warehouse read-only, dbt-duckdb external sources (files), and failing closed.

The fast tests run on hand-written manifests; the slow ones build the small project
tests/fixtures/discovery_project with dbt-duckdb (its source tables created in the warehouse
first, as a loader would, and a parquet and a CSV file for the external sources).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from catalog.cli import main
from catalog.discovery import discover_columns
from catalog.lineage import ColumnRef, EdgeType, LineageError, build_project_graph
from catalog.manifest import Manifest, load_manifest
from catalog.settings import REPO_ROOT

PROJECT = REPO_ROOT / "tests" / "fixtures" / "discovery_project"
DBT = str(Path(sys.executable).with_name("dbt"))


def _source(name: str, **extra: object) -> dict[str, object]:
    return {
        "unique_id": f"source.p.shop.{name}",
        "name": name,
        "resource_type": "source",
        "source_name": "shop",
        "database": "wh",
        "schema": "raw",
        "identifier": name,
        "relation_name": f'"wh"."raw"."{name}"',
        **extra,
    }


def _model(name: str, sql: str, *parents: str) -> dict[str, object]:
    return {
        "unique_id": f"model.p.{name}",
        "name": name,
        "resource_type": "model",
        "database": "wh",
        "schema": "main",
        "alias": name,
        "config": {"materialized": "view"},
        "compiled_code": sql,
        "language": "sql",
        "depends_on": {"nodes": list(parents)},
    }


def _manifest(*raw: dict[str, object], path: Path | None = None) -> Manifest:
    data = {
        "metadata": {"project_name": "p", "adapter_type": "duckdb"},
        "sources": {r["unique_id"]: r for r in raw if r["resource_type"] == "source"},
        "nodes": {r["unique_id"]: r for r in raw if r["resource_type"] != "source"},
    }
    return Manifest.from_dict(data, path=path)


def _edges(graph, target: str) -> set[tuple[str, str, str | None, str]]:
    return {
        (e.source.node.rsplit(".", 1)[-1], e.source.column, e.target_column, str(e.subtype))
        for e in graph.edges
        if e.target_node == target
    }


# -- fast: hand-written manifests -------------------------------------------------------------
def test_catalog_json_gives_the_undeclared_columns_in_order(tmp_path: Path) -> None:
    (tmp_path / "catalog.json").write_text(
        json.dumps(
            {
                "nodes": {},
                "sources": {
                    "source.p.shop.customers": {
                        "columns": {
                            "EMAIL": {"name": "email", "type": "VARCHAR", "index": 2},
                            "ID": {"name": "id", "type": "INTEGER", "index": 1},
                        }
                    }
                },
            }
        )
    )
    manifest = _manifest(
        _source("customers"),
        _source("orders", columns={"id": {"name": "id"}}),
        _model("stg", 'select * from "wh"."raw"."customers"', "source.p.shop.customers"),
        path=tmp_path / "manifest.json",
    )
    found = discover_columns(manifest, project_dir=tmp_path)
    customers = found.node("shop.customers")
    assert customers.column_names == ("id", "email")
    assert (customers.columns_from, found.node("shop.orders").columns_from) == (
        "catalog.json",
        "yaml",
    )
    graph = build_project_graph(found)
    assert _edges(graph, "model.p.stg") == {
        ("customers", "id", "id", "IDENTITY"),
        ("customers", "email", "email", "IDENTITY"),
    }
    assert graph.to_json()["nodes"][0]["columns_from"] == "catalog.json"


def test_a_source_found_nowhere_fails_closed_naming_it_and_why(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (tmp_path / "profiles.yml").write_text(
        f"p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'absent.duckdb'}\n"
    )
    manifest = _manifest(
        _source("customers"),
        _model("stg", 'select * from "wh"."raw"."customers"', "source.p.shop.customers"),
    )
    found = discover_columns(manifest, project_dir=tmp_path)
    assert found.node("shop.customers").columns_from is None
    assert not (tmp_path / "absent.duckdb").exists()  # looked for, never created
    with pytest.raises(LineageError) as e:
        build_project_graph(found)
    message = str(e.value)
    assert "stg" in message and "the columns of source shop.customers are not known" in message
    assert "absent.duckdb does not exist" in message and "declare them" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("profile", "reason"),
    [
        (
            "p:\n  target: dev\n  outputs:\n    dev:\n      type: spark\n      host: h\n",
            "reading columns from a spark warehouse is not supported (only dbt-duckdb); run "
            "`dbt docs generate` for catalog.json",
        ),
        ("p: [unclosed\n", "profiles.yml cannot be read"),
        (
            "p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n",
            "the profile's warehouse is :memory:, not a database file to read",
        ),
    ],
    ids=["spark", "malformed", "in-memory"],
)
def test_a_warehouse_that_cannot_be_read_says_why(
    tmp_path: Path, profile: str, reason: str
) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (tmp_path / "profiles.yml").write_text(profile)
    found = discover_columns(_manifest(_source("customers")), project_dir=tmp_path)
    customers = found.node("shop.customers")
    assert customers.columns_from is None and reason in (customers.columns_unknown or "")


def test_the_warehouse_is_read_read_only_and_left_unchanged(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.customers (id integer, Name varchar)")
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (tmp_path / "profiles.yml").write_text(
        "p:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('DISCOVERY_TEST_WH') }}\"\n"
    )
    manifest = _manifest(_source("customers"), _source("orders"))
    before = warehouse.stat().st_mtime_ns
    os.environ["DISCOVERY_TEST_WH"] = str(warehouse)
    try:
        found = discover_columns(manifest, project_dir=tmp_path)
    finally:
        del os.environ["DISCOVERY_TEST_WH"]
    customers = found.node("shop.customers")
    assert (customers.column_names, customers.columns_from) == (("id", "Name"), "warehouse")
    orders = found.node("shop.orders")
    assert orders.columns_from is None and "raw.orders is not in the warehouse" in (
        orders.columns_unknown or ""
    )
    assert warehouse.stat().st_mtime_ns == before


def test_an_external_source_resolves_to_its_node_with_the_files_columns(tmp_path: Path) -> None:
    parquet = tmp_path / "events.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select 1 as event_id, 'x' as kind) to '{parquet}' (format parquet)")
    location = f"read_parquet('{parquet}')"
    events = _source(
        "events", relation_name=location, meta={"external_location": location}, schema="shop"
    )
    sql = f"select e.kind, count(*) as n from {location} as e where e.event_id > 0 group by 1"
    manifest = _manifest(events, _model("m", sql, "source.p.shop.events"))
    found = discover_columns(manifest)
    assert found.node("shop.events").columns_from == "file"
    graph = build_project_graph(found)
    edges = _edges(graph, "model.p.m")
    assert ("events", "kind", "kind", "IDENTITY") in edges
    assert ("events", "event_id", None, "FILTER") in edges
    assert ("events", "kind", None, "GROUP_BY") in edges


def test_an_external_source_with_declared_columns_is_not_read(tmp_path: Path) -> None:
    location = f"'{tmp_path / 'absent.csv'}'"
    events = _source(
        "events",
        relation_name=location,
        meta={"external_location": location.strip("'")},
        columns={"a": {"name": "a"}},
    )
    sql = f"select a from {location}"
    found = discover_columns(_manifest(events, _model("m", sql, "source.p.shop.events")))
    assert found.node("shop.events").columns_from == "yaml"
    graph = build_project_graph(found)
    assert _edges(graph, "model.p.m") == {("events", "a", "a", "IDENTITY")}


# -- slow: the fixture project built with dbt-duckdb ------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The project copied to a temporary directory, its source tables and files created, and
    ``dbt build`` run; the environment variables its profile and sources read are set."""
    root = tmp_path_factory.mktemp("discovery")
    project = root / "project"
    shutil.copytree(PROJECT, project)
    files = root / "files"
    files.mkdir()
    warehouse = root / "wh.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema raw")
        # a loader's mixed-case column: DuckDB keeps the case it was created with
        con.execute(
            "create table raw.customers as select 1 as id, 'Ann' as FullName, 'a@x' as email"
        )
        con.execute(
            "create table raw.orders as select 1 as id, 1 as customer_id, 9.5 as amount, "
            "date '2024-01-01' as ordered_at"
        )
        con.execute("create table raw.payments as select 1 as order_id, 'card' as method")
        con.execute(
            "copy (select 1 as event_id, 'click' as kind, timestamp '2024-01-01' as at) "
            f"to '{files / 'events.parquet'}' (format parquet)"
        )
        con.execute(f"copy (select 'home' as page, 'v1' as visitor) to '{files / 'visits.csv'}'")
    env = {"DISCOVERY_WAREHOUSE": str(warehouse), "DISCOVERY_FILES": str(files)}
    os.environ.update(env)
    _dbt(["build"], project, root / "target")
    yield {"project": project, "target": root / "target", "warehouse": warehouse, "root": root}
    for key in env:
        os.environ.pop(key, None)


def _dbt(command: list[str], project: Path, target: Path) -> None:
    subprocess.run(
        [
            DBT, *command, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(target / "logs"), "--quiet",
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )  # fmt: skip


def _lineage(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lineage", "--format", "json", *args])
    return result.exit_code, result.output


EXPECTED_STAGING = {
    ("customers", "id", "id", "IDENTITY"),
    ("customers", "FullName", "FullName", "IDENTITY"),
    ("customers", "email", "email", "IDENTITY"),
}


@pytest.mark.slow
def test_without_catalog_json_the_columns_come_from_the_warehouse(built) -> None:
    code, out = _lineage("--project-dir", str(built["project"]))  # compiled in-process
    assert code == 0, out
    graph = json.loads(out)
    origins = {n["unique_id"].split(".", 2)[2]: n.get("columns_from") for n in graph["nodes"]}
    assert origins["shop.customers"] == "warehouse"
    assert origins["shop.orders"] == "warehouse"
    assert origins["shop.payments"] == "yaml"
    assert origins["files.events"] == origins["files.visits"] == "file"
    manifest = discover_columns(
        load_manifest(built["target"] / "manifest.json"), project_dir=built["project"]
    )
    graph = build_project_graph(manifest)
    assert _edges(graph, "model.discovery_fixture.stg_customers") == EXPECTED_STAGING
    assert _edges(graph, "model.discovery_fixture.stg_events") == {
        ("events", c, c, "IDENTITY") for c in ("event_id", "kind", "at")
    }
    visits = _edges(graph, "model.discovery_fixture.visits_per_page")
    assert ("visits", "page", "page", "IDENTITY") in visits
    assert ("visits", "page", None, "GROUP_BY") in visits
    # every model's columns are the ones the adapter created, case included (FullName)
    with duckdb.connect(str(built["warehouse"]), read_only=True) as con:
        for model in ("stg_customers", "customer_orders"):
            created = [r[0] for r in con.execute(f"describe main.{model}").fetchall()]
            assert list(graph.node(f"model.discovery_fixture.{model}").columns) == created
    orders = _edges(graph, "model.discovery_fixture.customer_orders")
    assert ("stg_customers", "FullName", "FullName", "IDENTITY") in orders
    assert ("stg_customers", "FullName", None, "GROUP_BY") in orders
    upstream = graph.upstream(ColumnRef("model.discovery_fixture.customer_orders", "total"))
    direct = {str(r) for r, p in upstream.items() if all(e.type is EdgeType.DIRECT for _, e in p)}
    assert "source.discovery_fixture.shop.orders.amount" in direct


@pytest.mark.slow
def test_catalog_json_is_used_before_the_warehouse(built) -> None:
    target = built["root"] / "docs_target"
    _dbt(["docs", "generate"], built["project"], target)
    moved = built["root"] / "moved.duckdb"
    built["warehouse"].rename(moved)  # the warehouse is gone: only catalog.json can answer
    try:
        code, out = _lineage(
            "--project-dir", str(built["project"]), "--manifest", str(target / "manifest.json")
        )
    finally:
        moved.rename(built["warehouse"])
    assert code == 0, out
    nodes = {n["unique_id"].split(".", 2)[2]: n for n in json.loads(out)["nodes"]}
    assert nodes["shop.customers"]["columns_from"] == "catalog.json"
    assert nodes["shop.customers"]["columns"] == ["id", "FullName", "email"]
    assert nodes["stg_customers"]["columns"] == ["id", "FullName", "email"]


@pytest.mark.slow
def test_with_neither_catalog_json_nor_warehouse_lineage_exits_2(built) -> None:
    moved = built["root"] / "moved.duckdb"
    built["warehouse"].rename(moved)
    try:
        code, out = _lineage(
            "--project-dir",
            str(built["project"]),
            "--manifest",
            str(built["target"] / "manifest.json"),
        )
    finally:
        moved.rename(built["warehouse"])
    assert code == 2
    line = next(x for x in out.splitlines() if "stg_customers" in x)
    assert "the columns of source shop.customers are not known" in line
    assert "does not exist" in line and "declare them in the source's YAML" in line
    assert "Traceback" not in out
    assert not built["warehouse"].with_suffix(".duckdb.wal").exists()
