"""Carrying out one erasure: find the person, keep what the law requires, remove the rest.

1. **Find** (:class:`PersonSearch`, the access report's search without its exemptions: an open
   fraud case is found too, it must be held, not overlooked): from the identity number given,
   the keyed ids computed with the warehouse's own SQL expressions (``person_id``, the
   model-development pseudonym: :mod:`catalog.reports.access.derivation` and ``evaluation``),
   and the identifiers found next to them (customer numbers, cookie ids; the email and phone sit
   in the customer rows found), every row of every catalogued table and every quarantined
   record about the person.
2. **Plan**: for each source table, the person's raw rows and quarantined records by their
   (file, line). Rows of a table under a legal hold (:mod:`.holds`) are kept while their
   retention runs; past it they are erased with the rest. Rows of derived tables are counted:
   the next build rebuilds them from what remains.
3. **Carry out** (``apply``): the erased persons' identifiers are added to the suppression list
   (:mod:`.suppression`) first, so a re-delivery can never bring them back even if what follows
   fails; then the landing records, raw rows and quarantine rows go in one purge
   (:func:`catalog.retention.purge.purge`); then the receipt (:mod:`.receipt`) is written; only
   then are the person's erasure requests themselves removed (a request is never lost before its
   receipt exists). Without ``apply`` nothing changes and the receipt is a preview.

Several persons (:func:`erase_all`, a run's delivered requests) are each found and planned on
their own, their rows counted for their receipts from the warehouse (:func:`~catalog.retention.
purge.count`); then every file is checked once against the warehouse for all of them, and steps
3's suppression, purge, set-aside cut, receipts and request rows each happen once for all: a
landing file with records of five persons is read twice and rewritten once, not ten and five
times. The purge must remove exactly what was counted, table by table, or the erasure fails
before any receipt is written.

The set-aside delivery files (the file quarantine, :mod:`catalog.file_quarantine`) are searched
too (:meth:`~catalog.reports.access.search.Search.search_set_aside`: the lines holding the
person's identity number or one of their customer numbers of the file's company). After the
purge those lines are cut out of the files, every other byte kept, and the files' JSON updated;
then the files are searched again and any line of the person left fails the erasure before the
receipt is written. Lines of a held table's files are kept, like its quarantine rows, until the
file quarantine's retention deletes the file.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from catalog import file_quarantine as fq
from catalog.erasure.errors import ErasureError
from catalog.erasure.holds import Hold, load_holds
from catalog.erasure.receipt import Receipt, write_receipt
from catalog.erasure.suppression import Suppression
from catalog.loader import Catalog
from catalog.national_id import InvalidNationalId, check_national_id
from catalog.pseudonym import hasher
from catalog.reports.access.errors import AccessError
from catalog.reports.access.search import Search
from catalog.retention.purge import PurgeError, PurgeResult, PurgeTarget, count, purge

REQUESTS_TABLE = ("privacy", "erasure_requests")
EXIT_DONE, EXIT_NOTHING_HELD, EXIT_INVALID = 0, 1, 2
# Identifier domains whose values reach the landing files (a derived: keyed id never does).
_LANDING_DOMAINS = ("national:", "source:", "group:")


class _NoExemption:
    """No row is withheld: an erasure must see every row, to hold it or to remove it."""

    def withholds(self, *_: Any) -> bool:
        return False

    def withholds_quarantined(self, *_: Any) -> bool:
        return False


class PersonSearch(Search):
    """The access report's search (:class:`~catalog.reports.access.search.Search`) with no
    exemption applied."""

    def __init__(self, catalog: Catalog, conn: Any, key: bytes | None, nid: str):
        super().__init__(catalog, conn, key, nid)
        self.withholding = _NoExemption()


@dataclass
class _TablePlan:
    """The person's rows of one source table, by place."""

    source: str
    table: str
    raw_keys: list[str] = field(default_factory=list)  # "<file>:<line>"
    quarantine_keys: list[str] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)  # the erasure requests table only

    @property
    def key(self) -> str:
        return f"{self.source}.{self.table}"


def _keys_predicate(alias: str, file_col: str, line_col: str, param: str) -> str:
    return f"list_contains(${param}, {alias}.{file_col} || ':' || {alias}.{line_col})"


@dataclass(frozen=True)
class ErasureOrder:
    """One person to erase: the identity number and the request it comes from."""

    national_id: str
    request_id: str | None = None
    received_at: str | None = None


