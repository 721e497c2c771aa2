"""Column discovery for sources and seeds whose columns the YAML does not declare.

The lineage engine needs every upstream table's columns (to expand ``*`` and to place each
column). Most dbt projects never declare their sources' columns, so they are looked up, per
table, in this order:

1. the columns declared in YAML (``columns_from: yaml``; a seed's CSV header: ``csv``);
2. an external source of dbt-duckdb (``meta.external_location``: a file path or a
   ``read_parquet(...)`` / ``read_csv_auto(...)`` call): the file's own schema, read by an
   in-memory DuckDB with ``DESCRIBE`` (``file``);
3. ``catalog.json``, what ``dbt docs generate`` writes (``catalog.json``);
4. the warehouse's ``information_schema``, for dbt-duckdb: the profile's database file opened
   read-only with DuckDB, never created or written (``warehouse``).

A table found nowhere keeps no columns and the reason why; the lineage of a model that reads
it then fails closed naming the table, the reason and how to declare the columns.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from catalog.manifest import ColumnDecl, Manifest, ManifestError, ManifestNode

__all__ = ["DISCOVERED_FROM", "discover_columns", "is_external"]

# Where a node's columns came from (the ``columns_from`` of the lineage output).
DISCOVERED_FROM = ("yaml", "csv", "file", "catalog.json", "warehouse")


def is_external(node: ManifestNode) -> bool:
    """A dbt-duckdb external source: its relation is a file path or a table function."""
    return node.resource_type == "source" and bool(
        node.meta.get("external_location") or node.config.get("external_location")
    )


def discover_columns(
    manifest: Manifest,
    *,
    project_dir: str | os.PathLike[str] | None = None,
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    catalog_json: str | os.PathLike[str] | None = None,
) -> Manifest:
    """``manifest`` with the columns of its undeclared sources and seeds discovered.

    ``catalog_json`` is read when given (it must exist), else ``catalog.json`` next to the
    manifest or in the project's ``target/`` when present. The warehouse is opened only when a
    table is still missing after that. Every node gets its ``columns_from``; a node found
    nowhere gets ``columns_unknown``, the reason in a few words.
    """
    wanted = [n for n in manifest if n.resource_type in ("source", "seed") and not n.columns_from]
    if not wanted:
        return manifest
    found: dict[str, tuple[tuple[ColumnDecl, ...], str]] = {}
    unknown: dict[str, str] = {}
    for node in wanted:
        if is_external(node):
            try:
                found[node.unique_id] = (_file_columns(node), "file")
            except _NotFound as e:
                unknown[node.unique_id] = str(e)
    rest = [n for n in wanted if n.unique_id not in found and n.unique_id not in unknown]
    catalog = _read_catalog(manifest, project_dir, catalog_json)
    for node in rest:
        entry = _catalog_entry(catalog, node)
        if entry:
            found[node.unique_id] = (entry, "catalog.json")
    rest = [n for n in rest if n.unique_id not in found]
    if rest:
        try:
            warehouse = _Warehouse.open(manifest, project_dir, profiles_dir, target)
        except _NotFound as e:
            unknown.update((n.unique_id, str(e)) for n in rest)
        else:
            with warehouse:
                for node in rest:
                    columns = warehouse.columns(node)
                    if columns:
                        found[node.unique_id] = (columns, "warehouse")
                    else:
                        unknown[node.unique_id] = (
                            f"{node.relation} is not in the warehouse {warehouse.path}"
                        )
    nodes = dict(manifest.nodes)
    for uid, (columns, origin) in found.items():
        nodes[uid] = dataclasses.replace(nodes[uid], columns=columns, columns_from=origin)
    for uid, reason in unknown.items():
        nodes[uid] = dataclasses.replace(nodes[uid], columns_unknown=reason)
    return dataclasses.replace(manifest, nodes=nodes)


class _NotFound(Exception):
    """Why the columns could not be discovered (a few words, no trailing period)."""


# -- external files ----------------------------------------------------------------------------
def _file_columns(node: ManifestNode) -> tuple[ColumnDecl, ...]:
    """The schema of an external source's file, read by DuckDB (in memory, read-only)."""
    import duckdb

    relation = node.relation_name or str(
        node.meta.get("external_location") or node.config.get("external_location")
    )
    try:
        with duckdb.connect(":memory:") as con:
            rows = con.execute(f"describe select * from {relation}").fetchall()
    except duckdb.Error as e:
        reason = " ".join(str(e).split())[:200]
        raise _NotFound(f"its file {relation} cannot be read ({reason})") from None
    return tuple(ColumnDecl(name=str(r[0]), data_type=str(r[1]).lower()) for r in rows)


# -- catalog.json ------------------------------------------------------------------------------
def _read_catalog(
    manifest: Manifest,
    project_dir: str | os.PathLike[str] | None,
    catalog_json: str | os.PathLike[str] | None,
) -> Mapping[str, Any]:
    if catalog_json is not None:
        path = Path(catalog_json)
        if not path.is_file():
            raise ManifestError(f"no catalog.json at {path}; run `dbt docs generate`")
    else:
        candidates = []
        if manifest.path is not None:
            candidates.append(Path(manifest.path).parent / "catalog.json")
        root = project_dir or manifest.root_path
        if root is not None:
            candidates.append(Path(root) / "target" / "catalog.json")
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ManifestError(f"cannot read {path} ({e}); run `dbt docs generate` again") from None
    if not isinstance(data, dict) or "nodes" not in data:
        raise ManifestError(f"{path} is not a dbt catalog.json; run `dbt docs generate`")
    return data


