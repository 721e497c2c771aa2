"""The identifier columns of the catalog and the domain (space of values) each belongs to.

Identifier columns are the columns whose category is one of the controller configuration's
``access.identifier_categories``. National and group identifiers share one domain per category;
a per-source identifier belongs to the source table column its values are copied from (DIRECT
IDENTITY or AGGREGATION edges without masking), so ``stg_bank__accounts.customer_no`` and
``raw_bank.customers.customer_no`` share the bank's domain; a column computed otherwise (a keyed
hash) starts a ``derived:`` domain of its own, with the column that computes it as ``origin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.lineage import ColumnRef, EdgeType, Subtype
from catalog.loader import Catalog
from catalog.taxonomy import covers

_VALUE_PRESERVING = (Subtype.IDENTITY, Subtype.AGGREGATION)


@dataclass(frozen=True)
class Domain:
    """A space of identifier values: ``national:<category>``, ``group:<category>``,
    ``source:<category>:<source>``, or ``derived:<column>`` (a computed identifier)."""

    key: str
    label: str
    origin: ColumnRef | None = None  # the column that computes a derived identifier


class Domains:
    """The identifier columns of the catalog and their domains: ``domains`` by key, ``of``
    each identifier column's domain keys."""

    def __init__(self, catalog: Catalog):
        self.c = catalog
        self.cfg = catalog.controller
        self._origins: dict[ColumnRef, frozenset[ColumnRef]] = {}
        self.domains: dict[str, Domain] = {}
        self.of: dict[ColumnRef, tuple[str, ...]] = {}
        for ref in catalog.graph.columns():
            keys = self._domains_of(ref)
            if keys:
                self.of[ref] = keys

    def category(self, ref: ColumnRef) -> tuple[str, str] | None:
        """(category, configured key covering it) of an identifier column, else None."""
        for cat in self.c.column_tags(ref).categories:
            keys = [k for k in self.cfg.identifier_categories if covers(k, cat)]
            if keys:
                return cat, max(keys, key=len)
        return None

    def origins(self, ref: ColumnRef) -> frozenset[ColumnRef]:
        """The columns a column's values are copied from (itself when it computes them)."""
        if ref in self._origins:
            return self._origins[ref]
        self._origins[ref] = frozenset({ref})  # guards cycles
        direct = [e for e in self.c.graph.inputs(ref) if e.type is EdgeType.DIRECT]
        if direct and all(e.subtype in _VALUE_PRESERVING and not e.masking for e in direct):
            found = frozenset().union(*(self.origins(e.source) for e in direct))
        else:
            found = frozenset({ref})
        self._origins[ref] = found
        return found

    def _domains_of(self, ref: ColumnRef) -> tuple[str, ...]:
        found = self.category(ref)
        if found is None:
            return ()
        _, key = found
        scope = self.cfg.identifier_categories[key]
        name = f"{self.c.category_name(key)} ({key})"
        if scope in ("national", "group"):
            return (self._domain(f"{scope}:{key}", name),)
        out = []
        for origin in sorted(self.origins(ref)):
            node = self.c.graph.nodes[origin.node]
            if node.resource_type == "source":
                source = node.source_name or ""
                company = self.cfg.company(source) or source
                label = f"{name} of source {source} ({company})"
                out.append(self._domain(f"source:{key}:{source}", label))
            else:
                label = f"{self.c.column_name(origin)} (computed identifier)"
                out.append(self._domain(f"derived:{origin}", label, origin=origin))
        return tuple(dict.fromkeys(out))

    def _domain(self, key: str, label: str, origin: ColumnRef | None = None) -> str:
        self.domains.setdefault(key, Domain(key, label, origin))
        return key
