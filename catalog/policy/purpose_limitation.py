"""Guarantee 4: data kept for a legal obligation or for fraud and risk (defaults, fraud cases,
capital requirement models) serves those purposes only: it never reaches an output with a
purpose outside them (marketing, statistics, model development, the register, ...), over any
edge (a filter on a default flag is as much a use as copying the defaulted amount).

Origins: columns of the configured categories (credit history, fraud, risk model output), every
column of the configured sources (risk), and columns whose purposes all fall under the
purpose-bound purposes (legal obligation, fraud detection, credit assessment).

Judged: every output (``Context.is_output``) with a purpose, of the node or of a column, that
no purpose-bound purpose covers. An output that declares no purpose at all is judged too: its
use is unknown, so it cannot be shown to stay within them (fail closed; ``every_column_tagged``
names the missing tags). Outputs whose purposes all fall under the purpose-bound ones (the
credit mart) may use the data.
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

RULE = "purpose_limitation"


def outside_purposes(ctx: Context, uid: str) -> tuple[str, ...] | None:
    """The purposes of node ``uid`` that no purpose-bound purpose covers, sorted; ``()`` when
    it declares none (unknown use); None when all of them are purpose-bound."""
    bound = ctx.config.purpose_limited_purposes
    purposes = ctx.purposes(uid)
    if not purposes:
        return ()
    outside = tuple(sorted(p for p in purposes if not ctx.covered(p, bound)))
    return outside or None


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    judged: dict[str, tuple[str, ...]] = {}
    for uid in ctx.order:
        if ctx.is_output(uid):
            outside = outside_purposes(ctx, uid)
            if outside is not None:
                judged[uid] = outside
    if not judged:
        return []
    origins = ctx.origin_ids(
        categories=cfg.purpose_limited_categories,
        sources=cfg.purpose_limited_sources,
        purposes=cfg.purpose_limited_purposes,
        entry_only=False,
        where="purpose_limitation",
    )
    flow = propagate(ctx, origins, within=ancestors(ctx, judged))
    bound = ", ".join(cfg.purpose_limited_purposes) or "none configured"
    out = []
    for uid, outside in judged.items():
        why = (
            f"output with purpose(s) {', '.join(outside)} outside the purpose-bound ones ({bound})"
            if outside
            else f"output declaring no purpose (so none known to be within {bound})"
        )
        for ref in flow.reached_in(uid):
            srcs = restricted_sources(ctx, flow, ref)
            out.append(
                Violation(
                    RULE,
                    ctx.name(uid),
                    ref.column,
                    f"{why} uses purpose-bound risk / legal-obligation data "
                    f"({', '.join(srcs)}): {describe_chain(ctx, flow, ref)}",
                    sources=srcs,
                    path=path_between(ctx, flow, ref),
                    node_id=uid,
                )
            )
    return out
