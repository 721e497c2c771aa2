"""The profiling done about the person (GDPR Art. 15(1)(h)): per table holding scores about
them, the scores with their context, what the scoring is, and the features it used (found
over the lineage graph)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.lineage import ColumnRef, EdgeType, Subtype
from catalog.loader import Catalog
from catalog.reports.access.domains import Domains
from catalog.reports.access.search import TableData
from catalog.reports.access.values import json_value
from catalog.taxonomy import covered_by_any


def profiling(
    catalog: Catalog, tables: Mapping[str, TableData], domains: Domains
) -> list[dict[str, Any]]:
    """Per table holding profiling results about the person: the scores with their context
    (scenario, date), what the scoring is, and the features it used."""
    out = []
    profile = catalog.controller.profile_categories
    for uid, data in tables.items():
        refs = [ColumnRef(uid, c.lower()) for c in data.columns]
        scores = [
            i
            for i, r in enumerate(refs)
            if any(covered_by_any(k, profile) for k in catalog.column_tags(r).categories)
        ]
        if not scores:
            continue
        context = [
            j
            for j, r in enumerate(refs)
            if j not in scores and r not in domains.of and not catalog.is_personal(r)
        ]
        shown = [*scores, *context]
        decl = catalog.manifest.nodes.get(uid)
        score_tags = catalog.column_tags(refs[scores[0]])
        out.append(
            {
                "table": data.relation,
                "logic": (decl.description if decl else "") or catalog.graph.nodes[uid].label,
                "scores": [
                    {
                        "column": data.columns[i],
                        "what": (
                            (
                                col.description
                                if (col := decl and decl.column(data.columns[i]))
                                else ""
                            )
                            or data.columns[i]
                        ),
                    }
                    for i in scores
                ],
                "purposes": list(score_tags.purposes),
                "retention": score_tags.retention,
                "results": [
                    {data.columns[j]: json_value(row[j]) for j in shown} for row in data.rows
                ],
                "features": _features(catalog, [refs[i] for i in scores], profile, tables, domains),
            }
        )
    return out


# Column-level edges a score is computed over: its inputs' values, CASE conditions, and the
# ordering of a ranking window.
_FEATURE_EDGES = (Subtype.CONDITIONAL, Subtype.WINDOW)


def _features(
    catalog: Catalog,
    starts: Sequence[ColumnRef],
    profile: Sequence[str],
    tables: Mapping[str, TableData],
    domains: Domains,
) -> list[dict[str, Any]]:
    """The personal columns profile columns are computed from, passing through other profile
    columns; identifiers and configuration (non-personal) are not features. With the person's
    value where their one row of the feature table is held."""
    seen: set[ColumnRef] = set(starts)
    stack = list(starts)
    found: dict[ColumnRef, None] = {}
    while stack:
        cur = stack.pop()
        for e in catalog.graph.inputs(cur):
            if e.dataset_level or not (e.type is EdgeType.DIRECT or e.subtype in _FEATURE_EDGES):
                continue
            src = e.source
            if src in seen:
                continue
            seen.add(src)
            if any(covered_by_any(k, profile) for k in catalog.column_tags(src).categories):
                stack.append(src)
            elif catalog.is_personal(src) and src not in domains.of:
                found[src] = None
    out = []
    for src in sorted(found, key=catalog.column_name):
        entry: dict[str, Any] = {
            "column": catalog.column_name(src),
            "category": catalog.column_tags(src).category,
        }
        data = tables.get(src.node)
        if data is not None:
            cols = [c.lower() for c in data.columns]
            if src.column in cols and len(data.rows) == 1:
                entry["value"] = json_value(data.rows[0][cols.index(src.column)])
        out.append(entry)
    return out
