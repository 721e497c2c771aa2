"""The schema a query is resolved against: a sqlglot-style mapping, indexed by table name.

>>> t = Tables({"warehouse": {"raw_bank": {"customers": {"customer_no": "varchar"}}}})
>>> t.columns["warehouse.raw_bank.customers"]
{'customer_no': 'varchar'}
>>> import sqlglot
>>> t.find(sqlglot.parse_one("raw_bank.customers", into=sqlglot.exp.Table))
'warehouse.raw_bank.customers'
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.errors import SchemaError, SqlglotError
from sqlglot.schema import MappingSchema, normalize_name

from catalog.lineage.errors import LineageError

__all__ = ["Tables", "normalized"]


@functools.lru_cache(maxsize=1 << 16)
def normalized(name: str, dialect: str = "duckdb", *, is_table: bool = False) -> str:
    """``name`` as the dialect resolves an unquoted or quoted identifier (DuckDB: lower case)."""
    try:
        return normalize_name(name, dialect=dialect, is_table=is_table).name
    except SqlglotError:
        return exp.to_identifier(name).name


class Tables:
    """The tables of a sqlglot-style schema mapping, looked up by any suffix of their name.

    ``{"raw": {"t": {"c": "int"}}}`` or with a catalog level above it. A table may map to an
    empty column mapping: it is known, but its columns are not declared (``*`` over it, or
    any column of it, then fails closed).
    """

    def __init__(self, schema: Mapping[str, Any], *, dialect: str = "duckdb"):
        self.dialect = dialect
        self.columns: dict[str, dict[str, str]] = {}
        # Per table, each normalised column name -> the name as the schema spells it (the
        # database's case: DuckDB and Spark resolve names case-insensitively but keep the case
        # they were created with); only tables with a name spelt other than normalised.
        self.display: dict[str, dict[str, str]] = {}
        self._by_parts: dict[tuple[str, ...], str | None] = {}
        nested: dict[str, Any] = {}
        depth = _table_depth(schema)
        for path, columns in _walk_tables(schema, depth):
            canonical = ".".join(path)
            norm_path = tuple(normalized(p, dialect, is_table=True) for p in path)
            cols = {normalized(str(c), dialect): str(t) for c, t in columns.items()}
            self.columns[canonical] = cols
            spelt = {normalized(str(c), dialect): str(c) for c in columns}
            if any(k != v for k, v in spelt.items()):  # kept only where a name differs
                self.display[canonical] = spelt
            for i in range(len(norm_path)):
                key = norm_path[i:]
                seen = self._by_parts.get(key, "")
                self._by_parts[key] = canonical if seen in ("", canonical) else None
            if cols:
                level = nested
                for part in norm_path[:-1]:
                    level = level.setdefault(part, {})
                level[norm_path[-1]] = cols
        try:
            self.schema = MappingSchema(nested, dialect=dialect, normalize=False)
        except SchemaError as e:
            raise LineageError(
                f"the schema mapping is not valid ({e}); nest it as "
                "{schema: {table: {column: type}}}"
            ) from None

    def find(self, table: exp.Table) -> str | None:
        """The canonical name of ``table``; None when unknown or ambiguous."""
        parts = tuple(p for p in (table.catalog, table.db, table.name) if p)
        return self._by_parts.get(parts) or None

    def ambiguous(self, table: exp.Table) -> bool:
        parts = tuple(p for p in (table.catalog, table.db, table.name) if p)
        return parts in self._by_parts and self._by_parts[parts] is None


def _table_depth(schema: Mapping[str, Any]) -> int:
    """Levels of mappings above a table's column mapping: 2 for schema.table, 3 with a
    catalog. Tables without columns count by how deep their empty mapping sits."""
    stack: list[tuple[Mapping[str, Any], int]] = [(schema, 0)]
    deepest_empty = 0
    while stack:
        level, depth = stack.pop()
        for value in level.values():
            if not isinstance(value, Mapping):
                return depth
            if value:
                stack.append((value, depth + 1))
            else:
                deepest_empty = max(deepest_empty, depth + 1)
    return deepest_empty or 2


def _walk_tables(
    level: Mapping[str, Any], depth: int, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    for key, value in level.items():
        if not isinstance(value, Mapping):
            raise LineageError(
                f"the schema mapping is not valid at {'.'.join((*path, str(key)))}; nest it as "
                "{schema: {table: {column: type}}}"
            )
        if len(path) + 1 == depth:
            if any(isinstance(t, Mapping) for t in value.values()):
                raise LineageError(
                    f"the schema mapping is not valid at {'.'.join((*path, str(key)))}: tables "
                    "are nested at different depths; nest every table as "
                    "{schema: {table: {column: type}}}"
                )
            yield (*path, str(key)), value
        else:
            yield from _walk_tables(value, depth, (*path, str(key)))
