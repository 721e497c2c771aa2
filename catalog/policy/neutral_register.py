"""Guarantee 2 (first half): every column of the group register derives only from neutral data.

The register is the set of models under the configured dbt paths. A register column violates
when any column it depends on, DIRECT or INDIRECT, transitively (a filter, a join, a window on
it count as much as copying it), carries a category outside the neutral ones, carries no
category at all (unknown is not neutral), or belongs to an excluded source (risk, web). Only
the register's ancestors are walked.
"""

from __future__ import annotations

from catalog.policy.core import (
    Context,
    Violation,
    describe_chain,
    path_between,
    restricted_sources,
)

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
    ancestors = ctx.ancestors(register)

    def why_not_neutral(i: int) -> str | None:
        if ctx.cols[i].node in excluded:
            return f"rows of {ctx.name(ctx.cols[i].node)}"
        cats = ctx.categories_at(i)
        if not cats:
            return "untagged"
        bad = [c for c in cats if not ctx.covered(c, neutral)]
        return ", ".join(bad) if bad else None

    offenders = {
        i: why
        for uid in ancestors
        for i in ctx.node_cols.get(uid, ())
        if (why := why_not_neutral(i)) is not None
    }
    flow = ctx.propagate({ctx.cols[i] for i in offenders}, within=ancestors)
    out = []
    for uid in register:
        for ref in flow.reached_in(uid):
            what = "; ".join(sorted({offenders[ctx.col_id[s]] for s in flow.roots(ref)}))
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
