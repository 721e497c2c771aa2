"""The ``columnLineage`` dataset facet: from the project graph's edges, or column for column
from the loaded files.

Column-level edges go to ``fields``, dataset-level ones (JOIN, FILTER, GROUP_BY, SORT) to
``dataset``; each input field is named after the dataset it lives in.

>>> from catalog.openlineage.naming import DatasetId
>>> f = identity_lineage([DatasetId("file", "/landing/c.csv")], ["id"], filtered=True)
>>> t = f.fields["id"].inputFields[0].transformations[0]
>>> (t.type, t.subtype), [(i.field, i.transformations[0].subtype) for i in f.dataset]
(('DIRECT', 'IDENTITY'), [('id', 'FILTER')])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from openlineage.client.facet_v2 import column_lineage_dataset as cl

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, ProjectGraph, Subtype
from catalog.openlineage.naming import PRODUCER_FIELD, DatasetId

__all__ = ["graph_column_lineage", "identity_lineage"]

_DIRECT_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}


def _compose(outer_type: EdgeType, outer_sub: Subtype, outer_mask: bool, inner: Edge):
    """The edge from ``inner.source`` through a relation-less node: DIRECT only when both
    steps are DIRECT (the stronger subtype wins); else INDIRECT with the indirect step's
    subtype (as the project graph derives snapshot columns)."""
    if outer_type is EdgeType.DIRECT and inner.type is EdgeType.DIRECT:
        sub = max(outer_sub, inner.subtype, key=lambda s: _DIRECT_RANK[s])
        return EdgeType.DIRECT, sub, outer_mask or inner.masking
    if inner.type is EdgeType.DIRECT:
        return EdgeType.INDIRECT, outer_sub, False
    return EdgeType.INDIRECT, inner.subtype, False


def _materialised(
    graph: ProjectGraph,
    source: ColumnRef,
    kind: tuple[EdgeType, Subtype, bool],
    dataset_of: Callable[[str], DatasetId | None],
    seen: frozenset[ColumnRef] = frozenset(),
) -> Iterator[tuple[DatasetId, str, tuple[EdgeType, Subtype, bool]]]:
    """The dataset columns behind ``source``: itself when it lives in a dataset, else (an
    ephemeral model, inlined by dbt) the columns it is computed from, edges composed."""
    ds = dataset_of(source.node)
    if ds is not None:
        yield ds, source.column, kind
        return
    if source.node not in graph.nodes or source in seen:
        return
    for inner in graph.inputs(source):
        composed = _compose(*kind, inner)
        yield from _materialised(graph, inner.source, composed, dataset_of, seen | {source})


def graph_column_lineage(
    graph: ProjectGraph, node_id: str, dataset_of: Callable[[str], DatasetId | None]
) -> cl.ColumnLineageDatasetFacet:
    """``columnLineage`` of one node from the graph's edges into it: the same edges the policy
    evaluates. Column-level edges go to ``fields``, dataset-level ones (JOIN, FILTER, GROUP_BY,
    SORT) to ``dataset``; each input field is named after the dataset it lives in."""
    node = graph.nodes[node_id]
    fields: dict[str, dict[tuple[str, str, str], list[cl.Transformation]]] = {
        c: {} for c in node.columns
    }
    dataset: dict[tuple[str, str, str], list[cl.Transformation]] = {}
    for edge in graph.edges:
        if edge.target_node != node_id:
            continue
        target = (
            dataset if edge.target_column is None else fields.setdefault(edge.target_column, {})
        )
        outer = (edge.type, edge.subtype, edge.masking)
        for ds, column, (type_, sub, masking) in _materialised(
            graph, edge.source, outer, dataset_of
        ):
            transformation = cl.Transformation(
                type=str(type_), subtype=str(sub), masking=bool(masking)
            )
            found = target.setdefault((ds.namespace, ds.name, column), [])
            if transformation not in found:
                found.append(transformation)

    def inputs(deps: Mapping[tuple[str, str, str], list[cl.Transformation]]):
        return [
            cl.InputField(namespace=ns, name=name, field=field, transformations=ts)
            for (ns, name, field), ts in deps.items()
        ]

    return cl.ColumnLineageDatasetFacet(
        fields={c: cl.Fields(inputFields=inputs(deps)) for c, deps in fields.items()},
        dataset=inputs(dataset),
        **PRODUCER_FIELD,
    )


def identity_lineage(
    inputs: Sequence[DatasetId],
    columns: Sequence[str],
    *,
    filtered: bool,
    added: Sequence[str] = (),
) -> cl.ColumnLineageDatasetFacet:
    """Each column copied from the same-named field of every input (files loaded as they are);
    ``filtered``: every input field also decides which rows are kept (validation); ``added``:
    columns the load adds (file name, line), from no input field."""

    def fields_of(column: str, type_: str, subtype: str) -> list[cl.InputField]:
        return [
            cl.InputField(
                namespace=ds.namespace,
                name=ds.name,
                field=column,
                transformations=[cl.Transformation(type=type_, subtype=subtype, masking=False)],
            )
            for ds in inputs
        ]

    return cl.ColumnLineageDatasetFacet(
        fields={
            **{c: cl.Fields(inputFields=fields_of(c, "DIRECT", "IDENTITY")) for c in columns},
            **{c: cl.Fields(inputFields=[]) for c in added},
        },
        dataset=[f for c in columns for f in fields_of(c, "INDIRECT", "FILTER")]
        if filtered
        else [],
        **PRODUCER_FIELD,
    )
