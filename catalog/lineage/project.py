"""The column graph of a whole dbt project, from its manifest and compiled SQL.

Every model and snapshot is analysed once, in topological order, against a schema made of
its parents' columns: declared columns for sources, the YAML declaration or the CSV header
for seeds, and for models and snapshots the columns *inferred* from their SQL, so a
downstream ``select *`` expands from what the upstream SQL really produces (no warehouse
needed). Ephemeral models, which dbt inlines as ``__dbt__cte__<name>`` CTEs, are resolved to
their own node: the inlined CTE is dropped and references to it become edges from the
ephemeral model, whose lineage is computed from its own compiled SQL.

An incremental model is analysed in both of its branches (``is_incremental()`` false, then
true, when the manifest has both: see ``compile_project``) and its lineage is the union. In
the true branch ``{{ this }}``, the model's own relation, holds its previous output: its
columns are the model's output columns, and what the SQL reads from them are *self-edges*,
from a column of the model to a column of the same model (``source.node == target_node``).
A model that could not be analysed does not stop the build: every such model is reported, one
line each, in one :class:`ProjectLineageError`, and the models downstream of it are reported
as not analysed (never analysed on a partial schema).
"""

from __future__ import annotations

import functools
import gc
import graphlib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from catalog.discovery import is_external
from catalog.lineage.errors import LineageError
from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph, Subtype
from catalog.lineage.query import (
    Dependency,
    QueryLineage,
    Tables,
    lineage_of_query,
    normalized,
    parse_query,
)
from catalog.manifest import Manifest, ManifestNode
from catalog.memory import gc_paused

__all__ = ["ProjectLineageError", "build_project_graph"]

EPHEMERAL_PREFIX = "__dbt__cte__"
# Placeholders for relation parts a node lacks (ephemeral models have no relation at all).
_NO_DATABASE, _NO_SCHEMA = "__no_database__", "__no_schema__"
_RANK = {Subtype.IDENTITY: 0, Subtype.TRANSFORMATION: 1, Subtype.AGGREGATION: 2}
_SNAPSHOT_META = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


class ProjectLineageError(LineageError):
    """The lineage of several models could not be derived: ``errors`` holds one
    :class:`LineageError` per model (those that failed, then those downstream of them), and
    the message is their lines, one per model. ``model`` is the first model that failed."""

    def __init__(self, errors: Iterable[LineageError]):
        self.errors = tuple(errors)
        failed = sum(1 for e in self.errors if not isinstance(e, _Blocked))
        super().__init__(
            f"{failed} model(s) could not be analysed, {len(self.errors) - failed} downstream "
            "of them not analysed"
        )
        self.model = self.errors[0].model

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class _Blocked(LineageError):
    """A model not analysed because a model it reads could not be."""


def _path(node: ManifestNode) -> tuple[str, str, str]:
    """Where the compiled SQL finds ``node``: (database, schema, identifier)."""
    if node.materialized == "ephemeral":
        return (_NO_DATABASE, _NO_SCHEMA, EPHEMERAL_PREFIX + (node.identifier or node.name))
    return (
        node.database or _NO_DATABASE,
        node.schema or _NO_SCHEMA,
        node.identifier or node.name,
    )


def _order(manifest: Manifest) -> list[ManifestNode]:
    """Models and snapshots, parents first."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node in manifest:
        if node.resource_type in ("model", "snapshot"):
            sorter.add(node.unique_id, *(d for d in node.depends_on if d in manifest.nodes))
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as e:
        cycle = " -> ".join(e.args[1]) if len(e.args) > 1 else "?"
        raise LineageError(
            f"the project has a dependency cycle ({cycle}); break the cycle"
        ) from None
    return [
        manifest.nodes[uid]
        for uid in order
        if manifest.nodes[uid].resource_type in ("model", "snapshot")
    ]


def _external_relations(manifest: Manifest, dialect: str) -> dict[str, exp.Table]:
    """dbt-duckdb external sources: the table expression their ``relation_name`` compiles to
    (a quoted file path, or a call such as ``read_parquet('...')``), as SQL, to the table
    reference of the source's own path (see ``_path``)."""
    out: dict[str, exp.Table] = {}
    for node in manifest.sources:
        if not is_external(node) or not node.relation_name:
            continue
        try:
            table = parse_query(f"select * from {node.relation_name}", dialect=dialect).find(
                exp.Table
            )
        except LineageError:
            continue  # not a table expression: the model's reference stays unresolved
        if table is None:
            continue
        database, schema_name, identifier = (
            normalized(p, dialect, is_table=True) for p in _path(node)
        )
        out[table.this.sql(dialect=dialect)] = exp.table_(identifier, schema_name, database)
    return out


