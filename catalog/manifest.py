"""A typed, read-only view of dbt's ``manifest.json``: sources, models, seeds and snapshots.

>>> m = Manifest.from_dict({
...     "metadata": {"project_name": "p", "adapter_type": "duckdb", "dbt_version": "1.11.0"},
...     "nodes": {}, "groups": {},
...     "sources": {"source.p.bank.customers": {
...         "unique_id": "source.p.bank.customers", "name": "customers",
...         "resource_type": "source", "source_name": "bank", "database": "warehouse",
...         "schema": "raw_bank", "identifier": "customers",
...         "columns": {"customer_no": {"name": "customer_no", "data_type": "varchar",
...                                     "config": {"meta": {"privacy": {"category": "x"}}}}}}}})
>>> node = m.node("bank.customers")
>>> node.relation, node.column_names
('raw_bank.customers', ('customer_no',))
>>> node.columns[0].meta
{'privacy': {'category': 'x'}}
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ColumnDecl",
    "Manifest",
    "ManifestError",
    "ManifestNode",
    "compile_project",
    "load_manifest",
]

RESOURCE_TYPES = ("source", "seed", "model", "snapshot")


class ManifestError(Exception):
    """The manifest could not be read or the project not compiled (one line, what to do)."""


@dataclass(frozen=True)
class ColumnDecl:
    """A column as declared in YAML (seeds: or read from the CSV header).

    ``meta`` merges the column's ``meta`` with its ``config.meta`` (dbt 1.10+ writes both;
    ``config.meta`` wins on conflicts).
    """

    name: str
    data_type: str | None = None
    description: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ManifestNode:
    """A source, seed, model or snapshot of the manifest."""

    unique_id: str
    name: str
    resource_type: str
    package_name: str = ""
    database: str | None = None
    schema: str | None = None
    identifier: str | None = None
    relation_name: str | None = None
    columns: tuple[ColumnDecl, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    config: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    materialized: str | None = None
    compiled_code: str | None = None
    # An incremental model compiled with is_incremental() true, when that SQL differs from
    # ``compiled_code`` (then the is_incremental() false branch); see compile_project.
    incremental_code: str | None = None
    language: str | None = None
    depends_on: tuple[str, ...] = ()
    original_file_path: str = ""
    root_path: str | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    group: str | None = None
    owner: str | None = None
    source_name: str | None = None
    # Sources and seeds: where the columns came from (``yaml``, a seed's ``csv`` header, or
    # what ``catalog.discovery`` found: ``file``, ``catalog.json``, ``warehouse``); None:
    # unknown, and ``columns_unknown`` may say why.
    columns_from: str | None = None
    columns_unknown: str | None = None

    @property
    def relation(self) -> str | None:
        """``schema.identifier`` (None for ephemeral models, which live in no schema)."""
        if self.materialized == "ephemeral" or not self.identifier:
            return None
        return f"{self.schema}.{self.identifier}" if self.schema else self.identifier

    @property
    def label(self) -> str:
        return f"{self.source_name}.{self.name}" if self.source_name else self.name

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnDecl | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)


@dataclass(frozen=True)
class Manifest:
    """The nodes of a manifest by unique_id, plus where it came from."""

    project_name: str
    adapter_type: str
    dbt_version: str
    nodes: Mapping[str, ManifestNode] = field(compare=False, hash=False)
    path: Path | None = None
    root_path: Path | None = None

    @property
    def sources(self) -> tuple[ManifestNode, ...]:
        return self._of("source")

    @property
    def models(self) -> tuple[ManifestNode, ...]:
        return self._of("model")

    @property
    def seeds(self) -> tuple[ManifestNode, ...]:
        return self._of("seed")

    @property
    def snapshots(self) -> tuple[ManifestNode, ...]:
        return self._of("snapshot")

    def _of(self, resource_type: str) -> tuple[ManifestNode, ...]:
        return tuple(n for n in self.nodes.values() if n.resource_type == resource_type)

    def __iter__(self) -> Iterator[ManifestNode]:
        return iter(self.nodes.values())

    def node(self, key: str) -> ManifestNode:
        """A node by unique_id, by name, or by ``source_name.table``."""
        if key in self.nodes:
            return self.nodes[key]
        matches = [n for n in self.nodes.values() if key in (n.name, n.label)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise KeyError(f"no node {key!r} in the manifest")
        ids = ", ".join(sorted(n.unique_id for n in matches))
        raise KeyError(f"{key!r} is ambiguous ({ids}); use the unique_id")

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        path: Path | None = None,
        root_path: Path | None = None,
    ) -> Manifest:
        metadata = data.get("metadata") or {}
        owners = {
            g.get("name"): _owner(g.get("owner") or {}) for g in (data.get("groups") or {}).values()
        }
        nodes: dict[str, ManifestNode] = {}
        for raw in [*(data.get("sources") or {}).values(), *(data.get("nodes") or {}).values()]:
            if raw.get("resource_type") not in RESOURCE_TYPES:
                continue
            node = _node(raw, owners, root_path)
            nodes[node.unique_id] = node
        return cls(
            project_name=metadata.get("project_name") or "",
            adapter_type=metadata.get("adapter_type") or "",
            dbt_version=metadata.get("dbt_version") or "",
            nodes=nodes,
            path=path,
            root_path=root_path,
        )


def _owner(owner: Mapping[str, Any]) -> str | None:
    return owner.get("email") or owner.get("name") or None


def _merged_meta(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {**(raw.get("meta") or {}), **((raw.get("config") or {}).get("meta") or {})}


def _column(raw: Mapping[str, Any]) -> ColumnDecl:
    config = raw.get("config") or {}
    return ColumnDecl(
        name=raw["name"],
        data_type=raw.get("data_type") or None,
        description=raw.get("description") or "",
        meta=_merged_meta(raw),
        tags=tuple(dict.fromkeys([*(raw.get("tags") or []), *(config.get("tags") or [])])),
    )


def _seed_header(root_path: Path | None, raw: Mapping[str, Any]) -> tuple[ColumnDecl, ...]:
    """A seed without a column declaration: its columns are the CSV header."""
    if root_path is None:
        return ()
    csv_path = root_path / raw.get("original_file_path", "")
    if not csv_path.is_file():
        return ()
    delimiter = (raw.get("config") or {}).get("delimiter") or ","
    types = (raw.get("config") or {}).get("column_types") or {}
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f, delimiter=delimiter), [])
    return tuple(ColumnDecl(name=h.strip(), data_type=types.get(h.strip())) for h in header)


def _node(
    raw: Mapping[str, Any], owners: Mapping[str | None, str | None], root_path: Path | None
) -> ManifestNode:
    config = raw.get("config") or {}
    resource_type = raw["resource_type"]
    columns = tuple(_column(c) for c in (raw.get("columns") or {}).values())
    columns_from = "yaml" if columns and resource_type in ("source", "seed") else None
    if resource_type == "seed" and not columns:
        columns = _seed_header(root_path, raw)
        columns_from = "csv" if columns else None
    group = raw.get("group") or config.get("group")
    meta = _merged_meta(raw)
    owner = owners.get(group) if group else None
    if owner is None and isinstance(meta.get("owner"), str):
        owner = meta["owner"]
    identifier = raw.get("identifier") if resource_type == "source" else raw.get("alias")
    return ManifestNode(
        unique_id=raw["unique_id"],
        name=raw["name"],
        resource_type=resource_type,
        package_name=raw.get("package_name") or "",
        database=raw.get("database"),
        schema=raw.get("schema"),
        identifier=identifier or raw.get("name"),
        relation_name=raw.get("relation_name"),
        columns=columns,
        meta=meta,
        config=config,
        materialized=config.get("materialized"),
        compiled_code=raw.get("compiled_code"),
        language=raw.get("language"),
        depends_on=tuple((raw.get("depends_on") or {}).get("nodes") or ()),
        original_file_path=raw.get("original_file_path") or "",
        root_path=str(root_path) if root_path else raw.get("root_path"),
        description=raw.get("description") or "",
        tags=tuple(raw.get("tags") or ()),
        group=group,
        owner=owner,
        source_name=raw.get("source_name") if resource_type == "source" else None,
        columns_from=columns_from,
    )


def load_manifest(path: str | os.PathLike[str], *, project_dir: str | None = None) -> Manifest:
    """Read ``manifest.json``. ``project_dir`` (default: the directory above ``target/`` if it
    holds a ``dbt_project.yml``) is where seed CSV headers are read from."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"no manifest at {path}; run `dbt compile` or pass --project-dir to compile"
        ) from None
    except (OSError, ValueError) as e:
        raise ManifestError(
            f"cannot read the manifest {path} ({e}); recompile the project"
        ) from None
    if not isinstance(data, dict) or "nodes" not in data:
        raise ManifestError(f"{path} is not a dbt manifest; point to target/manifest.json")
    root: Path | None = Path(project_dir).resolve() if project_dir else None
    if root is None:
        guess = path.resolve().parent.parent
        root = guess if (guess / "dbt_project.yml").is_file() else None
    return Manifest.from_dict(data, path=path, root_path=root)


