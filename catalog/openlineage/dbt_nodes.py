"""What a node of dbt's ``manifest.json`` tells the events: the resource types that write a
relation, a node's columns, its upstream datasets and its owner.

>>> manifest_owner({"config": {"meta": {"owner": "bank"}}})
'bank'
>>> node_columns({"unique_id": "model.p.m", "columns": {"id": {"data_type": "int"}}}, None)
[('id', 'int', None)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.lineage.graph import ProjectGraph
from catalog.openlineage.naming import DatasetId, Datasets

__all__ = ["DBT_RESOURCES", "manifest_owner", "node_columns", "upstream_datasets"]

# The resource types whose nodes write a relation (and get events).
DBT_RESOURCES = ("model", "seed", "snapshot")


def node_columns(
    props: Mapping[str, Any], graph: ProjectGraph | None
) -> list[tuple[str, str | None, str | None]]:
    """The node's columns (the graph's, inferred from the SQL) with the YAML's types and
    descriptions."""
    declared = {str(c.get("name", k)).lower(): c for k, c in (props.get("columns") or {}).items()}
    node = graph.nodes.get(props["unique_id"]) if graph is not None else None
    names = list(node.columns) if node is not None and node.columns else list(declared)
    return [
        (
            name,
            (declared.get(name.lower()) or {}).get("data_type"),
            (declared.get(name.lower()) or {}).get("description"),
        )
        for name in names
    ]


def upstream_datasets(
    props: Mapping[str, Any],
    nodes: Mapping[str, Mapping[str, Any]],
    datasets: Datasets,
) -> dict[DatasetId, str]:
    """Upstream datasets (with the node each one is); an ephemeral parent is replaced by its
    own parents."""
    out: dict[DatasetId, str] = {}
    stack = list(reversed((props.get("depends_on") or {}).get("nodes") or []))
    seen: set[str] = set()
    while stack:
        uid = stack.pop()
        if uid in seen or uid.split(".")[0] not in (*DBT_RESOURCES, "source"):
            continue
        seen.add(uid)
        ds = datasets(uid)
        if ds is not None:
            out.setdefault(ds, uid)
        elif uid in nodes:
            stack.extend(reversed((nodes[uid].get("depends_on") or {}).get("nodes") or []))
    return out


def manifest_owner(props: Mapping[str, Any]) -> str | None:
    """The ``owner`` in a node's ``meta`` (``config.meta`` wins), when it is a string."""
    meta = {**(props.get("meta") or {}), **((props.get("config") or {}).get("meta") or {})}
    owner = meta.get("owner")
    return owner if isinstance(owner, str) else None
