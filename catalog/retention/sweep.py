"""The retention sweep: delete every expired row from the landing files, raw tables and the
quarantine, report the counts, and prove that nothing expired is left.

:func:`sweep` builds one :class:`~catalog.retention.purge.PurgeTarget` per source table (its
declaration's expiry predicate on the raw rows, the quarantine's on its quarantine rows) and
runs the purge engine. The warehouse must be in step with the landing files (every delivery
ingested) for the engine to know which records have expired: a table that is not is passed to
``resync`` (the caller's ingest; ``dagster_project`` passes ``ingest_table``) or, without one,
fails closed. :func:`expired_left` is the proof the blocking check runs: no expired row in any
raw table or the quarantine, and every landing file holding exactly the warehouse's rows of it.
The file quarantine (``quarantine.files``, :mod:`catalog.file_quarantine`) is swept too when its
folder is given: a set-aside file past its retention is deleted with its JSON, and
:func:`expired_left` proves none is left. The report (:func:`write_report`) holds counts per
table and place, never a value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from catalog import file_quarantine as fq
from catalog.retention.declarations import (
    FILE_QUARANTINE,
    Declaration,
    file_quarantine_declaration,
    interval_sql,
    quarantine_declaration,
    source_declarations,
)
from catalog.retention.purge import (
    QUARANTINE,
    PurgeError,
    PurgeResult,
    PurgeTarget,
    purge,
)
from catalog.retention.records import file_records
from catalog.retention.report import table_exists

Resync = Callable[[str, str], None]


def sweep_targets(declarations: Sequence[Declaration], today: dt.date) -> list[PurgeTarget]:
    """Per source table: its expired raw rows and its expired quarantine rows."""
    quarantine = quarantine_declaration(declarations)
    return [
        PurgeTarget(
            d.source or "",
            d.name or "",
            raw_where=d.expired_sql(today, "t"),
            quarantine_where=quarantine.expired_sql(today, "q"),
        )
        for d in source_declarations(declarations)
    ]


def landing_files(landing_root: Path, source: str, table: str) -> list[Path]:
    """The delivery files of a table (``*.csv``, hidden files aside), by name."""
    folder = Path(landing_root) / source / table
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))


def out_of_step(
    conn: duckdb.DuckDBPyConnection, landing_root: Path, decl: Declaration, *, exact: bool
) -> list[str]:
    """The landing files of ``decl``'s table whose records are not the warehouse's rows of
    them (``exact``: every record's line compared; otherwise only that each file with records
    is known to the warehouse), and files the warehouse names that are gone."""
    held: dict[str, set[int]] = {}
    if table_exists(conn, decl.table):
        for file, line in conn.execute(
            f"select _source_file, _source_line from {decl.relation}"
        ).fetchall():
            held.setdefault(file, set()).add(line)
    if table_exists(conn, QUARANTINE):
        for file, line in conn.execute(
            f'select file, line from {QUARANTINE} where source = ? and "table" = ?',
            [decl.source, decl.name],
        ).fetchall():
            held.setdefault(file, set()).add(line)
    bad = []
    seen = set()
    for path in landing_files(landing_root, decl.source or "", decl.name or ""):
        rel = path.relative_to(landing_root).as_posix()
        seen.add(rel)
        if rel in held and not exact:
            continue
        if set(file_records(path).starts.tolist()) != held.get(rel, set()):
            bad.append(rel)
    bad += sorted(set(held) - seen)
    return bad


@dataclass(frozen=True)
class FileSweep:
    """The file quarantine's part of a sweep: files held before it and files expired (deleted
    when the sweep was applied)."""

    files: int = 0
    expired: int = 0

    def to_json(self) -> dict[str, int]:
        return {"files": self.files, "files_expired": self.expired}


@dataclass(frozen=True)
class SweepResult:
    today: dt.date
    purge: PurgeResult
    resynced: tuple[str, ...]  # tables re-ingested before the sweep (apply)
    not_ingested: tuple[str, ...] = ()  # dry run: tables with deliveries not ingested, skipped
    set_aside: FileSweep | None = None  # None: no file quarantine folder was given

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.today.isoformat(),
            **self.purge.to_json(),
            FILE_QUARANTINE: self.set_aside.to_json() if self.set_aside else None,
            "resynced_before_sweep": list(self.resynced),
            "not_ingested_skipped": list(self.not_ingested),
        }


def sweep(
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    declarations: Sequence[Declaration],
    today: dt.date,
    *,
    apply: bool,
    resync: Resync | None = None,
    file_quarantine: Path | None = None,
) -> SweepResult:
    """Delete (``apply``) or count the rows expired on ``today`` in every landing file, raw
    table and the quarantine, and the set-aside files expired in the ``file_quarantine``
    folder. With ``apply``, a table out of step with its landing files (a delivery not
    ingested yet) is re-ingested with ``resync`` first, or, without one, :class:`PurgeError`;
    a dry run changes nothing and lists such tables as not ingested."""
    landing_root = Path(landing_root)
    resynced, behind = [], []
    for d in source_declarations(declarations):
        if not out_of_step(conn, landing_root, d, exact=False):
            continue
        if not apply:
            behind.append(d.table)
            continue
        if resync is None:
            raise PurgeError(
                f"{d.table}: the landing files are not all ingested; run the ingest first"
            )
        resync(d.source or "", d.name or "")
        resynced.append(d.table)
    targets = [
        t for t in sweep_targets(declarations, today) if f"raw_{t.source}.{t.table}" not in behind
    ]
    result = purge(conn, landing_root, targets, apply=apply)
    set_aside = None
    if file_quarantine is not None:
        files = fq.set_aside_files(file_quarantine)
        expired = expired_set_aside(files, declarations, today)
        if apply:
            try:
                fq.delete_files(expired)
            except fq.FileQuarantineError as e:
                raise PurgeError(str(e)) from None
        set_aside = FileSweep(len(files), len(expired))
    return SweepResult(today, result, tuple(resynced), tuple(behind), set_aside)


def expired_set_aside(
    files: Sequence[fq.SetAsideFile], declarations: Sequence[Declaration], today: dt.date
) -> list[fq.SetAsideFile]:
    """The set-aside files past the file quarantine's retention on ``today``."""
    d = file_quarantine_declaration(declarations)
    return fq.expired_files(files, interval_sql(d.retention or ""), today)


