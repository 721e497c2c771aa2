"""The catalog as Dagster sees it: the compiled manifest, its column-lineage graph, the
resolved privacy tags and the policy, built once per manifest and shared by the translator
(metadata), the policy gate and the row checks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import dagster as dg

from catalog.lineage import ProjectGraph, build_project_graph
from catalog.lineage.graph import Node
from catalog.manifest import Manifest, load_manifest
from catalog.policy import evaluate
from catalog.policy.config import PolicyConfig, load_policy_config
from catalog.policy import PolicyResult
from catalog.tags import ProjectTags, project_tags
from catalog.taxonomy import Taxonomy, load_taxonomy


@dataclass(frozen=True)
class CatalogView:
    manifest: Manifest
    graph: ProjectGraph
    tags: ProjectTags
    config: PolicyConfig
    taxonomy: Taxonomy

    def verdict(self) -> PolicyResult:
        return evaluate(self.graph, self.tags, self.config, taxonomy=self.taxonomy)

    def asset_key(self, unique_id: str) -> dg.AssetKey:
        return asset_key_for(self.graph.nodes[unique_id])


def asset_key_for(node: Node) -> dg.AssetKey:
    """The Dagster asset key of a lineage node: ingest assets for sources, the dbt name else."""
    from dagster_project.translator import raw_asset_key

    if node.resource_type == "source":
        return raw_asset_key(node.source_name or "", node.name)
    return dg.AssetKey([node.name])


def catalog_view(manifest_path: Path) -> CatalogView:
    """The view of the manifest at ``manifest_path`` (rebuilt when the file changes)."""
    stat = manifest_path.stat()
    return _catalog_view(manifest_path, stat.st_mtime_ns, stat.st_size)


@cache
def _catalog_view(manifest_path: Path, _mtime: int, _size: int) -> CatalogView:
    manifest = load_manifest(manifest_path)
    taxonomy = load_taxonomy()
    graph = build_project_graph(manifest, dialect=manifest.adapter_type or "duckdb")
    return CatalogView(
        manifest=manifest,
        graph=graph,
        tags=project_tags(manifest, graph),
        config=load_policy_config(taxonomy=taxonomy),
        taxonomy=taxonomy,
    )