def _catalog_entry(catalog: Mapping[str, Any], node: ManifestNode) -> tuple[ColumnDecl, ...]:
    section = catalog.get("sources" if node.resource_type == "source" else "nodes") or {}
    entry = section.get(node.unique_id) or {}
    columns = sorted((entry.get("columns") or {}).values(), key=lambda c: c.get("index") or 0)
    return tuple(
        ColumnDecl(name=c["name"], data_type=(c.get("type") or "").lower() or None) for c in columns
    )


# -- the warehouse (dbt-duckdb) ----------------------------------------------------------------
class _Warehouse:
    """The profile's DuckDB database opened read-only, with its attached databases."""

    def __init__(self, connection: Any, path: Path):
        self.connection = connection
        self.path = path

    @classmethod
    def open(
        cls,
        manifest: Manifest,
        project_dir: str | os.PathLike[str] | None,
        profiles_dir: str | os.PathLike[str] | None,
        target: str | None,
    ) -> _Warehouse:
        import duckdb

        project = Path(project_dir or manifest.root_path or ".")
        output = _profile_output(project, profiles_dir, target)
        kind = output.get("type")
        if kind != "duckdb":
            raise _NotFound(
                f"reading columns from a {kind} warehouse is not supported (only dbt-duckdb); "
                "run `dbt docs generate` for catalog.json"
            )
        path = _database_file(str(output.get("path") or ":memory:"), project)
        _release_dbt_duckdb()
        try:
            connection = duckdb.connect(str(path), read_only=True)
            for attached in output.get("attach") or []:
                file = attached.get("path") if isinstance(attached, Mapping) else None
                alias = attached.get("alias") if isinstance(attached, Mapping) else None
                if file and alias and attached.get("type", "duckdb") == "duckdb":
                    attached_path = _database_file(str(file), project)
                    connection.execute(
                        f"attach '{_quote(str(attached_path))}' as \"{alias}\" (read_only)"
                    )
        except duckdb.Error as e:
            reason = " ".join(str(e).split())[:200]
            raise _NotFound(f"the warehouse {path} cannot be opened read-only ({reason})") from None
        return cls(connection, path)

    def __enter__(self) -> _Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def columns(self, node: ManifestNode) -> tuple[ColumnDecl, ...]:
        query = (
            "select column_name, data_type from information_schema.columns "
            "where lower(table_schema) = lower($schema) and lower(table_name) = lower($name)"
        )
        params: dict[str, Any] = {"schema": node.schema or "main", "name": node.identifier}
        if node.database:
            query += " and lower(table_catalog) = lower($database)"
            params["database"] = node.database
        rows = self.connection.execute(query + " order by ordinal_position", params).fetchall()
        return tuple(ColumnDecl(name=str(r[0]), data_type=str(r[1]).lower()) for r in rows)


def _release_dbt_duckdb() -> None:
    """Let go of the database dbt-duckdb keeps open after an in-process dbt command (the
    compile of ``compile_project``): DuckDB refuses a read-only connection to a file this
    process already holds read-write. dbt-duckdb reopens it on its next command."""
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is not None:
        connections.DuckDBConnectionManager.close_all_connections()
        gc.collect()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _database_file(path: str, project: Path) -> Path:
    """A DuckDB file of the profile: relative to the working directory, as dbt opens it, else
    to the project directory (where dbt is usually run from)."""
    if path == ":memory:" or path.startswith(("md:", "motherduck:")):
        raise _NotFound(f"the profile's warehouse is {path}, not a database file to read")
    for candidate in (Path(path), project / path):
        if candidate.is_file():
            return candidate.resolve()
    raise _NotFound(f"the warehouse {path} does not exist (the project is not built)")


def _profile_output(
    project: Path, profiles_dir: str | os.PathLike[str] | None, target: str | None
) -> Mapping[str, Any]:
    """The profile's target output, rendered by dbt (``env_var`` and all)."""
    import yaml
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    try:
        config = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise _NotFound(f"the project's dbt_project.yml cannot be read ({e})") from None
    name = (config or {}).get("profile")
    if profiles_dir is None:
        if (project / "profiles.yml").is_file():
            profiles_dir = project
        else:
            profiles_dir = os.environ.get("DBT_PROFILES_DIR") or Path.home() / ".dbt"
    set_invocation_context(os.environ)
    try:
        raw = read_profile(str(profiles_dir))
    except Exception as e:  # dbt's own errors: a profiles.yml that is not YAML
        reason = " ".join(str(e).split())[:200]
        raise _NotFound(f"{profiles_dir}/profiles.yml cannot be read ({reason})") from None
    if not name or name not in raw:
        raise _NotFound(f"the profile {name!r} is not in {profiles_dir}/profiles.yml")
    try:
        _, output = Profile.render_profile(raw[name], name, target, ProfileRenderer({}))
    except Exception as e:  # dbt's own errors: a missing env var, a bad target
        reason = " ".join(str(e).split())[:200]
        raise _NotFound(f"the profile {name!r} cannot be rendered ({reason})") from None
    return output