def expired_left(
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    declarations: Sequence[Declaration],
    today: dt.date,
    file_quarantine: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """What the sweep should have removed and did not, per table (empty: nothing expired is
    left): ``raw`` / ``quarantine`` expired rows, ``landing``: files whose records are not
    exactly the warehouse's (non-expired) rows of them; ``quarantine.files``: set-aside files
    past their retention in the ``file_quarantine`` folder."""
    quarantine = quarantine_declaration(declarations)
    problems: dict[str, dict[str, Any]] = {}
    for d in source_declarations(declarations):
        found: dict[str, Any] = {}
        if table_exists(conn, d.table):
            n = conn.execute(
                f"select count(*) from {d.relation} t where {d.expired_sql(today)}"
            ).fetchone()[0]
            if n:
                found["raw"] = n
        if table_exists(conn, QUARANTINE):
            n = conn.execute(
                f'select count(*) from {QUARANTINE} q where source = ? and "table" = ? '
                f"and {quarantine.expired_sql(today, 'q')}",
                [d.source, d.name],
            ).fetchone()[0]
            if n:
                found["quarantine"] = n
        bad = out_of_step(conn, landing_root, d, exact=True)
        if bad:
            found["landing_files_out_of_step"] = bad
        if found:
            problems[d.table] = found
    if file_quarantine is not None:
        left = expired_set_aside(fq.set_aside_files(file_quarantine), declarations, today)
        if left:
            problems[FILE_QUARANTINE] = {"expired_files": len(left)}
    return problems


def write_report(result: SweepResult, reports_dir: Path) -> Path:
    """``<reports_dir>/sweep-<date>.json``: counts per table and place (never a value)."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"sweep-{result.today.isoformat()}.json"
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def render_text(result: SweepResult) -> str:
    verb = "deleted" if result.purge.applied else "would delete (dry run; --apply deletes)"
    lines = [f"retention sweep {result.today.isoformat()}: {verb}"]
    lines.append(f"{'table':40} {'raw':>8} {'quarantine':>10} {'landing':>8} {'files':>5}")
    for table, c in sorted(result.purge.tables.items()):
        lines.append(
            f"{table:40} {c.raw:>8} {c.quarantine:>10} {c.landing:>8} {c.files_rewritten:>5}"
        )
    for table in result.not_ingested:
        lines.append(f"{table:40} deliveries not ingested yet: counted by --apply after ingest")
    t = result.purge.total()
    lines.append(
        f"{'total':40} {t.raw:>8} {t.quarantine:>10} {t.landing:>8} {t.files_rewritten:>5}"
    )
    if result.set_aside is not None:
        lines.append(
            f"{FILE_QUARANTINE + ' (set-aside files)':40} {result.set_aside.expired:>8} "
            f"of {result.set_aside.files} files past their retention"
        )
    return "\n".join(lines) + "\n"