@dataclass
class _PersonPlan:
    """Everything found and planned for one person before anything changes."""

    request_id: str
    search: Search
    targets: list[PurgeTarget]
    request_targets: list[PurgeTarget]
    set_aside: dict[str, list[tuple[fq.SetAsideFile, list[int]]]]
    columns: dict[str, dict[str, str]]
    hashes: dict[str, set[str]]
    receipt: Receipt


def erase(
    catalog: Catalog,
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    national_id: str,
    *,
    key: bytes,
    allow_synthetic: bool,
    apply: bool,
    receipts_dir: Path,
    suppression_file: Path,
    request_id: str | None = None,
    received_at: str | None = None,
    now: dt.datetime | None = None,
    file_quarantine: Path | None = None,
) -> Receipt:
    """Erase (``apply``) or preview one person, in the warehouse, the landing files and the
    set-aside files of ``file_quarantine``. Returns the receipt (written when applied).

    Raises :class:`ErasureError` (one line) for an invalid number or request id, a warehouse out
    of step with the landing files, or anything that stops the search; nothing was removed then.
    """
    order = ErasureOrder(national_id, request_id, received_at)
    return erase_all(
        catalog,
        conn,
        landing_root,
        [order],
        key=key,
        allow_synthetic=allow_synthetic,
        apply=apply,
        receipts_dir=receipts_dir,
        suppression_file=suppression_file,
        now=now,
        file_quarantine=file_quarantine,
    )[0]


def erase_all(
    catalog: Catalog,
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    orders: list[ErasureOrder],
    *,
    key: bytes,
    allow_synthetic: bool,
    apply: bool,
    receipts_dir: Path,
    suppression_file: Path,
    now: dt.datetime | None = None,
    file_quarantine: Path | None = None,
) -> list[Receipt]:
    """Erase (``apply``) or preview several persons at once: each is found and planned on its
    own, then every landing file, raw table and set-aside file involved is purged once for all
    of them (a file holding records of five persons is read and rewritten once, not five
    times). Returns one receipt per person, in the order given; an order whose request the
    erasure of an earlier order's person covers (the same person asked twice) gets none.

    All or nothing up to the purge: an invalid number or request id, a search that cannot run
    or a landing file out of step with the warehouse raises :class:`ErasureError` (one line)
    before anything changes for any of them. Then, as for one person: the suppression list
    first, the purge, the set-aside files, the receipts, and only then the request rows.
    """
    if not key:
        raise ErasureError("no pseudonymisation key: the erasure needs it to find keyed ids")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    holds = load_holds(catalog.manifest)
    people: list[_PersonPlan] = []
    covered: set[str] = set()
    for order in orders:
        if order.request_id is not None and order.request_id in covered:
            continue  # the same person's earlier request erases this one's row too
        person = _plan_person(
            catalog, conn, order, key, holds, now, apply, allow_synthetic, file_quarantine
        )
        covered |= {person.request_id, *person.receipt.requests_covered}
        people.append(person)
    if not people:
        return []
    ids = [p.request_id for p in people]
    if twice := sorted({i for i in ids if ids.count(i) > 1}):
        raise ErasureError(
            f"request id {twice[0]} is given to two persons; give each order its own request id"
        )
    targets = _merged([t for p in people for t in p.targets])
    request_targets = _merged([t for p in people for t in p.request_targets])
    try:
        # every file checked against the warehouse before the suppression list changes
        expected = purge(conn, landing_root, [*targets, *request_targets], apply=False)
    except PurgeError as e:
        raise ErasureError(str(e)) from None
    if not apply:
        return [p.receipt for p in people]
    suppression = Suppression.load(suppression_file)
    for p in people:
        suppression.add(p.columns, p.hashes)
    suppression.save(suppression_file)
    try:
        done = purge(conn, landing_root, targets, apply=True)
    except PurgeError as e:
        raise ErasureError(f"{e} (the persons are on the suppression list already)") from None
    if any(done.tables[t.key] != expected.tables[t.key] for t in targets):
        raise ErasureError(
            "the purge removed other rows than it planned (the warehouse changed during the "
            "erasure?); the persons are on the suppression list already: erase again"
        )
    _erase_set_aside(
        [p.search for p in people], _merged_set_aside(people), holds, file_quarantine, now
    )
    for p in people:
        p.receipt.carried_out_at = now.isoformat()
        p.receipt.path = write_receipt(p.receipt, receipts_dir)
    if request_targets:
        try:
            purge(conn, landing_root, request_targets, apply=True)
        except PurgeError as e:
            raise ErasureError(
                f"erasure done and receipts written, but the request rows were not removed: {e}"
            ) from None
    return [p.receipt for p in people]


