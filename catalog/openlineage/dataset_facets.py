"""The standard dataset facets every output carries: ``schema``, ``dataSource``,
``ownership``, ``documentation``, ``dataQualityAssertions`` and ``outputStatistics``.

Apart from :func:`schema_facet`, each returns ``{facet name: facet}`` to spread into a facets
mapping, empty when there is nothing to say.

>>> [(f.name, f.type, f.ordinal_position) for f in schema_facet([("id", "int", None)]).fields]
[('id', 'int', 1)]
>>> ownership_facet(None), list(statistics_facet(12))
({}, ['outputStatistics'])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset,
    datasource_dataset,
    documentation_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    schema_dataset,
)

from catalog.openlineage.naming import PRODUCER_FIELD, DatasetId

__all__ = [
    "Assertion",
    "assertions_facet",
    "datasource_facet",
    "documentation_facet",
    "ownership_facet",
    "schema_facet",
    "statistics_facet",
]

Assertion = data_quality_assertions_dataset.Assertion


def schema_facet(
    columns: Iterable[tuple[str, str | None, str | None]],
) -> schema_dataset.SchemaDatasetFacet:
    """``schema`` from (name, type, description) triples, in column order."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(
                name=name, type=type_ or None, description=description or None, ordinal_position=i
            )
            for i, (name, type_, description) in enumerate(columns, start=1)
        ],
        **PRODUCER_FIELD,
    )


def ownership_facet(company: str | None) -> dict[str, ownership_dataset.OwnershipDatasetFacet]:
    """``ownership``: the group company that owns the dataset."""
    if not company:
        return {}
    return {
        "ownership": ownership_dataset.OwnershipDatasetFacet(
            owners=[ownership_dataset.Owner(name=f"company:{company}", type="COMPANY")],
            **PRODUCER_FIELD,
        )
    }


def documentation_facet(
    text: str | None,
) -> dict[str, documentation_dataset.DocumentationDatasetFacet]:
    """``documentation``: the dataset's description (Markdown)."""
    text = (text or "").strip()
    if not text:
        return {}
    return {
        "documentation": documentation_dataset.DocumentationDatasetFacet(
            description=text, contentType="text/markdown", **PRODUCER_FIELD
        )
    }


def assertions_facet(assertions: Sequence[Assertion]) -> dict[str, Any]:
    """``dataQualityAssertions``: the checks run on the dataset."""
    if not assertions:
        return {}
    return {
        "dataQualityAssertions": data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=list(assertions), **PRODUCER_FIELD
        )
    }


def datasource_facet(ds: DatasetId) -> dict[str, datasource_dataset.DatasourceDatasetFacet]:
    """``dataSource``: the dataset's namespace as name and URI."""
    return {
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=ds.namespace, uri=ds.namespace, **PRODUCER_FIELD
        )
    }


def statistics_facet(rows: int | None) -> dict[str, Any]:
    """``outputStatistics`` (an output facet): the rows written, when known."""
    if rows is None or rows < 0:
        return {}
    return {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=int(rows), **PRODUCER_FIELD
        )
    }
