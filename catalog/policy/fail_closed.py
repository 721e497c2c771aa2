"""Guarantee 6: what the lineage cannot see is a violation, never a silent pass.

SQL that does not parse and a ``*`` that cannot be expanded stop the lineage engine itself
(``LineageError``): ``catalog check`` then exits 2 without judging anything. What reaches the
policy and still cannot be judged is reported here:
- a model or snapshot without compiled SQL (a dbt Python model, a failed compile);
- a model, snapshot or Python asset that depends on other nodes but has no column lineage into
  it at all (a Python asset must declare its column lineage);
- an edge from a column the graph does not know (the lineage points outside the project).
"""

from __future__ import annotations

from catalog.policy.context import Context
from catalog.policy.result import Violation

RULE = "fail_closed"


def check(ctx: Context) -> list[Violation]:
    out: list[Violation] = []
    for uid in ctx.order:
        node = ctx.graph.nodes[uid]
        name = ctx.name(uid)
        if node.resource_type in ("model", "snapshot") and not (node.sql or "").strip():
            out.append(
                Violation(
                    RULE,
                    name,
                    None,
                    f"{node.resource_type} has no compiled SQL, so its lineage cannot be derived; "
                    "write it in SQL or declare it as a Python asset with column lineage",
                    node_id=uid,
                )
            )
            continue
        lineage_missing = node.depends_on and not ctx.all_in.get(uid)
        if node.resource_type in ("model", "snapshot", "asset") and lineage_missing:
            what = (
                "Python asset declares no column lineage"
                if node.resource_type == "asset"
                else "no column lineage was derived from its SQL"
            )
            out.append(
                Violation(
                    RULE,
                    name,
                    None,
                    f"depends on {', '.join(sorted(ctx.name(d) for d in node.depends_on))} "
                    f"but {what}; declare the lineage of every column",
                    node_id=uid,
                )
            )
        unknown = {}
        for ei in ctx.unknown_in.get(uid, ()):
            e = ctx.edges[ei]
            unknown.setdefault(e.source, e.target_column)
        for source, column in sorted(unknown.items()):
            out.append(
                Violation(
                    RULE,
                    name,
                    column,
                    f"lineage comes from {source}, which is not a known column of the project; "
                    "declare the source column or fix the reference",
                    node_id=uid,
                )
            )
    return out