def _resolve_external(query: exp.Query, external: Mapping[str, exp.Table], dialect: str) -> None:
    """Replace each external source's file path or table function in ``query`` by the
    source's table reference, keeping its alias, so it resolves to the source node."""
    if not external:
        return
    for table in list(query.find_all(exp.Table)):
        if table.db or not isinstance(table.this, (exp.Identifier, exp.Func)):
            continue
        resolved = external.get(table.this.sql(dialect=dialect))
        if resolved is None:
            continue
        replacement = resolved.copy()
        if table.args.get("alias") is not None:
            replacement.set("alias", table.args["alias"])
        table.replace(replacement)


def _strip_ephemeral_ctes(query: exp.Query, ephemeral: set[str]) -> None:
    """Drop the CTEs dbt inlined for ephemeral models; their references become tables."""
    with_ = query.args.get("with_")
    if with_ is None:
        return
    keep = [cte for cte in with_.expressions if cte.alias.lower() not in ephemeral]
    if len(keep) == len(with_.expressions):
        return
    if keep:
        with_.set("expressions", keep)
    else:
        query.set("with_", None)


class _Builder:
    def __init__(self, manifest: Manifest, dialect: str):
        self.manifest = manifest
        self.dialect = dialect
        self.columns: dict[str, tuple[str, ...]] = {}
        self.types: dict[str, dict[str, str]] = {}
        self.edges: list[Edge] = []
        self.ephemeral = {
            (EPHEMERAL_PREFIX + (n.identifier or n.name)).lower()
            for n in manifest.models
            if n.materialized == "ephemeral"
        }
        self.external = _external_relations(manifest, dialect)

    # -- leaves ------------------------------------------------------------------------------
    def declare(self, node: ManifestNode) -> None:
        """A source's or seed's columns as the database names them: a case-insensitive
        dialect (DuckDB, Spark) keeps the case the column was declared or discovered with
        (``CustomerNo``); one that folds (Snowflake, Postgres) folds it. Types are keyed by the
        folded name."""
        spelt: dict[str, str] = {}
        for c in node.columns:
            spelt.setdefault(normalized(c.name, self.dialect), self._spelt(c.name))
        self.columns[node.unique_id] = tuple(spelt.values())
        self.types[node.unique_id] = {
            normalized(c.name, self.dialect): c.data_type or "unknown" for c in node.columns
        }

    def _spelt(self, name: str) -> str:
        folded = normalized(name, self.dialect)
        return name if self._case_preserving and folded.lower() == name.lower() else folded

    @functools.cached_property
    def _case_preserving(self) -> bool:
        strategy = Dialect.get_or_raise(self.dialect).NORMALIZATION_STRATEGY
        return strategy == NormalizationStrategy.CASE_INSENSITIVE

    # -- models and snapshots ----------------------------------------------------------------
    def analyse(self, node: ManifestNode) -> None:
        if node.language and node.language != "sql":
            raise LineageError(
                f"{node.language} models have no SQL to derive column lineage from; write the "
                "model in SQL",
                model=node.name,
            )
        if not node.compiled_code:
            raise LineageError(
                "the manifest has no compiled SQL for it; run `dbt compile` (or let "
                "`catalog lineage` compile the project)",
                model=node.name,
            )
        parents = [self.manifest.nodes[d] for d in node.depends_on if d in self.manifest.nodes]
        for parent in parents:
            if parent.resource_type == "seed" and not self.columns[parent.unique_id]:
                raise LineageError(
                    f"the columns of seed {parent.name} are not known; declare them in the "
                    "seed's YAML (or give the project directory so its CSV header can be read)",
                    model=node.name,
                )
            if parent.resource_type == "source" and not self.columns[parent.unique_id]:
                why = parent.columns_unknown or "not declared in YAML"
                raise LineageError(
                    f"the columns of source {parent.label} are not known ({why}); declare "
                    "them in the source's YAML, or build the project (`dbt build`) so they "
                    "are read from the warehouse or from `dbt docs generate`'s catalog.json",
                    model=node.name,
                )
        schema: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for parent in parents:
            self._add(schema, owner, parent, self.columns[parent.unique_id])
        incremental = node.materialized == "incremental"
        # The false branch may read {{ this }} too when only the true branch was compiled
        # (a manifest compiled against a built warehouse): the declared columns, if any.
        declared = tuple(dict.fromkeys(normalized(c.name, self.dialect) for c in node.columns))
        if incremental and declared:
            self._add(schema, owner, node, declared)
        lineage = self._lineage(node, node.compiled_code, schema, owner)
        columns = list(lineage.columns)
        self._edges(node.unique_id, lineage, owner)
        if incremental and node.incremental_code:
            # is_incremental() true: {{ this }} is the model's previous output.
            self._add(schema, owner, node, tuple(dict.fromkeys([*declared, *columns])))
            true_branch = self._lineage(node, node.incremental_code, schema, owner)
            before = len(self.edges)
            self._edges(node.unique_id, true_branch, owner)
            seen = set(self.edges[:before])
            self.edges[before:] = [e for e in dict.fromkeys(self.edges[before:]) if e not in seen]
            columns = list(dict.fromkeys([*columns, *true_branch.columns]))
        if node.resource_type == "snapshot":
            columns += self._snapshot_columns(node, lineage, owner)
        self.columns[node.unique_id] = tuple(columns)
        self.types[node.unique_id] = {
            normalized(c.name, self.dialect): c.data_type for c in node.columns if c.data_type
        }

    def _add(
        self,
        schema: dict[str, Any],
        owner: dict[str, str],
        node: ManifestNode,
        columns: tuple[str, ...],
    ) -> None:
        """``node``'s relation with ``columns`` in the schema a query is analysed against."""
        database, schema_name, identifier = _path(node)
        types = self.types.get(node.unique_id, {})
        schema.setdefault(database, {}).setdefault(schema_name, {})[identifier] = {
            c: types.get(normalized(c, self.dialect), "unknown") for c in columns
        }
        owner[f"{database}.{schema_name}.{identifier}"] = node.unique_id

    def _lineage(
        self, node: ManifestNode, sql: str, schema: Mapping[str, Any], owner: Mapping[str, str]
    ) -> QueryLineage:
        try:  # the collector is paused by build_project_graph
            query = parse_query(sql, dialect=self.dialect)
            _strip_ephemeral_ctes(query, self.ephemeral)
            _resolve_external(query, self.external, self.dialect)
            return lineage_of_query(
                query, Tables(dict(schema), dialect=self.dialect), dialect=self.dialect
            )
        except LineageError as e:
            if (
                node.materialized == "incremental"
                and node.identifier
                and node.identifier.lower() in e.what.lower()
                and ".".join(_path(node)) not in owner  # {{ this }} not in the schema
            ):
                raise LineageError(
                    "it reads its own relation ({{ this }}: compiled with is_incremental() "
                    "true), whose columns are not known; let `catalog lineage` compile the "
                    "project (it compiles both branches) or declare the model's columns in "
                    f"YAML ({e.what})",
                    model=node.name,
                ) from None
            raise e.for_model(node.name) from None

    def _edges(self, uid: str, lineage: QueryLineage, owner: Mapping[str, str]) -> None:
        for column, dep in lineage.dependencies():
            self.edges.append(_edge(dep, owner, uid, column))

    def _snapshot_columns(
        self, node: ManifestNode, lineage: QueryLineage, owner: Mapping[str, str]
    ) -> list[str]:
        """dbt's snapshot bookkeeping columns, with edges from the columns that drive them."""
        config = node.config
        renamed = config.get("snapshot_meta_column_names") or {}
        names = {
            c: normalized(renamed.get(c) or c, self.dialect)
            for c in (*_SNAPSHOT_META, "dbt_is_deleted")
        }
        extra = [names[c] for c in _SNAPSHOT_META]
        if config.get("hard_deletes") == "new_record":
            extra.append(names["dbt_is_deleted"])

        def columns_of(setting: str) -> list[str]:
            value = config.get(setting)
            values = [value] if isinstance(value, str) else list(value or [])
            if value == "all" and setting == "check_cols":
                return list(lineage.columns)
            out = []
            for v in values:
                name = normalized(v, self.dialect)
                if name not in lineage.fields:
                    raise LineageError(
                        f"snapshot {setting} {v} is not a column of the snapshot query; select it",
                        model=node.name,
                    )
                out.append(name)
            return out

        keys = columns_of("unique_key")
        check = config.get("strategy") == "check"
        driver = columns_of("check_cols" if check else "updated_at")
        # timestamp: valid_from / updated_at copy updated_at, valid_to is the next version's;
        # check: the check columns decide when a version starts and ends (times are "now").
        plan = {
            names["dbt_updated_at"]: Subtype.CONDITIONAL if check else Subtype.IDENTITY,
            names["dbt_valid_from"]: Subtype.CONDITIONAL if check else Subtype.IDENTITY,
            names["dbt_valid_to"]: Subtype.CONDITIONAL if check else Subtype.TRANSFORMATION,
            names["dbt_scd_id"]: Subtype.CONDITIONAL if check else Subtype.TRANSFORMATION,
        }
        for name, subtype in plan.items():
            masking = name == names["dbt_scd_id"]
            for source in driver:
                self._derive(node.unique_id, name, lineage.fields[source], owner, subtype, masking)
        for source in keys:
            self._derive(
                node.unique_id,
                names["dbt_scd_id"],
                lineage.fields[source],
                owner,
                Subtype.TRANSFORMATION,
                True,
            )
            if len(extra) > len(_SNAPSHOT_META):
                self._derive(
                    node.unique_id,
                    names["dbt_is_deleted"],
                    lineage.fields[source],
                    owner,
                    Subtype.CONDITIONAL,
                    False,
                )
        return extra

    def _derive(
        self,
        uid: str,
        column: str,
        deps: Iterable[Dependency],
        owner: Mapping[str, str],
        subtype: Subtype,
        masking: bool,
    ) -> None:
        """Edges into ``column`` computed from a column with lineage ``deps``."""
        for dep in deps:
            if subtype.type is EdgeType.INDIRECT or dep.type is EdgeType.INDIRECT:
                dep = Dependency(
                    dep.table,
                    dep.column,
                    EdgeType.INDIRECT,
                    subtype if dep.type is EdgeType.DIRECT else dep.subtype,
                    False,
                    dep.restricts_rows,
                )
            else:
                rank = max(_RANK[subtype], _RANK[dep.subtype])
                dep = Dependency(
                    dep.table,
                    dep.column,
                    EdgeType.DIRECT,
                    next(s for s, r in _RANK.items() if r == rank),
                    dep.masking or masking,
                    keyed=dep.keyed,  # a plain hash over a keyed one stays keyed
                )
            self.edges.append(_edge(dep, owner, uid, column))

    # -- the graph ---------------------------------------------------------------------------
    def graph(self) -> ProjectGraph:
        nodes = []
        for node in self.manifest:
            if node.unique_id not in self.columns:
                continue
            nodes.append(
                Node(
                    unique_id=node.unique_id,
                    name=node.name,
                    resource_type=node.resource_type,
                    columns=self.columns[node.unique_id],
                    relation=node.relation,
                    sql=node.compiled_code,
                    materialized=node.materialized,
                    depends_on=node.depends_on,
                    path=node.original_file_path or None,
                    source_name=node.source_name,
                    columns_from=node.columns_from,
                    meta=dict(node.meta),
                )
            )
        return ProjectGraph(nodes, self.edges, dialect=self.dialect)


