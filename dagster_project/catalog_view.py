"""The catalog of the compiled manifest (``catalog.loader.Catalog``), loaded once per manifest
file and shared by the translator (metadata), the policy gate, the row checks and the
OpenLineage events of a dbt build."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from catalog.loader import Catalog, load_catalog
from catalog.manifest import load_manifest


def catalog_view(manifest_path: Path) -> Catalog:
    """The catalog of the manifest at ``manifest_path`` (loaded again when the file changes)."""
    stat = manifest_path.stat()
    return _catalog_view(manifest_path, stat.st_mtime_ns, stat.st_size)


@cache
def _catalog_view(manifest_path: Path, _mtime: int, _size: int) -> Catalog:
    return load_catalog(load_manifest(manifest_path))
