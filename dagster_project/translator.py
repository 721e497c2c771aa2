"""dbt node -> Dagster asset spec: keys, groups, owners, kinds and the privacy-tagged schema.

The translator overrides one method and delegates to small pure helpers that tests call
directly (``group_for``, ``company_for``, ``owners_for``, ``column_schema_for``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from catalog.tags import resolve_column_tags
from dagster_project.landing.contract import COMPANIES

PARENT_COMPANY = "Fjordbank ASA"


def raw_asset_key(source: str, table: str) -> dg.AssetKey:
    """The key of the ingest asset of one landing table, shared with its dbt source."""
    return dg.AssetKey([f"raw_{source}", table])


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


class FjordbankTranslator(DagsterDbtTranslator):
    """Keys that meet the ingest assets, groups by layer and purpose, owners by company."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        metadata: dict[str, Any] = {"fjordbank/company": company_for(props)}
        schema = column_schema_for(props)
        if schema is not None:
            metadata["dagster/column_schema"] = schema
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
