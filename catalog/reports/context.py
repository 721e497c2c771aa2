"""What every report reads: the manifest, its column lineage, the resolved tags, the taxonomy,
the policy configuration and the controller configuration, loaded once.

Helpers here answer the questions the reports share: which group company a column comes from
(its source tables through lineage), which data is restricted by the policy, durations in words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from catalog.lineage import ColumnRef, EdgeType, Node, ProjectGraph, build_project_graph
from catalog.manifest import Manifest
from catalog.policy.config import PolicyConfig, load_policy_config
from catalog.reports.controller import ControllerConfig, load_controller_config
from catalog.tags import ColumnTags, ProjectTags, project_tags
from catalog.taxonomy import Taxonomy, covered_by_any, load_taxonomy

# A category under this key is not personal data (operations data, configuration).
NON_PERSONAL = "system"


@dataclass(frozen=True)
class Restriction:
    """One kind of restricted data of the policy: a consent gate's data (securities and funds,
    web behaviour) or the purpose-limited data (risk, legal obligation)."""

    key: str
    label: str
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    gate: str | None = None

    def covers_source(self, node: Node) -> bool:
        if node.resource_type != "source" or not node.source_name:
            return False
        return node.source_name in self.sources or node.label in self.sources


def restrictions(policy: PolicyConfig) -> tuple[Restriction, ...]:
    """The restricted data of ``policy.yml``: one per consent gate, plus purpose limitation."""
    out = [
        Restriction(
            key=f"gate:{name}",
            label=f"needs the {name.replace('_', '-')} consent gate",
            categories=g.categories,
            sources=g.sources,
            gate=name,
        )
        for name, g in policy.consent_gates.items()
    ]
    if (
        policy.purpose_limited_categories
        or policy.purpose_limited_sources
        or policy.purpose_limited_purposes
    ):
        out.append(
            Restriction(
                key="purpose_limitation",
                label="purpose-limited (risk, fraud, legal obligation): never marketing",
                categories=policy.purpose_limited_categories,
                sources=policy.purpose_limited_sources,
                purposes=policy.purpose_limited_purposes,
            )
        )
    return tuple(out)


@dataclass
class Catalog:
    """The project as the reports see it."""

    manifest: Manifest
    graph: ProjectGraph
    tags: ProjectTags
    taxonomy: Taxonomy
    policy: PolicyConfig
    controller: ControllerConfig
    _origins: dict[ColumnRef, frozenset[str]] = field(default_factory=dict, repr=False)

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

    def source_companies(self, ref: ColumnRef) -> list[str]:
        """The group companies that delivered the data of a column (by its source tables)."""
        out = []
        for uid in sorted(self.source_tables(ref)):
            node = self.graph.nodes[uid]
            company = self.controller.company(node.source_name or "")
            out.append(company or f"unknown company (source {node.source_name})")
        return sorted(set(out))

    @cached_property
    def restrictions(self) -> tuple[Restriction, ...]:
        return restrictions(self.policy)

    def restricted_by(self, ref: ColumnRef) -> list[str]:
        """Keys of the restrictions a column's own tags or source table fall under."""
        node = self.graph.nodes[ref.node]
        tags = self.column_tags(ref)
        out = []
        for r in self.restrictions:
            if (
                any(covered_by_any(c, r.categories) for c in tags.categories)
                or r.covers_source(node)
                or (
                    r.purposes
                    and tags.purposes
                    and all(covered_by_any(p, r.purposes) for p in tags.purposes)
                )
            ):
                out.append(r.key)
        return out

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
    """Lineage, tags and configurations of ``manifest`` (raises the catalog's one-line errors)."""
    taxonomy = load_taxonomy()
    policy = load_policy_config(policy_path, taxonomy)
    controller = load_controller_config(controller_path, taxonomy)
    graph = build_project_graph(manifest, dialect=manifest.adapter_type or "duckdb")
    return Catalog(
        manifest=manifest,
        graph=graph,
        tags=project_tags(manifest, graph),
        taxonomy=taxonomy,
        policy=policy,
        controller=controller,
    )


_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)


def duration_words(iso: str | None) -> str:
    """``P13Y`` -> ``13 years``, ``P1D`` -> ``1 day``; the input back when it is not ISO 8601.

    >>> duration_words("P13Y"), duration_words("P1D"), duration_words("P1Y6M")
    ('13 years', '1 day', '1 year 6 months')
    """
    if not iso:
        return "not set"
    m = _DURATION.fullmatch(iso.strip())
    if not m or not any(m.groupdict().values()):
        return iso
    parts = []
    for unit, value in m.groupdict().items():
        if value:
            n = int(value)
            parts.append(f"{n} {unit if n != 1 else unit[:-1]}")
    return " ".join(parts)


def duration_days(iso: str | None) -> float:
    """Rough length in days, for ordering retention periods (unknown ones last)."""
    if not iso:
        return float("inf")
    m = _DURATION.fullmatch(iso.strip())
    if not m:
        return float("inf")
    g = {k: int(v or 0) for k, v in m.groupdict().items()}
    return (
        g["years"] * 365.25
        + g["months"] * 30.44
        + g["weeks"] * 7
        + g["days"]
        + (g["hours"] * 3600 + g["minutes"] * 60 + g["seconds"]) / 86400
    )


def layer_of(node: Node) -> str:
    """``source``, ``seed``, ``staging``, ``intermediate``, ``marts/<purpose>`` ...: where the
    node sits in the project (from its file path below ``models/``)."""
    if node.resource_type in ("source", "seed", "snapshot"):
        return node.resource_type
    parts = Path(node.path or "").parts
    if parts and parts[0] == "models":
        parts = parts[1:]
    folders = parts[:-1]
    if not folders:
        return node.resource_type
    if folders[0] == "marts" and len(folders) > 1:
        return f"marts/{folders[1]}"
    return folders[0]
