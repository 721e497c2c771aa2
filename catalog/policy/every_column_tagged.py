"""Guarantee 1: every column of every node carries a known category, purposes and legal basis.

A column the SQL produces but the YAML does not declare is untagged. Keys must exist in the
taxonomy; the legal basis must name a GDPR Art. 6(1) basis, and special-category data also an
Art. 9(2) ground (``art9_ground`` or in ``legal_basis``); a retention must be an ISO 8601
duration; ``consent_gate`` must name a gate of the policy configuration.
"""

from __future__ import annotations

import re

from catalog.policy.context import Context
from catalog.policy.result import Violation
from catalog.tags import ColumnTags
from catalog.taxonomy import LegalBasis, SpecialCategoryGround, Taxonomy

RULE = "every_column_tagged"

_ISO_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:\.\d+)?S)?)?$"
)
_ART6 = frozenset(b.value for b in LegalBasis)
_ART9 = frozenset(g.value for g in SpecialCategoryGround)


def column_problems(ctx: Context, t: ColumnTags | None) -> list[str]:
    """What is missing or wrong in one column's resolved tags (empty: fine)."""
    return _Judge(ctx.taxonomy)(t)


class _Judge:
    """``column_problems`` for the columns of a project: each part of the tags (categories,
    purposes, legal bases) is judged once per distinct value, as most columns share them."""

    def __init__(self, taxonomy: Taxonomy):
        self.tax = taxonomy
        self._categories: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
        self._purposes: dict[tuple[str, ...], list[str]] = {}
        self._bases: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}

    def __call__(self, t: ColumnTags | None) -> list[str]:
        if t is None:
            return ["is not declared in the YAML with privacy tags; add it with privacy.category"]
        bases = (*t.legal_basis, *t.art9_ground)
        categories, special = self.categories(t.categories)
        out = [
            *t.problems,
            *categories,
            *self.purposes(t.purposes),
            *self.legal_bases(t.legal_basis, bases),
        ]
        if special and not any(b in _ART9 for b in bases):
            out.append(
                f"special-category data ({', '.join(special)}) needs an Art. 9(2) ground "
                "(privacy.art9_ground)"
            )
        if t.retention is not None and not _ISO_DURATION.match(t.retention):
            out.append(f"retention {t.retention!r} is not an ISO 8601 duration (e.g. P10Y, P1D)")
        return out

    def categories(self, categories: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """Problems of the categories, and the special categories among them."""
        if categories not in self._categories:
            tax, out = self.tax, []
            if not categories:
                out.append("has no privacy category")
            unknown = [c for c in categories if not tax.is_category(c)]
            if unknown:
                out.append(f"unknown category {', '.join(unknown)}")
            special = [c for c in categories if tax.is_category(c) and tax.is_special(c)]
            self._categories[categories] = (out, special)
        return self._categories[categories]

    def purposes(self, purposes: tuple[str, ...]) -> list[str]:
        if purposes not in self._purposes:
            out = []
            if not purposes:
                out.append("has no purposes (set privacy.purposes on the column or its model)")
            unknown = [p for p in purposes if not self.tax.is_use(p)]
            if unknown:
                out.append(f"unknown purpose {', '.join(unknown)}")
            self._purposes[purposes] = out
        return self._purposes[purposes]

    def legal_bases(self, legal_basis: tuple[str, ...], bases: tuple[str, ...]) -> list[str]:
        """Problems of the legal basis, given it and every basis and ground named."""
        if (legal_basis, bases) not in self._bases:
            out = []
            if not legal_basis:
                out.append(
                    "has no legal basis (set privacy.legal_basis on the column or its model)"
                )
            unknown = [b for b in bases if b not in _ART6 and b not in _ART9]
            if unknown:
                out.append(
                    f"unknown legal basis {', '.join(unknown)} "
                    f"(Art. 6(1): {', '.join(sorted(_ART6))})"
                )
            if legal_basis and not any(b in _ART6 for b in legal_basis):
                out.append("legal basis names no GDPR Art. 6(1) basis")
            self._bases[(legal_basis, bases)] = out
        return self._bases[(legal_basis, bases)]


def check(ctx: Context) -> list[Violation]:
    out: list[Violation] = []
    gates = ctx.config.consent_gates
    judge = _Judge(ctx.taxonomy)
    known: dict[int, list[str]] = {}  # by id: most columns share one resolved ColumnTags
    col_tags, col_name = ctx.col_tags, ctx.col_name
    for uid in ctx.order:
        node = ctx.graph.nodes[uid]
        nt = ctx.tags.get(uid)
        if nt is not None:
            problems = list(nt.problems)
            problems += [
                f"consent_gate {g!r} is not a gate of the policy ({', '.join(sorted(gates))})"
                for g in nt.consent_gate
                if g not in gates
            ]
            if problems:
                out.append(Violation(RULE, ctx.name(uid), None, "; ".join(problems), node_id=uid))
        for i in ctx.node_cols[uid]:
            tags = col_tags[i]
            problems = known.get(id(tags))
            if problems is None:
                problems = known[id(tags)] = judge(tags)
            if problems:
                what = "source column" if node.resource_type == "source" else "column"
                out.append(
                    Violation(
                        RULE,
                        ctx.name(uid),
                        col_name[i],
                        f"{what} " + "; ".join(problems) + " (PRIVACY.md, 'Tagging a column')",
                        node_id=uid,
                    )
                )
    return out