def _plan_person(
    catalog: Catalog,
    conn: duckdb.DuckDBPyConnection,
    order: ErasureOrder,
    key: bytes,
    holds: dict[str, Hold],
    now: dt.datetime,
    apply: bool,
    allow_synthetic: bool,
    file_quarantine: Path | None,
) -> _PersonPlan:
    """Find one person and plan their erasure; changes nothing."""
    try:
        nid = check_national_id(order.national_id, allow_synthetic=allow_synthetic)
    except InvalidNationalId as e:
        raise ErasureError(str(e)) from None
    request_id = order.request_id or f"manual-{now.strftime('%Y%m%dT%H%M%SZ')}"
    Receipt.check_request_id(request_id)
    keyed = hasher(key)
    search = PersonSearch(catalog, conn, key, nid)
    try:
        search.run()
        search.search_set_aside(file_quarantine)
    except AccessError as e:
        raise ErasureError(f"cannot search the warehouse for the person: {e}") from None
    plans, derived = _plan(catalog, search)
    targets, request_targets, kept = _targets(conn, plans, holds, now.date())
    set_aside, set_aside_kept = _set_aside_plan(search, holds)
    kept += set_aside_kept
    covered = sorted(set().union(*(p.request_ids for p in plans.values())) - {request_id})
    try:
        # counted from the warehouse's rows (the files are checked once for every person)
        removed = count(conn, [*targets, *request_targets])
    except PurgeError as e:
        raise ErasureError(str(e)) from None
    columns, hashes = _suppression_entries(catalog, search, holds, keyed)
    receipt = Receipt(
        request_id=request_id,
        keyed_hash=keyed(nid),
        received_at=order.received_at or now.isoformat(),
        carried_out_at=None,
        applied=apply,
        removed=_with_set_aside(_counts(removed), set_aside),
        derived=derived,
        kept=kept,
        holds={h.table: h.to_json() for h in holds.values()},
        identifiers={
            search.domains.domains[d].label: len(v)
            for d, v in sorted(search.identity.values.items())
            if v
        },
        suppressed={d: len(v) for d, v in sorted(hashes.items())},
        requests_covered=covered,
        notes=[n for n in search.notes if not any(v in n for v in _values(search))],
    )
    return _PersonPlan(
        request_id,
        search,
        targets,
        request_targets,
        set_aside,
        columns,
        hashes,
        receipt,
    )


def _merged(targets: list[PurgeTarget]) -> list[PurgeTarget]:
    """One target per table for several persons' targets: the union of their rows' places.
    Their predicates are the same per table (the keys predicate, and a legal hold's expiry)."""
    merged: dict[str, PurgeTarget] = {}
    for t in targets:
        m = merged.get(t.key)
        if m is None:
            merged[t.key] = PurgeTarget(
                t.source, t.table, t.raw_where, t.quarantine_where, dict(t.params)
            )
            continue
        params = dict(m.params)
        for where, param, mine in (
            (t.raw_where, "raw_keys", m.raw_where),
            (t.quarantine_where, "quarantine_keys", m.quarantine_where),
        ):
            if where is None:
                continue
            if mine is not None and mine != where:
                raise ErasureError(
                    f"{t.key}: two persons' purge predicates differ; erase them one by one"
                )
            params[param] = sorted({*params.get(param, ()), *t.params[param]})
        merged[t.key] = PurgeTarget(
            t.source,
            t.table,
            m.raw_where or t.raw_where,
            m.quarantine_where or t.quarantine_where,
            params,
        )
    return list(merged.values())


