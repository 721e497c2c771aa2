"""Loading a landing table: its delivery files into ``raw_<source>.<table>``, rejects quarantined.

A pure library (no Dagster): :func:`ingest_table` brings one landing table in step with its
delivery files ``<landing root>/<source>/<table>/<YYYY-MM-DD>.csv`` (LANDING.md) in
``raw_<source>.<table>``: the contract's columns in contract order, typed by
:attr:`ColumnType.duckdb_type`, then the :data:`METADATA_COLUMNS` ``_source_file`` (path relative
to the landing root), ``_source_line`` (1-based physical line; the header is line 1),
``_delivery_date`` and ``_load_id``. Every row that breaks the contract goes to
:data:`QUARANTINE_TABLE` instead, with its file, line, all its problems in ``reason`` and the row as
delivered in ``record``; rows in = rows loaded + rows quarantined, per file read. The registry
:data:`REGISTRY_TABLE` remembers each file loaded (sha256, size, rows, load id, the contract
fingerprint, and the file's :func:`stat_signature` when it was hashed), so only new, changed and
removed files are read or dropped, and a registered file whose stat is unchanged is not read at all;
the raw table always holds what a full load would give. The raw, quarantine and registry rows of a
table change in one transaction, so a file that cannot be read at all (:class:`IngestError`) leaves
them as they were; given a ``file_quarantine`` folder, the ingest instead sets such a file of an
ordinary table aside there (:mod:`.file_quarantine`) and loads the others, and leaves such a file of
a privacy event log in place and records it in :data:`UNAPPLIED_TABLE` with the restricting rows it
rejected (LANDING.md: privacy events are never lost quietly).

Each file is found by :func:`~deliveries.landing_files`, read by :func:`~read.read_delivery`
and checked by :func:`~validate.validate_delivery`, all in DuckDB SQL; this module owns the raw
and quarantine tables and writes them.

>>> import duckdb, tempfile
>>> root = Path(tempfile.mkdtemp())
>>> (root / "bank" / "digital_logins").mkdir(parents=True)
>>> _ = (root / "bank" / "digital_logins" / "2024-03-01.csv").write_text(
...     "customer_no,login_date,channel,login_count\\n"
...     "B00000017,2024-02-29,mobile_app,3\\n"
...     "B00000018,2024-02-29,fax,1\\n"
... )
>>> conn = duckdb.connect()
>>> r = ingest_table(conn, "bank", "digital_logins", root, allow_synthetic=True)
>>> r.rows_in, r.rows_loaded, r.rows_quarantined, r.reasons
(2, 1, 1, {'not allowed channel': 1})
>>> conn.execute("select line, reason from quarantine.rejected_rows").fetchall()
[(3, "not allowed channel: 'fax' is not one of online_bank, mobile_app")]
>>> import shutil; shutil.rmtree(root)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from catalog.file_quarantine import SetAsideFile, set_aside
from catalog.retention.purge import LOAD_IDS as _LOAD_IDS
from catalog.retention.purge import QUARANTINE as QUARANTINE_TABLE
from catalog.retention.purge import REGISTRY as REGISTRY_TABLE
from dagster_project.landing import read, validate
from dagster_project.landing._sql import lit
from dagster_project.landing.contract import ColumnType, Table
from dagster_project.landing.contract import table as contract_table
from dagster_project.landing.deliveries import IngestError, delivery_date, landing_files
from dagster_project.landing.suppress import suppress_erased

if TYPE_CHECKING:
    from catalog.erasure.suppression import SuppressionMatcher

# Privacy events the last ingest could not apply (file, line, reason kinds; never a value).
UNAPPLIED_TABLE = "quarantine.unapplied_events"
METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_delivery_date", "DATE"),
    ("_load_id", "BIGINT"),  # the registry's load of the file the row came from
)
# REGISTRY_TABLE, the registry of loaded delivery files, has one row per file a table holds
# (see ingest_table); _LOAD_IDS only grow (a replaced or rewritten file's rows get a new one), so
# a model can tell new rows.
# Bump when this module changes what a file gives in raw: every table then reloads fully.
LOAD_CODE_VERSION = "2"

# Temporary tables of one ingest run (connection-local, dropped before commit).
_TEMP_TABLES = (*read.TEMP_TABLES, *validate.TEMP_TABLES)


@dataclass(frozen=True)
class Unapplied:
    """A privacy event that could not be applied: a restricting row rejected, or a whole file
    that cannot be read (``line`` where the problem is, None when unknown). ``reason`` names
    only the kinds of problem, never a value."""

    file: str  # relative to the landing root
    line: int | None
    reason: str

    def to_text(self) -> str:
        return f"{self.file}{'' if self.line is None else f' line {self.line}'}: {self.reason}"


@dataclass(frozen=True)
class IngestResult:
    """What one :func:`ingest_table` run did. ``files`` is empty when nothing was delivered.

    ``rows_loaded``, ``rows_quarantined`` and ``reasons`` are the table's totals afterwards,
    ``rows_in`` their sum plus ``rows_suppressed`` (as a full load would count them);
    ``rows_read`` counts the records of the files read this run (``files_read``: every file on
    a full load, only the new and changed ones on an incremental one)."""

    source: str
    table: str
    files: tuple[str, ...]  # paths relative to the landing root, by delivery date
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    reasons: dict[str, int]  # reason kind -> rows, e.g. {"bad national_id": 3}
    rows_suppressed: int = 0  # rows of erased persons delivered again, dropped everywhere
    # files of an ordinary table that cannot be read, moved to the file quarantine this run
    set_aside: tuple[SetAsideFile, ...] = ()
    # privacy event logs: unknown columns ignored, as (file, column)
    ignored_columns: tuple[tuple[str, str], ...] = ()
    # privacy event logs: restricting events not applied (also in UNAPPLIED_TABLE)
    unapplied: tuple[Unapplied, ...] = ()
    full: bool = True  # the whole table was reloaded (else only the files that changed)
    files_read: tuple[str, ...] = ()  # files (re)loaded this run
    rows_read: int = 0  # records in the files read this run
    files_removed: tuple[str, ...] = ()  # files whose rows left: gone, changed or tampered with


def contract_fingerprint(contract: Table, *, allow_synthetic: bool) -> str:
    """What decides how a file of ``contract`` loads: its contract, the raw layout, this
    module's :data:`LOAD_CODE_VERSION` and whether synthetic identity numbers pass. A table
    whose files were loaded under another fingerprint is reloaded fully."""
    text = repr((contract, METADATA_COLUMNS, LOAD_CODE_VERSION, allow_synthetic))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# A file changed less than this before it was hashed gets no stat signature: a write in the same
# tick of the file system's clock (milliseconds, or seconds on some) leaves its times as they were.
RACY_NS = 2_000_000_000


def stat_signature(st: os.stat_result, *, hashed_at_ns: int) -> str | None:
    """What identifies a file's bytes without reading them, as git's index does: its size,
    modification and status-change times (ns), device and inode, from ``st`` taken before the
    file was hashed (at ``hashed_at_ns``, ``time.time_ns()``). The kernel sets the
    status-change time on every write, truncation, rename and attribute change, and no program
    can set it back, so a file whose signature is unchanged holds the bytes that were hashed.
    None when the file changed within :data:`RACY_NS` before it was hashed (such a file is
    hashed again next time).

    >>> from types import SimpleNamespace as Stat
    >>> st = Stat(st_size=120, st_mtime_ns=10**9, st_ctime_ns=10**9, st_dev=2049, st_ino=7)
    >>> stat_signature(st, hashed_at_ns=5 * 10**9)
    '120:1000000000:1000000000:2049:7'
    >>> stat_signature(st, hashed_at_ns=2 * 10**9) is None
    True
    """
    if hashed_at_ns - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS:
        return None
    return _stat_key(st)


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_dev}:{st.st_ino}"


def _hash(path: Path) -> tuple[str, int, str | None]:
    """The file's sha256, size and :func:`stat_signature` (the stat taken before reading)."""
    st = path.stat()
    hashed_at = time.time_ns()
    return file_sha256(path), st.st_size, stat_signature(st, hashed_at_ns=hashed_at)


