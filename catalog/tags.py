"""Resolve the privacy tags of every column from dbt's meta (or a Python asset's metadata).

Tags live under the key ``privacy`` of a node's ``config.meta`` (dbt 1.11 also mirrors it in
``meta``; both are read, ``config.meta`` wins) and of each column's ``config.meta`` / ``meta``.
A node (model, seed, snapshot, source table; for sources also the source block's
``source_meta``) may set ``purposes``, ``legal_basis``, ``art9_ground`` (the GDPR Art. 9(2)
ground of special-category data) and ``retention`` once; its columns inherit what they do not
set themselves. ``category`` is always per column.

A node's meta may also hold ``column_privacy``: privacy declarations by column name, for those of
its columns that declare none themselves (dbt_project.yml sets it once for every source, for the
ingest's bookkeeping columns ``_source_file``, ``_source_line`` and ``_delivery_date``).

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

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any

from catalog.lineage.graph import ColumnRef
from catalog.memory import gc_paused

PRIVACY_KEY = "privacy"
# Node-level meta key: {column name: privacy declaration} for the columns that declare none.
COLUMN_PRIVACY_KEY = "column_privacy"
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

    def get(self, key: str, default: Any = None) -> Any:  # Mapping.get, without the exception
        return self._nodes.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def column(self, ref: ColumnRef) -> ColumnTags | None:
        node = self._nodes.get(ref.node)  # keyed by lower-case name; the column keeps its case
        return None if node is None else node.columns.get(ref.column.lower())

    def purposes(self, node_id: str) -> frozenset[str]:
        node = self._nodes.get(node_id)
        return frozenset() if node is None else node.all_purposes


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
    return _merged([layer for layer in layers if layer is not None])


_NO_PRIVACY: Mapping[str, Any] = MappingProxyType({})


def _column_defaults(
    d: Mapping[str, Any] | None, *, with_source_meta: bool = False
) -> Mapping[str, Any]:
    """The ``column_privacy`` defaults of a node dict by lower-case column name, merged over
    the same layers as ``_privacy_of`` (later ones win); a value that is not a mapping is
    ignored. Each default is then read like a declaration written on the column."""
    if not d:
        return {}
    layers = [
        (d.get("source_meta") or {}) if with_source_meta else {},
        d.get("meta") or {},
        (d.get("config") or {}).get("meta") or {},
    ]
    out: dict[str, Any] = {}
    for layer in layers:
        defaults = layer.get(COLUMN_PRIVACY_KEY)
        if isinstance(defaults, Mapping):
            out.update({str(k).lower(): v for k, v in defaults.items()})
    return out


def _declared(meta: Mapping[str, Any] | None) -> Any:
    """The ``privacy`` declaration of a meta that is already merged (a manifest node or
    column), as written: a mapping, or None, or anything else (see ``_as_privacy``)."""
    return meta.get(PRIVACY_KEY) if meta else None


def _merged(present: list[Any]) -> Mapping[str, Any]:
    """The declarations ``present`` merged, later ones winning (read-only); one that is not a
    mapping is kept under ``__invalid__``."""
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


def _own_tags(privacy: Mapping[str, Any]) -> ColumnTags:
    """A column's tags as declared on the column itself (nothing inherited yet)."""
    problems: list[str] = []
    if "__invalid__" in privacy:
        problems.append(f"privacy meta must be a mapping, got {privacy['__invalid__']!r}")
    unknown = sorted(k for k in privacy if k not in COLUMN_KEYS and k != "__invalid__")
    if unknown:
        allowed = ", ".join(sorted(COLUMN_KEYS))
        problems.append(f"unknown privacy key(s) {', '.join(unknown)} (allowed: {allowed})")
    purposes = _strings(privacy.get("purposes"), "purposes", problems)
    legal_basis = _strings(privacy.get("legal_basis"), "legal_basis", problems)
    art9_ground = _strings(privacy.get("art9_ground"), "art9_ground", problems)
    retention = _retention(privacy.get("retention"), problems)
    return ColumnTags(
        categories=_strings(privacy.get("category"), "category", problems),
        purposes=purposes,
        legal_basis=legal_basis,
        art9_ground=art9_ground,
        retention=retention,
        problems=tuple(problems),
    )


def _inherit(own: ColumnTags, node: Mapping[str, Any]) -> ColumnTags:
    """``own`` with what the column does not set taken from its node."""
    taken = tuple(k for k in INHERITABLE if not getattr(own, k) and node[k])
    if not taken:
        return own
    return replace(own, **{k: node[k] for k in taken}, inherited=_INHERITED[taken])


# Every ``inherited`` set, shared (the keys are taken in INHERITABLE's order).
_INHERITED = {
    combo: frozenset(combo)
    for n in range(1, len(INHERITABLE) + 1)
    for combo in itertools.combinations(INHERITABLE, n)
}


def _key(declared: Any) -> str:
    """The resolution cache's key of a privacy declaration: its ``repr``, which tells apart
    what the resolution reads differently (``1`` and ``True``, a list and a string, a mapping
    and anything else) for the JSON / YAML values meta holds, and is cheap."""
    return repr(declared)


def _as_privacy(declared: Any) -> Mapping[str, Any]:
    """A privacy declaration as a mapping (one that is not a mapping under ``__invalid__``)."""
    return _NO_PRIVACY if declared is None else _merged([declared])