def _merged_set_aside(
    people: list[_PersonPlan],
) -> dict[str, list[tuple[fq.SetAsideFile, list[int]]]]:
    """The set-aside lines to cut, per table, one entry per file for every person (cutting
    one person's lines renumbers the file: every person's lines must go in one cut)."""
    by_file: dict[Path, tuple[str, fq.SetAsideFile, set[int]]] = {}
    for p in people:
        for name, files in p.set_aside.items():
            for entry, lines in files:
                by_file.setdefault(entry.file, (name, entry, set()))[2].update(lines)
    out: dict[str, list[tuple[fq.SetAsideFile, list[int]]]] = defaultdict(list)
    for name, entry, lines in by_file.values():
        out[name].append((entry, sorted(lines)))
    return dict(out)


def _set_aside_plan(
    search: Search, holds: dict[str, Hold]
) -> tuple[dict[str, list[tuple[fq.SetAsideFile, list[int]]]], list[dict[str, Any]]]:
    """The person's lines of set-aside files to cut, per source table, and what a legal hold
    keeps (a held table's set-aside lines stay until the file quarantine's retention ends)."""
    cut: dict[str, list[tuple[fq.SetAsideFile, list[int]]]] = {}
    kept = []
    for name, data in sorted(search.set_aside.items()):
        hold = holds.get(name)
        if hold is None:
            cut[name] = list(data.files)
            continue
        kept.append(
            {
                **hold.to_json(),
                "place": "file quarantine",
                "rows": [{"until": None, "rows": data.lines}],
                "note": "lines of set-aside delivery files, kept until the file quarantine's "
                "retention ends",
            }
        )
    return cut, kept


def _with_set_aside(
    removed: dict[str, dict[str, int]], set_aside: dict[str, list[tuple[Any, list[int]]]]
) -> dict[str, dict[str, int]]:
    """The receipt's counts with the set-aside lines and files cut, per table."""
    out = {t: dict(c) for t, c in removed.items()}
    for name, files in set_aside.items():
        c = out.setdefault(name, {})
        c["set_aside_lines"] = sum(len(lines) for _, lines in files)
        c["set_aside_files"] = len(files)
    return dict(sorted(out.items()))


def _erase_set_aside(
    searches: list[Search],
    set_aside: dict[str, list[tuple[fq.SetAsideFile, list[int]]]],
    holds: dict[str, Hold],
    folder: Path | None,
    now: dt.datetime,
) -> None:
    """Cut the persons' lines out of the set-aside files, then prove none is left outside a
    held table's files (:class:`ErasureError` otherwise, before the receipts are written)."""
    try:
        for files in set_aside.values():
            for entry, lines in files:
                fq.remove_lines(entry, lines, now=now)
        left = [
            entry.file
            for entry in fq.set_aside_files(folder)
            if entry.table_name not in holds
            for search in searches
            for values in search.set_aside_identifiers(entry.source).values()
            if fq.find_lines(entry, values)
        ]
    except fq.FileQuarantineError as e:
        raise ErasureError(f"{e} (the persons are on the suppression list already)") from None
    if left:
        raise ErasureError(
            f"{left[0]}: an erased person's identifiers are still in this set-aside file after "
            "the erasure (it changed meanwhile?); erase again"
        )


def _values(search: Search) -> set[str]:
    """Every identifier value found for the person (never to be written anywhere)."""
    return {v for values in search.identity.values.values() for v in values}


def _plan(catalog: Catalog, search: Search) -> tuple[dict[str, _TablePlan], dict[str, int]]:
    """The person's rows per source table (file:line keys) and row counts per derived table."""
    plans: dict[str, _TablePlan] = {}
    derived: dict[str, int] = {}

    def plan_for(source: str, table: str) -> _TablePlan:
        return plans.setdefault(f"{source}.{table}", _TablePlan(source, table))

    for uid, data in search.tables.items():
        node = catalog.graph.nodes[uid]
        if node.resource_type != "source":
            derived[node.relation or node.label] = len(data.rows)
            continue
        cols = [c.lower() for c in data.columns]
        if "_source_file" not in cols or "_source_line" not in cols:
            raise ErasureError(
                f"{data.relation} has no _source_file/_source_line: not an ingested raw table; "
                "its rows cannot be traced to the landing files"
            )
        f, ln = cols.index("_source_file"), cols.index("_source_line")
        plan = plan_for(node.source_name or "", node.name)
        plan.raw_keys += [f"{row[f]}:{row[ln]}" for row in data.rows]
        if (plan.source, plan.table) == REQUESTS_TABLE and "request_id" in cols:
            plan.request_ids |= {str(row[cols.index("request_id")]) for row in data.rows}
    for name, qdata in search.quarantined.items():
        source, _, table = name.partition(".")
        plan = plan_for(source, table)
        plan.quarantine_keys += [f"{file}:{line}" for file, line, _, _ in qdata.rows]
        if (source, table) == REQUESTS_TABLE:
            plan.request_ids |= {
                str(fields["request_id"]) for *_, fields in qdata.rows if fields.get("request_id")
            }
    return plans, dict(sorted(derived.items()))


