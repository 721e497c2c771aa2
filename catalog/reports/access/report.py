"""The access report of one person: the search's rows with each column's tags and source
company, the identifiers used, the profiling, the recipients and the controller
(:func:`access_report`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from catalog.lineage import ColumnRef
from catalog.loader import Catalog
from catalog.national_id import check_national_id
from catalog.reports.access.errors import AccessError
from catalog.reports.access.profiling import profiling
from catalog.reports.access.search import QuarantinedData, Search, SetAsideData
from catalog.reports.access.values import json_value
from catalog.reports.context import source_companies
from catalog.settings import WAREHOUSE_ENV

EXIT_FOUND, EXIT_NOT_FOUND, EXIT_ERROR = 0, 1, 2


@dataclass
class AccessReport:
    """The report of one person; :meth:`to_json` is the document both renderings show."""

    national_id: str
    warehouse: str
    identifiers: list[dict[str, str]]
    tables: list[dict[str, Any]]
    profiling: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    notes: list[str]
    controller: dict[str, str]
    generated_at: str = ""

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
            "generated_at": self.generated_at,
            "warehouse": self.warehouse,
            "controller": self.controller,
            "data_found": self.found,
            "identifiers": self.identifiers,
            "tables": self.tables,
            "profiling": self.profiling,
            "recipients": self.recipients,
            "notes": self.notes,
        }


def _tags_entry(catalog: Catalog, ref: ColumnRef) -> dict[str, Any]:
    """A column's tags as the report lists them, and the group companies it comes from."""
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


def _recipients(catalog: Catalog, purposes: Iterable[str]) -> list[dict[str, Any]]:
    """Per purpose, the recipients the controller configuration names for it."""
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
    now: dt.datetime | None = None,
    file_quarantine: Path | None = None,
) -> AccessReport:
    """Find every row about the person in the warehouse, and every line of theirs in the
    set-aside files of the ``file_quarantine`` folder, and describe it (see the package doc);
    :class:`~catalog.national_id.InvalidNationalId` for an invalid number, :class:`AccessError`
    when the report cannot be made. ``now`` is the time the report says it was generated."""
    search = search_person(
        catalog,
        national_id,
        warehouse,
        key=key,
        allow_synthetic=allow_synthetic,
        file_quarantine=file_quarantine,
    )
    return _report(catalog, search, warehouse, now or dt.datetime.now(dt.UTC))


def search_person(
    catalog: Catalog,
    national_id: str,
    warehouse: Path,
    *,
    key: bytes | None,
    allow_synthetic: bool,
    file_quarantine: Path | None = None,
) -> Search:
    """The number validated, the warehouse opened read-only and searched for the person (the
    exemptions applied), then the set-aside files of ``file_quarantine`` (when given); the
    finished :class:`Search`."""
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
        search = Search(catalog, conn, key, nid)
        search.run()
    finally:
        conn.close()
    search.search_set_aside(file_quarantine)
    return search


def row_order(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    """A total order on a table's rows, so the report never depends on the scan order."""
    return tuple((v is None, repr(json_value(v))) for v in row)


def _report(catalog: Catalog, search: Search, warehouse: Path, now: dt.datetime) -> AccessReport:
    tables = []
    purposes: set[str] = set()
    order = sorted(
        search.tables.values(),
        key=lambda t: (catalog.graph.nodes[t.uid].resource_type != "source", t.relation),
    )
    for data in order:
        data.rows.sort(key=row_order)
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
                        {"column": c, "value": json_value(v), **tag_entries[c]}
                        for c, v in zip(data.columns, row, strict=True)
                    ]
                    for row in data.rows
                ],
            }
        )
    for name in sorted(search.quarantined):
        entry = _quarantined(catalog, search.quarantined[name], search.quarantine or "")
        for row in entry["rows"]:
            for col in row:
                purposes.update(col["purposes"])
        tables.append(entry)
    for name in sorted(search.set_aside):
        entry = _set_aside(catalog, search.set_aside[name])
        for row in entry["rows"]:
            for col in row:
                purposes.update(col["purposes"])
        tables.append(entry)
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
        national_id=search.nid,
        warehouse=str(warehouse),
        identifiers=identifiers,
        tables=tables,
        profiling=profiling(catalog, {t.uid: t for t in order}, search.domains),
        recipients=_recipients(catalog, purposes),
        notes=search.notes,
        controller={
            "name": cfg.controller["name"],
            "contact": cfg.controller["contact"],
            "data_protection_officer": f"{cfg.data_protection_officer['name']}, "
            f"{cfg.data_protection_officer['contact']}",
            "supervisory_authority": cfg.supervisory_authority,
        },
        generated_at=now.isoformat(timespec="seconds"),
    )


# The quarantine's own columns and the raw table's bookkeeping columns whose tags they take.
_QUARANTINE_TAGS = {"file": "_source_file", "line": "_source_line", "reason": "_source_file"}


def _quarantined(catalog: Catalog, data: QuarantinedData, relation: str) -> dict[str, Any]:
    """The person's quarantined records of one source table, as a report table: file, line
    and reason, then the record's fields, each with the tags of the source column it was
    delivered as (an unknown field, or a line that could not be read, is untagged)."""
    fields: dict[str, None] = {}
    for *_, record in data.rows:
        fields.update(dict.fromkeys(record))
    columns = [*_QUARANTINE_TAGS, *fields]
    tags = {
        c: _tags_entry(catalog, ColumnRef(data.uid, _QUARANTINE_TAGS.get(c, c).lower()))
        for c in columns
    }
    rows = sorted(
        (
            (file, line, reason, *(record.get(f) for f in fields))
            for file, line, reason, record in data.rows
        ),
        key=row_order,
    )
    return {
        "table": relation,
        "dataset": f"{data.source_table} (rejected rows)",
        "kind": "quarantine",
        "description": f"Rows of {data.source_table} the ingest rejected, kept as delivered "
        "with the file, line and reason.",
        "matched_on": sorted(data.matched_on),
        "rows": [
            [
                {"column": c, "value": json_value(v), **tags[c]}
                for c, v in zip(columns, row, strict=True)
            ]
            for row in rows
        ],
    }


_UNTAGGED = {
    "category": None,
    "purposes": [],
    "legal_basis": [],
    "retention": None,
    "source_company": [],
    "untagged": True,
}


def _set_aside(catalog: Catalog, data: SetAsideData) -> dict[str, Any]:
    """The person's lines in the set-aside files of one source table, as a report table: per
    file its path in the file quarantine, the line numbers, the reason it was set aside and
    when. The lines themselves are not shown: the file cannot be read as CSV, so a line cannot
    be split into the person's fields (nor told free of other persons' data)."""
    columns = ("file", "lines", "reason", "set_aside_at")
    tags = {
        c: _tags_entry(catalog, ColumnRef(data.uid, "_source_file")) if data.uid else _UNTAGGED
        for c in columns
    }
    rows = sorted(
        (entry.relative(data.folder), lines, entry.reason, entry.set_aside_at)
        for entry, lines in data.files
    )
    return {
        "table": "quarantine.files",
        "dataset": f"{data.source_table} (set-aside delivery files)",
        "kind": "file_quarantine",
        "description": f"Delivery files of {data.source_table} the ingest could not read "
        f"(kept unchanged in {data.folder}, deleted when their retention ends); the lines "
        "holding the person's identifiers. The file cannot be read as a table, so the lines "
        "are named, not shown.",
        "matched_on": sorted(data.matched_on),
        "rows": [
            [{"column": c, "value": v, **tags[c]} for c, v in zip(columns, row, strict=True)]
            for row in rows
        ],
    }
