"""The search of the warehouse for one person's rows, from the identifiers the catalog knows.

The person's values: the national identity number given; each computed identifier (a keyed
hash: ``person_id``, the model-development pseudonym) evaluated from the column's own compiled
SQL expression (:mod:`.derivation`, :mod:`.evaluation`); and the identifiers found next to the
person's values in the rows already matched (the bank customer numbers in the register row),
round after round until nothing new is found. A table with two columns of one domain
(``customer_roles``: customer and related customer) relates persons and is never used to learn
identifiers. A row whose national identity number (or keyed-hash pseudonym of it) is someone
else's is not about the person (a device shared by two logged-in persons) and is left out.

Rows an exemption withholds (:mod:`.exemptions`: an open fraud case) are dropped before
anything is read from them. The quarantine table (``access.quarantine_table``) is searched last,
with every identifier found: a rejected record is about the person when a field named like an
identifier column of its source table holds one of the person's values of that column's domain
(for a line that could not be split into fields, any comma-separated field); it is never used to
learn identifiers.

The set-aside delivery files (the file quarantine, :mod:`catalog.file_quarantine`: files the
ingest could not read at all) are searched with :meth:`Search.search_set_aside`, line by line
on their bytes, for the person's national identity number and the customer numbers found of the
file's own source company; a line holding one is the person's. Files of a table an exemption
covers are never reported (an unreadable line cannot be told to be a closed case).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from catalog import file_quarantine as fq
from catalog.lineage import ColumnRef, EdgeType
from catalog.loader import Catalog
from catalog.reports.access.derivation import derivation
from catalog.reports.access.domains import Domains
from catalog.reports.access.errors import AccessError
from catalog.reports.access.evaluation import evaluate_derivation
from catalog.reports.access.exemptions import Withholding, source_node
from catalog.settings import KEY_ENV

MAX_ROUNDS = 10  # identifier discovery rounds (each finds a new kind of identifier)
# The columns of the ingest's quarantine table the search reads.
_QUARANTINE_COLUMNS = ("source", "table", "file", "line", "reason", "record")


@dataclass
class _Identity:
    """What is known about the person: values per domain and how each was found."""

    values: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    how: dict[tuple[str, str], str] = field(default_factory=dict)
    anchors: set[str] = field(default_factory=set)  # domains with exactly the person's value

    def add(self, domain: str, value: str, how: str) -> bool:
        if value in self.values[domain]:
            return False
        self.values[domain].add(value)
        self.how.setdefault((domain, value), how)
        return True


@dataclass
class TableData:
    """The person's rows of one warehouse table."""

    uid: str
    relation: str
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    matched_on: set[str] = field(default_factory=set)


@dataclass
class QuarantinedData:
    """The person's quarantined records of one source table: each (file, line, reason,
    record fields) and the record fields the person was matched on."""

    uid: str  # the source table the records were rejected from
    source_table: str  # source.table
    rows: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    matched_on: set[str] = field(default_factory=set)


