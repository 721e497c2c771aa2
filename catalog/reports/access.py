"""The access report (GDPR Art. 15): every table of the warehouse that holds data about one
person, each column's value with its privacy tags and source company, the profiling done and
the recipients, found through the identity columns the catalog knows.

How a person's rows are found, from tags and lineage (no hand-kept list of tables):

1. *Identifier columns* are the columns whose category is one of the controller
   configuration's ``access.identifier_categories``: the national identity number (one number
   space for everyone), cookie ids (one space across the group), customer numbers and
   pseudonyms (numbered per source).
2. Each identifier column belongs to a *domain*: national and group identifiers to their
   category; per-source identifiers to the source table column they are copied from (DIRECT,
   IDENTITY or AGGREGATION edges without masking), so ``stg_bank__accounts.customer_no`` and
   ``raw_bank.customers.customer_no`` share the bank's domain. A column computed otherwise (a
   keyed hash, for ``person_id`` and the model-development pseudonym) starts a domain of its
   own.
3. The person's values: the national identity number given; each keyed-hash domain computed
   from it by evaluating the column's own compiled SQL expression (found with sqlglot) in an
   in-memory DuckDB with the keyed-hash function registered under the pseudonymisation key;
   and the identifiers found next to the person's values in the rows already matched (the bank
   customer numbers in the register row), until nothing new is found. A table with two columns
   of one domain (``customer_roles``: customer and related customer) relates persons and is
   never used to learn identifiers.
4. A row whose national identity number (or keyed-hash pseudonym of it) is someone else's is
   not about the person (a device shared by two logged-in persons) and is left out.

Exit codes of ``catalog access``: 0 data found, 1 no data held about the person (the report
says so), 2 the number is invalid or the report could not be made.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from catalog.lineage import ColumnRef, EdgeType, Subtype
from catalog.loader import Catalog
from catalog.national_id import birth_date, check_digits
from catalog.reports.context import duration_words, source_companies
from catalog.taxonomy import covered_by_any, covers

EXIT_FOUND, EXIT_NOT_FOUND, EXIT_ERROR = 0, 1, 2
KEY_ENV = "FJORDBANK_PSEUDONYM_KEY"
WAREHOUSE_ENV = "FJORDBANK_WAREHOUSE"
DATA_DIR_ENV = "FJORDBANK_DATA_DIR"
SYNTHETIC_ENV = "FJORDBANK_SYNTHETIC_DATA"
MAX_ROUNDS = 10  # identifier discovery rounds (each finds a new kind of identifier)

_VALUE_PRESERVING = (Subtype.IDENTITY, Subtype.AGGREGATION)


class AccessError(Exception):
    """The report could not be made (exit 2): one line, what is wrong and what to do."""


class InvalidNationalId(AccessError):
    """The number given is not a valid national identity number (exit 2)."""


# -- the number ------------------------------------------------------------------------------


def check_national_id(value: str, *, allow_synthetic: bool) -> str:
    """The number, normalised (spaces removed), or :class:`InvalidNationalId` saying why not.

    Norwegian fødselsnummer or D-number (LANDING.md): DDMMYY, individual number, two mod-11
    check digits; synthetic test numbers (month + 80) only where ``allow_synthetic``.

    >>> check_national_id("020161 26007", allow_synthetic=False)
    '02016126007'
    """
    nid = "".join(value.split())
    if len(nid) != 11 or not nid.isdigit():
        raise InvalidNationalId(
            f"{value!r} is not a national identity number: it must be 11 digits "
            "(DDMMYY and five more)"
        )
    if check_digits(nid[:9]) != nid[9:]:
        raise InvalidNationalId(
            f"{nid} is not a valid national identity number: its check digits are wrong "
            "(mod 11); check the number"
        )
    if birth_date(nid) is None:
        raise InvalidNationalId(
            f"{nid} is not a valid national identity number: it encodes no real birth date"
        )
    if int(nid[2:4]) > 80 and not allow_synthetic:
        raise InvalidNationalId(
            f"{nid} is a synthetic test number (month + 80), accepted only for synthetic data; "
            f"pass --synthetic or set {SYNTHETIC_ENV}=true"
        )
    return nid


# -- settings --------------------------------------------------------------------------------


def _data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


def default_warehouse() -> Path:
    """``$FJORDBANK_WAREHOUSE``, else ``$FJORDBANK_DATA_DIR/warehouse.duckdb`` (``data/``)."""
    return Path(os.environ.get(WAREHOUSE_ENV) or _data_dir() / "warehouse.duckdb")


def default_key_file() -> Path:
    return _data_dir() / "secrets" / "pseudonym.key"


def pseudonym_key(key_file: Path | None = None) -> bytes | None:
    """The pseudonymisation key as the warehouse reads it: ``$FJORDBANK_PSEUDONYM_KEY``
    (stripped), else the key file's content (stripped); None when neither is there."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env.encode()
    path = key_file or default_key_file()
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        if key_file is not None:
            raise AccessError(
                f"no pseudonymisation key file at {path}; give the right --key-file"
            ) from None
        return None
    except OSError as e:
        raise AccessError(f"cannot read the key file {path}: {e.strerror}") from None
    return text.encode() if text else None


