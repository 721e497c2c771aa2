"""Guarantee 3's machinery: restricted data may reach a marketing output only through a node
that declares a consent gate AND whose SQL proves it applies the consent.

A gate is proven when either
- **rows**: an INDIRECT edge that restricts rows (WHERE, HAVING, QUALIFY, inner / semi / anti
  join, IN / EXISTS) comes from a column that carries the consent's value (the consent column,
  or derived from it over DIRECT edges or CASE conditions), and its compiled SQL admits rows
  for the granting value and for no other (``gate_predicate``); or
- **columns**: every column of the gate into which restricted data flows has a CASE condition
  on the consent's value, restricted data reaches the gate's rows at most through the optional
  side of a LEFT join (its ON keys and filters keep every row of the preserved side), and its
  compiled SQL makes every such column NULL or a constant for every value but the granting one.

The compared value is read from the SQL, not from lineage: the conditions are evaluated for
every value of the consent column's domain (``granted``, ``withdrawn``, any other, NULL: no
event), with the carrier columns inlined back through the CTEs and upstream models to the
consent source, and the value must be the latest event's per person. A gate that merely LEFT
JOINs the consents, filters on another column of them (the channel, the event time), negates
or inverts the comparison (``not has_consent``, ``<> 'granted'``, ``not in``, ``is null``,
``= 'withdrawn'``), or reads single events or an aggregate over all of them, is refuted with
the reason; so is one whose SQL cannot be analysed. Restrictions travel over DIRECT and
INDIRECT edges alike; paths through a proven gate are cleared, every other path is a
violation. The tie-break between events of equal time (rule 8) is proven by the blocking row
checks (guarantee 7), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Subtype
from catalog.policy.context import Context
from catalog.policy.flow import (
    Flow,
    describe_chain,
    path_between,
    propagate,
    restricted_sources,
    value_edge,
)
from catalog.policy.gate_predicate import Domain, GateSql
from catalog.policy.result import Violation

GROUP_SHARING = "group_sharing"
MARKETING_COOKIES = "marketing_cookies"


@dataclass
class GateAnalysis:
    """The outcome of one gate kind: the restriction flow and each declared gate's verdict."""

    name: str
    consent: ColumnRef
    carriers: Flow
    flow: Flow
    proven: dict[str, str] = field(default_factory=dict)  # node -> "rows" | "columns"
    refuted: dict[str, str] = field(default_factory=dict)  # node -> why not


def _prove(
    ctx: Context, uid: str, carriers: Flow, flow: Flow, consent_label: str, sql: GateSql
) -> tuple[str | None, str]:
    """("rows" | "columns" | None, why not) for the gate node ``uid``."""
    edges = [(ei, ctx.edges[ei]) for ei in ctx.all_in.get(uid, ())]
    rows_edge = any(
        e.restricts_rows and e.type == EdgeType.INDIRECT and carriers.has(ctx.e_src[ei])
        for ei, e in edges
    )
    if rows_edge:
        verdict = sql.rows(uid)
        if verdict.how:
            return verdict.how, ""
        if verdict.how is not None:  # its rows depend on the consent, but not as they must
            return None, verdict.why
    # Its rows are not restricted by the consent's value: each restricted column must be.
    how, why = _prove_columns(ctx, uid, carriers, flow, consent_label, sql, edges)
    if how is None and rows_edge:  # lineage saw a filter by the consent; the SQL tells why not
        why = (
            f"its filter does not compare the value of {consent_label} (the rows it keeps do "
            f"not depend on it), and {why}"
        )
    return how, why


def _prove_columns(
    ctx: Context,
    uid: str,
    carriers: Flow,
    flow: Flow,
    consent_label: str,
    sql: GateSql,
    edges: list[tuple[int, Edge]],
) -> tuple[str | None, str]:
    restricted = [e for ei, e in edges if flow.has(ctx.e_src[ei])]
    row_deps = [
        e
        for e in restricted
        if e.dataset_level and (e.restricts_rows or e.subtype not in (Subtype.JOIN, Subtype.FILTER))
    ]
    if row_deps:
        e = row_deps[0]
        return None, (
            f"its rows depend on restricted data ({ctx.label(e.source)} in a "
            f"{e.subtype.value}) and no WHERE / inner join / QUALIFY on {consent_label} "
            "removes the rows without consent"
        )
    targets = sorted({e.target_column for e in restricted if e.target_column is not None})
    if not targets:
        return None, (
            f"it neither filters its rows on {consent_label} nor conditions any restricted "
            "column on it"
        )
    unconditioned = [
        c
        for c in targets
        if not any(
            e.subtype == Subtype.CONDITIONAL and e.source in carriers
            for e in ctx.column_inputs(ColumnRef(uid, c))
        )
    ]
    if unconditioned:
        return None, (
            f"it neither filters its rows on {consent_label} (WHERE, inner join, QUALIFY) nor "
            f"conditions {', '.join(unconditioned)} on it (CASE)"
        )
    verdict = sql.columns(uid, targets)
    return (verdict.how, "") if verdict.how else (None, verdict.why)


