"""The catalog of a dbt project, assembled in one place: the manifest, its column-lineage graph
(parsed in the manifest's own SQL dialect), the resolved privacy tags, the taxonomy and the
policy configuration; the controller configuration is read when first asked for (only the
reports need it).

Every reader of the catalog loads it here: ``catalog lineage`` and ``catalog check``, the
compliance reports (``catalog.reports``), and the Dagster code (the translator, the policy gate,
the row checks and the OpenLineage events of a dbt build).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from catalog.lineage import ColumnRef, EdgeType, ProjectGraph, build_project_graph
from catalog.manifest import Manifest
from catalog.policy import PolicyResult, evaluate
from catalog.policy.config import PolicyConfig, load_policy_config
from catalog.reports.controller import ControllerConfig, load_controller_config
from catalog.tags import ColumnTags, ProjectTags, project_tags
from catalog.taxonomy import Taxonomy, covered_by_any, load_taxonomy

# A category under this key is not personal data (operations data, configuration).
NON_PERSONAL = "system"


@dataclass
class Catalog:
    """One project's lineage, tags and configurations, and the questions every reader asks."""

    manifest: Manifest
    graph: ProjectGraph
    tags: ProjectTags
    taxonomy: Taxonomy
    policy: PolicyConfig
    controller_path: Path | None = None
    _origins: dict[ColumnRef, frozenset[str]] = field(default_factory=dict, repr=False)

    @cached_property
    def controller(self) -> ControllerConfig:
        """The controller configuration (``controller_path``, default
        ``catalog/controller.yml``), read on first use."""
        return load_controller_config(self.controller_path, self.taxonomy)

    def verdict(self) -> PolicyResult:
        """The privacy policy evaluated on the lineage and the tags."""
        return evaluate(self.graph, self.tags, self.policy, taxonomy=self.taxonomy)

    # -- columns ---------------------------------------------------------------------------
    def column_tags(self, ref: ColumnRef) -> ColumnTags:
        return self.tags.column(ref) or ColumnTags()

    def column_name(self, ref: ColumnRef) -> str:
        node = self.graph.nodes.get(ref.node)
        return f"{node.label if node else ref.node}.{ref.column}"

    def is_personal(self, ref: ColumnRef) -> bool:
        """Whether the column holds personal data: any category outside ``system``."""
        cats = self.column_tags(ref).categories
        return any(not covered_by_any(c, (NON_PERSONAL,)) for c in cats)

    def source_tables(self, ref: ColumnRef) -> frozenset[str]:
        """The source tables (unique_ids) the column's values come from: itself for a source
        column, else the sources reached upstream over DIRECT edges (all edges when no DIRECT
        path reaches a source, e.g. a column computed only from a condition)."""
        if ref in self._origins:
            return self._origins[ref]
        node = self.graph.nodes.get(ref.node)
        if node is not None and node.resource_type == "source":
            found = frozenset({ref.node})
        else:
            found = self._sources_upstream(ref, (EdgeType.DIRECT,)) or self._sources_upstream(
                ref, (EdgeType.DIRECT, EdgeType.INDIRECT)
            )
        self._origins[ref] = found
        return found

    def _sources_upstream(self, ref: ColumnRef, types: Iterable[EdgeType]) -> frozenset[str]:
        return frozenset(
            c.node
            for c in self.graph.upstream(ref, types=types)
            if self.graph.nodes[c.node].resource_type == "source"
        )

    # -- taxonomy names --------------------------------------------------------------------
    def use_name(self, key: str) -> str:
        term = self.taxonomy.data_uses.get(key)
        return term.name if term else key

    def category_name(self, key: str) -> str:
        term = self.taxonomy.data_categories.get(key)
        return term.name if term else key


def load_catalog(
    manifest: Manifest,
    *,
    policy_path: Path | None = None,
    controller_path: Path | None = None,
) -> Catalog:
    """The catalog of ``manifest``: the taxonomy and the policy configuration (``policy_path``,
    default ``catalog/policy.yml``) first, then the lineage graph in the manifest's dialect and
    the tags. Raises the catalog's one-line errors (``TaxonomyError``, ``PolicyConfigError``,
    ``LineageError``); a wrong controller configuration is raised when it is first read."""
    taxonomy = load_taxonomy()
    policy = load_policy_config(policy_path, taxonomy)
    graph = build_project_graph(manifest, dialect=manifest.adapter_type or "duckdb")
    return Catalog(
        manifest=manifest,
        graph=graph,
        tags=project_tags(manifest, graph),
        taxonomy=taxonomy,
        policy=policy,
        controller_path=controller_path,
    )