def keyed_hash_hex(key: bytes, value: str) -> str:
    """HMAC-SHA256 of the UTF-8 text, lower-case hex: the warehouse's keyed-hash function."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


# -- identifier domains ------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """A space of identifier values: ``national:<category>``, ``group:<category>``,
    ``source:<category>:<source>``, or ``derived:<column>`` (a computed identifier)."""

    key: str
    label: str
    origin: ColumnRef | None = None  # the column that computes a derived identifier


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


class _Domains:
    """The identifier columns of the catalog and their domains."""

    def __init__(self, catalog: Catalog):
        self.c = catalog
        self.cfg = catalog.controller
        self._origins: dict[ColumnRef, frozenset[ColumnRef]] = {}
        self.domains: dict[str, Domain] = {}
        self.of: dict[ColumnRef, tuple[str, ...]] = {}
        for ref in catalog.graph.columns():
            keys = self._domains_of(ref)
            if keys:
                self.of[ref] = keys

    def category(self, ref: ColumnRef) -> tuple[str, str] | None:
        """(category, configured key covering it) of an identifier column, else None."""
        for cat in self.c.column_tags(ref).categories:
            keys = [k for k in self.cfg.identifier_categories if covers(k, cat)]
            if keys:
                return cat, max(keys, key=len)
        return None

    def origins(self, ref: ColumnRef) -> frozenset[ColumnRef]:
        """The columns a column's values are copied from (itself when it computes them)."""
        if ref in self._origins:
            return self._origins[ref]
        self._origins[ref] = frozenset({ref})  # guards cycles
        direct = [e for e in self.c.graph.inputs(ref) if e.type is EdgeType.DIRECT]
        if direct and all(e.subtype in _VALUE_PRESERVING and not e.masking for e in direct):
            found = frozenset().union(*(self.origins(e.source) for e in direct))
        else:
            found = frozenset({ref})
        self._origins[ref] = found
        return found

    def _domains_of(self, ref: ColumnRef) -> tuple[str, ...]:
        found = self.category(ref)
        if found is None:
            return ()
        _, key = found
        scope = self.cfg.identifier_categories[key]
        name = f"{self.c.category_name(key)} ({key})"
        if scope in ("national", "group"):
            return (self._domain(f"{scope}:{key}", name),)
        out = []
        for origin in sorted(self.origins(ref)):
            node = self.c.graph.nodes[origin.node]
            if node.resource_type == "source":
                source = node.source_name or ""
                company = self.cfg.company(source) or source
                label = f"{name} of source {source} ({company})"
                out.append(self._domain(f"source:{key}:{source}", label))
            else:
                label = f"{self.c.column_name(origin)} (computed identifier)"
                out.append(self._domain(f"derived:{origin}", label, origin=origin))
        return tuple(dict.fromkeys(out))

    def _domain(self, key: str, label: str, origin: ColumnRef | None = None) -> str:
        self.domains.setdefault(key, Domain(key, label, origin))
        return key


