"""What the policy tells the rest of the platform besides violations, each from one evaluation
context: which output columns must be null without a consent and which objection scopes each
output must honour (``restricted_columns``, ``objection_scopes``: for the row checks of
guarantee 7), and how each declared consent gate is proven (``proven_gates``)."""

from __future__ import annotations

from catalog.lineage.graph import ColumnRef, EdgeType, ProjectGraph, Subtype
from catalog.policy import objections_honoured
from catalog.policy.config import PolicyConfig
from catalog.policy.consent_gates import GROUP_SHARING, analyse
from catalog.policy.context import build_context
from catalog.tags import ProjectTags
from catalog.taxonomy import Taxonomy, covered_by_any

__all__ = ["objection_scopes", "proven_gates", "restricted_columns"]


def restricted_columns(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    gate: str = GROUP_SHARING,
    taxonomy: Taxonomy | None = None,
) -> dict[str, dict[str, set[str]]]:
    """Per marketing or statistics output (dbt name): the columns that must be null for every
    person without the ``gate``'s consent (securities / funds by default), with the restricted
    categories they derive from. For the row checks of guarantee 7.

    A column is listed when its value is restricted data: every DIRECT input of it is itself
    restricted (a copy, a band, a sum of holdings), or a CASE condition on restricted data
    decides it (``case when units > 0 then 'investor' end``). A column that mixes restricted
    data with other data (a score weighing a securities band among twenty features) is not
    null for non-consenting persons and is not listed; filters and joins shape rows, which the
    static rule already judged.
    """
    ctx = build_context(graph, tags, config, taxonomy)
    g = ctx.config.consent_gates[gate]
    origins = ctx.origins(
        categories=g.categories, sources=g.sources, entry_only=True, where=f"consent_gates.{gate}"
    )
    restricted: dict[ColumnRef, set[str]] = {}
    for o in origins:
        own = ctx.categories(o)
        restricted[o] = {x for x in own if covered_by_any(x, g.categories)} or set(own)
    for uid in ctx.order:
        for c in graph.nodes[uid].columns:
            ref = ColumnRef(uid, c)
            if ref in restricted:
                continue
            edges = ctx.column_inputs(ref)
            direct = [e for e in edges if e.type == EdgeType.DIRECT]
            conditions = [
                e for e in edges if e.subtype == Subtype.CONDITIONAL and e.source in restricted
            ]
            if direct and all(e.source in restricted for e in direct):
                cats = set().union(*(restricted[e.source] for e in direct))
            elif conditions:
                cats = set().union(*(restricted[e.source] for e in conditions))
            else:
                continue
            restricted[ref] = cats
    purposes = (ctx.config.marketing_purpose, ctx.config.statistics_purpose)
    out: dict[str, dict[str, set[str]]] = {}
    for uid in ctx.order:
        if not (ctx.is_output(uid) and any(ctx.has_purpose(uid, p) for p in purposes)):
            continue
        for c in graph.nodes[uid].columns:
            ref = ColumnRef(uid, c)
            if ref in restricted:
                out.setdefault(ctx.name(uid), {})[c] = set(restricted[ref])
    return out


def objection_scopes(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    taxonomy: Taxonomy | None = None,
) -> dict[str, set[str]]:
    """Per output (dbt name): the objection scopes its rows must honour (guarantees 5 and 7)."""
    ctx = build_context(graph, tags, config, taxonomy)
    out = {ctx.name(u): objections_honoured.required_scopes(ctx, u) for u in ctx.order}
    return {k: v for k, v in out.items() if v}


def proven_gates(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    gate: str = GROUP_SHARING,
    taxonomy: Taxonomy | None = None,
) -> dict[str, str]:
    """Declared ``gate`` nodes restricted data reaches, by dbt name: ``"rows"`` or ``"columns"``
    (how the SQL proves it), or why it is not a gate."""
    ctx = build_context(graph, tags, config, taxonomy)
    a = analyse(ctx, gate)
    return {
        **{ctx.name(u): how for u, how in a.proven.items()},
        **{ctx.name(u): f"not a gate: {why}" for u, why in a.refuted.items()},
    }
