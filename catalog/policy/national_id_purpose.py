"""Guarantee 2 (second half): the national identity number appears only in outputs whose
purpose is customer administration.

This rule concerns the value itself (DIRECT lineage): a column carries the number when it is
tagged with the national-id category, when it copies a carrying column (IDENTITY, whatever its
label says), or when it transforms or aggregates one without masking it and is not tagged as
something else: ``min(national_id)`` tagged as the number, or untagged, still is the number;
the birth date read from its digits, or ``national_id is not null``, tagged as such, is not; a
keyed hash (``person_id``) masks it, but a plain hash (``sha256(national_id)``) does not, however
it is labelled: an 11-digit number with a check digit is recovered from its hash by hashing every
candidate. Joining or filtering on the number is not carrying it.
A carrying column of an output must list the customer-administration purpose and no forbidden
purpose (marketing, analytics, ...).
"""

from __future__ import annotations

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Subtype
from catalog.policy.context import Context
from catalog.policy.flow import describe_chain, path_between, propagate
from catalog.policy.result import Violation
from catalog.taxonomy import covered_by_any, covers

RULE = "national_id_purpose"


def check(ctx: Context) -> list[Violation]:
    cfg = ctx.config
    origins = ctx.origin_ids(
        categories=(cfg.national_id_category,), entry_only=False, where="national_id"
    )

    nid = (cfg.national_id_category,)

    def carries(e: Edge) -> bool:
        if e.type != EdgeType.DIRECT or e.dataset_level:
            return False
        if e.masking:  # a plain hash is undone by hashing every possible number: still it
            return not e.keyed
        if e.subtype == Subtype.IDENTITY:
            return True
        assert e.target_column is not None
        cats = ctx.categories(ColumnRef(e.target_node, e.target_column))
        return not cats or any(ctx.covered(c, nid) for c in cats)

    flow = propagate(ctx, origins, edge_ok=carries)
    out = []
    for uid in ctx.order:
        if not ctx.is_output(uid):
            continue
        for ref in flow.reached_in(uid):
            c = ref.column
            purposes = ctx.column_purposes(ref)
            forbidden = [
                p for p in purposes if covered_by_any(p, cfg.national_id_forbidden_purposes)
            ]
            required = any(covers(cfg.national_id_required_purpose, p) for p in purposes)
            if required and not forbidden:
                continue
            why = (
                f"its purposes include {', '.join(forbidden)}"
                if forbidden
                else f"its purposes ({', '.join(purposes) or 'none'}) do not include "
                f"{cfg.national_id_required_purpose}"
            )
            roots = [ctx.label(s) for s in flow.roots(ref) if s != ref]
            origin = (
                f"derived from {describe_chain(ctx, flow, ref)}"
                if roots
                else "tagged as the national identity number"
            )
            if any(e is not None and e.masking and not e.keyed for _, e in flow.chain(ref)):
                origin += (
                    "; a plain hash does not hide it, as every possible number can be hashed "
                    "and compared: use the keyed hash (the keyed_hash macro) or drop it"
                )
            out.append(
                Violation(
                    RULE,
                    ctx.name(uid),
                    c,
                    f"carries the national identity number ({origin}) but {why}; the number "
                    f"may only appear where the purpose is {cfg.national_id_required_purpose}",
                    sources=tuple(roots),
                    path=path_between(ctx, flow, ref),
                    node_id=uid,
                )
            )
    return out