# -- computing keyed-hash identifiers ------------------------------------------------------------


def _schema_for(catalog: Catalog, uid: str) -> dict[str, Any]:
    """The sqlglot schema of a model's parents (columns from the lineage graph)."""
    schema: dict[str, Any] = {}
    for dep in catalog.manifest.nodes[uid].depends_on:
        parent = catalog.manifest.nodes.get(dep)
        if parent is None or dep not in catalog.graph.nodes:
            continue
        db = parent.database or ""
        tables = schema.setdefault(db, {}).setdefault(parent.schema or "", {})
        tables[parent.identifier or parent.name] = dict.fromkeys(
            catalog.graph.nodes[dep].columns, "text"
        )
    return schema


def derivation(catalog: Catalog, ref: ColumnRef) -> Any | None:
    """The SQL expression (sqlglot) that computes a model column from its inputs, following
    the compiled SQL through CTEs and plain renames; None when it cannot be found."""
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    node = catalog.manifest.nodes.get(ref.node)
    if node is None or not node.compiled_code:
        return None
    try:
        root = lineage(
            ref.column,
            node.compiled_code,
            schema=_schema_for(catalog, ref.node),
            dialect=catalog.manifest.adapter_type or "duckdb",
        )
    except (SqlglotError, ValueError, KeyError):
        return None
    cur = root
    while True:
        expression = cur.expression
        inner = expression.this if isinstance(expression, exp.Alias) else expression
        if isinstance(inner, exp.Column) and len(cur.downstream) == 1:
            cur = cur.downstream[0]
            continue
        return None if isinstance(inner, exp.Column | exp.Table) else inner


def evaluate_derivation(expression: Any, value: str, function: str, key: bytes | None) -> str:
    """Evaluate ``expression`` with every column replaced by ``value``, in an in-memory DuckDB
    where the keyed-hash ``function`` is registered under ``key``."""
    from sqlglot import exp

    uses_key = any(
        isinstance(f, exp.Anonymous) and f.name.lower() == function.lower()
        for f in expression.find_all(exp.Anonymous)
    )
    if uses_key and key is None:
        raise LookupError("needs the pseudonymisation key")
    substituted = expression.transform(
        lambda n: exp.Literal.string(value) if isinstance(n, exp.Column) else n
    )
    conn = duckdb.connect()
    try:
        if key is not None:
            conn.create_function(
                function,
                lambda v: keyed_hash_hex(key, v),
                [duckdb.sqltype("VARCHAR")],
                duckdb.sqltype("VARCHAR"),
                side_effects=False,
            )
        row = conn.execute(f"select cast(({substituted.sql('duckdb')}) as varchar)").fetchone()
    finally:
        conn.close()
    if row is None or row[0] is None:
        raise LookupError("evaluates to NULL")
    return str(row[0])


# -- the report ------------------------------------------------------------------------------


@dataclass
class TableData:
    """The person's rows of one warehouse table."""

    uid: str
    relation: str
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    matched_on: set[str] = field(default_factory=set)


