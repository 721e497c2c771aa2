"""Guarantee 1: every column of every node carries a known category, purposes and legal basis.

A column the SQL produces but the YAML does not declare is untagged. Keys must exist in the
taxonomy; the legal basis must name a GDPR Art. 6(1) basis, and special-category data also an
Art. 9(2) ground (``art9_ground`` or in ``legal_basis``); a retention must be an ISO 8601
duration; ``consent_gate`` must name a gate of the policy configuration.
"""

from __future__ import annotations

import re

from catalog.policy.core import Context, Violation
from catalog.tags import ColumnTags
from catalog.taxonomy import LegalBasis, SpecialCategoryGround

RULE = "every_column_tagged"

_ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:\.\d+)?S)?)?$"
)
_ART6 = frozenset(b.value for b in LegalBasis)
_ART9 = frozenset(g.value for g in SpecialCategoryGround)


def column_problems(ctx: Context, t: ColumnTags | None) -> list[str]:
    """What is missing or wrong in one column's resolved tags (empty: fine)."""
    if t is None:
        return ["is not declared in the YAML with privacy tags; add it with privacy.category"]
    tax = ctx.taxonomy
    out = list(t.problems)
    if not t.categories:
        out.append("has no privacy category")
    unknown = [c for c in t.categories if not tax.is_category(c)]
    if unknown:
        out.append(f"unknown category {', '.join(unknown)}")
    if not t.purposes:
        out.append("has no purposes (set privacy.purposes on the column or its model)")
    unknown = [p for p in t.purposes if not tax.is_use(p)]
    if unknown:
        out.append(f"unknown purpose {', '.join(unknown)}")
    if not t.legal_basis:
        out.append("has no legal basis (set privacy.legal_basis on the column or its model)")
    bases = (*t.legal_basis, *t.art9_ground)
    unknown = [b for b in bases if b not in _ART6 and b not in _ART9]
    if unknown:
        out.append(
            f"unknown legal basis {', '.join(unknown)} (Art. 6(1): {', '.join(sorted(_ART6))})"
        )
    if t.legal_basis and not any(b in _ART6 for b in t.legal_basis):
        out.append("legal basis names no GDPR Art. 6(1) basis")
    special = [c for c in t.categories if tax.is_category(c) and tax.is_special(c)]
    if special and not any(b in _ART9 for b in bases):
        out.append(
            f"special-category data ({', '.join(special)}) needs an Art. 9(2) ground "
            "(privacy.art9_ground)"
        )
    if t.retention is not None and not _ISO_DURATION.match(t.retention):
        out.append(f"retention {t.retention!r} is not an ISO 8601 duration (e.g. P10Y, P1D)")
    return out


def check(ctx: Context) -> list[Violation]:
    out: list[Violation] = []
    gates = ctx.config.consent_gates
    known: dict[int, list[str]] = {}  # by id: most columns share one resolved ColumnTags
    for uid in ctx.order:
        node = ctx.graph.nodes[uid]
        name = ctx.name(uid)
        nt = ctx.tags.get(uid)
        if nt is not None:
            problems = list(nt.problems)
            problems += [
                f"consent_gate {g!r} is not a gate of the policy ({', '.join(sorted(gates))})"
                for g in nt.consent_gate
                if g not in gates
            ]
            if problems:
                out.append(Violation(RULE, name, None, "; ".join(problems), node_id=uid))
        for i in ctx.node_cols[uid]:
            c = ctx.cols[i].column
            tags = ctx.tags_at(i)
            problems = known.get(id(tags))
            if problems is None:
                problems = known[id(tags)] = column_problems(ctx, tags)
            if problems:
                what = "source column" if node.resource_type == "source" else "column"
                out.append(
                    Violation(
                        RULE,
                        name,
                        c,
                        f"{what} " + "; ".join(problems) + " (PRIVACY.md, 'Tagging a column')",
                        node_id=uid,
                    )
                )
    return out
