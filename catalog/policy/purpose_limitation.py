"""Guarantee 4: data kept for a legal obligation or for fraud and risk (defaults, fraud cases,
capital requirement models) serves those purposes only: it never reaches a marketing output,
over any edge (a filter on a default flag is as much a use as copying the defaulted amount).

Origins: columns of the configured categories (credit history, fraud, risk model output), every
column of the configured sources (risk), and columns whose purposes all fall under the
purpose-bound purposes (legal obligation, fraud detection, credit assessment).
"""

from __future__ import annotations

from catalog.policy.core import (
    Context,
    Violation,
    describe_chain,
    path_between,
    restricted_sources,
)

RULE = "purpose_limitation"


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    origins = ctx.origin_ids(
        categories=cfg.purpose_limited_categories,
        sources=cfg.purpose_limited_sources,
        purposes=cfg.purpose_limited_purposes,
        entry_only=False,
        where="purpose_limitation",
    )
    flow = ctx.propagate_ids(origins)
    out = []
    for uid in ctx.outputs_with_purpose(cfg.marketing_purpose):
        for ref in flow.reached_in(uid):
            c = ref.column
            srcs = restricted_sources(ctx, flow, ref)
            out.append(
                Violation(
                    RULE,
                    ctx.name(uid),
                    c,
                    f"marketing output uses purpose-bound risk / legal-obligation data "
                    f"({', '.join(srcs)}): {describe_chain(ctx, flow, ref)}",
                    sources=srcs,
                    path=path_between(ctx, flow, ref),
                    node_id=uid,
                )
            )
    return out
