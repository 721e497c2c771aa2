"""The access report as JSON or Markdown (:func:`render_json`, :func:`render_markdown`)."""

from __future__ import annotations

import json
from typing import Any

from catalog.reports.access.report import AccessReport
from catalog.reports.context import duration_words


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
