"""Resolve the privacy tags of every column from dbt's meta (or a Python asset's metadata).

Tags live under the key ``privacy`` of a node's ``config.meta`` (dbt 1.11 also mirrors it in
``meta``; both are read, ``config.meta`` wins) and of each column's ``config.meta`` / ``meta``.
A node (model, seed, snapshot, source table; for sources also the source block's
``source_meta``) may set ``purposes``, ``legal_basis``, ``art9_ground`` (the GDPR Art. 9(2)
ground of special-category data) and ``retention`` once; its columns inherit what they do not
set themselves. ``category`` is always per column.

>>> props = {
...     "unique_id": "model.fjordbank.scores",
...     "config": {"meta": {"privacy": {"purposes": ["marketing.advertising.profiling"],
...                                     "legal_basis": "legitimate_interests"}}},
...     "columns": {"score": {"config": {"meta": {"privacy": {
...         "category": "user.demographic.profile", "retention": "P1D"}}}}},
... }
>>> t = resolve_column_tags(props)["score"]
>>> t.category, t.purposes, t.legal_basis, t.retention
('user.demographic.profile', ('marketing.advertising.profiling',), ('legitimate_interests',), 'P1D')
>>> sorted(t.inherited)
['legal_basis', 'purposes']
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from catalog.lineage.graph import ColumnRef

PRIVACY_KEY = "privacy"
INHERITABLE = ("purposes", "legal_basis", "art9_ground", "retention")
COLUMN_KEYS = frozenset({"category", *INHERITABLE})
# Node-level keys the policy reads; other node-level keys are kept in ``NodeTags.extra``.
NODE_KEYS = frozenset({*INHERITABLE, "consent_gate"})


@dataclass(frozen=True)
class ColumnTags:
    """The resolved privacy tags of one column."""

    categories: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    legal_basis: tuple[str, ...] = ()
    art9_ground: tuple[str, ...] = ()
    retention: str | None = None
    inherited: frozenset[str] = frozenset()
    problems: tuple[str, ...] = ()

    @property
    def category(self) -> str | None:
        """The category (several are joined with ``, ``); None when untagged."""
        return ", ".join(self.categories) or None

    def as_dagster_tags(self) -> dict[str, str]:
        """Column tags for Dagster's ``TableColumn`` (only the fields that are set)."""
        out = {
            "privacy/category": self.category or "",
            "privacy/purposes": ", ".join(self.purposes),
            "privacy/legal_basis": ", ".join((*self.legal_basis, *self.art9_ground)),
            "privacy/retention": self.retention or "",
        }
        return {k: v for k, v in out.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "purposes": list(self.purposes),
            "legal_basis": list(self.legal_basis),
            "art9_ground": list(self.art9_ground),
            "retention": self.retention,
            "inherited": sorted(self.inherited),
        }


@dataclass(frozen=True)
class NodeTags:
    """A node's own privacy meta and its columns' resolved tags (column names lower case)."""

    unique_id: str
    purposes: tuple[str, ...] = ()
    legal_basis: tuple[str, ...] = ()
    art9_ground: tuple[str, ...] = ()
    retention: str | None = None
    consent_gate: tuple[str, ...] = ()
    columns: Mapping[str, ColumnTags] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def all_purposes(self) -> frozenset[str]:
        """The node's purposes and every purpose any of its columns declares."""
        out = set(self.purposes)
        for c in self.columns.values():
            out.update(c.purposes)
        return frozenset(out)