@dataclass
class AccessReport:
    national_id: str
    warehouse: str
    identifiers: list[dict[str, str]]
    tables: list[dict[str, Any]]
    profiling: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    notes: list[str]
    controller: dict[str, str]

    @property
    def found(self) -> bool:
        return bool(self.tables)

    @property
    def exit_code(self) -> int:
        return EXIT_FOUND if self.found else EXIT_NOT_FOUND

    def to_json(self) -> dict[str, Any]:
        return {
            "access_report": "GDPR Art. 15",
            "national_id": self.national_id,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "warehouse": self.warehouse,
            "controller": self.controller,
            "data_found": self.found,
            "identifiers": self.identifiers,
            "tables": self.tables,
            "profiling": self.profiling,
            "recipients": self.recipients,
            "notes": self.notes,
        }


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Search:
    def __init__(self, catalog: Catalog, conn: Any, key: bytes | None, nid: str):
        self.c = catalog
        self.conn = conn
        self.key = key
        self.domains = _Domains(catalog)
        self.identity = _Identity()
        self.notes: list[str] = []
        self.tables: dict[str, TableData] = {}
        self._seen_rows: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        self.searchable = self._searchable_tables()
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
            r for r, kind in kinds.items() if kind == "BASE TABLE" and r not in by_relation
        )
        if unknown:
            self.notes.append(
                "tables in the warehouse the catalog does not describe (no tags, not searched; "
                f"review them by hand): {', '.join(unknown)}"
            )
        return out

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


def _tags_entry(catalog: Catalog, ref: ColumnRef) -> dict[str, Any]:
    tags = catalog.tags.column(ref)
    if tags is None or not tags.categories:
        return {
            "category": None,
            "purposes": [],
            "legal_basis": [],
            "retention": None,
            "source_company": [],
            "untagged": True,
        }
    companies = source_companies(catalog, ref)
    if not companies:
        companies = [f"{catalog.controller.controller['name']} (computed by the platform)"]
    return {
        "category": tags.category,
        "purposes": list(tags.purposes),
        "legal_basis": [*tags.legal_basis, *tags.art9_ground],
        "retention": tags.retention,
        "source_company": companies,
    }


def _profiling(
    catalog: Catalog, tables: Mapping[str, TableData], domains: _Domains
) -> list[dict[str, Any]]:
    """Per table holding profiling results about the person: the scores with their context
    (scenario, date), what the scoring is, and the features it used."""
    out = []
    profile = catalog.controller.profile_categories
    for uid, data in tables.items():
        refs = [ColumnRef(uid, c.lower()) for c in data.columns]
        scores = [
            i
            for i, r in enumerate(refs)
            if any(covered_by_any(k, profile) for k in catalog.column_tags(r).categories)
        ]
        if not scores:
            continue
        context = [
            j
            for j, r in enumerate(refs)
            if j not in scores and r not in domains.of and not catalog.is_personal(r)
        ]
        shown = [*scores, *context]
        decl = catalog.manifest.nodes.get(uid)
        score_tags = catalog.column_tags(refs[scores[0]])
        out.append(
            {
                "table": data.relation,
                "logic": (decl.description if decl else "") or catalog.graph.nodes[uid].label,
                "scores": [
                    {
                        "column": data.columns[i],
                        "what": (
                            (
                                col.description
                                if (col := decl and decl.column(data.columns[i]))
                                else ""
                            )
                            or data.columns[i]
                        ),
                    }
                    for i in scores
                ],
                "purposes": list(score_tags.purposes),
                "retention": score_tags.retention,
                "results": [
                    {data.columns[j]: _json_value(row[j]) for j in shown} for row in data.rows
                ],
                "features": _features(catalog, [refs[i] for i in scores], profile, tables, domains),
            }
        )
    return out


# Column-level edges a score is computed over: its inputs' values, CASE conditions, and the
# ordering of a ranking window.
_FEATURE_EDGES = (Subtype.CONDITIONAL, Subtype.WINDOW)


