"""Guarantee 3's machinery: restricted data may reach a marketing output only through a node
that declares a consent gate AND whose SQL proves it applies the consent.

A gate is proven when either
- **rows**: an INDIRECT edge that restricts rows (WHERE, HAVING, QUALIFY, inner / semi / anti
  join, IN / EXISTS) comes from a column that carries the consent's value (the consent column,
  or derived from it over DIRECT edges or CASE conditions), so only consented rows exist; or
- **columns**: every column of the gate into which restricted data flows has a CASE condition
  on the consent's value, and restricted data reaches the gate's rows at most through the
  optional side of a LEFT join (its ON keys and filters keep every row of the preserved side).

A gate that merely LEFT JOINs the consents, or filters on another column of them (the channel,
the event time), proves nothing. Restrictions travel over DIRECT and INDIRECT edges alike;
paths through a proven gate are cleared, every other path is a violation.

What lineage cannot see is the value compared (``= 'granted'`` vs ``= 'withdrawn'``) or an
``else`` branch that leaks: the blocking row checks (guarantee 7) prove those on the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from catalog.lineage.graph import ColumnRef, EdgeType, Subtype
from catalog.policy.core import (
    Context,
    Flow,
    Violation,
    describe_chain,
    path_between,
    restricted_sources,
    value_edge,
)

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
    ctx: Context, uid: str, carriers: Flow, flow: Flow, consent_label: str
) -> tuple[str | None, str]:
    """("rows" | "columns" | None, why not) for the gate node ``uid``."""
    edges = [(ei, ctx.edges[ei]) for ei in ctx.all_in.get(uid, ())]
    if any(
        e.restricts_rows and e.type == EdgeType.INDIRECT and carriers.has(ctx.e_src[ei])
        for ei, e in edges
    ):
        return "rows", ""
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
    return "columns", ""


def analyse(ctx: Context, gate_name: str) -> GateAnalysis:
    gate = ctx.config.consent_gates[gate_name]
    where = f"consent_gates.{gate_name}"
    consent = ctx.source_column(gate.consent_column, f"{where}.consent_column")
    carriers = ctx.propagate({consent}, edge_ok=value_edge)
    origins = ctx.origin_ids(
        categories=gate.categories, sources=gate.sources, entry_only=True, where=where
    )
    declared = {u for u in ctx.order if gate_name in ctx.consent_gates(u)}
    result = GateAnalysis(gate_name, consent, carriers, carriers)
    label = ctx.label(consent)

    def clear(uid: str, flow: Flow, pending: Mapping[int, frozenset[int]]) -> bool:
        if uid not in declared:
            return False
        how, why = _prove(ctx, uid, carriers, flow, label)
        if how:
            result.proven[uid] = how
            return True
        result.refuted[uid] = why
        return False

    result.flow = ctx.propagate_ids(origins, clear=clear)
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