class ProjectTags(Mapping[str, NodeTags]):
    """Resolved tags of every node by unique_id."""

    def __init__(self, nodes: Iterable[NodeTags]):
        self._nodes = {n.unique_id: n for n in nodes}

    def __getitem__(self, key: str) -> NodeTags:
        return self._nodes[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def column(self, ref: ColumnRef) -> ColumnTags | None:
        node = self._nodes.get(ref.node)
        return None if node is None else node.columns.get(ref.column)

    def purposes(self, node_id: str) -> frozenset[str]:
        node = self._nodes.get(node_id)
        return frozenset() if node is None else node.all_purposes


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while resolving or evaluating.

    Both allocate many short-lived tuples and sets, nearly all freed by reference counting,
    while the manifest and the lineage graph (and, after an in-process ``dbt compile``, dbt's
    own state) hold hundreds of thousands of objects: with the collector on, its passes over
    them cost more than the work itself on a 1,000-model project. The previous state is
    restored afterwards; the next collection frees the few cycles left.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- reading meta ---------------------------------------------------------------------------


def _privacy_of(
    d: Mapping[str, Any] | None, *, with_source_meta: bool = False
) -> Mapping[str, Any]:
    """The merged ``privacy`` mapping of a node or column dict (read-only): ``source_meta``
    (sources), ``meta``, then ``config.meta`` (wins), then a top-level ``privacy`` (Python
    assets)."""
    if not d:
        return {}
    layers = [
        (d.get("source_meta") or {}).get(PRIVACY_KEY) if with_source_meta else None,
        (d.get("meta") or {}).get(PRIVACY_KEY),
        ((d.get("config") or {}).get("meta") or {}).get(PRIVACY_KEY),
        d.get(PRIVACY_KEY),
    ]
    present = [layer for layer in layers if layer is not None]
    if len(present) == 1 and isinstance(present[0], Mapping):
        return present[0]  # the common case: one declaration, nothing to merge
    merged: dict[str, Any] = {}
    for layer in present:
        if not isinstance(layer, Mapping):
            merged["__invalid__"] = layer
            continue
        merged.update(layer)
    return merged


def _strings(value: Any, what: str, problems: list[str]) -> tuple[str, ...]:
    """A string or a list of strings, normalised; anything else is recorded as a problem."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.strip()
        return (value,) if value else ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        problems.append(f"{what} must be a string or a list of strings, got {value!r}")
        return ()
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))


def _retention(value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"retention must be an ISO 8601 duration string, got {value!r}")
        return None
    return value.strip()


def _node_level(privacy: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    if "__invalid__" in privacy:
        problems.append(f"privacy meta must be a mapping, got {privacy['__invalid__']!r}")
    if "category" in privacy:
        problems.append("category is per column; it cannot be set on the model or table")
    out = {
        "purposes": _strings(privacy.get("purposes"), "purposes", problems),
        "legal_basis": _strings(privacy.get("legal_basis"), "legal_basis", problems),
        "art9_ground": _strings(privacy.get("art9_ground"), "art9_ground", problems),
        "retention": _retention(privacy.get("retention"), problems),
        "consent_gate": _strings(privacy.get("consent_gate"), "consent_gate", problems),
    }
    return out, problems


def _column_tags(privacy: Mapping[str, Any], node: Mapping[str, Any]) -> ColumnTags:
    problems: list[str] = []
    if "__invalid__" in privacy:
        problems.append(f"privacy meta must be a mapping, got {privacy['__invalid__']!r}")
    unknown = sorted(k for k in privacy if k not in COLUMN_KEYS and k != "__invalid__")
    if unknown:
        allowed = ", ".join(sorted(COLUMN_KEYS))
        problems.append(f"unknown privacy key(s) {', '.join(unknown)} (allowed: {allowed})")
    own = {
        "purposes": _strings(privacy.get("purposes"), "purposes", problems),
        "legal_basis": _strings(privacy.get("legal_basis"), "legal_basis", problems),
        "art9_ground": _strings(privacy.get("art9_ground"), "art9_ground", problems),
        "retention": _retention(privacy.get("retention"), problems),
    }
    inherited = set()
    for key in INHERITABLE:
        if not own[key] and node[key]:
            own[key] = node[key]
            inherited.add(key)
    return ColumnTags(
        categories=_strings(privacy.get("category"), "category", problems),
        purposes=own["purposes"],
        legal_basis=own["legal_basis"],
        art9_ground=own["art9_ground"],
        retention=own["retention"],
        inherited=frozenset(inherited),
        problems=tuple(problems),
    )


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a YAML value (for the resolution cache)."""
    if type(value) is dict and all(type(v) is str for v in value.values()):
        return tuple(value.items())  # the common case: {"category": "..."}
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, Mapping):
        return tuple((k, _frozen(v)) for k, v in value.items())
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