def ingest_table(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    landing_root: Path,
    *,
    allow_synthetic: bool,
    suppression: SuppressionMatcher | None = None,
    file_quarantine: Path | None = None,
    full: bool = False,
) -> IngestResult:
    """Bring ``raw_<source>.<table>`` in step with the delivered files; quarantine what breaks
    the contract. Idempotent: a second run over the same files changes nothing.

    Incremental by the registry :data:`REGISTRY_TABLE` (one row per loaded file: sha256, size,
    rows loaded and quarantined, load id, the contract fingerprint, :func:`stat_signature`): a
    new file is loaded and appended; a file whose sha256 changed (delivered again, or rewritten
    by an erasure or the retention sweep) has its raw, quarantine and registry rows replaced (a
    file whose stat signature is unchanged is not hashed again); a file gone from the
    landing folder has them removed; a file whose raw or quarantine row count no longer matches
    its registry row (rows deleted in the warehouse) is reloaded. The table is reloaded from all
    its files when ``full`` is set, when it has no registry rows or no raw table yet, or when
    :func:`contract_fingerprint` changed. The raw table then always holds what a full load
    would give. Every raw row carries the ``_load_id`` of its file's load (ids only grow).

    ``allow_synthetic`` accepts synthetic identity numbers (month + 80); only for synthetic data.
    ``suppression``: the erasure suppression list; rows of erased persons delivered again (in
    the files read this run) are then removed from the landing files, raw table and quarantine
    (:mod:`.suppress`) and counted in ``rows_suppressed`` (rows in = loaded + quarantined +
    suppressed, for the files read).

    A file that cannot be read raises :class:`IngestError` (one line, nothing changed), unless
    ``file_quarantine`` (a folder) is given: then a file of an ordinary table is moved there
    (:mod:`.file_quarantine`) and the table loaded from its other files, and a file of a privacy
    event log is left where it is, not loaded, and recorded as unapplied. The privacy event logs
    (``Table.privacy_events``) also load from their contract columns when a file has unknown
    ones, and their rejected restricting rows are recorded as unapplied: both in the result and
    in :data:`UNAPPLIED_TABLE`, replaced with the raw table. A log whose unapplied events stop
    the run (``PrivacyEvents.stop_run``: the erasure requests) raises :class:`IngestError`
    naming the file and line instead, and nothing changes.
    """
    try:
        contract = contract_table(source, table)
    except KeyError as exc:
        raise IngestError(f"{exc.args[0]}; ingest one of those") from None
    landing_root = Path(landing_root)
    if not landing_root.is_dir():
        raise IngestError(
            f"{landing_root}: landing root does not exist; deliver or generate the landing "
            "files, or point FJORDBANK_LANDING_DIR at them"
        )
    events = contract.privacy_events
    fingerprint = contract_fingerprint(contract, allow_synthetic=allow_synthetic)
    set_aside_now: list[SetAsideFile] = []
    unreadable: dict[Path, IngestError] = {}  # privacy files left in place, not loaded
    while True:
        try:
            files = [f for f in landing_files(landing_root, source, table) if f not in unreadable]
            loaded = _load_table(
                conn, contract, landing_root, files, unreadable, allow_synthetic, fingerprint, full
            )
            break
        except IngestError as exc:
            # Each pass sets one more file aside (or leaves it unloaded), so this ends.
            if file_quarantine is None or exc.path is None or exc.path in unreadable:
                raise
            if events is None:
                set_aside_now.append(
                    set_aside(exc.path, Path(file_quarantine), source, table, exc.reason)
                )
            elif events.stop_run or delivery_date(exc.path) is None:
                raise
            else:
                unreadable[exc.path] = exc
    suppressed = 0
    if suppression is not None and loaded.read:
        dropped_raw, dropped_quarantine = suppress_erased(
            conn, contract, landing_root, suppression, files=None if loaded.full else loaded.read
        )
        # the files rewritten: the purge moved their registry rows along (new load ids)
        suppressed = dropped_raw + dropped_quarantine
    totals = _table_totals(conn, contract)
    return IngestResult(
        source=source,
        table=table,
        files=loaded.files,
        rows_in=totals[0] + totals[1] + suppressed,
        rows_loaded=totals[0],
        rows_quarantined=totals[1],
        reasons=dict(sorted((loaded.reasons if loaded.full else _reasons(conn, contract)).items())),
        rows_suppressed=suppressed,
        set_aside=tuple(set_aside_now),
        ignored_columns=loaded.ignored,
        unapplied=loaded.unapplied,
        full=loaded.full,
        files_read=loaded.read,
        rows_read=loaded.rows_in,
        files_removed=loaded.removed,
    )