def _features(
    catalog: Catalog,
    starts: Sequence[ColumnRef],
    profile: Sequence[str],
    tables: Mapping[str, TableData],
    domains: _Domains,
) -> list[dict[str, Any]]:
    """The personal columns profile columns are computed from, passing through other profile
    columns; identifiers and configuration (non-personal) are not features. With the person's
    value where their one row of the feature table is held."""
    seen: set[ColumnRef] = set(starts)
    stack = list(starts)
    found: dict[ColumnRef, None] = {}
    while stack:
        cur = stack.pop()
        for e in catalog.graph.inputs(cur):
            if e.dataset_level or not (e.type is EdgeType.DIRECT or e.subtype in _FEATURE_EDGES):
                continue
            src = e.source
            if src in seen:
                continue
            seen.add(src)
            if any(covered_by_any(k, profile) for k in catalog.column_tags(src).categories):
                stack.append(src)
            elif catalog.is_personal(src) and src not in domains.of:
                found[src] = None
    out = []
    for src in sorted(found, key=catalog.column_name):
        entry: dict[str, Any] = {
            "column": catalog.column_name(src),
            "category": catalog.column_tags(src).category,
        }
        data = tables.get(src.node)
        if data is not None:
            cols = [c.lower() for c in data.columns]
            if src.column in cols and len(data.rows) == 1:
                entry["value"] = _json_value(data.rows[0][cols.index(src.column)])
        out.append(entry)
    return out