@dataclass
class SetAsideData:
    """The person's lines in the set-aside files of one source table: per file (the
    :class:`~catalog.file_quarantine.SetAsideFile`, its lines), and the identifiers matched."""

    uid: str | None  # the catalogued source table (None: not in the catalog)
    source_table: str  # source.table
    folder: Path
    files: list[tuple[fq.SetAsideFile, list[int]]] = field(default_factory=list)
    matched_on: set[str] = field(default_factory=set)

    @property
    def lines(self) -> int:
        return sum(len(lines) for _, lines in self.files)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Search:
    """One person's search of an open warehouse: :meth:`run` fills ``tables`` (the person's
    rows per table), ``identity`` (the identifiers found and how) and ``notes``."""

    def __init__(self, catalog: Catalog, conn: Any, key: bytes | None, nid: str):
        self.c = catalog
        self.conn = conn
        self.key = key
        self.domains = Domains(catalog)
        self.identity = _Identity()
        self.notes: list[str] = []
        self.tables: dict[str, TableData] = {}
        self.quarantined: dict[str, QuarantinedData] = {}
        self.set_aside: dict[str, SetAsideData] = {}
        self._seen_rows: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        self.quarantine = self._quarantine_table()
        self.searchable = self._searchable_tables()
        self.withholding = Withholding(catalog, conn, self.searchable)
        if self.quarantine:
            self.withholding.add_quarantined_open_keys(self._quarantined_of_withheld_tables())
        self.nid = nid

    # -- which tables ----------------------------------------------------------------------
    def _searchable_tables(self) -> dict[str, tuple[str, list[str]]]:
        """Catalogued base tables of the warehouse: uid -> (relation, warehouse columns)."""
        rows = self.conn.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()
        kinds = {f"{s}.{t}".lower(): kind for s, t, kind in rows}
        by_relation = {
            n.relation.lower(): uid for uid, n in self.c.graph.nodes.items() if n.relation
        }
        out: dict[str, tuple[str, list[str]]] = {}
        views, missing = 0, []
        for relation, uid in sorted(by_relation.items()):
            kind = kinds.get(relation)
            if kind is None:
                missing.append(self.c.graph.nodes[uid].label)
            elif kind != "BASE TABLE":
                views += 1
            else:
                schema, _, table = relation.partition(".")
                cols = [
                    r[0]
                    for r in self.conn.execute(
                        "select column_name from information_schema.columns where lower("
                        "table_schema) = ? and lower(table_name) = ? order by ordinal_position",
                        [schema, table],
                    ).fetchall()
                ]
                out[uid] = (self.c.graph.nodes[uid].relation or relation, cols)
        if views:
            self.notes.append(
                f"{views} views hold no data of their own (they show rows of the tables "
                "below) and were not listed separately"
            )
        if missing:
            self.notes.append(
                f"not built in this warehouse, so not searched: {', '.join(sorted(missing))}"
            )
        unknown = sorted(
            r
            for r, kind in kinds.items()
            if kind == "BASE TABLE" and r not in by_relation and r != (self.quarantine or "")
        )
        if unknown:
            self.notes.append(
                "tables in the warehouse the catalog does not describe (no tags, not searched; "
                f"review them by hand): {', '.join(unknown)}"
            )
        return out

    def _quarantine_table(self) -> str | None:
        """The declared quarantine table when the warehouse has it (lower case), else None;
        :class:`AccessError` when it lacks a column the search reads."""
        name = self.c.controller.quarantine_table
        if not name:
            return None
        schema, _, table = name.lower().partition(".")
        cols = {
            r[0].lower()
            for r in self.conn.execute(
                "select column_name from information_schema.columns where lower(table_schema) = ?"
                " and lower(table_name) = ?",
                [schema, table],
            ).fetchall()
        }
        if not cols:
            return None
        missing = [c for c in _QUARANTINE_COLUMNS if c not in cols]
        if missing:
            raise AccessError(
                f"the quarantine table {name} has no column {missing[0]}; it is not the ingest's "
                f"quarantine (columns {', '.join(_QUARANTINE_COLUMNS)}): fix "
                "access.quarantine_table"
            )
        return f"{schema}.{table}"

    def _quarantined_of_withheld_tables(self) -> list[tuple[str, str, Any]]:
        out = []
        for rule in self.c.controller.withheld:
            source, _, table = rule.table.partition(".")
            out += self._read_quarantine(
                'select source, "table", record from {q} where source = ? and "table" = ?',
                [source, table],
            )
        return out

    def _read_quarantine(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        assert self.quarantine
        schema, _, table = self.quarantine.partition(".")
        try:
            return self.conn.execute(
                sql.format(q=f"{_quote(schema)}.{_quote(table)}"), params
            ).fetchall()
        except duckdb.Error as e:
            raise AccessError(
                f"cannot read {self.quarantine} in the warehouse: {' '.join(str(e).split())[:200]}"
            ) from None

    # -- identifiers -----------------------------------------------------------------------
    def seed(self) -> None:
        national = [d for d in self.domains.domains.values() if d.key.startswith("national:")]
        if not national:
            raise AccessError(
                "no column of the catalog carries a national identity number category listed "
                "in access.identifier_categories; tag the identity columns"
            )
        for d in national:
            self.identity.add(d.key, self.nid, "the number given")
            self.identity.anchors.add(d.key)
        self._compute_derived()

    def _compute_derived(self) -> None:
        """Keyed-hash identifiers computed from identifiers already pinned to the person."""
        pending = [d for d in self.domains.domains.values() if d.origin is not None]
        progress = True
        while progress:
            progress = False
            for d in list(pending):
                origin = d.origin
                assert origin is not None
                inputs = {
                    k
                    for e in self.c.graph.inputs(origin)
                    if e.type is EdgeType.DIRECT
                    for k in self.domains.of.get(e.source, ())
                }
                if not inputs:
                    pending.remove(d)
                    continue
                # Several input domains (a person_id that is the union of persons keyed in two
                # models) count only once each is computed and all agree on the value.
                if not inputs <= self.identity.anchors:
                    continue
                pending.remove(d)
                values = {v for k in inputs for v in self.identity.values[k]}
                if len(values) != 1:
                    self.notes.append(
                        f"{d.label} could not be computed for the person: the identifiers it is "
                        f"computed from disagree ({', '.join(sorted(inputs))})"
                    )
                    continue
                progress = True
                (value,) = values
                source_domain = min(inputs)
                expression = derivation(self.c, origin)
                if expression is None:
                    continue
                try:
                    computed = evaluate_derivation(
                        expression, value, self.c.controller.keyed_hash_function, self.key
                    )
                except LookupError as e:
                    self.notes.append(
                        f"{d.label} could not be computed for the person ({e}); rows found only "
                        f"through other identifiers. Give the key with --key-file or {KEY_ENV}"
                    )
                    continue
                except duckdb.Error as e:  # an expression DuckDB cannot evaluate alone
                    self.notes.append(
                        f"{d.label} could not be computed for the person "
                        f"({' '.join(str(e).split())[:120]})"
                    )
                    continue
                self.identity.add(
                    d.key,
                    computed,
                    f"computed from the {self.domains.domains[source_domain].label} with the "
                    f"warehouse's own expression {expression.sql('duckdb')}",
                )
                self.identity.anchors.add(d.key)
        for d in pending:
            self.notes.append(
                f"{d.label} could not be computed for the person: it is computed from an "
                "identifier that could not be computed; rows found only through other identifiers"
            )

    # -- searching -------------------------------------------------------------------------
    def run(self) -> None:
        self.seed()
        for _ in range(MAX_ROUNDS):
            if not self._round():
                break
        if self.quarantine:
            self._search_quarantine()

    def set_aside_identifiers(self, source: str) -> dict[str, set[str]]:
        """The person's identifiers to look for in a set-aside file of ``source``, by domain:
        the national ones, and the per-source ones (customer numbers) of that source."""
        return {
            k: set(v)
            for k, v in self.identity.values.items()
            if v
            and (
                k.startswith("national:")
                or (k.startswith("source:") and k.rsplit(":", 1)[-1] == source)
            )
        }

    def search_set_aside(self, folder: Path | None) -> None:
        """The set-aside files of the file quarantine ``folder`` holding the person's
        identifiers (see the module doc), into :attr:`set_aside`; :class:`AccessError` when a
        file cannot be read. Call after :meth:`run`."""
        nodes: dict[str, str | None] = {}
        for entry in fq.set_aside_files(folder):
            ids = self.set_aside_identifiers(entry.source)
            if not ids:
                continue
            try:
                found = {k: fq.find_lines(entry, v) for k, v in ids.items()}
            except fq.FileQuarantineError as e:
                raise AccessError(str(e)) from None
            lines = sorted(set().union(*found.values()))
            if not lines or self.withholding.withholds_quarantined(entry.source, entry.table, None):
                continue
            name = entry.table_name
            if name not in nodes:
                try:
                    nodes[name] = source_node(self.c, name, "the file quarantine")
                except AccessError:
                    nodes[name] = None
            assert folder is not None
            data = self.set_aside.setdefault(name, SetAsideData(nodes[name], name, Path(folder)))
            data.files.append((entry, lines))
            data.matched_on |= {self.domains.domains[k].label for k, v in found.items() if v}

    def _search_quarantine(self) -> None:
        """The quarantined records about the person (see the module doc)."""
        values = sorted({v for vs in self.identity.values.values() for v in vs})
        if not values:
            return
        where = " or ".join("contains(cast(record as varchar), ?)" for _ in values)
        rows = self._read_quarantine(
            f'select source, "table", file, line, reason, cast(record as varchar) from {{q}} '
            f'where {where} order by source, "table", file, line',
            values,
        )
        nodes: dict[str, str | None] = {}
        for source, table, file, line, reason, record in rows:
            name = f"{source}.{table}"
            if name not in nodes:
                try:
                    nodes[name] = source_node(self.c, name, "the quarantine")
                except AccessError:
                    nodes[name] = None
                    self.notes.append(
                        f"rejected rows of {name} in {self.quarantine} belong to no catalogued "
                        "source table and were not searched"
                    )
            uid = nodes[name]
            if uid is None:
                continue
            fields = _fields(record)
            matched = self._quarantine_match(uid, fields)
            if not matched or self.withholding.withholds_quarantined(source, table, record):
                continue
            data = self.quarantined.setdefault(name, QuarantinedData(uid, name))
            data.matched_on |= matched
            data.rows.append((str(file), int(line), str(reason), fields))

    def _quarantine_match(self, uid: str, fields: dict[str, Any]) -> set[str]:
        """The fields of a quarantined record of source ``uid`` that hold the person's value
        of the domain of the source column of that name."""
        id_cols = {ref.column: keys for ref, keys in self.domains.of.items() if ref.node == uid}
        matched = set()
        for name, value in fields.items():
            if name == "_raw":
                cells = {c.strip().strip('"') for c in str(value).split(",")}
                mine = {
                    v
                    for keys in id_cols.values()
                    for k in keys
                    for v in self.identity.values.get(k, ())
                }
                if cells & mine:
                    matched.add(name)
                continue
            keys = id_cols.get(name.lower(), ())
            if value is not None and any(
                str(value) in self.identity.values.get(k, ()) for k in keys
            ):
                matched.add(name)
        return matched

    def _round(self) -> bool:
        learned = False
        for uid, (relation, wh_columns) in self.searchable.items():
            idents = [
                (col, keys)
                for col in wh_columns
                if (keys := self.domains.of.get(ColumnRef(uid, col.lower())))
                and any(self.identity.values.get(k) for k in keys)
            ]
            if not idents:
                continue
            where, params = [], []
            for col, keys in idents:
                values = sorted(set().union(*(self.identity.values.get(k, set()) for k in keys)))
                if not values:
                    continue
                where.append(f"cast({_quote(col)} as varchar) in ({', '.join('?' * len(values))})")
                params.extend(values)
            schema, _, table = relation.partition(".")
            sql = f"select * from {_quote(schema)}.{_quote(table)} where {' or '.join(where)}"
            try:
                rows = self.conn.execute(sql, params).fetchall()
            except duckdb.Error as e:
                raise AccessError(
                    f"cannot read {relation} in the warehouse: {' '.join(str(e).split())[:200]}"
                ) from None
            for row in rows:
                learned |= self._take(uid, relation, wh_columns, row)
        return learned

    def _take(self, uid: str, relation: str, columns: list[str], row: tuple[Any, ...]) -> bool:
        if self.withholding.withholds(uid, columns, row):
            return False  # an exemption: read nothing from it, say nothing of it
        refs = [ColumnRef(uid, c.lower()) for c in columns]
        # someone else's row: an identifier pinned to the person holds another value
        mismatch = {
            k
            for ref, value in zip(refs, row, strict=True)
            if value is not None
            for k in self.domains.of.get(ref, ())
            if k in self.identity.anchors and str(value) not in self.identity.values[k]
        }
        if mismatch:
            given = any(
                value is not None
                and str(value) == self.nid
                and any(k.startswith("national:") for k in self.domains.of.get(ref, ()))
                for ref, value in zip(refs, row, strict=True)
            )
            computed = sorted(
                self.domains.domains[k].label
                for k in mismatch
                if self.domains.domains[k].origin is not None
            )
            if given and computed:
                raise AccessError(
                    f"the pseudonymisation key does not match the warehouse: {computed[0]} "
                    f"computed for the person differs from the one stored next to the number in "
                    f"{relation}; give the key the warehouse was built with (--key-file or "
                    f"{KEY_ENV})"
                )
            return False
        matched = {
            columns[i]
            for i, ref in enumerate(refs)
            if row[i] is not None
            and any(
                str(row[i]) in self.identity.values.get(k, ()) for k in self.domains.of.get(ref, ())
            )
        }
        if not matched:
            return False
        data = self.tables.setdefault(uid, TableData(uid, relation, list(columns)))
        data.matched_on |= matched
        key = tuple(repr(v) for v in row)
        if key not in self._seen_rows[uid]:
            self._seen_rows[uid].add(key)
            data.rows.append(row)
        # learn identifiers of other domains, only from tables with one column per domain
        per_domain: dict[str, list[int]] = defaultdict(list)
        for i, ref in enumerate(refs):
            keys = self.domains.of.get(ref, ())
            if len(keys) == 1:
                per_domain[keys[0]].append(i)
        learned = False
        for k, idx in per_domain.items():
            if len(idx) != 1 or k in self.identity.anchors:
                continue
            value = row[idx[0]]
            if value is None:
                continue
            how = f"found in {relation}.{columns[idx[0]]}"
            learned |= self.identity.add(k, str(value), how)
        return learned


def _fields(record: Any) -> dict[str, Any]:
    """A quarantined record's fields (the JSON object the ingest wrote)."""
    try:
        value = json.loads(record) if isinstance(record, str) else record
    except ValueError:
        return {"_raw": record}
    return dict(value) if isinstance(value, dict) else {"_raw": record}
