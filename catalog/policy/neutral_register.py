"""Guarantee 2 (first half): every column of the group register derives only from neutral data.

The register is the set of models under the configured dbt paths. A register column violates
when any column it depends on, DIRECT or INDIRECT, transitively (a filter, a join, a window on
it count as much as copying it), carries a category outside the neutral ones, carries no
category at all (unknown is not neutral), or belongs to an excluded source (risk, web). Only
the register's ancestors are walked.
"""

from __future__ import annotations

from catalog.policy.context import Context
from catalog.policy.flow import (
    ancestors,
    describe_chain,
    path_between,
    propagate,
    restricted_sources,
)
from catalog.policy.result import Violation

RULE = "neutral_register"


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    register = [
        u
        for u in ctx.order
        if ctx.graph.nodes[u].resource_type != "source" and ctx.in_paths(u, cfg.register_paths)
    ]
    if not register:
        return []
    neutral = tuple(cfg.neutral_categories)
    excluded = {
        uid
        for spec in cfg.register_excluded_sources
        for uid in ctx.source_nodes(spec, "neutral_register.excluded_sources")
    }
    upstream = ancestors(ctx, register)

    def why_not_neutral(categories: tuple[str, ...]) -> str | None:
        if not categories:
            return "untagged"
        bad = [c for c in categories if not ctx.covered(c, neutral)]
        return ", ".join(bad) if bad else None

    # Column index -> why it is not neutral; judged once per distinct set of categories.
    offenders: dict[int, str] = {}
    judged: dict[tuple[str, ...], str | None] = {}
    for uid in upstream:
        ids = ctx.node_cols.get(uid, ())
        if uid in excluded:
            offenders.update(dict.fromkeys(ids, f"rows of {ctx.name(uid)}"))
            continue
        for i in ids:
            categories = ctx.categories_at(i)
            if categories not in judged:
                judged[categories] = why_not_neutral(categories)
            if (why := judged[categories]) is not None:
                offenders[i] = why
    flow = propagate(ctx, set(offenders), within=upstream)
    out = []
    for uid in register:
        for ref in flow.reached_in(uid):
            what = "; ".join(sorted({offenders[ctx.id_of(s)] for s in flow.roots(ref)}))
            out.append(
                Violation(
                    RULE,
                    ctx.name(uid),
                    ref.column,
                    f"group register column derives from non-neutral data ({what}): "
                    f"{describe_chain(ctx, flow, ref)}",
                    sources=restricted_sources(ctx, flow, ref),
                    path=path_between(ctx, flow, ref),
                    node_id=uid,
                )
            )
    return out
