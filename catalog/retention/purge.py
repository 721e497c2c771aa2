"""The purge engine: delete the rows matching a SQL predicate from every place a source table
keeps them: its landing delivery files, ``raw_<source>.<table>`` and ``quarantine.rejected_rows``.

The raw and quarantine rows are matched in SQL (``raw_where`` over the raw table as ``t``,
``quarantine_where`` over the table's quarantine rows as ``q``); the landing records removed are
exactly those rows' (file, line): every raw row carries ``_source_file``/``_source_line`` and
every quarantine row ``file``/``line``, the physical line its record starts on.

Landing files are **rewritten**, not masked by a suppression list that ingest applies: a
suppression would leave the deleted values on disk, so retention and erasure would not hold in
the landing zone (the README gives the measured cost). A file is written aside as a hidden
``.<name>.purge-tmp`` (which the ingest ignores), flushed to disk and renamed over the original;
every byte of the records kept is unchanged (header, quoting, line endings, records spanning
lines). A file left with no records keeps its header: an empty delivery is still a delivery.
The remaining raw and quarantine rows of a rewritten file are renumbered to their new lines, and
the file's row in the ingest's registry (:data:`REGISTRY`: checksum, size, rows) follows the
rewrite under a new load id (its remaining raw rows take it too, as a reload would give them),
so the warehouse stays in step with the files: a second purge needs no ingest between, the next
ingest reads none of the rewritten files again, and the incremental models that keep load ids
see the change and rebuild. Records
are found with numpy over the mapped file (:mod:`.records`), not line by line in Python.

Fails closed: before anything changes, each file to rewrite is scanned and its records must be
exactly the raw and quarantine rows that name it; otherwise :class:`PurgeError` (one line: the
file changed since the last ingest; ingest first). Deleted values are never logged or returned:
:class:`PurgeResult` holds counts only.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from catalog.retention.records import file_records

QUARANTINE = "quarantine.rejected_rows"
# The ingest's registry of loaded delivery files and the sequence of its load ids (one home for
# both; dagster_project/landing/load.py writes them): a rewritten file's row follows the rewrite
# under a new load id, so the next ingest does not read the file again.
REGISTRY = "raw_meta.loaded_files"
LOAD_IDS = "raw_meta.load_ids"
_TMP_SUFFIX = ".purge-tmp"


class PurgeError(RuntimeError):
    """The purge could not run; nothing was changed. One line saying what to do."""


@dataclass(frozen=True)
class PurgeTarget:
    """What to delete from one source table: ``raw_where`` (SQL over ``raw_<source>.<table>``
    as ``t``) and ``quarantine_where`` (SQL over its ``quarantine.rejected_rows`` rows as ``q``:
    source, "table", file, line, reason, record JSON); None matches nothing. ``params`` are
    DuckDB named parameters (``$name``) of the predicates."""

    source: str
    table: str
    raw_where: str | None = None
    quarantine_where: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}.{self.table}"


@dataclass
class PlaceCounts:
    """Rows deleted (or, in a dry run, to delete) per place, and landing files rewritten."""

    raw: int = 0
    quarantine: int = 0
    landing: int = 0
    files_rewritten: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "raw": self.raw,
            "quarantine": self.quarantine,
            "landing": self.landing,
            "files_rewritten": self.files_rewritten,
        }


@dataclass
class PurgeResult:
    applied: bool
    tables: dict[str, PlaceCounts] = field(default_factory=dict)

    def total(self) -> PlaceCounts:
        out = PlaceCounts()
        for c in self.tables.values():
            out.raw += c.raw
            out.quarantine += c.quarantine
            out.landing += c.landing
            out.files_rewritten += c.files_rewritten
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "tables": {k: v.to_json() for k, v in sorted(self.tables.items())},
            "total": self.total().to_json(),
        }


def purge(
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    targets: Iterable[PurgeTarget],
    *,
    apply: bool,
) -> PurgeResult:
    """Delete (``apply``) or count (dry run) the rows ``targets`` match in the landing files,
    raw tables and quarantine. Raises :class:`PurgeError` with nothing changed when a predicate
    does not run or a landing file is out of step with the warehouse."""
    landing_root = Path(landing_root)
    result = PurgeResult(applied=apply)
    plans: list[_FilePlan] = []
    hits_per_target: list[tuple[PurgeTarget, str | None, str | None]] = []
    for target in targets:
        counts = result.tables.setdefault(target.key, PlaceCounts())
        raw_hits, q_hits = _match(conn, target)
        hits_per_target.append((target, raw_hits, q_hits))
        lines = _lines_hit(conn, raw_hits, q_hits, counts)
        for rel in sorted(lines):
            plan = _plan_file(conn, landing_root, target, rel, lines[rel])
            counts.landing += len(plan.delete)
            counts.files_rewritten += 1
            plans.append(plan)
    if not apply:
        _drop_hits(conn, hits_per_target)
        return result
    conn.begin()
    try:
        for target, raw_hits, q_hits in hits_per_target:
            if raw_hits is not None:
                conn.execute(
                    f"delete from {_raw(target)} where rowid in (select rid from {raw_hits})"
                )
            if q_hits is not None:
                conn.execute(f"delete from {QUARANTINE} where rowid in (select rid from {q_hits})")
        for plan in plans:
            _renumber(conn, plan)
        for plan in plans:
            plan.write_aside()
            _reregister(conn, plan)
        for plan in plans:
            plan.replace()
        _drop_hits(conn, hits_per_target)
        conn.commit()
    except BaseException:
        conn.rollback()
        for plan in plans:
            plan.discard()
        raise
    return result


def count(conn: duckdb.DuckDBPyConnection, targets: Iterable[PurgeTarget]) -> PurgeResult:
    """What ``purge(..., apply=False)`` counts, from the warehouse's rows alone: the landing
    records and files are those the matched rows name, and no file is read or checked (a purge
    checks them). Raises :class:`PurgeError` when a predicate does not run."""
    result = PurgeResult(applied=False)
    for target in targets:
        counts = result.tables.setdefault(target.key, PlaceCounts())
        raw_hits, q_hits = _match(conn, target)
        try:
            lines = _lines_hit(conn, raw_hits, q_hits, counts)
        finally:
            _drop_hits(conn, [(target, raw_hits, q_hits)])
        counts.landing += sum(len(v) for v in lines.values())
        counts.files_rewritten += len(lines)
    return result


# -- matching -------------------------------------------------------------------------------------


def _lines_hit(
    conn: duckdb.DuckDBPyConnection, raw_hits: str | None, q_hits: str | None, counts: PlaceCounts
) -> dict[str, set[int]]:
    """The landing records (start lines per file) of the matched raw and quarantine rows;
    adds the rows to ``counts``."""
    lines: dict[str, set[int]] = defaultdict(set)
    for hits in (raw_hits, q_hits):
        if hits is None:
            continue
        n = conn.execute(f"select count(*) from {hits}").fetchone()[0]
        if hits == raw_hits:
            counts.raw += n
        else:
            counts.quarantine += n
        for file, line in conn.execute(f"select file, line from {hits}").fetchall():
            lines[file].add(line)
    return lines


def _raw(target: PurgeTarget) -> str:
    return f"{_ident('raw_' + target.source)}.{_ident(target.table)}"


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]  # fetched to the end: DuckDB 2 refuses `unregister` after fetchone
    )


def _match(conn: duckdb.DuckDBPyConnection, target: PurgeTarget) -> tuple[str | None, str | None]:
    """Temp tables (rid, file, line) of the raw and quarantine rows the target matches."""
    safe = f"{target.source}__{target.table}".replace('"', "")
    raw_hits = q_hits = None
    try:
        if target.raw_where and _exists(conn, "raw_" + target.source, target.table):
            raw_hits = f'temp."_purge_raw_{safe}"'
            conn.execute(
                f"create or replace temp table {raw_hits} as select t.rowid as rid, "
                f"t._source_file as file, t._source_line as line from {_raw(target)} t "
                f"where {target.raw_where}",
                _params(target.raw_where, target.params),
            )
        if target.quarantine_where and _exists(conn, "quarantine", "rejected_rows"):
            q_hits = f'temp."_purge_q_{safe}"'
            params = {**_params(target.quarantine_where, target.params)}
            params.update(_purge_source=target.source, _purge_table=target.table)
            conn.execute(
                f"create or replace temp table {q_hits} as select q.rowid as rid, q.file, q.line "
                f'from {QUARANTINE} q where q.source = $_purge_source and q."table" = '
                f"$_purge_table and ({target.quarantine_where})",
                params,
            )
    except duckdb.Error as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise PurgeError(
            f"{target.key}: the purge predicate does not run ({first}); fix the predicate"
        ) from None
    return raw_hits, q_hits


def _params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The named parameters ``sql`` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _drop_hits(conn: duckdb.DuckDBPyConnection, hits: list[tuple[Any, str | None, str | None]]):
    for _, raw_hits, q_hits in hits:
        for name in (raw_hits, q_hits):
            if name is not None:
                conn.execute(f"drop table if exists {name}")


# -- landing files -------------------------------------------------------------------------------


@dataclass
class _FilePlan:
    """One landing file to rewrite: which records to delete, the byte ranges kept, and the
    records that move up (start lines old -> new)."""

    target: PurgeTarget
    rel: str
    path: Path
    delete: set[int]  # start lines of the records to delete
    kept: list[tuple[int, int]]  # byte ranges of the file left, in order
    stat: tuple[int, int]  # (size, mtime_ns) when planned: the file must not change before
    moves: tuple[np.ndarray, np.ndarray]
    tmp: Path | None = None
    sha256: str = ""
    size: int = 0

    def write_aside(self) -> None:
        """Write the kept bytes to a hidden file beside the original, flushed to disk."""
        self.tmp = self.path.with_name("." + self.path.name + _TMP_SUFFIX)
        digest, size = hashlib.sha256(), 0
        with open(self.path, "rb") as src, open(self.tmp, "wb") as out:
            st = os.fstat(src.fileno())
            if (st.st_size, st.st_mtime_ns) != self.stat:
                raise PurgeError(
                    f"{self.path}: the file changed while it was purged; run the ingest, then "
                    "purge again"
                )
            for begin, end in self.kept:
                src.seek(begin)
                left = end - begin
                while left:
                    chunk = src.read(min(left, 1 << 23))
                    digest.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
                    size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        self.sha256, self.size = digest.hexdigest(), size

    def replace(self) -> None:
        assert self.tmp is not None
        os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None and self.tmp.exists():
            self.tmp.unlink()


def _plan_file(
    conn: duckdb.DuckDBPyConnection,
    landing_root: Path,
    target: PurgeTarget,
    rel: str,
    delete: set[int],
) -> _FilePlan:
    path = landing_root / rel
    expected = f"{target.source}/{target.table}/"
    if not rel.startswith(expected) or "/" in rel[len(expected) :]:
        raise PurgeError(f"{rel}: not a delivery file of {target.key}; ingest again")
    if not path.is_file():
        raise PurgeError(
            f"{path}: the warehouse holds rows of this delivery but the file is gone; "
            "run the ingest first"
        )
    st = path.stat()
    records = file_records(path)
    held = [np.zeros(0, np.int64)]
    if _exists(conn, "raw_" + target.source, target.table):
        held.append(
            conn.execute(
                f"select _source_line as line from {_raw(target)} where _source_file = $f",
                {"f": rel},
            ).fetchnumpy()["line"]
        )
    if _exists(conn, "quarantine", "rejected_rows"):
        held.append(
            conn.execute(
                f'select line from {QUARANTINE} where source = $s and "table" = $t and file = $f',
                {"f": rel, "s": target.source, "t": target.table},
            ).fetchnumpy()["line"]
        )
    lines = np.sort(np.concatenate([np.asarray(h, np.int64) for h in held]))
    lines = lines[np.concatenate(([True], lines[1:] != lines[:-1]))] if len(lines) else lines
    wanted = np.fromiter(delete, np.int64, len(delete))
    if not np.array_equal(lines, records.starts) or not np.isin(wanted, lines).all():
        raise PurgeError(
            f"{path}: the file changed since the last ingest (its records are not the "
            "warehouse's rows of it); run the ingest first, then purge again"
        )
    return _FilePlan(
        target,
        rel,
        path,
        set(delete),
        records.kept_ranges(delete),
        (st.st_size, st.st_mtime_ns),
        records.moves(delete),
    )


def _renumber(conn: duckdb.DuckDBPyConnection, plan: _FilePlan) -> None:
    """Move the file's remaining raw and quarantine rows to the lines they have after the
    rewrite (each loses the lines of the deleted records before it)."""
    old, new = plan.moves
    if not len(old):
        return
    moves = pa.table({"old": pa.array(old, pa.int64()), "new": pa.array(new, pa.int64())})
    conn.register("_purge_moves", moves)
    try:
        params = {"f": plan.rel}
        if _exists(conn, "raw_" + plan.target.source, plan.target.table):
            conn.execute(
                f"update {_raw(plan.target)} set _source_line = m.new from _purge_moves m "
                f"where _source_file = $f and _source_line = m.old",
                params,
            )
        if not _exists(conn, "quarantine", "rejected_rows"):
            return
        conn.execute(
            f"update {QUARANTINE} set line = m.new from _purge_moves m where source = $s "
            f'and "table" = $t and file = $f and line = m.old',
            {**params, "s": plan.target.source, "t": plan.target.table},
        )
    finally:
        conn.unregister("_purge_moves")


def _reregister(conn: duckdb.DuckDBPyConnection, plan: _FilePlan) -> None:
    """The registry row of a rewritten file follows it (checksum, size, rows): the warehouse
    already holds exactly the file's remaining records, so the next ingest has nothing to read.
    The file's rows get a new load id, as a reload would give them: a model that keeps load ids
    (the incremental event models) sees that a file it holds rows of was rewritten, and is
    rebuilt without the rows deleted here. Without a registry row, nothing to do."""
    if not _exists(conn, "raw_meta", "loaded_files"):
        return
    source, table = plan.target.source, plan.target.table
    key = {"s": source, "t": table, "f": plan.rel}
    if not conn.execute(
        f'select count(*) from {REGISTRY} where source = $s and "table" = $t and file = $f', key
    ).fetchall()[0][0]:
        return
    load_id = conn.execute(f"select nextval('{LOAD_IDS}')").fetchall()[0][0]
    raw = 0
    if _exists(conn, "raw_" + source, table):
        raw = conn.execute(
            f"update {_raw(plan.target)} set _load_id = $id where _source_file = $f",
            {"f": plan.rel, "id": load_id},
        ).fetchall()[0][0]
    quarantined = 0
    if _exists(conn, "quarantine", "rejected_rows"):
        quarantined = conn.execute(
            f'select count(*) from {QUARANTINE} where source = $s and "table" = $t and file = $f',
            key,
        ).fetchall()[0][0]
    conn.execute(
        f"update {REGISTRY} set sha256 = $sha, size = $size, rows_loaded = $raw, "
        "rows_quarantined = $q, load_id = $id, loaded_at = now()::timestamp "
        'where source = $s and "table" = $t and file = $f',
        {**key, "sha": plan.sha256, "size": plan.size, "raw": raw, "q": quarantined, "id": load_id},
    )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
