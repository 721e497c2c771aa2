"""``catalog retention``: every table's retention, rows, expired rows and oldest start, read-only.

For each declaration (:mod:`catalog.retention.declarations`) one query on the warehouse counts
the rows, the rows expired on ``today`` and the oldest value the period runs from. A table the
warehouse does not hold (nothing ingested yet) is listed with 0 rows; a store outside the
warehouse without personal data (OpenLineage files, Dagster's run storage) with ``rows`` null.
The file quarantine (``quarantine.files``) counts set-aside files, not rows: ``rows`` is the
files in the folder, ``rows_expired`` those past their retention (null when no folder is given).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from catalog import file_quarantine as fq
from catalog.retention.declarations import Declaration, interval_sql


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".", 1)
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def retention_rows(
    conn: duckdb.DuckDBPyConnection,
    declarations: Sequence[Declaration],
    today: dt.date,
    file_quarantine: Path | None = None,
) -> list[dict[str, Any]]:
    """One object per declaration: ``table``, ``retention``, ``retention_from``, ``rows``,
    ``rows_expired`` (on ``today``) and ``oldest`` (ISO date or timestamp, null when none).
    ``file_quarantine`` is the folder of set-aside files (``Settings.file_quarantine_dir``)."""
    out = []
    for d in declarations:
        row: dict[str, Any] = {
            "table": d.table,
            "retention": d.retention,
            "retention_from": d.retention_from,
            "rows": None,
            "rows_expired": None,
            "oldest": None,
        }
        if not d.personal_data:
            row["personal_data"] = False
            out.append(row)
            continue
        if d.kind == "file_quarantine":
            if file_quarantine is not None:
                files = fq.set_aside_files(file_quarantine)
                expired = fq.expired_files(files, interval_sql(d.retention or ""), today)
                starts = [fq.retention_start(f) for f in files]
                row.update(
                    rows=len(files),
                    rows_expired=len(expired),
                    oldest=_iso(min(starts, default=None)),
                )
            row["counts"] = "files"
            out.append(row)
            continue
        if not table_exists(conn, d.table):
            row.update(rows=0, rows_expired=0)
            out.append(row)
            continue
        rows, expired, oldest = conn.execute(
            f"select count(*), count(*) filter (where {d.expired_sql(today)}), "
            f"min({d.from_sql()}) from {d.relation} t"
        ).fetchone()
        row.update(rows=rows, rows_expired=expired, oldest=_iso(oldest))
        out.append(row)
    return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def render_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2) + "\n"


def render_markdown(rows: Sequence[dict[str, Any]], today: dt.date) -> str:
    lines = [
        f"# Retention on {today.isoformat()}",
        "",
        "| table | retention | runs from | rows | expired | oldest |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in rows:
        if r.get("personal_data") is False:
            lines.append(f"| {r['table']} | no personal data | | | | |")
            continue
        if r["rows"] is None:
            lines.append(f"| {r['table']} | {r['retention']} | {r['retention_from']} | | | |")
            continue
        unit = " files" if r.get("counts") == "files" else ""
        lines.append(
            f"| {r['table']} | {r['retention']} | {r['retention_from']} | {r['rows']}{unit} | "
            f"{r['rows_expired']}{unit} | {r['oldest'] or ''} |"
        )
    expired = sum(r["rows_expired"] or 0 for r in rows if r.get("counts") != "files")
    files = sum(r["rows_expired"] or 0 for r in rows if r.get("counts") == "files")
    total = f"{expired} rows" + (f" and {files} set-aside files" if files else "")
    lines += ["", f"{total} expired in total; `fjordbank sweep --apply` deletes them."]
    return "\n".join(lines) + "\n"
