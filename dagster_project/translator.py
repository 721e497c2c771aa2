"""dbt node -> Dagster asset spec: keys, groups, owners, kinds, the privacy-tagged schema, and,
from the catalog, the column lineage, the policy verdict and a link to the lineage page.

``FjordbankTranslator`` overrides ``get_asset_spec``, ``get_asset_key`` and ``get_description``
and delegates to small pure helpers that tests and the ingest assets call directly
(``raw_asset_key``, ``asset_key_for``, ``group_for``, ``company_for``, ``owners_for``,
``column_schema_for``, ``column_lineage_for``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from catalog.lineage import ColumnRef, ProjectGraph
from catalog.loader import Catalog
from catalog.settings import settings
from catalog.tags import resolve_column_tags
from dagster_project.landing.contract import COMPANIES
from dagster_project.ui import lineage_page_http_url

PARENT_COMPANY = "Fjordbank ASA"


def raw_asset_key(source: str, table: str) -> dg.AssetKey:
    """The key of the ingest asset of one landing table, shared with its dbt source."""
    return dg.AssetKey([f"raw_{source}", table])


def asset_key_for(graph: ProjectGraph, unique_id: str) -> dg.AssetKey:
    """The Dagster asset key of a lineage node: the ingest asset's for a source, the dbt name
    else (what ``FjordbankTranslator.get_asset_key`` gives the same node)."""
    node = graph.nodes[unique_id]
    if node.resource_type == "source":
        return raw_asset_key(node.source_name or "", node.name)
    return dg.AssetKey([node.name])


def team(company: str) -> str:
    """Dagster owner string for a group company: ``team:fjordbank_markets``."""
    return "team:" + re.sub(r"[^a-z0-9]+", "_", company.lower().removesuffix(" as").strip()).strip(
        "_"
    )


def group_for(props: Mapping[str, Any]) -> str:
    """Asset group: ``landing`` for sources, the layer for staging / intermediate, the purpose
    folder for marts (``register``, ``marketing``, ``credit``, ...), ``seeds`` for seeds."""
    kind = props["resource_type"]
    if kind == "source":
        return "landing"
    if kind == "seed":
        return "seeds"
    fqn = list(props.get("fqn") or [])
    parts = fqn[1:-1]  # drop project name and node name
    if not parts:
        return "models"
    if parts[0] == "marts" and len(parts) > 1:
        return parts[1]
    return parts[0]


def company_for(props: Mapping[str, Any]) -> str:
    """The group company that owns a node: the source's company for sources and staging
    models, the parent bank (controller of the shared register) for everything built on them."""
    if props["resource_type"] == "source":
        return COMPANIES.get(props["source_name"], PARENT_COMPANY)
    fqn = list(props.get("fqn") or [])
    if len(fqn) > 2 and fqn[1] == "staging":
        return COMPANIES.get(fqn[2], PARENT_COMPANY)
    return PARENT_COMPANY


def owners_for(props: Mapping[str, Any]) -> list[str]:
    return [team(company_for(props))]


def column_schema_for(props: Mapping[str, Any]) -> dg.TableSchema | None:
    """The column schema with each column's resolved privacy tags as column tags."""
    columns = props.get("columns") or {}
    if not columns:
        return None
    tags = resolve_column_tags(props)
    out = []
    for name, info in columns.items():
        col_tags = {}
        resolved = tags.get(name)
        if resolved is not None:
            col_tags = resolved.as_dagster_tags()
        out.append(
            dg.TableColumn(
                name=name,
                type=info.get("data_type") or "?",
                description=info.get("description") or None,
                tags=col_tags,
            )
        )
    return dg.TableSchema(columns=out)


def column_lineage_for(catalog: Catalog, unique_id: str) -> dg.TableColumnLineage:
    """Dagster's column lineage of a node from the catalog's engine: every column's DIRECT and
    INDIRECT inputs (dataset-level joins and filters included, since they decide its rows)."""
    graph = catalog.graph
    node = graph.nodes[unique_id]
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column in node.columns:
        seen: dict[tuple[dg.AssetKey, str], None] = {}
        for edge in graph.inputs(ColumnRef(unique_id, column)):
            seen[(asset_key_for(graph, edge.source.node), edge.source.column)] = None
        deps[column] = [dg.TableColumnDep(asset_key=k, column_name=c) for k, c in seen]
    return dg.TableColumnLineage(deps_by_column=deps)


def typed_lineage_markdown(catalog: Catalog, unique_id: str) -> str:
    """The same lineage with OpenLineage's transformation types, for people to read."""
    graph = catalog.graph
    node = graph.nodes[unique_id]

    def src(e) -> str:
        return f"{graph.nodes[e.source.node].label}.{e.source.column}"

    lines = ["| column | input | type | subtype |", "|---|---|---|---|"]
    for e in graph.inputs(ColumnRef(unique_id, node.columns[0])) if node.columns else []:
        if e.dataset_level:
            lines.append(f"| *(all rows)* | {src(e)} | {e.type} | {e.subtype} |")
    for column in node.columns:
        for e in graph.inputs(ColumnRef(unique_id, column)):
            if not e.dataset_level:
                mask = (" (keyed hash)" if e.keyed else " (hashed)") if e.masking else ""
                lines.append(f"| {column} | {src(e)} | {e.type} | {e.subtype}{mask} |")
    return "\n".join(lines)


class FjordbankTranslator(DagsterDbtTranslator):
    """Keys that meet the ingest assets, groups by layer and purpose, owners by company, the
    privacy-tagged column schema, and column lineage and policy verdict from the catalog."""

    def __init__(self, catalog: Catalog | None = None, settings=None):
        super().__init__(settings)
        self._catalog = catalog
        self._verdicts: dict[str, list[str]] | None = None

    def _verdict_for(self, unique_id: str) -> str:
        if self._catalog is None:
            return "not evaluated"
        if self._verdicts is None:
            self._verdicts = {}
            for v in self._catalog.verdict().violations:
                self._verdicts.setdefault(v.node_id, []).append(v.to_text())
        found = self._verdicts.get(unique_id)
        return "pass" if not found else f"{len(found)} violation(s): " + "; ".join(found)

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        metadata: dict[str, Any] = {"fjordbank/company": company_for(props)}
        schema = column_schema_for(props)
        if schema is not None:
            metadata["dagster/column_schema"] = schema
        if self._catalog is not None and unique_id in self._catalog.graph.nodes:
            if props["resource_type"] != "source":
                metadata["dagster/column_lineage"] = column_lineage_for(self._catalog, unique_id)
                metadata["fjordbank/column_lineage_types"] = dg.MetadataValue.md(
                    typed_lineage_markdown(self._catalog, unique_id)
                )
            metadata["fjordbank/policy_verdict"] = self._verdict_for(unique_id)
            node = self._catalog.graph.nodes[unique_id]
            metadata["fjordbank/lineage_page"] = dg.MetadataValue.url(
                lineage_page_http_url(settings().lineage_port, node.label)
            )
        kinds = {"dbt", "duckdb", "sql" if props["resource_type"] == "model" else "csv"}
        if props["resource_type"] == "source":
            kinds = {"duckdb", "csv"}
        return spec.replace_attributes(
            group_name=group_for(props),
            owners=owners_for(props),
            kinds=kinds,
        ).merge_attributes(metadata=metadata)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_asset_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return (dbt_resource_props.get("description") or "").strip() or super().get_description(
            dbt_resource_props
        )
