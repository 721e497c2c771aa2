"""The engine's lineage as OpenLineage's column-lineage dataset facet (spec 1-2-0).

>>> schema = {"raw": {"customers": {"id": "int", "email": "text", "active": "boolean"}}}
>>> f = column_lineage_facet(
...     "select id, md5(email) as email_hash from raw.customers where active", schema=schema)
>>> t = f.fields["email_hash"].inputFields[0].transformations[0]
>>> (t.type, t.subtype, t.masking)
('DIRECT', 'TRANSFORMATION', True)
>>> [(i.field, i.transformations[0].subtype) for i in f.dataset]
[('active', 'FILTER')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openlineage.client.facet_v2 import column_lineage_dataset as cl

from catalog.lineage.query import Dependency, QueryLineage, Tables, query_lineage

__all__ = ["column_lineage_facet", "to_facet"]

_DESCRIPTIONS = {
    "IDENTITY": "copied unchanged",
    "TRANSFORMATION": "computed from the input",
    "AGGREGATION": "aggregated from the input",
    "JOIN": "join condition",
    "FILTER": "filter condition (WHERE, HAVING, QUALIFY, IN / EXISTS subquery)",
    "GROUP_BY": "grouping key (GROUP BY, DISTINCT)",
    "SORT": "sort key",
    "WINDOW": "window partition or order",
    "CONDITIONAL": "condition of a CASE / IF",
}


def _input_fields(deps: Iterable[Dependency], namespace: str) -> list[cl.InputField]:
    grouped: dict[tuple[str, str], list[cl.Transformation]] = {}
    for d in deps:
        grouped.setdefault((d.table, d.column), []).append(
            cl.Transformation(
                type=str(d.type),
                subtype=str(d.subtype),
                description=_DESCRIPTIONS[str(d.subtype)],
                masking=d.masking,
            )
        )
    return [
        cl.InputField(namespace=namespace, name=table, field=column, transformations=ts)
        for (table, column), ts in grouped.items()
    ]


def to_facet(lineage: QueryLineage, *, namespace: str = "duckdb") -> cl.ColumnLineageDatasetFacet:
    """The facet of a ``QueryLineage``: per-field inputs and the dataset-level ``dataset``."""
    return cl.ColumnLineageDatasetFacet(
        fields={
            name: cl.Fields(inputFields=_input_fields(lineage.fields[name], namespace))
            for name in lineage.columns
        },
        dataset=_input_fields(lineage.dataset, namespace),
    )


def column_lineage_facet(
    sql: str,
    *,
    schema: Mapping[str, Any] | Tables,
    dialect: str = "duckdb",
    namespace: str = "duckdb",
) -> cl.ColumnLineageDatasetFacet:
    """``ColumnLineageDatasetFacet`` of one query; input fields name tables as in ``schema``."""
    return to_facet(query_lineage(sql, schema=schema, dialect=dialect), namespace=namespace)
