"""The portability export (GDPR Art. 20): the data the person provided, machine-readable.

Which data counts as provided is declared, not coded: ``portability.sections`` in the controller
configuration names, per section, a dbt source table and the columns of it the person gave (their
identity and contact details as the customer files hold them, consents, objections, cookie
preferences). Only source tables qualify: nothing the platform computes (scores, bands, keyed
ids) and nothing outside the declared columns is exported.

The person's rows are found by the access report's search (:func:`search_person`), so the same
identifiers link them (a customer number learnt from the register, a cookie visitor id only
where a logged-in page view links it to the person) and the same exemptions apply. Each
section holds the distinct rows of its declared columns (a row repeated by several deliveries is
exported once), in a fixed order.

Formats: JSON, one object with a ``sections`` object (every declared section, empty ones
included); CSV, one file in long form (``section,row,column,value``, one line per value), or,
written to a path ending in ``.zip``, one CSV per section (``<section>.csv``, a header of the
declared columns). Exit codes as ``catalog access``: 0 data found, 1 nothing held, 2 invalid
number or the export could not be made (a declared table or column that does not exist, a
table missing from the warehouse).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.loader import Catalog
from catalog.reports.access.errors import AccessError
from catalog.reports.access.exemptions import check_columns, source_node
from catalog.reports.access.report import EXIT_FOUND, EXIT_NOT_FOUND, row_order, search_person
from catalog.reports.access.values import json_value


@dataclass
class Section:
    """One declared section and the person's rows of it (column -> value, JSON types)."""

    name: str
    source_table: str
    relation: str
    description: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


@dataclass
class PortabilityExport:
    national_id: str
    controller: str
    generated_at: str
    sections: list[Section]

    @property
    def found(self) -> bool:
        return any(s.rows for s in self.sections)

    @property
    def exit_code(self) -> int:
        return EXIT_FOUND if self.found else EXIT_NOT_FOUND

    def to_json(self) -> dict[str, Any]:
        return {
            "portability_export": "GDPR Art. 20",
            "national_id": self.national_id,
            "controller": self.controller,
            "generated_at": self.generated_at,
            "data_found": self.found,
            "sections": {
                s.name: {
                    "source_table": s.source_table,
                    "description": s.description,
                    "columns": list(s.columns),
                    "rows": s.rows,
                }
                for s in self.sections
            },
        }


def portability_export(
    catalog: Catalog,
    national_id: str,
    warehouse: Path,
    *,
    key: bytes | None,
    allow_synthetic: bool,
    now: dt.datetime | None = None,
) -> PortabilityExport:
    """The declared sections with the person's rows; :class:`AccessError` (exit 2) for a
    declaration naming a table or column that does not exist or a table not in the warehouse,
    :class:`~catalog.national_id.InvalidNationalId` for an invalid number."""
    cfg = catalog.controller
    declared = []
    for section in cfg.portability:
        uid = source_node(catalog, section.table, f"{section.where}.table")
        check_columns(catalog, uid, section.columns, f"{section.where}.columns")
        declared.append((section, uid))
    search = search_person(
        catalog, national_id, warehouse, key=key, allow_synthetic=allow_synthetic
    )
    sections = []
    for section, uid in declared:
        if uid not in search.searchable:
            raise AccessError(
                f"{catalog.graph.nodes[uid].relation} ({section.table}, {section.where}) is not "
                f"in the warehouse {warehouse}; build it (`make run`) before exporting"
            )
        relation, wh_columns = search.searchable[uid]
        lower = [c.lower() for c in wh_columns]
        missing = [c for c in section.columns if c.lower() not in lower]
        if missing:
            raise AccessError(
                f"{relation} in the warehouse has no column {missing[0]} ({section.where}); "
                "rebuild the warehouse from the current contract"
            )
        index = [lower.index(c.lower()) for c in section.columns]
        data = search.tables.get(uid)
        distinct = {tuple(row[i] for i in index) for row in (data.rows if data else [])}
        sections.append(
            Section(
                name=section.name,
                source_table=section.table,
                relation=relation,
                description=section.description,
                columns=section.columns,
                rows=[
                    {c: json_value(v) for c, v in zip(section.columns, row, strict=True)}
                    for row in sorted(distinct, key=row_order)
                ],
            )
        )
    return PortabilityExport(
        national_id=search.nid,
        controller=cfg.controller["name"],
        generated_at=(now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        sections=sections,
    )


def render_json(export: PortabilityExport) -> str:
    return json.dumps(export.to_json(), indent=2, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_csv(export: PortabilityExport) -> str:
    """One CSV in long form: ``section,row,column,value`` (row numbered from 1 per section)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["section", "row", "column", "value"])
    for s in export.sections:
        for n, row in enumerate(s.rows, start=1):
            for c in s.columns:
                writer.writerow([s.name, n, c, _cell(row[c])])
    return buf.getvalue()


def section_csv(section: Section) -> str:
    """One section as a CSV with a header of its declared columns."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(section.columns)
    for row in section.rows:
        writer.writerow([_cell(row[c]) for c in section.columns])
    return buf.getvalue()


def write_export(export: PortabilityExport, out: Path, fmt: str) -> None:
    """Write the export to ``out`` atomically: JSON, CSV, or (``out`` ending in ``.zip``,
    format csv) a zip of one ``<section>.csv`` per section."""
    out = Path(out)
    if out.suffix.lower() == ".zip" and fmt != "csv":
        raise AccessError(f"{out}: a .zip export holds CSV files; give --format csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if out.suffix.lower() == ".zip":
                with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                    for s in export.sections:
                        info = zipfile.ZipInfo(f"{s.name}.csv", date_time=(1980, 1, 1, 0, 0, 0))
                        info.compress_type = zipfile.ZIP_DEFLATED
                        z.writestr(info, section_csv(s))
            else:
                text = render_json(export) + "\n" if fmt == "json" else render_csv(export)
                f.write(text.encode("utf-8"))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