_Cache = dict[tuple[Any, Any], ColumnTags]


def resolve_node_tags(props: Mapping[str, Any], cache: _Cache | None = None) -> NodeTags:
    """Resolve one node: a dbt manifest node or source dict, or a Python asset described the
    same way (``unique_id``, ``meta`` or ``privacy``, ``columns: {name: {meta | privacy}}``).
    ``cache`` shares resolved tags between identical declarations (most columns are alike)."""
    privacy = _privacy_of(props, with_source_meta=props.get("resource_type") == "source")
    node, problems = _node_level(privacy)
    node_key = tuple(node.values())
    cache = {} if cache is None else cache
    columns: dict[str, ColumnTags] = {}
    for name, col in (props.get("columns") or {}).items():
        col_name = str((col or {}).get("name") or name).lower()
        col_privacy = _privacy_of(col or {})
        key = (_frozen(col_privacy), node_key)
        tags = cache.get(key)
        if tags is None:
            tags = cache[key] = _column_tags(col_privacy, node)
        columns[col_name] = tags
    extra = {k: v for k, v in privacy.items() if k not in NODE_KEYS and k != "__invalid__"}
    return NodeTags(
        unique_id=str(props.get("unique_id") or ""),
        purposes=node["purposes"],
        legal_basis=node["legal_basis"],
        art9_ground=node["art9_ground"],
        retention=node["retention"],
        consent_gate=node["consent_gate"],
        columns=MappingProxyType(columns),
        problems=tuple(problems),
        extra=MappingProxyType(extra),
    )


def resolve_column_tags(props: Mapping[str, Any]) -> dict[str, ColumnTags]:
    """Every declared column's resolved tags, by lower-case column name."""
    return dict(resolve_node_tags(props).columns)


def resolve_tags(nodes: Iterable[Mapping[str, Any]]) -> ProjectTags:
    """Resolve every node (dbt manifest nodes and sources, Python assets) of a project."""
    cache: _Cache = {}
    with gc_paused():
        return ProjectTags(resolve_node_tags(p, cache) for p in nodes)


# dbt's snapshot bookkeeping columns (renamable with snapshot_meta_column_names): technical.
SNAPSHOT_META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to",
                         "dbt_is_deleted")  # fmt: skip
SNAPSHOT_META_TAGS = {"privacy": {"category": "system.operations"}}


def _manifest_columns(node: Any) -> dict[str, Mapping[str, Any]]:
    columns: dict[str, Mapping[str, Any]] = {
        c.name: {"name": c.name, "meta": c.meta} for c in node.columns
    }
    if node.resource_type == "snapshot":
        renamed = (node.config or {}).get("snapshot_meta_column_names") or {}
        declared = {name.lower() for name in columns}
        for default in SNAPSHOT_META_COLUMNS:
            name = str(renamed.get(default) or default)
            if name.lower() not in declared:
                columns[name] = {"name": name, "meta": SNAPSHOT_META_TAGS}
    return columns


def project_tags(manifest: Any, graph: Any = None) -> ProjectTags:
    """Tags of every node of a ``catalog.manifest.Manifest``, plus the graph's nodes the
    manifest does not know (Python assets), read from their ``Node.meta`` laid out like a dbt
    node: ``{"privacy": {...node level...}, "columns": {name: {"privacy": {...}}}}``.

    A snapshot's bookkeeping columns (``dbt_valid_from`` ...) that its YAML does not declare
    are technical: ``system.operations``, with the snapshot's purposes and legal basis."""
    with gc_paused():
        props: list[Mapping[str, Any]] = [
            {
                "unique_id": n.unique_id,
                "resource_type": n.resource_type,
                "meta": n.meta,
                "columns": _manifest_columns(n),
            }
            for n in manifest
        ]
        known = {p["unique_id"] for p in props}
        if graph is not None:
            for node in graph.nodes.values():
                if node.unique_id not in known:
                    props.append(
                        {
                            "unique_id": node.unique_id,
                            "resource_type": node.resource_type,
                            **dict(node.meta or {}),
                        }
                    )
        return resolve_tags(props)