@dataclass(frozen=True)
class _Loaded:
    files: tuple[str, ...]
    rows_in: int
    reasons: Counter
    ignored: tuple[tuple[str, str], ...]
    unapplied: tuple[Unapplied, ...]
    full: bool
    read: tuple[str, ...]
    removed: tuple[str, ...]
    ids: dict[str, int]  # file read -> its load id


@dataclass(frozen=True)
class _Plan:
    full: bool
    read: tuple[str, ...]  # files to load
    removed: tuple[str, ...]  # registered files whose rows go first


def _plan(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    target: str,
    rels: tuple[str, ...],
    paths: dict[str, Path],
    fingerprint: str,
    full: bool,
) -> _Plan:
    """Which files to load and which registered files' rows to remove (see ingest_table)."""
    key = [contract.source, contract.name]
    registered = {}
    if _exists(conn, "raw_meta", "loaded_files"):
        registered = {
            r[0]: r[1:]
            for r in conn.execute(
                f"select file, sha256, size, rows_loaded, rows_quarantined, fingerprint, "
                f'stat_signature from {REGISTRY_TABLE} where source = ? and "table" = ?',
                key,
            ).fetchall()
        }
    raw_ok = _exists(conn, "raw_" + contract.source, contract.name) and "_load_id" in {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = ? "
            "and table_name = ?",
            ["raw_" + contract.source, contract.name],
        ).fetchall()
    }
    if (
        full
        or not registered
        or not raw_ok
        or any(r[4] != fingerprint for r in registered.values())
    ):
        return _Plan(True, rels, ())
    raw_counts = dict(
        conn.execute(f"select _source_file, count(*) from {target} group by 1").fetchall()
    )
    q_counts = dict(
        conn.execute(
            f'select file, count(*) from {QUARANTINE_TABLE} where source = ? and "table" = ? '
            "group by 1",
            key,
        ).fetchall()
    )
    removed, read, verified = [], [], []
    for rel, (sha, size, n_loaded, n_quarantined, _fp, signature) in sorted(registered.items()):
        path = paths.get(rel)
        if path is None:
            removed.append(rel)  # gone from the landing folder
            continue
        st = path.stat()
        if (
            st.st_size != size
            or raw_counts.get(rel, 0) != n_loaded
            or q_counts.get(rel, 0) != n_quarantined
        ):
            changed = True
        elif signature is not None and signature == _stat_key(st):
            changed = False  # not read: the bytes hashed when it was registered
        else:
            now_sha, _size, now_signature = _hash(path)
            changed = now_sha != sha
            if not changed and now_signature is not None:
                verified.append((rel, now_signature))
        if changed:
            removed.append(rel)  # delivered again, rewritten, or rows deleted in the warehouse
            read.append(rel)
    if verified:  # hashed and unchanged: the next ingest need not read them again
        conn.executemany(
            f'update {REGISTRY_TABLE} set stat_signature = ? where source = ? and "table" = ? '
            "and file = ?",
            [[sig, *key, rel] for rel, sig in verified],
        )
    stray = set(raw_counts) - set(registered)  # raw rows of no registered file: start over
    if stray:
        return _Plan(True, rels, ())
    read += [r for r in rels if r not in registered]
    return _Plan(False, tuple(r for r in rels if r in set(read)), tuple(removed))


