"""The whole-project column graph of the fixture dbt project (compiled once per session)."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.lineage import (
    ColumnRef,
    EdgeType,
    LineageError,
    ProjectGraph,
    Subtype,
    build_project_graph,
)
from catalog.manifest import Manifest

P = "lineage_fixture"
SECURITIES = ColumnRef(f"source.{P}.markets.securities_holdings", "market_value")


def ref(node: str, column: str) -> ColumnRef:
    kind = "snapshot" if node.endswith("snapshot") else "model"
    if "." in node:
        return ColumnRef(f"source.{P}.{node}", column)
    if node in ("postcodes", "product_catalog"):
        kind = "seed"
    return ColumnRef(f"{kind}.{P}.{node}", column)


def inputs(graph: ProjectGraph, node: str, column: str) -> set[tuple[str, str, str, bool]]:
    return {
        (
            str(e.source),
            str(e.subtype),
            "dataset" if e.dataset_level else "column",
            e.restricts_rows,
        )
        for e in graph.inputs(ref(node, column))
    }


def test_every_resource_is_a_node_with_its_columns(fixture_graph: ProjectGraph) -> None:
    nodes = {n.unique_id: n for n in fixture_graph.nodes.values()}
    assert {n.resource_type for n in nodes.values()} == {"source", "seed", "model", "snapshot"}
    # sources: declared columns; the undeclared one has none
    assert nodes[f"source.{P}.bank.customers"].columns == (
        "customer_no",
        "national_id",
        "first_name",
        "postcode",
        "updated_at",
    )
    assert nodes[f"source.{P}.privacy.undeclared_objections"].columns == ()
    # seeds: from YAML, else from the CSV header
    assert nodes[f"seed.{P}.product_catalog"].columns == ("product_code", "customer_no", "label")
    assert nodes[f"seed.{P}.postcodes"].columns == ("postcode", "region")
    # models: inferred from the SQL (select * exclude ... included), not from YAML
    assert nodes[f"model.{P}.stg_privacy__consents"].columns == (
        "national_id",
        "group_sharing",
        "consented_at",
    )
    marketing = (
        "customer_no",
        "person_key",
        "region",
        "securities_band",
        "total_balance",
        "balance_rank",
    )
    assert nodes[f"model.{P}.marketing_features"].columns == marketing
    # a downstream select * expands from the inferred columns
    assert nodes[f"model.{P}.features_copy"].columns == marketing
    assert nodes[f"model.{P}.marketing_features"].relation == "main.marketing_features"
    assert nodes[f"model.{P}.marketing_features"].meta["privacy"]["purposes"] == [
        "marketing.advertising.profiling"
    ]


def test_ephemeral_models_are_nodes_of_their_own(fixture_graph: ProjectGraph) -> None:
    assert not [n for n in fixture_graph.nodes if "__dbt__cte__" in n]
    consented = fixture_graph.node("int_consented_holdings")
    assert consented.materialized == "ephemeral"
    assert consented.relation is None
    assert consented.columns == ("national_id", "market_value")
    assert inputs(fixture_graph, "int_consented_holdings", "market_value") == {
        (f"model.{P}.stg_markets__holdings.market_value", "IDENTITY", "column", False),
        (f"model.{P}.stg_markets__holdings.national_id", "JOIN", "dataset", True),
        (f"model.{P}.int_latest_consent.national_id", "JOIN", "dataset", True),
        (f"model.{P}.int_latest_consent.group_sharing", "FILTER", "dataset", True),
    }
    # the mart reads the ephemeral model, not its upstream, directly
    sources = {e.source.node for e in fixture_graph.inputs(ref("marketing_features", "region"))}
    assert f"model.{P}.int_consented_holdings" in sources
    assert f"model.{P}.stg_markets__holdings" not in sources


def test_mart_column_edges(fixture_graph: ProjectGraph) -> None:
    holdings = f"model.{P}.int_consented_holdings"
    assert {
        (s, sub)
        for s, sub, level, _ in inputs(fixture_graph, "marketing_features", "securities_band")
        if level == "column"
    } == {(f"{holdings}.market_value", "CONDITIONAL")}
    (person_key,) = [
        e
        for e in fixture_graph.inputs(ref("marketing_features", "person_key"))
        if not e.dataset_level
    ]
    assert (person_key.source, person_key.subtype, person_key.masking, person_key.keyed) == (
        ref("stg_bank__customers", "national_id"),
        Subtype.TRANSFORMATION,
        True,
        False,  # md5: a plain hash, not a keyed one
    )
    rank = {
        (str(e.source), e.subtype)
        for e in fixture_graph.inputs(ref("marketing_features", "balance_rank"))
        if not e.dataset_level
    }
    assert rank == {
        (f"seed.{P}.postcodes.region", Subtype.WINDOW),
        (f"model.{P}.stg_bank__accounts.balance", Subtype.WINDOW),
    }


def test_consent_gate_versus_left_join(fixture_graph: ProjectGraph) -> None:
    """The gate restricts rows through an inner join; the LEFT JOIN version does not."""
    consent = ref("int_latest_consent", "group_sharing")
    gate = [
        e
        for e in fixture_graph.outputs(consent)
        if e[0].target_node == f"model.{P}.int_consented_holdings"
    ]
    assert gate and all(e.restricts_rows and e.subtype is Subtype.FILTER for e, _ in gate)
    leaky = [
        e for e, _ in fixture_graph.outputs(consent) if e.target_node == f"model.{P}.leaky_features"
    ]
    assert leaky and all(not e.restricts_rows and e.subtype is Subtype.JOIN for e in leaky)


def test_upstream_walk_reaches_securities_only_indirectly(fixture_graph: ProjectGraph) -> None:
    band = ref("marketing_features", "securities_band")
    everything = fixture_graph.upstream(band)
    assert SECURITIES in everything
    assert ref("privacy.consents", "group_sharing") in everything
    assert SECURITIES not in fixture_graph.upstream(band, types=[EdgeType.DIRECT])
    path = everything[SECURITIES]
    assert path[0][1].source == SECURITIES and path[-1][0] == band


def test_downstream_walk(fixture_graph: ProjectGraph) -> None:
    reached = fixture_graph.downstream(SECURITIES)
    assert ref("features_copy", "securities_band") in reached
    assert ref("leaky_features", "market_value") in reached
    direct = fixture_graph.downstream(SECURITIES, types=[EdgeType.DIRECT])
    assert ref("leaky_features", "market_value") in direct
    assert ref("features_copy", "securities_band") not in direct


def test_snapshot_bookkeeping_columns(fixture_graph: ProjectGraph) -> None:
    snapshot = fixture_graph.node("customers_snapshot")
    assert snapshot.columns == (
        "customer_no",
        "postcode",
        "updated_at",
        "dbt_scd_id",
        "dbt_updated_at",
        "dbt_valid_from",
        "dbt_valid_to",
    )
    updated = f"source.{P}.bank.customers.updated_at"
    assert inputs(fixture_graph, "customers_snapshot", "dbt_valid_from") == {
        (updated, "IDENTITY", "column", False)
    }
    scd = {
        (s, e.masking)
        for e in fixture_graph.inputs(ref("customers_snapshot", "dbt_scd_id"))
        for s in [str(e.source)]
    }
    assert scd == {(updated, True), (f"source.{P}.bank.customers.customer_no", True)}


def test_graph_json(fixture_graph: ProjectGraph) -> None:
    data = fixture_graph.to_json()
    ids = {n["unique_id"] for n in data["nodes"]}
    assert all(e["source"]["node"] in ids and e["target"]["node"] in ids for e in data["edges"])
    assert len(data["edges"]) == len(fixture_graph.edges)


# -- fail closed: one broken model in an otherwise good manifest -------------------------------


def _broken(manifest: Manifest, model: str, **changes) -> Manifest:
    node = manifest.node(model)
    nodes = {**manifest.nodes, node.unique_id: dataclasses.replace(node, **changes)}
    return dataclasses.replace(manifest, nodes=nodes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "compiled_code": 'select * from "warehouse"."raw_privacy"."undeclared_objections"',
                "depends_on": (f"source.{P}.privacy.undeclared_objections",),
            },
            "features_copy: the columns of source privacy.undeclared_objections are not known "
            "(not declared in YAML); declare them",
        ),
        (
            {"compiled_code": 'select nope from "warehouse"."main"."marketing_features"'},
            "features_copy: column nope (line 1, column 11) cannot be resolved",
        ),
        ({"compiled_code": "select from where"}, "features_copy: the SQL does not parse"),
        ({"compiled_code": None}, "features_copy: the manifest has no compiled SQL"),
        ({"language": "python"}, "features_copy: python models have no SQL"),
        (
            {"compiled_code": 'select customer_no from "warehouse"."main"."stg_bank__customers"'},
            "features_copy: relation warehouse.main.stg_bank__customers is not in the schema",
        ),
    ],
    ids=["undeclared-star", "unknown-column", "parse", "not-compiled", "python", "not-a-ref"],
)
def test_a_broken_model_fails_closed_naming_it(
    fixture_manifest: Manifest, changes: dict, message: str
) -> None:
    with pytest.raises(LineageError) as info:
        build_project_graph(_broken(fixture_manifest, "features_copy", **changes))
    assert str(info.value).startswith(message)
    assert info.value.model == "features_copy"
    assert "\n" not in str(info.value)


def test_a_seed_without_known_columns_fails_closed(fixture_manifest: Manifest) -> None:
    manifest = _broken(fixture_manifest, "postcodes", columns=())
    with pytest.raises(LineageError, match="marketing_features: the columns of seed postcodes"):
        build_project_graph(manifest)


def test_vars_enable_broken_models_that_fail_closed(
    fixture_project_dir, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The fixture's broken models, enabled through dbt vars, stop the graph with their name."""
    from catalog.manifest import compile_project

    manifest = compile_project(
        fixture_project_dir,
        target_path=tmp_path_factory.mktemp("broken_target"),
        vars={"include_broken": True},
    )
    assert {"broken_star", "broken_column"} <= {n.name for n in manifest.models}
    with pytest.raises(LineageError) as info:
        build_project_graph(manifest)
    assert info.value.model in {"broken_star", "broken_column"}
    for model in ("broken_star", "broken_column"):
        only = dataclasses.replace(
            manifest,
            nodes={
                k: n
                for k, n in manifest.nodes.items()
                if n.name != ({"broken_star", "broken_column"} - {model}).pop()
            },
        )
        with pytest.raises(LineageError, match=f"^{model}: "):
            build_project_graph(only)
