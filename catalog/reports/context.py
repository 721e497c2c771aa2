"""What the reports share, asked of the loaded catalog (``catalog.loader.Catalog``): which data
the policy restricts and which restrictions a column falls under, which group company a column
comes from (its source tables through lineage), where a node sits in the project, durations in
words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from catalog.lineage import ColumnRef, Node
from catalog.loader import Catalog
from catalog.policy.config import PolicyConfig
from catalog.taxonomy import covered_by_any


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


def restricted_by(catalog: Catalog, ref: ColumnRef) -> list[str]:
    """Keys of the restrictions a column's own tags or source table fall under."""
    node = catalog.graph.nodes[ref.node]
    tags = catalog.column_tags(ref)
    out = []
    for r in restrictions(catalog.policy):
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


def source_companies(catalog: Catalog, ref: ColumnRef) -> list[str]:
    """The group companies that delivered the data of a column (by its source tables)."""
    out = []
    for uid in sorted(catalog.source_tables(ref)):
        node = catalog.graph.nodes[uid]
        company = catalog.controller.company(node.source_name or "")
        out.append(company or f"unknown company (source {node.source_name})")
    return sorted(set(out))


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
