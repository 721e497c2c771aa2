"""Access exemptions (GDPR Art. 23; ``access.withheld`` in the controller configuration): rows
withheld from the access report without a trace, so that a person under an ongoing
investigation is not tipped off.

A rule names a dbt source table, its case key, the column that is null while a case is open and
the delivery order. :class:`Withholding` resolves it against the catalog and the warehouse:

- the *open cases*: every key whose latest delivered row (``latest_by``, newest first) has the
  column null, and every key of a quarantined record of the table that does not show it closed;
- the *withheld rows*: in the source table and in every catalogued base table derived from it
  (found by walking the column lineage downstream over DIRECT and INDIRECT edges), the rows
  whose copy of the key is an open case; in the quarantine table, the table's records whose key
  is open, whose column is empty, or that could not be parsed into fields at all.

The search drops withheld rows before it reads anything from them (no identifier is learnt from
them), so every part of the report built from the rows (tables, counts, identifiers, profiling,
recipients, the "no data held" answer and the exit code) is what it would be without them.

It fails closed (:class:`AccessError`, for every person alike, so the failure itself reveals
nothing) when the declared table or a declared column is not in the catalog; when a base table
derived from the source does not carry a copy of the key (its rows cannot be told apart by
case: a count or a flag per person); when a value reaches such a table through an aggregation
or a GROUP BY (a value computed over several cases); or when the warehouse holds derived rows
but not the source table the open cases are read from. What lineage cannot show, and this does
not detect: a filter or window of a derived table that reads *other* cases' rows (edges do not
say which rows a predicate reads); such models must keep one row per case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from catalog.lineage import ColumnRef, EdgeType, Subtype
from catalog.loader import Catalog
from catalog.reports.access.errors import AccessError
from catalog.reports.controller import WithheldRows

# Edges whose value is computed over several rows: a case's row cannot be taken out of it.
_ACROSS_ROWS = (Subtype.AGGREGATION, Subtype.GROUP_BY)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_node(catalog: Catalog, table: str, where: str) -> str:
    """The unique_id of dbt source ``source.table``; :class:`AccessError` when there is none."""
    source, _, name = table.partition(".")
    found = [
        uid
        for uid, n in catalog.graph.nodes.items()
        if n.resource_type == "source" and n.source_name == source and n.name == name
    ]
    if not found:
        raise AccessError(
            f"{catalog.controller.where}: {where} names {table}, which is not a dbt source of "
            "the catalog; name an existing source table"
        )
    return found[0]


def check_columns(catalog: Catalog, uid: str, columns: Iterable[str], where: str) -> None:
    """:class:`AccessError` naming the first of ``columns`` that node ``uid`` does not have."""
    node = catalog.graph.nodes[uid]
    have = {c.lower() for c in node.columns}
    for col in columns:
        if col.lower() not in have:
            raise AccessError(
                f"{catalog.controller.where}: {where} names column {col} of {node.label}, which "
                f"has no such column; use one of {', '.join(node.columns)}"
            )


@dataclass
class _Rule:
    """One rule resolved against the catalog: where its key is copied to, per table."""

    rule: WithheldRows
    uid: str
    key_copies: dict[str, list[str]] = field(default_factory=dict)  # uid -> key columns
    open_keys: set[tuple[str, ...]] = field(default_factory=set)


class Withholding:
    """The exemptions of a catalog, resolved against an open warehouse: :meth:`withholds`
    says whether a row of a table is withheld, :meth:`withholds_quarantined` the same for a
    quarantined record."""

    def __init__(self, catalog: Catalog, conn: Any, searchable: Mapping[str, Any]):
        self.c = catalog
        self.rules: list[_Rule] = []
        for rule in catalog.controller.withheld:
            uid = source_node(catalog, rule.table, f"{rule.where}.table")
            check_columns(catalog, uid, rule.key, f"{rule.where}.key")
            check_columns(catalog, uid, [rule.while_null], f"{rule.where}.while_null")
            check_columns(catalog, uid, rule.latest_by, f"{rule.where}.latest_by")
            resolved = _Rule(rule, uid)
            resolved.key_copies = self._key_copies(resolved, searchable)
            self.rules.append(resolved)
        for r in self.rules:
            derived = [u for u in r.key_copies if u != r.uid]
            if r.uid not in searchable and derived:
                raise AccessError(
                    f"{r.rule.table} is not built in the warehouse, but "
                    f"{catalog.graph.nodes[derived[0]].relation} derived from it is: the rows "
                    f"{r.rule.where} withholds cannot be told; build the warehouse whole"
                )
            if r.uid in searchable:
                r.open_keys = self._open_keys(conn, r, searchable[r.uid][0])

    # -- the catalog -------------------------------------------------------------------------
    def _key_copies(self, r: _Rule, searchable: Mapping[str, Any]) -> dict[str, list[str]]:
        """Per searchable table holding rows derived from the rule's source (the source
        included), the columns that copy the key, in the key's order; fails closed on a
        derived table without the key or with values computed over several cases."""
        graph = self.c.graph
        starts = [ColumnRef(r.uid, c) for c in graph.nodes[r.uid].columns]
        reached: dict[ColumnRef, None] = {}
        for s in starts:
            for ref in graph.downstream(s):
                reached[ref] = None
        region = set(starts) | set(reached)
        # columns that carry a key column's value unchanged (IDENTITY edges, no masking)
        copies: dict[str, dict[ColumnRef, None]] = {}
        for k in r.rule.key:
            seen = {ColumnRef(r.uid, k.lower()): None}
            stack = list(seen)
            while stack:
                cur = stack.pop()
                for e, target in graph.outputs(cur):
                    if (
                        e.type is EdgeType.DIRECT
                        and e.subtype is Subtype.IDENTITY
                        and not e.masking
                        and target not in seen
                    ):
                        seen[target] = None
                        stack.append(target)
            copies[k] = seen
        out: dict[str, list[str]] = {r.uid: [k.lower() for k in r.rule.key]}
        for uid in sorted({ref.node for ref in reached} & set(searchable)):
            node = graph.nodes[uid]
            key_cols = []
            for k in r.rule.key:
                cols = [c for c in node.columns if ColumnRef(uid, c) in copies[k]]
                if not cols:
                    raise AccessError(
                        f"{node.relation} derives from {r.rule.table}, whose open cases "
                        f"{r.rule.where} withholds from access reports, but carries no copy of "
                        f"{k}, so its rows of an open case cannot be withheld; add {k} to it "
                        "(one row per case) or do not build it into this warehouse"
                    )
                key_cols.append(cols[0])
            for c in node.columns:
                ref = ColumnRef(uid, c)
                across = [
                    e for e in graph.inputs(ref) if e.subtype in _ACROSS_ROWS and e.source in region
                ]
                if across:
                    raise AccessError(
                        f"{node.relation}.{c} is computed over several rows of "
                        f"{r.rule.table} ({across[0].subtype.value} from "
                        f"{self.c.column_name(across[0].source)}), so an open case withheld by "
                        f"{r.rule.where} would show in it; keep one row per case there"
                    )
            out[uid] = key_cols
        # an aggregation upstream of a searchable table, in a view or ephemeral model
        for ref in reached:
            if ref.node in out:
                continue
            for e in graph.inputs(ref):
                if e.subtype in _ACROSS_ROWS and e.source in region:
                    hit = sorted(
                        {d.node for d in graph.downstream(ref)} & set(searchable) - {r.uid}
                    )
                    if hit:
                        raise AccessError(
                            f"{graph.nodes[hit[0]].relation} reads "
                            f"{self.c.column_name(ref)}, computed over several rows of "
                            f"{r.rule.table}, so an open case withheld by {r.rule.where} "
                            "would show in it; keep one row per case there"
                        )
        return out

    # -- the warehouse -----------------------------------------------------------------------
    def _open_keys(self, conn: Any, r: _Rule, relation: str) -> set[tuple[str, ...]]:
        """Keys whose latest delivered row has the rule's column null, and keys of the table's
        quarantined records that do not show the case closed."""
        keys = ", ".join(_quote(k) for k in r.rule.key)
        order = ", ".join(f"{_quote(c)} desc" for c in r.rule.latest_by)
        schema, _, table = relation.partition(".")
        sql = (
            f"select {keys} from (select {keys}, {_quote(r.rule.while_null)} as _open_col, "
            f"row_number() over (partition by {keys} order by {order}) as _rank "
            f"from {_quote(schema)}.{_quote(table)}) where _rank = 1 and _open_col is null"
        )
        try:
            rows = conn.execute(sql).fetchall()
        except duckdb.Error as e:
            raise AccessError(
                f"cannot read the open cases of {relation} ({r.rule.where}): "
                f"{' '.join(str(e).split())[:200]}"
            ) from None
        found = {tuple(str(v) for v in row) for row in rows}
        return found

    def add_quarantined_open_keys(self, records: Iterable[tuple[str, str, Any]]) -> None:
        """Add the keys of quarantined records ``(source, table, record)`` that leave a case
        open (the column empty or missing)."""
        for r in self.rules:
            for source, table, record in records:
                if f"{source}.{table}" != r.rule.table:
                    continue
                fields = _record(record)
                if fields is None or _blank(fields.get(r.rule.while_null)):
                    key = tuple(str((fields or {}).get(k) or "") for k in r.rule.key)
                    if all(key):
                        r.open_keys.add(key)

    def withholds(self, uid: str, columns: list[str], row: tuple[Any, ...]) -> bool:
        """Whether a row of table ``uid`` (warehouse ``columns``) belongs to an open case."""
        for r in self.rules:
            key_cols = r.key_copies.get(uid)
            if key_cols is None:
                continue
            lower = [c.lower() for c in columns]
            values = [row[lower.index(k)] if k in lower else None for k in key_cols]
            if all(v is None for v in values) and uid == r.uid:
                # a row without its key: open unless it shows itself closed
                if row[lower.index(r.rule.while_null.lower())] is None:
                    return True
                continue
            if tuple("" if v is None else str(v) for v in values) in r.open_keys:
                return True
        return False

    def withholds_quarantined(self, source: str, table: str, record: Any) -> bool:
        """Whether a quarantined record of ``source.table`` belongs to an open case: its key
        is open, its column is empty, or it has no fields (a line that could not be read)."""
        for r in self.rules:
            if f"{source}.{table}" != r.rule.table:
                continue
            fields = _record(record)
            if fields is None or "_raw" in fields or _blank(fields.get(r.rule.while_null)):
                return True
            key = tuple(str(fields.get(k) or "") for k in r.rule.key)
            if key in r.open_keys:
                return True
        return False


def _record(record: Any) -> dict[str, Any] | None:
    """A quarantined record (JSON text or already a mapping) as a dict; None if it is not."""
    if isinstance(record, Mapping):
        return dict(record)
    try:
        value = json.loads(record) if isinstance(record, str | bytes) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