def _recipients(catalog: Catalog, purposes: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for p in sorted(set(purposes)):
        entry = catalog.controller.activity_for(p)
        out.append(
            {
                "purpose": p,
                "purpose_name": catalog.use_name(p),
                "recipients": list(entry.recipients)
                if entry
                else [f"not described in {catalog.controller.where}"],
            }
        )
    return out


def access_report(
    catalog: Catalog,
    national_id: str,
    warehouse: Path,
    *,
    key: bytes | None,
    allow_synthetic: bool,
) -> AccessReport:
    """Find every row about the person in the warehouse and describe it (see module doc)."""
    nid = check_national_id(national_id, allow_synthetic=allow_synthetic)
    if not Path(warehouse).is_file():
        raise AccessError(
            f"no warehouse at {warehouse}; run `make run` or pass --warehouse (or set "
            f"{WAREHOUSE_ENV})"
        )
    try:
        conn = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as e:  # locked by a running build, not a DuckDB file ...
        reason = " ".join(str(e).split())
        hint = (
            "wait for the running build to finish and retry"
            if "lock" in reason.lower()
            else "point --warehouse at the warehouse's DuckDB file"
        )
        raise AccessError(
            f"cannot open the warehouse {warehouse}: {reason[:200]}; {hint}"
        ) from None
    try:
        search = _Search(catalog, conn, key, nid)
        search.run()
    finally:
        conn.close()

    tables = []
    purposes: set[str] = set()
    order = sorted(
        search.tables.values(),
        key=lambda t: (catalog.graph.nodes[t.uid].resource_type != "source", t.relation),
    )
    for data in order:
        node = catalog.graph.nodes[data.uid]
        tag_entries = {
            c: _tags_entry(catalog, ColumnRef(data.uid, c.lower())) for c in data.columns
        }
        for entry in tag_entries.values():
            purposes.update(entry["purposes"])
        tables.append(
            {
                "table": data.relation,
                "dataset": node.label,
                "kind": node.resource_type,
                "description": catalog.manifest.nodes[data.uid].description
                if data.uid in catalog.manifest.nodes
                else "",
                "matched_on": sorted(data.matched_on),
                "rows": [
                    [
                        {"column": c, "value": _json_value(v), **tag_entries[c]}
                        for c, v in zip(data.columns, row, strict=True)
                    ]
                    for row in data.rows
                ],
            }
        )
    identifiers = [
        {
            "identifier": search.domains.domains[k].label,
            "value": v,
            "how": search.identity.how[(k, v)],
        }
        for k in sorted(search.identity.values)
        for v in sorted(search.identity.values[k])
    ]
    cfg = catalog.controller
    return AccessReport(
        national_id=nid,
        warehouse=str(warehouse),
        identifiers=identifiers,
        tables=tables,
        profiling=_profiling(catalog, {t.uid: t for t in order}, search.domains),
        recipients=_recipients(catalog, purposes),
        notes=search.notes,
        controller={
            "name": cfg.controller["name"],
            "contact": cfg.controller["contact"],
            "data_protection_officer": f"{cfg.data_protection_officer['name']}, "
            f"{cfg.data_protection_officer['contact']}",
            "supervisory_authority": cfg.supervisory_authority,
        },
    )


# -- rendering -------------------------------------------------------------------------------


def render_json(report: AccessReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False)


def _md(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(_md(v) for v in value) or "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: AccessReport) -> str:
    data = report.to_json()
    c = data["controller"]
    lines = [
        f"# Access report (GDPR Art. 15): national identity number {report.national_id}",
        "",
        f"Controller: {c['name']} ({c['contact']}). Data protection officer: "
        f"{c['data_protection_officer']}.",
        f"Generated {data['generated_at']} from the warehouse `{report.warehouse}` and the "
        "catalog's tags and lineage.",
        "",
    ]
    if not report.found:
        lines += [
            "**No data about this person is held in the warehouse.** No table holds the number "
            "or an identifier derived from it.",
            "",
        ]
    else:
        rows = sum(len(t["rows"]) for t in report.tables)
        lines += [
            f"Data about this person is held in **{len(report.tables)} tables** "
            f"({rows} rows). Each column is listed with its category, purposes, legal basis, "
            "retention and the group company it comes from.",
            "",
            "## Identifiers used to find the data",
            "",
            "| identifier | value | how it was found |",
            "|---|---|---|",
            *(
                f"| {_md(i['identifier'])} | {_md(i['value'])} | {_md(i['how'])} |"
                for i in report.identifiers
            ),
            "",
            "## Data held, per table",
            "",
        ]
        for t in report.tables:
            first = t["rows"][0]
            lines += [
                f"### {t['table']} ({t['kind']} {t['dataset']})",
                "",
                f"{t['description']}".strip() or "",
                "",
                f"Found through: {', '.join(t['matched_on'])}. Rows: {len(t['rows'])}.",
                "",
                "| column | category | purposes | legal basis | retention | source company |",
                "|---|---|---|---|---|---|",
            ]
            for col in first:
                retention = (
                    f"{col['retention']} ({duration_words(col['retention'])})"
                    if col["retention"]
                    else None
                )
                lines.append(
                    f"| {_md(col['column'])} | {_md(col['category'])} | {_md(col['purposes'])} "
                    f"| {_md(col['legal_basis'])} | {_md(retention)} "
                    f"| {_md(col['source_company'])} |"
                )
            lines += [
                "",
                "| " + " | ".join(_md(col["column"]) for col in first) + " |",
                "|" + "---|" * len(first),
                *("| " + " | ".join(_md(col["value"]) for col in row) + " |" for row in t["rows"]),
                "",
            ]
    lines += ["## Profiling (Art. 15(1)(h))", ""]
    if not report.profiling:
        lines += ["No profiling result about this person is held.", ""]
    for p in report.profiling:
        head = list(p["results"][0]) if p["results"] else []
        lines += [
            f"### {p['table']}: " + "; ".join(f"{s['column']}: {s['what']}" for s in p["scores"]),
            "",
            f"{p['logic']}",
            "",
            f"Purposes: {_md(p['purposes'])}; kept {duration_words(p['retention'])}.",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
            *("| " + " | ".join(_md(v) for v in r.values()) + " |" for r in p["results"]),
            "",
            "Features used: "
            + "; ".join(
                f"{f['column']} ({f['category']})"
                + (f" = {_md(f['value'])}" if "value" in f else "")
                for f in p["features"]
            )
            + ".",
            "",
        ]
    lines += ["## Recipients (Art. 15(1)(c))", ""]
    for r in report.recipients:
        lines.append(f"- {r['purpose_name']} (`{r['purpose']}`): {'; '.join(r['recipients'])}")
    if not report.recipients:
        lines.append("- None: no data about this person is held.")
    lines += [
        "",
        "## Your rights",
        "",
        "You may ask for rectification or erasure, restriction of processing, or object to "
        "processing (Art. 16-21), including to profiling and direct marketing at any time. "
        f"You may complain to the supervisory authority: {c['supervisory_authority']}.",
        "",
    ]
    if report.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in report.notes), ""]
    return "\n".join(lines)
