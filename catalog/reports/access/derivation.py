"""How a computed identifier is computed: the SQL expression of a model column, read from the
model's compiled SQL with ``sqlglot.lineage``.

This is a second reader of the compiled SQL next to the project's lineage engine
(:mod:`catalog.lineage`), on purpose. The engine answers *which* columns feed a column and how
(DIRECT / INDIRECT edges with their subtype, masking and keyed-hash flags); it keeps no
expressions. The access report needs the computation itself, to evaluate it for one person:
``person_id`` is ``fjordbank_hmac_sha256(cast(national_id as <text>))`` and the
model-development pseudonym the same keyed hash of ``'model_development:' || person_id``. The
edges say "a keyed hash of ``person_id``", not the constant prefix, the casts or the argument
order, so no walk of the graph can reproduce the value.
``sqlglot.lineage`` follows an output column through CTEs and renames back to the expression
that computes it, which is exactly that question.
"""

from __future__ import annotations

from typing import Any

from catalog.lineage import ColumnRef
from catalog.loader import Catalog


def _schema_for(catalog: Catalog, uid: str) -> dict[str, Any]:
    """The sqlglot schema of a model's parents (columns from the lineage graph)."""
    schema: dict[str, Any] = {}
    for dep in catalog.manifest.nodes[uid].depends_on:
        parent = catalog.manifest.nodes.get(dep)
        if parent is None or dep not in catalog.graph.nodes:
            continue
        db = parent.database or ""
        tables = schema.setdefault(db, {}).setdefault(parent.schema or "", {})
        tables[parent.identifier or parent.name] = dict.fromkeys(
            catalog.graph.nodes[dep].columns, "text"
        )
    return schema


def derivation(catalog: Catalog, ref: ColumnRef) -> Any | None:
    """The SQL expression (sqlglot) that computes a model column from its inputs, following
    the compiled SQL through CTEs and plain renames; None when it cannot be found."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    node = catalog.manifest.nodes.get(ref.node)
    if node is None or not node.compiled_code:
        return None
    try:
        root = lineage(
            ref.column,
            node.compiled_code,
            schema=_schema_for(catalog, ref.node),
            dialect=catalog.manifest.adapter_type or "duckdb",
        )
    except (SqlglotError, ValueError, KeyError):
        return None
    cur = root
    while True:
        expression = cur.expression
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(inner, exp.Column) and len(cur.downstream) == 1:
            cur = cur.downstream[0]
            continue
        return None if isinstance(inner, exp.Column | exp.Table) else inner