def _targets(
    conn: duckdb.DuckDBPyConnection,
    plans: dict[str, _TablePlan],
    holds: dict[str, Hold],
    today: dt.date,
) -> tuple[list[PurgeTarget], list[PurgeTarget], list[dict[str, Any]]]:
    """The purge targets (the person's data; their erasure requests apart) and what is kept."""
    targets, request_targets, kept = [], [], []
    for name, plan in sorted(plans.items()):
        raw_where = quarantine_where = None
        params: dict[str, Any] = {}
        hold = holds.get(name)
        if plan.raw_keys:
            raw_where = _keys_predicate("t", "_source_file", "_source_line", "raw_keys")
            params["raw_keys"] = sorted(plan.raw_keys)
            if hold is not None:
                held = _held_rows(conn, plan, hold, raw_where, params, today)
                if held:
                    kept.append({**hold.to_json(), "place": "raw and landing", "rows": held})
                raw_where = f"{raw_where} and {hold.expired_sql(today, 't')}"
        if plan.quarantine_keys:
            if hold is not None:
                # A rejected record of a held table may be the only copy of the case: it stays
                # until the quarantine's own retention removes it.
                kept.append(
                    {
                        **hold.to_json(),
                        "place": "quarantine",
                        "rows": [{"until": None, "rows": len(plan.quarantine_keys)}],
                        "note": "rejected records, kept until the quarantine's retention ends",
                    }
                )
            else:
                quarantine_where = _keys_predicate("q", "file", "line", "quarantine_keys")
                params["quarantine_keys"] = sorted(plan.quarantine_keys)
        target = PurgeTarget(plan.source, plan.table, raw_where, quarantine_where, params)
        if (plan.source, plan.table) == REQUESTS_TABLE:
            request_targets.append(target)
        else:
            targets.append(target)
    return targets, request_targets, kept


def _held_rows(
    conn: duckdb.DuckDBPyConnection,
    plan: _TablePlan,
    hold: Hold,
    raw_where: str,
    params: dict[str, Any],
    today: dt.date,
) -> list[dict[str, Any]]:
    """The person's rows of a held table still inside their retention: rows per last day."""
    relation = f'"raw_{plan.source}"."{plan.table}"'
    try:
        rows = conn.execute(
            f"select {hold.until_sql('t')} as until, count(*) from {relation} t "
            f"where {raw_where} and not ({hold.expired_sql(today, 't')}) "
            "group by all order by until nulls last",
            params,
        ).fetchall()
    except duckdb.Error as e:
        raise ErasureError(f"{hold.table}: cannot evaluate the legal hold ({e})") from None
    return [
        {"until": until.isoformat() if until else None, "rows": n}
        if until
        else {
            "until": None,
            "rows": n,
            "note": f"{hold.retention_from} not set yet (still running): held until "
            f"{hold.retention} after it is",
        }
        for until, n in rows
    ]


def _suppression_entries(
    catalog: Catalog, search: Search, holds: dict[str, Hold], keyed: Any
) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """The identifier columns of every source table (not held, not the requests) by domain,
    and the keyed hashes of the person's identifiers in those domains."""
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    for ref, domains in search.domains.of.items():
        node = catalog.graph.nodes[ref.node]
        if node.resource_type != "source":
            continue
        table = f"{node.source_name}.{node.name}"
        if table in holds or (node.source_name, node.name) == REQUESTS_TABLE:
            continue
        for d in domains:
            if d.startswith(_LANDING_DOMAINS):
                columns[table][ref.column] = d
    hashes = {
        d: {keyed(v) for v in values}
        for d, values in search.identity.values.items()
        if values and d.startswith(_LANDING_DOMAINS)
    }
    return dict(columns), hashes


def _counts(result: PurgeResult) -> dict[str, dict[str, int]]:
    """Counts per table and place."""
    return {name: c.to_json() for name, c in sorted(result.tables.items())}
