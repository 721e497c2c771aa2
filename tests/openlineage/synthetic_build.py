"""A small synthetic dbt project for the OpenLineage tests: a hand-built manifest, the run
results of one ``dbt build`` and the column graph of the same nodes.

    bank.customers ──> stg_bank__customers ──┬──> marketing_features <── scoring_scenarios (seed)
    markets.securities_holdings ──> int_holdings (ephemeral) ──┘
                                   stg_bank__customers ──> customers_snapshot
    broken_model (fails), skipped_model (skipped)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalog.lineage.graph import ColumnRef, Edge, Node, ProjectGraph, Subtype
from catalog.manifest import Manifest
from catalog.openlineage import ParentRun, PolicyVerdictRunFacet, dbt_run_events
from catalog.tags import ProjectTags, project_tags

P = "fjordbank"
SRC_CUSTOMERS = f"source.{P}.bank.customers"
SRC_HOLDINGS = f"source.{P}.markets.securities_holdings"
SEED = f"seed.{P}.scoring_scenarios"
STG = f"model.{P}.stg_bank__customers"
EPHEMERAL = f"model.{P}.int_holdings"
FEATURES = f"model.{P}.marketing_features"
SNAPSHOT = f"snapshot.{P}.customers_snapshot"
BROKEN = f"model.{P}.broken_model"
SKIPPED = f"model.{P}.skipped_model"

DAGSTER_RUN_ID = "0195a7e2-4b1c-7d3e-9f00-0000000000aa"


def _col(name: str, data_type: str, category: str, description: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "data_type": data_type,
        "description": description,
        "config": {"meta": {"privacy": {"category": category}}},
    }


def _privacy(purposes: list[str], legal_basis: str, retention: str) -> dict[str, Any]:
    return {
        "meta": {
            "privacy": {"purposes": purposes, "legal_basis": legal_basis, "retention": retention}
        }
    }


def _node(
    uid: str,
    *,
    schema: str = "main",
    materialized: str = "table",
    columns: list[dict[str, Any]] | None = None,
    depends_on: list[str] | None = None,
    sql: str | None = None,
    description: str = "",
    privacy: dict[str, Any] | None = None,
    path: str = "",
) -> dict[str, Any]:
    kind, name = uid.split(".")[0], uid.split(".")[-1]
    return {
        "unique_id": uid,
        "resource_type": kind,
        "package_name": P,
        "name": name,
        "alias": name,
        "database": "wh",
        "schema": schema,
        "fqn": [P, *(path.split("/")[1:-1] if path else []), name],
        "original_file_path": path,
        "description": description,
        "config": {"materialized": materialized, **(privacy or {})},
        "columns": {c["name"]: c for c in columns or []},
        "depends_on": {"nodes": depends_on or [], "macros": []},
        "compiled_code": sql,
        "language": "sql",
    }


def _test(
    uid: str, target: str, generic: str | None, column: str | None, severity: str = "ERROR"
) -> dict[str, Any]:
    name = uid.split(".")[2]
    return {
        "unique_id": uid,
        "resource_type": "test",
        "package_name": P,
        "name": name,
        "attached_node": target,
        "column_name": column,
        "test_metadata": (
            {"name": generic, "kwargs": {"column_name": column} if column else {}}
            if generic
            else None
        ),
        "config": {"severity": severity},
        "depends_on": {"nodes": [target], "macros": []},
    }


MARKETING = _privacy(["marketing.advertising.profiling"], "legitimate_interests", "P1D")
ADMIN = _privacy(["essential.service.customer_administration"], "contract", "P10Y")


def manifest_json() -> dict[str, Any]:
    sources = {
        SRC_CUSTOMERS: {
            **_node(SRC_CUSTOMERS, schema="raw_bank", privacy=ADMIN),
            "source_name": "bank",
            "identifier": "customers",
            "description": "Customers of the bank.",
            "columns": {
                c["name"]: c
                for c in [
                    _col("customer_no", "varchar", "user.unique_id", "The bank's number."),
                    _col(
                        "national_id",
                        "varchar",
                        "user.government_id.national_identification_number",
                    ),
                    _col("postcode", "varchar", "user.contact.address.postal_code"),
                ]
            },
        },
        SRC_HOLDINGS: {
            **_node(SRC_HOLDINGS, schema="raw_markets", privacy=ADMIN),
            "source_name": "markets",
            "identifier": "securities_holdings",
            "columns": {
                c["name"]: c
                for c in [
                    _col(
                        "national_id",
                        "varchar",
                        "user.government_id.national_identification_number",
                    ),
                    _col("market_value", "decimal(18,2)", "user.financial.securities"),
                ]
            },
        },
    }
    nodes = {
        SEED: _node(
            SEED,
            materialized="seed",
            path="seeds/scoring_scenarios.csv",
            columns=[
                _col("scenario", "varchar", "system.operations"),
                _col("weight", "double", "system.operations"),
            ],
            privacy=MARKETING,
        ),
        STG: _node(
            STG,
            materialized="view",
            path="models/staging/bank/stg_bank__customers.sql",
            depends_on=[SRC_CUSTOMERS],
            sql='select customer_no, national_id, postcode from "wh"."raw_bank"."customers"',
            description="Bank customers, renamed and cast.",
            columns=[
                _col("customer_no", "varchar", "user.unique_id"),
                _col("national_id", "varchar", "user.government_id.national_identification_number"),
                _col("postcode", "varchar", "user.contact.address.postal_code"),
            ],
            privacy=ADMIN,
        ),
        EPHEMERAL: _node(
            EPHEMERAL,
            materialized="ephemeral",
            path="models/intermediate/int_holdings.sql",
            depends_on=[SRC_HOLDINGS],
            sql='select national_id, market_value from "wh"."raw_markets"."securities_holdings" '
            "where market_value > 0",
        ),
        FEATURES: _node(
            FEATURES,
            path="models/marts/marketing/marketing_features.sql",
            depends_on=[STG, EPHEMERAL, SEED],
            sql="select md5(c.national_id) as person_key, ... group by c.postcode",
            description="Scoring features, **renewed daily**.",
            columns=[
                _col("person_key", "varchar", "user.unique_id.pseudonymous", "Keyed hash."),
                _col("postcode", "varchar", "user.contact.address.postal_code"),
                _col("value_band", "varchar", "user.financial.securities"),
                _col("scenario", "varchar", "system.operations"),
            ],
            privacy={
                "meta": {
                    "privacy": {**MARKETING["meta"]["privacy"], "consent_gate": ["group_sharing"]}
                }
            },
        ),
        SNAPSHOT: _node(
            SNAPSHOT,
            schema="snapshots",
            materialized="snapshot",
            path="snapshots/customers_snapshot.sql",
            depends_on=[STG],
            sql='select customer_no, postcode from "wh"."main"."stg_bank__customers"',
            columns=[
                _col("customer_no", "varchar", "user.unique_id"),
                _col("postcode", "varchar", "user.contact.address.postal_code"),
            ],
            privacy=ADMIN,
        ),
        BROKEN: _node(
            BROKEN,
            path="models/marts/broken_model.sql",
            depends_on=[STG],
            sql="select nope from stg",
            columns=[_col("x", "varchar", "system.operations")],
            privacy=ADMIN,
        ),
        SKIPPED: _node(
            SKIPPED,
            path="models/marts/skipped_model.sql",
            depends_on=[BROKEN],
            sql="select x from broken",
            columns=[_col("x", "varchar", "system.operations")],
            privacy=ADMIN,
        ),
    }
    for test in [
        _test(
            f"test.{P}.not_null_stg_bank__customers_customer_no.a1", STG, "not_null", "customer_no"
        ),
        _test(
            f"test.{P}.unique_marketing_features_person_key.b2", FEATURES, "unique", "person_key"
        ),
        _test(f"test.{P}.assert_features_fresh", FEATURES, None, None),
        _test(
            f"test.{P}.accepted_values_marketing_features_scenario.c3",
            FEATURES,
            "accepted_values",
            "scenario",
            severity="warn",
        ),
        _test(f"test.{P}.not_null_skipped_model_x.d4", SKIPPED, "not_null", "x"),
    ]:
        nodes[test["unique_id"]] = test
    return {
        "metadata": {"project_name": P, "adapter_type": "duckdb", "dbt_version": "1.11.16"},
        "sources": sources,
        "nodes": nodes,
        "groups": {},
    }


def _result(
    uid: str, status: str, start: str | None = None, end: str | None = None, **extra: Any
) -> dict[str, Any]:
    timing = []
    if start:
        timing = [
            {
                "name": "compile",
                "started_at": "2026-03-02T09:59:59.000000Z",
                "completed_at": "2026-03-02T09:59:59.500000Z",
            },
            {
                "name": "execute",
                "started_at": f"2026-03-02T{start}Z",
                "completed_at": f"2026-03-02T{end}Z",
            },
        ]
    return {
        "unique_id": uid,
        "status": status,
        "timing": timing,
        "adapter_response": {"_message": "OK"},
        "message": None,
        **extra,
    }


def run_results() -> dict[str, Any]:
    return {
        "metadata": {
            "dbt_version": "1.11.16",
            "invocation_id": "a7a03733-681f-43b6-b6f9-af7c84b66a16",
            "generated_at": "2026-03-02T10:00:06.000000Z",
        },
        "args": {"which": "build"},
        "results": [
            _result(SEED, "success", "10:00:00.000000", "10:00:00.500000"),
            _result(STG, "success", "10:00:01.000000", "10:00:01.200000"),
            _result(
                f"test.{P}.not_null_stg_bank__customers_customer_no.a1",
                "pass",
                "10:00:01.300000",
                "10:00:01.400000",
            ),
            _result(SNAPSHOT, "success", "10:00:02.000000", "10:00:03.000000"),
            _result(
                FEATURES,
                "success",
                "10:00:01.500000",
                "10:00:04.000000",
                adapter_response={"_message": "OK", "rows_affected": 42},
            ),
            _result(
                f"test.{P}.unique_marketing_features_person_key.b2",
                "fail",
                "10:00:04.100000",
                "10:00:04.200000",
                failures=3,
            ),
            _result(
                f"test.{P}.assert_features_fresh", "pass", "10:00:04.100000", "10:00:04.300000"
            ),
            _result(
                f"test.{P}.accepted_values_marketing_features_scenario.c3",
                "warn",
                "10:00:04.100000",
                "10:00:04.300000",
                failures=1,
            ),
            _result(
                BROKEN,
                "error",
                "10:00:05.000000",
                "10:00:05.100000",
                message='Binder Error: Referenced column "nope" not found\n  LINE 1',
            ),
            _result(SKIPPED, "skipped"),
            _result(f"test.{P}.not_null_skipped_model_x.d4", "skipped"),
        ],
    }


def _e(src: str, col: str, node: str, target: str | None, sub: Subtype, *, masking: bool = False):
    return Edge(
        ColumnRef(src, col),
        node,
        target,
        sub.type,
        sub,
        masking=masking,
        restricts_rows=sub in (Subtype.FILTER, Subtype.JOIN),
    )


def graph() -> ProjectGraph:
    nodes = [
        Node(
            SRC_CUSTOMERS,
            "customers",
            "source",
            ("customer_no", "national_id", "postcode"),
            relation="raw_bank.customers",
            source_name="bank",
        ),
        Node(
            SRC_HOLDINGS,
            "securities_holdings",
            "source",
            ("national_id", "market_value"),
            relation="raw_markets.securities_holdings",
            source_name="markets",
        ),
        Node(
            SEED,
            "scoring_scenarios",
            "seed",
            ("scenario", "weight"),
            relation="main.scoring_scenarios",
        ),
        Node(
            STG,
            "stg_bank__customers",
            "model",
            ("customer_no", "national_id", "postcode"),
            relation="main.stg_bank__customers",
            depends_on=(SRC_CUSTOMERS,),
        ),
        Node(
            EPHEMERAL,
            "int_holdings",
            "model",
            ("national_id", "market_value"),
            relation=None,
            materialized="ephemeral",
            depends_on=(SRC_HOLDINGS,),
        ),
        Node(
            FEATURES,
            "marketing_features",
            "model",
            ("person_key", "postcode", "value_band", "scenario"),
            relation="main.marketing_features",
            depends_on=(STG, EPHEMERAL, SEED),
        ),
        Node(
            SNAPSHOT,
            "customers_snapshot",
            "snapshot",
            ("customer_no", "postcode"),
            relation="snapshots.customers_snapshot",
            depends_on=(STG,),
        ),
        Node(
            BROKEN, "broken_model", "model", ("x",), relation="main.broken_model", depends_on=(STG,)
        ),
        Node(
            SKIPPED,
            "skipped_model",
            "model",
            ("x",),
            relation="main.skipped_model",
            depends_on=(BROKEN,),
        ),
    ]
    edges = [
        *(
            _e(SRC_CUSTOMERS, c, STG, c, Subtype.IDENTITY)
            for c in ("customer_no", "national_id", "postcode")
        ),
        _e(SRC_HOLDINGS, "national_id", EPHEMERAL, "national_id", Subtype.IDENTITY),
        _e(SRC_HOLDINGS, "market_value", EPHEMERAL, "market_value", Subtype.IDENTITY),
        _e(SRC_HOLDINGS, "market_value", EPHEMERAL, None, Subtype.FILTER),
        _e(STG, "national_id", FEATURES, "person_key", Subtype.TRANSFORMATION, masking=True),
        _e(STG, "postcode", FEATURES, "postcode", Subtype.IDENTITY),
        _e(EPHEMERAL, "market_value", FEATURES, "value_band", Subtype.AGGREGATION),
        _e(SEED, "weight", FEATURES, "value_band", Subtype.CONDITIONAL),
        _e(SEED, "scenario", FEATURES, "scenario", Subtype.IDENTITY),
        _e(STG, "national_id", FEATURES, None, Subtype.JOIN),
        _e(EPHEMERAL, "national_id", FEATURES, None, Subtype.JOIN),
        _e(STG, "postcode", FEATURES, None, Subtype.GROUP_BY),
        _e(STG, "customer_no", SNAPSHOT, "customer_no", Subtype.IDENTITY),
        _e(STG, "postcode", SNAPSHOT, "postcode", Subtype.IDENTITY),
        _e(STG, "national_id", BROKEN, "x", Subtype.IDENTITY),
        _e(BROKEN, "x", SKIPPED, "x", Subtype.IDENTITY),
    ]
    return ProjectGraph(nodes, edges)


@dataclass
class SmallProject:
    manifest_json: dict[str, Any]
    run_results: dict[str, Any]
    graph: ProjectGraph
    tags: ProjectTags
    parent: ParentRun
    warehouse: Path
    project_dir: Path
    landing_root: Path

    def dbt_events(self, verdict: PolicyVerdictRunFacet | None = None, **kw: Any):
        return dbt_run_events(
            self.manifest_json,
            self.run_results,
            self.graph,
            self.tags,
            parent=self.parent,
            namespace="fjordbank",
            warehouse=self.warehouse,
            verdict=verdict,
            project_dir=self.project_dir,
            owner_of=lambda props: (
                "Fjordbank Markets" if props.get("source_name") == "markets" else "Fjordbank ASA"
            ),
            **kw,
        )


# -- fixtures (imported by the test modules: a conftest.py here would shadow the
# `conftest` module other test folders import from) --------------------------------------


@pytest.fixture(name="small_project")
def small_project_fixture(tmp_path: Path) -> SmallProject:
    m = manifest_json()
    g = graph()
    return SmallProject(
        manifest_json=m,
        run_results=run_results(),
        graph=g,
        tags=project_tags(Manifest.from_dict(m), g),
        parent=ParentRun(DAGSTER_RUN_ID, "build_everything", "fjordbank"),
        warehouse=tmp_path / "warehouse" / "wh.duckdb",
        project_dir=tmp_path / "dbt",
        landing_root=tmp_path / "landing",
    )


@pytest.fixture(name="isolated_openlineage_env")
def isolated_openlineage_env_fixture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No OpenLineage configuration from the machine: no OPENLINEAGE_* variables, no
    openlineage.yml in the working directory or home; restores the environment afterwards
    (openlineage-python writes OPENLINEAGE__TRANSPORT__* aliases of OPENLINEAGE_URL into it)."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path / "data"))
    yield
    os.environ.clear()
    os.environ.update(saved)