class _Resolver:
    """Resolves the nodes of one project. Most columns are declared alike: each distinct
    column declaration is read once, and combined once with each distinct set of node-level
    tags it inherits from."""

    def __init__(self) -> None:
        # Declaration (``_key``) -> a node's level (its values, problems, and the tags its
        # columns resolve to by their declaration), and -> a column's own tags.
        self.node_level: dict[str, tuple[dict[str, Any], tuple[str, ...], dict[str, ColumnTags]]]
        self.node_level = {}
        self.own: dict[str, ColumnTags] = {}
        # What the columns inherit (a node's INHERITABLE values) -> declaration -> tags.
        self.by_node: dict[tuple[Any, ...], dict[str, ColumnTags]] = {}

    def node(
        self, unique_id: str, privacy: Mapping[str, Any], columns: Iterable[tuple[str, Any]]
    ) -> NodeTags:
        """A node's tags from its privacy mapping and its columns' (lower-case name, privacy
        declaration: a mapping, None, or anything else as declared)."""
        key = _key(privacy)
        if key not in self.node_level:
            node, problems = _node_level(privacy)
            inherits = tuple(node[k] for k in INHERITABLE)
            self.node_level[key] = (node, tuple(problems), self.by_node.setdefault(inherits, {}))
        node, node_problems, alike = self.node_level[key]
        resolved: dict[str, ColumnTags] = {}
        for name, declared in columns:
            key = repr(declared)  # _key, inlined: this runs for every column
            tags = alike.get(key)
            if tags is None:
                own = self.own.get(key)
                if own is None:
                    own = self.own[key] = _own_tags(_as_privacy(declared))
                tags = alike[key] = _inherit(own, node)
            resolved[name] = tags
        extra = {k: v for k, v in privacy.items() if k not in NODE_KEYS and k != "__invalid__"}
        return NodeTags(
            unique_id=unique_id,
            purposes=node["purposes"],
            legal_basis=node["legal_basis"],
            art9_ground=node["art9_ground"],
            retention=node["retention"],
            consent_gate=node["consent_gate"],
            columns=MappingProxyType(resolved),
            problems=node_problems,
            extra=MappingProxyType(extra) if extra else _NO_EXTRA,
        )


_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


def resolve_node_tags(props: Mapping[str, Any], cache: _Resolver | None = None) -> NodeTags:
    """Resolve one node: a dbt manifest node or source dict, or a Python asset described the
    same way (``unique_id``, ``meta`` or ``privacy``, ``columns: {name: {meta | privacy}}``).
    ``cache`` shares resolved tags between identical declarations (most columns are alike)."""
    is_source = props.get("resource_type") == "source"
    privacy = _privacy_of(props, with_source_meta=is_source)
    defaults = _column_defaults(props, with_source_meta=is_source)
    columns = []
    for name, col in (props.get("columns") or {}).items():
        lower = str((col or {}).get("name") or name).lower()
        columns.append((lower, _privacy_of(col or {}) or defaults.get(lower, {})))
    resolver = _Resolver() if cache is None else cache
    return resolver.node(str(props.get("unique_id") or ""), privacy, columns)


def resolve_column_tags(props: Mapping[str, Any]) -> dict[str, ColumnTags]:
    """Every declared column's resolved tags, by lower-case column name."""
    return dict(resolve_node_tags(props).columns)


def resolve_tags(nodes: Iterable[Mapping[str, Any]]) -> ProjectTags:
    """Resolve every node (dbt manifest nodes and sources, Python assets) of a project."""
    resolver = _Resolver()
    with gc_paused():
        return ProjectTags(resolve_node_tags(p, resolver) for p in nodes)


# dbt's snapshot bookkeeping columns (renamable with snapshot_meta_column_names): technical.
SNAPSHOT_META_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to",
                         "dbt_is_deleted")  # fmt: skip
SNAPSHOT_META_TAGS = {"privacy": {"category": "system.operations"}}


def _manifest_columns(node: Any) -> list[tuple[str, Any]]:
    """(lower-case name, privacy declaration) of a manifest node's columns; one that declares
    none takes the node's ``column_privacy`` default for its name, if any."""
    defaults = _column_defaults({"meta": node.meta})
    columns = []
    for c in node.columns:
        name = str(c.name).lower()
        declared = c.meta.get(PRIVACY_KEY) if c.meta else None
        columns.append((name, defaults.get(name) if declared is None else declared))
    if node.resource_type == "snapshot":
        renamed = (node.config or {}).get("snapshot_meta_column_names") or {}
        declared = {name for name, _ in columns}
        for default in SNAPSHOT_META_COLUMNS:
            name = str(renamed.get(default) or default).lower()
            if name not in declared:
                columns.append((name, SNAPSHOT_META_TAGS[PRIVACY_KEY]))
    return columns


def project_tags(manifest: Any, graph: Any = None) -> ProjectTags:
    """Tags of every node of a ``catalog.manifest.Manifest``, plus the graph's nodes the
    manifest does not know (Python assets), read from their ``Node.meta`` laid out like a dbt
    node: ``{"privacy": {...node level...}, "columns": {name: {"privacy": {...}}}}``.

    A snapshot's bookkeeping columns (``dbt_valid_from`` ...) that its YAML does not declare
    are technical: ``system.operations``, with the snapshot's purposes and legal basis."""
    with gc_paused():
        resolver = _Resolver()
        nodes = [
            resolver.node(n.unique_id, _as_privacy(_declared(n.meta)), _manifest_columns(n))
            for n in manifest
        ]
        if graph is not None:
            known = {n.unique_id for n in nodes}
            nodes += [
                resolve_node_tags(
                    {
                        "unique_id": node.unique_id,
                        "resource_type": node.resource_type,
                        **dict(node.meta or {}),
                    },
                    resolver,
                )
                for node in graph.nodes.values()
                if node.unique_id not in known
            ]
        return ProjectTags(nodes)