def _edge(dep: Dependency, owner: Mapping[str, str], uid: str, column: str | None) -> Edge:
    return Edge(
        source=ColumnRef(owner[dep.table], dep.column),
        target_node=uid,
        target_column=column,
        type=dep.type,
        subtype=dep.subtype,
        masking=dep.masking,
        restricts_rows=dep.restricts_rows,
        keyed=dep.keyed,
    )


def build_project_graph(manifest: Manifest, *, dialect: str = "duckdb") -> ProjectGraph:
    """The column graph of every source, seed, model and snapshot of ``manifest``.

    Tries every model, then raises the :class:`LineageError` of the one model whose lineage
    cannot be derived, or, when there are more (failed, or downstream of one that failed), a
    :class:`ProjectLineageError` naming each of them (a dependency cycle is one
    :class:`LineageError`).
    """
    builder = _Builder(manifest, dialect)
    for node in manifest:
        if node.resource_type in ("source", "seed"):
            builder.declare(node)
    # The collector stays paused for the whole build and only the young generation is
    # collected, after each model, while its syntax tree (cyclic garbage once its lineage is
    # known) is still in the CPU cache. With the collector on, the end of a model now and
    # then triggers an older-generation collection that walks the whole heap (the manifest,
    # every edge so far): a fifth of the build time on a 1,000-model project.
    failed: dict[str, LineageError] = {}
    with gc_paused():
        for node in _order(manifest):
            upstream = [manifest.nodes[d].name for d in node.depends_on if d in failed]
            if upstream:
                failed[node.unique_id] = _Blocked(
                    f"not analysed: it reads {', '.join(sorted(upstream))}, whose lineage "
                    "could not be derived",
                    model=node.name,
                )
                continue
            try:
                builder.analyse(node)
            except LineageError as e:
                failed[node.unique_id] = e.for_model(node.name)
            gc.collect(0)
    if len(failed) == 1:
        raise next(iter(failed.values()))
    if failed:
        errors = list(failed.values())
        raise ProjectLineageError(
            [e for e in errors if not isinstance(e, _Blocked)]
            + [e for e in errors if isinstance(e, _Blocked)]
        )
    return builder.graph()