@contextlib.contextmanager
def _compile_environment() -> Iterator[None]:
    """Throwaway values for what the profiles read, restored afterwards.

    dbt-duckdb opens the warehouse while compiling (the file need not exist), and the real
    project's plugin wants a pseudonym key; neither matters for compiled SQL.
    """
    with tempfile.TemporaryDirectory(prefix="catalog-compile-") as tmp:
        defaults = {
            "FJORDBANK_WAREHOUSE": str(Path(tmp) / "warehouse.duckdb"),
            "FJORDBANK_PSEUDONYM_KEY": "catalog-compile-throwaway-key",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
        added = {k: v for k, v in defaults.items() if not os.environ.get(k)}
        os.environ.update(added)
        try:
            yield
        finally:
            for key in added:
                os.environ.pop(key, None)


def compile_project(
    project_dir: str | os.PathLike[str],
    *,
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    target_path: str | os.PathLike[str],
    vars: Mapping[str, Any] | None = None,
) -> Manifest:
    """Run ``dbt compile`` in-process (dbt's programmatic runner) and load its manifest.

    A project with incremental models is compiled a second time with ``--full-refresh`` (only
    those models), so each has both of its branches (see ``_with_both_branches``).
    """
    project, args = _compile_args(project_dir, profiles_dir, target, vars)
    out = Path(target_path).resolve()
    manifest = _run_compile(args, out, project)
    if any(n.materialized == "incremental" for n in manifest.models):
        manifest = _with_both_branches(manifest, _full_refresh(args, out, project))
    return manifest


def complete_incremental_branches(
    manifest: Manifest,
    project_dir: str | os.PathLike[str] | None,
    *,
    profiles_dir: str | os.PathLike[str] | None = None,
    target: str | None = None,
    target_path: str | os.PathLike[str],
) -> Manifest:
    """A manifest compiled elsewhere (``--manifest``) with both branches of each incremental
    model: the project is compiled once more with ``--full-refresh`` (only those models) and
    merged as :func:`compile_project` does. A manifest without incremental models is returned
    as it is.

    Without a dbt project to compile, a model whose compiled SQL reads its own relation holds
    only its ``is_incremental()`` true branch, and the other one cannot be known: that is a
    :class:`ManifestError` (fail closed), naming the models.
    """
    incremental = [n for n in manifest.models if n.materialized == "incremental"]
    if not incremental or all(n.incremental_code for n in incremental):
        return manifest
    project = Path(project_dir).resolve() if project_dir else None
    if project is None or not (project / "dbt_project.yml").is_file():
        one_branch = sorted(n.name for n in incremental if _reads_itself(n))
        if not one_branch:
            return manifest
        raise ManifestError(
            f"the manifest holds only the is_incremental() branch of {', '.join(one_branch)} "
            "(compiled against a built warehouse), and there is no dbt project to compile the "
            "other branch from; pass --project-dir, or omit --manifest"
        )
    _, args = _compile_args(project, profiles_dir, target, None)
    return _with_both_branches(manifest, _full_refresh(args, Path(target_path).resolve(), project))


def _reads_itself(node: ManifestNode) -> bool:
    """Whether the compiled SQL names the model's own relation (``{{ this }}``)."""
    if not node.relation_name or not node.compiled_code:
        return False
    this = node.relation_name.replace('"', "").replace("`", "").lower()
    code = node.compiled_code.replace('"', "").replace("`", "").lower()
    return this in code


def _compile_args(
    project_dir: str | os.PathLike[str],
    profiles_dir: str | os.PathLike[str] | None,
    target: str | None,
    vars: Mapping[str, Any] | None,
) -> tuple[Path, list[str]]:
    """The project's directory and the arguments of its ``dbt compile``."""
    project = Path(project_dir).resolve()
    if not (project / "dbt_project.yml").is_file():
        raise ManifestError(
            f"no dbt project at {project} (dbt_project.yml missing); pass --project-dir"
        )
    if profiles_dir is None and (project / "profiles.yml").is_file():
        profiles_dir = project
    args = [
        "compile",
        "--project-dir", str(project),
        "--log-level", "none",
        "--quiet",
    ]  # fmt: skip
    if profiles_dir is not None:
        args += ["--profiles-dir", str(Path(profiles_dir).resolve())]
    if target:
        args += ["--target", target]
    if vars:
        args += ["--vars", json.dumps(dict(vars))]
    return project, args


def _full_refresh(args: list[str], out: Path, project: Path) -> Manifest:
    """The incremental models compiled with ``--full-refresh``: their is_incremental() false
    branch."""
    return _run_compile(
        [*args, "--full-refresh", "--select", "config.materialized:incremental"],
        out / "full-refresh",
        project,
    )


def _run_compile(args: list[str], out: Path, project: Path) -> Manifest:
    """``dbt compile`` with ``args`` into ``out``, in-process; its manifest."""
    from dbt.cli.main import dbtRunner  # heavy: imported only when compiling

    args = [*args, "--target-path", str(out), "--log-path", str(out / "logs")]
    errors: list[str] = []

    def collect(event: Any) -> None:
        if getattr(event.info, "level", "") == "error" and event.info.msg:
            errors.append(str(event.info.msg))

    with _compile_environment():
        result = dbtRunner(callbacks=[collect]).invoke(args)
    if not result.success:
        reasons = [*errors]
        if result.exception is not None:
            reasons.append(str(result.exception))
        for node_result in getattr(result.result, "results", None) or []:
            if str(getattr(node_result, "status", "")) == "error":
                reasons.append(f"{node_result.node.name}: {node_result.message}")
        reason = next((" ".join(r.split()) for r in reasons if r.strip()), "unknown error")
        raise ManifestError(f"dbt compile failed: {reason[:400]}; fix the project and retry")
    return load_manifest(out / "manifest.json", project_dir=str(project))


def _with_both_branches(manifest: Manifest, full_refresh: Manifest) -> Manifest:
    """Each incremental model with both of its compiled SQLs.

    dbt's ``is_incremental()`` is true when the model's relation exists, it is materialized
    incremental and the run is not ``--full-refresh``. The first compile gives whichever branch
    the warehouse selects; the ``--full-refresh`` compile always gives the false branch (unless
    the model sets ``full_refresh: false``). When the two differ, ``compiled_code`` becomes the
    false branch and ``incremental_code`` the true one. Before the model is first built both
    compiles give the false branch: the true branch cannot be compiled yet.
    """
    nodes = dict(manifest.nodes)
    for uid, node in manifest.nodes.items():
        other = full_refresh.nodes.get(uid)
        if node.materialized != "incremental" or other is None or not other.compiled_code:
            continue
        if other.compiled_code != node.compiled_code:
            nodes[uid] = dataclasses.replace(
                node, compiled_code=other.compiled_code, incremental_code=node.compiled_code
            )
    return dataclasses.replace(manifest, nodes=nodes)