def gate_sql(ctx: Context, gate_name: str, consent: ColumnRef, carriers: Flow) -> GateSql:
    """The consent-value analysis of the gate kind ``gate_name`` over this evaluation's graph:
    upstream models are read from their SQL when they carry the consent."""
    gate = ctx.config.consent_gates[gate_name]
    node_cols, has, graph, e_src = ctx.node_cols, carriers.has, ctx.graph, ctx.e_src

    def carries(uid: str) -> bool:  # holds the consent's value, or its rows are filtered on it
        return any(has(i) for i in node_cols.get(uid, ())) or any(
            has(e_src[ei]) for ei in ctx.rows_in.get(uid, ())
        )

    def parents(uid: str) -> list[str]:
        node = graph.nodes.get(uid)
        return [*ctx.parents.get(uid, ()), *(node.depends_on if node else ())]

    def renames(uid: str) -> tuple[str, dict[str, str]] | None:
        """(parent, column -> parent column) when the node only selects columns of one parent
        as they are (a staging view): no dataset-level edge, one IDENTITY edge per column."""
        node = graph.nodes.get(uid)
        if node is None or ctx.node_in.get(uid):
            return None
        parent, out = "", {}
        for i in node_cols.get(uid, ()):
            ins = ctx.col_in[i]
            if len(ins) != 1:
                return None
            e = ctx.edges[ins[0]]
            if e.subtype != Subtype.IDENTITY or (parent and e.source.node != parent):
                return None
            parent = e.source.node
            out[ctx.col_name[i]] = e.source.column
        if not parent or any(d != parent for d in node.depends_on):
            return None
        return parent, out

    return GateSql(
        graph,
        consent=consent,
        domain=Domain.of(gate.values, gate.granting_value),
        subject_column=gate.subject_column,
        event_time_column=gate.event_time_column,
        carries=carries,
        parents=parents,
        renames=renames,
    )


def analyse(ctx: Context, gate_name: str) -> GateAnalysis:
    gate = ctx.config.consent_gates[gate_name]
    where = f"consent_gates.{gate_name}"
    consent = ctx.source_column(gate.consent_column, f"{where}.consent_column")
    carriers = propagate(ctx, ctx.ids({consent}), edge_ok=value_edge)
    origins = ctx.origin_ids(
        categories=gate.categories, sources=gate.sources, entry_only=True, where=where
    )
    declared = {u for u in ctx.order if gate_name in ctx.consent_gates(u)}
    result = GateAnalysis(gate_name, consent, carriers, carriers)
    label = ctx.label(consent)
    sql = gate_sql(ctx, gate_name, consent, carriers)

    def clear(uid: str, flow: Flow, pending: Mapping[int, frozenset[int]]) -> bool:
        if uid not in declared:
            return False
        how, why = _prove(ctx, uid, carriers, flow, label, sql)
        if how:
            result.proven[uid] = how
            return True
        result.refuted[uid] = why
        return False

    result.flow = propagate(ctx, origins, clear=clear)
    return result


def check(ctx: Context, gate_name: str, rule: str, what: str) -> list[Violation]:
    """Violations of one gate kind: refuted gates, and marketing columns reached by restricted
    data that did not pass a proven gate."""
    a = analyse(ctx, gate_name)
    out: list[Violation] = []
    for uid, why in a.refuted.items():
        out.append(
            Violation(
                rule,
                ctx.name(uid),
                None,
                f"declares consent_gate: {gate_name} but is not a gate: {why}",
                sources=tuple(
                    sorted(
                        {ctx.label(s) for e in ctx.edges_into(uid) for s in a.flow.roots(e.source)}
                    )
                ),
                node_id=uid,
            )
        )
    gates_note = (
        f"without passing a proven {gate_name} consent gate"
        if not a.proven
        else f"bypassing the proven {gate_name} consent gate(s) "
        f"{', '.join(sorted(ctx.name(u) for u in a.proven))}"
    )
    for uid in ctx.outputs_with_purpose(ctx.config.marketing_purpose):
        for ref in a.flow.reached_in(uid):
            c = ref.column
            srcs = restricted_sources(ctx, a.flow, ref)
            out.append(
                Violation(
                    rule,
                    ctx.name(uid),
                    c,
                    f"marketing output receives {what} ({', '.join(srcs)}) {gates_note}: "
                    f"{describe_chain(ctx, a.flow, ref)}",
                    sources=srcs,
                    path=path_between(ctx, a.flow, ref),
                    node_id=uid,
                )
            )
    return out