def _load_table(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    landing_root: Path,
    files: list[Path],
    unreadable: dict[Path, IngestError],
    allow_synthetic: bool,
    fingerprint: str,
    full: bool,
) -> _Loaded:
    """Bring the raw table, the table's quarantine (and unapplied) rows and its registry rows in
    step with ``files``, in one transaction; an :class:`IngestError` rolls it back."""
    source, table = contract.source, contract.name
    target = f"{_ident('raw_' + source)}.{_ident(table)}"
    rels = tuple(p.relative_to(landing_root).as_posix() for p in files)
    paths = dict(zip(rels, files, strict=True))
    tolerant = contract.privacy_events is not None
    conn.begin()
    try:
        _create_registry(conn)
        plan = _plan(conn, contract, target, rels, paths, fingerprint, full)
        _create_tables(conn, contract, target, plan)
        rows_in, reasons, ignored, ids, hashed = 0, Counter(), [], {}, {}
        for rel in plan.read:  # each file its own load id, so a model can tell its rows
            ids[rel] = conn.execute(f"select nextval('{_LOAD_IDS}')").fetchone()[0]
            # hashed before it is read: a file that changes while it loads is read again
            hashed[rel] = _hash(paths[rel])
            n, kinds, extra = _load_file(
                conn, contract, target, paths[rel], rel, allow_synthetic, tolerant, ids[rel]
            )
            rows_in += n
            reasons.update(kinds)
            ignored += [(rel, c) for c in extra]
        loaded = _register(conn, contract, landing_root, ids, hashed, fingerprint)
        if rows_in != loaded[0] + loaded[1]:  # a bug, never bad input
            raise RuntimeError(
                f"ingest of {source}/{table} lost rows: {rows_in} in, {loaded[0]} loaded, "
                f"{loaded[1]} quarantined"
            )
        unapplied = _record_unapplied(conn, contract, landing_root, unreadable)
        if unapplied and contract.privacy_events.stop_run:
            first = unapplied[0]
            raise IngestError(
                f"{landing_root / first.file}: {len(unapplied)} {source}/{table} event(s) "
                f"cannot be applied, first on line {first.line} ({first.reason}); fix the "
                "delivery and deliver it again (the run stops until then: they are never lost "
                "quietly)",
                line=first.line,
            )
        _drop_temp_tables(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return _Loaded(
        rels, rows_in, reasons, tuple(ignored), unapplied, plan.full, plan.read, plan.removed, ids
    )


def _register(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    landing_root: Path,
    ids: dict[str, int],
    hashed: dict[str, tuple[str, int, str | None]],
    fingerprint: str,
) -> tuple[int, int]:
    """Write the registry rows of the files ``ids`` (file -> load id) just loaded, from their
    ``hashed`` (file -> sha256, size, stat signature) and the warehouse; returns the rows
    (loaded, quarantined) they hold. (A file the purge rewrites afterwards, an erasure, a sweep
    or the suppression list, has its row moved along by the purge: ``catalog.retention.purge``;
    the rewritten file's new inode and times no longer match its stat signature, so the next
    ingest hashes it once.)"""
    key = [contract.source, contract.name]
    target = f"{_ident('raw_' + contract.source)}.{_ident(contract.name)}"
    if not ids:
        return 0, 0
    rels = [list(ids)]
    raw = dict(
        conn.execute(
            f"select _source_file, count(*) from {target} where list_contains(?, _source_file) "
            "group by 1",
            rels,
        ).fetchall()
    )
    quarantined = dict(
        conn.execute(
            f'select file, count(*) from {QUARANTINE_TABLE} where source = ? and "table" = ? '
            "and list_contains(?, file) group by 1",
            [*key, *rels],
        ).fetchall()
    )
    conn.execute(
        f'delete from {REGISTRY_TABLE} where source = ? and "table" = ? and list_contains(?, file)',
        [*key, *rels],
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for rel, load_id in ids.items():
        sha, size, signature = hashed[rel]
        conn.execute(
            f'insert into {REGISTRY_TABLE} (source, "table", file, delivery_date, sha256, size, '
            "rows_loaded, rows_quarantined, load_id, loaded_at, fingerprint, stat_signature) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *key,
                rel,
                delivery_date(landing_root / rel),
                sha,
                size,
                raw.get(rel, 0),
                quarantined.get(rel, 0),
                load_id,
                now,
                fingerprint,
                signature,
            ],
        )
    return sum(raw.values()), sum(quarantined.values())


def _table_totals(conn: duckdb.DuckDBPyConnection, contract: Table) -> tuple[int, int]:
    """The rows (raw, quarantined) the table holds."""
    target = f"{_ident('raw_' + contract.source)}.{_ident(contract.name)}"
    raw = conn.execute(f"select count(*) from {target}").fetchone()[0]
    quarantined = conn.execute(
        f'select count(*) from {QUARANTINE_TABLE} where source = ? and "table" = ?',
        [contract.source, contract.name],
    ).fetchone()[0]
    return raw, quarantined


def _reasons(conn: duckdb.DuckDBPyConnection, contract: Table) -> dict[str, int]:
    """Reason kind -> the table's quarantined rows that name it, read off the quarantine."""
    kinds = (
        "list_distinct(list_filter(list_transform(string_split(reason, '; '), "
        f"lambda x: split_part(x, ':', 1)), lambda x: regexp_full_match(x, {lit(_KINDS)})))"
    )
    return dict(
        conn.execute(
            f"select kind, count(*) from (select unnest({kinds}) as kind from {QUARANTINE_TABLE} "
            'where source = ? and "table" = ?) group by kind',
            [contract.source, contract.name],
        ).fetchall()
    )


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


# The reason kinds of a quarantine reason (``<kind>: <value> ...; <kind>: ...``), never a value.
_KINDS = (
    "(null|bad|bad type|bad pattern|not allowed|too long|spreadsheet formula|unknown column|"
    "missing column|duplicate column) [A-Za-z0-9_#]+|duplicate key|broken line"
)


def _record_unapplied(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    landing_root: Path,
    unreadable: dict[Path, IngestError],
) -> tuple[Unapplied, ...]:
    """The privacy events of ``contract`` that could not be applied, written to
    :data:`UNAPPLIED_TABLE` (this table's rows replaced): its quarantined rows that restrict
    (:class:`~contract.PrivacyEvents`) and its files that cannot be read."""
    conn.execute(
        f"create table if not exists {UNAPPLIED_TABLE} (source VARCHAR, "
        '"table" VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR)'
    )
    key = [contract.source, contract.name]
    conn.execute(f'delete from {UNAPPLIED_TABLE} where source = ? and "table" = ?', key)
    events = contract.privacy_events
    if events is None:
        return ()
    restricting = "true"
    if events.column is not None:
        permissive = ", ".join(lit(v) for v in events.permissive)
        restricting = (
            f"coalesce(json_extract_string(record, {lit('$.' + events.column)}) "
            f"not in ({permissive}), true)"
        )
    kinds = (
        "array_to_string(list_filter(list_transform(string_split(reason, '; '), "
        f"lambda x: split_part(x, ':', 1)), lambda x: regexp_full_match(x, {lit(_KINDS)})), ', ')"
    )
    conn.execute(
        f'insert into {UNAPPLIED_TABLE} select source, "table", file, line, '
        f"'rejected (' || coalesce(nullif({kinds}, ''), 'see quarantine.rejected_rows') || ')' "
        f'from {QUARANTINE_TABLE} where source = ? and "table" = ? and {restricting} '
        "order by file, line",
        key,
    )
    for path, exc in sorted(unreadable.items()):
        conn.execute(
            f"insert into {UNAPPLIED_TABLE} values (?, ?, ?, ?, ?)",
            [*key, path.relative_to(landing_root).as_posix(), exc.line, exc.reason],
        )
    rows = conn.execute(
        f'select file, line, reason from {UNAPPLIED_TABLE} where source = ? and "table" = ? '
        "order by file, line nulls first",
        key,
    ).fetchall()
    return tuple(Unapplied(*r) for r in rows)


def unapplied_events(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[Unapplied]]:
    """(source, table) -> the privacy events the last ingest could not apply, from
    :data:`UNAPPLIED_TABLE` ({} when there is none or the table does not exist yet)."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'quarantine' "
        "and table_name = 'unapplied_events'"
    ).fetchone()[0]
    if not exists:
        return {}
    out: dict[tuple[str, str], list[Unapplied]] = {}
    for source, table, file, line, reason in conn.execute(
        f'select source, "table", file, line, reason from {UNAPPLIED_TABLE} '
        'order by source, "table", file, line nulls first'
    ).fetchall():
        out.setdefault((source, table), []).append(Unapplied(file, line, reason))
    return out


def _create_registry(conn: duckdb.DuckDBPyConnection) -> None:
    """The registry :data:`REGISTRY_TABLE` and the load id sequence; a registry written before
    files had a stat signature gets the column (null: each file is hashed once more)."""
    conn.execute("create schema if not exists raw_meta")
    conn.execute(f"create sequence if not exists {_LOAD_IDS}")
    conn.execute(
        f"create table if not exists {REGISTRY_TABLE} (source VARCHAR NOT NULL, "
        '"table" VARCHAR NOT NULL, file VARCHAR NOT NULL, delivery_date DATE, '
        "sha256 VARCHAR NOT NULL, size BIGINT NOT NULL, rows_loaded BIGINT NOT NULL, "
        "rows_quarantined BIGINT NOT NULL, load_id BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, "
        "fingerprint VARCHAR NOT NULL, stat_signature VARCHAR)"
    )
    conn.execute(f"alter table {REGISTRY_TABLE} add column if not exists stat_signature VARCHAR")


def _create_tables(
    conn: duckdb.DuckDBPyConnection, contract: Table, target: str, plan: _Plan
) -> None:
    """Make the raw, quarantine and registry tables ready for ``plan``: on a full load an empty
    raw table and none of the table's quarantine and registry rows; else the rows of the
    removed files gone."""
    key = [contract.source, contract.name]
    conn.execute("create schema if not exists quarantine")
    conn.execute(
        f"create table if not exists {QUARANTINE_TABLE} (source VARCHAR, "
        '"table" VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, record JSON)'
    )
    if plan.full:
        cols = [
            f"{_ident(c.name)} {c.type.duckdb_type}{'' if c.nullable else ' NOT NULL'}"
            for c in contract.columns
        ]
        cols += [f"{name} {type_} NOT NULL" for name, type_ in METADATA_COLUMNS]
        conn.execute(f"create schema if not exists {_ident('raw_' + contract.source)}")
        conn.execute(f"create or replace table {target} ({', '.join(cols)})")
        conn.execute(f'delete from {QUARANTINE_TABLE} where source = ? and "table" = ?', key)
        conn.execute(f'delete from {REGISTRY_TABLE} where source = ? and "table" = ?', key)
        return
    if plan.removed:
        files = [list(plan.removed)]
        conn.execute(f"delete from {target} where list_contains(?, _source_file)", files)
        conn.execute(
            f'delete from {QUARANTINE_TABLE} where source = ? and "table" = ? '
            "and list_contains(?, file)",
            [*key, *files],
        )
        conn.execute(
            f'delete from {REGISTRY_TABLE} where source = ? and "table" = ? '
            "and list_contains(?, file)",
            [*key, *files],
        )


def _drop_temp_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for name in _TEMP_TABLES:
        conn.execute(f"drop table if exists temp.{name}")


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    target: str,
    path: Path,
    rel: str,
    allow_synthetic: bool,
    tolerate_unknown_columns: bool,
    load_id: int,
) -> tuple[int, Counter, tuple[str, ...]]:
    """Append one delivery file to the raw and quarantine tables, its raw rows marked
    ``load_id``; returns (records in the file, reason kind -> rows, unknown columns ignored)."""
    date = delivery_date(path)
    delivery = read.read_delivery(conn, path, contract)
    verdict = validate.validate_delivery(
        conn,
        contract,
        delivery,
        allow_synthetic=allow_synthetic,
        tolerate_unknown_columns=tolerate_unknown_columns,
    )
    if verdict.loads:
        casts = ", ".join(_cast(f"c{delivery.position[c.name]}", c.type) for c in contract.columns)
        conn.execute(
            f"insert into {target} select {casts}, {lit(rel)}, _line, "
            f"DATE {lit(date.isoformat())}, {int(load_id)} from ({delivery.rows}) g "
            f"where not exists (from {verdict.rejected} b where b._k = g._k) order by _line"
        )
    record = ", ".join(
        f"{lit(key)}, coalesce(c{i}, '')" for i, key in enumerate(_unique_keys(delivery.names))
    )
    prefix = f"{lit(contract.source)}, {lit(contract.name)}, {lit(rel)}"
    conn.execute(
        f"insert into {QUARANTINE_TABLE} select {prefix}, _line, {verdict.reason}, "
        f"json_object({record}) from {verdict.rejected} order by _line"
    )
    conn.execute(
        f"insert into {QUARANTINE_TABLE} select {prefix}, _line, {verdict.broken_reason}, "
        f"json_object('_raw', _raw) from ({delivery.broken}) order by _line"
    )
    return delivery.n_rows + delivery.n_broken, verdict.reasons, verdict.ignored_columns


def _cast(v: str, t: ColumnType) -> str:
    """Cast validated text to the raw column type (a plain CAST: a miss is a bug, not NULL)."""
    if t in (ColumnType.TEXT, ColumnType.NATIONAL_ID):
        return v
    return f"cast({v} as {t.duckdb_type})"


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _unique_keys(names: tuple[str, ...]) -> list[str]:
    """Header names as JSON keys; a repeated name gets ``#2``, ``#3`` ..."""
    seen: Counter = Counter()
    keys = []
    for name in names:
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys
