"""Landing files -> raw tables: validate every delivery against the contract, load, quarantine.

A pure library (no Dagster): :func:`ingest_table` reloads one landing table from all its delivery
files ``<landing root>/<source>/<table>/<YYYY-MM-DD>.csv`` (LANDING.md) into
``raw_<source>.<table>``: the contract's columns in contract order, typed by
:attr:`ColumnType.duckdb_type`, then ``_source_file`` (path relative to the landing root),
``_source_line`` (1-based physical line; the header is line 1) and ``_delivery_date``. Every row
that breaks the contract goes to ``quarantine.rejected_rows`` instead, with its file, line, all
its problems in ``reason`` and the row as delivered in ``record``; rows in = rows loaded + rows
quarantined. The raw table and the table's quarantine rows are replaced in one transaction, so a
file that cannot be read at all (:class:`IngestError`) leaves both as they were.

Validation runs in DuckDB SQL, vectorised: each file is read once with ``read_csv`` (all columns
as text, structurally broken lines kept aside with ``store_rejects``), then one query checks type,
nulls, allowed values, patterns, identity numbers and duplicate keys for all rows at once. Python
only reads the header and counts lines (a chunked byte scan), never loops over rows.

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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.landing.contract import Column, ColumnType, Table
from dagster_project.landing.contract import table as contract_table

QUARANTINE_TABLE = "quarantine.rejected_rows"
METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_delivery_date", "DATE"),
)

_FILE_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})\.csv")
_CHUNK = 1 << 23  # bytes per read in the line scan
_VALUE_SHOWN = 40  # characters of a value quoted in a reason
_BROKEN = "broken line"
_DUPLICATE = "duplicate key"

# Temporary tables of one ingest run (connection-local, dropped before commit).
_ROWS = "_ingest_rows"
_REJECT_ERRORS = "_ingest_reject_errors"
_REJECT_SCANS = "_ingest_reject_scans"
_BROKEN_LINES = "_ingest_broken"
_SKIP = "_ingest_skip"
_LINED = "_ingest_lined"
_BAD = "_ingest_bad"
_TEMP_TABLES = (_ROWS, _REJECT_ERRORS, _REJECT_SCANS, _BROKEN_LINES, _SKIP, _LINED, _BAD)


@dataclass(frozen=True)
class IngestResult:
    """What one :func:`ingest_table` run did. ``files`` is empty when nothing was delivered."""

    source: str
    table: str
    files: tuple[str, ...]  # paths relative to the landing root, by delivery date
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    reasons: dict[str, int]  # reason kind -> rows, e.g. {"bad national_id": 3}


class IngestError(Exception):
    """A delivery that cannot be read at all: ``<file>: <what is wrong>; <what to do>``."""


def landing_files(landing_root: Path, source: str, table: str) -> list[Path]:
    """The delivery files of one landing table, oldest first; [] when the folder is missing.

    Anything else in the folder (except hidden files) fails closed: a file that is not named
    after its delivery date cannot be placed in time.
    """
    folder = Path(landing_root) / source / table
    if not folder.is_dir():
        return []
    files = []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        m = _FILE_NAME.fullmatch(path.name)
        if m is None or not path.is_file() or _parse_date(m.group(1)) is None:
            raise IngestError(
                f"{path}: not a delivery file (expected <YYYY-MM-DD>.csv); "
                "rename it after its delivery date or move it out of the landing folder"
            )
        files.append(path)
    return sorted(files, key=lambda p: p.name)


def ingest_table(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    landing_root: Path,
    *,
    allow_synthetic: bool,
) -> IngestResult:
    """Reload ``raw_<source>.<table>`` from all delivered files; quarantine what breaks the
    contract. Idempotent: a second run over the same files gives the same tables.

    ``allow_synthetic`` accepts synthetic identity numbers (month + 80); only for synthetic data.
    Raises :class:`IngestError` (one line, nothing changed) for a file that cannot be read.
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
    files = landing_files(landing_root, source, table)
    rels = tuple(p.relative_to(landing_root).as_posix() for p in files)
    target = f"{_ident('raw_' + source)}.{_ident(table)}"

    conn.begin()
    try:
        _create_tables(conn, contract, target)
        rows_in, reasons = 0, Counter()
        for path, rel in zip(files, rels, strict=True):
            n, kinds = _FileIngest(conn, contract, target, path, rel, allow_synthetic).run()
            rows_in += n
            reasons.update(kinds)
        loaded = conn.execute(f"select count(*) from {target}").fetchone()[0]
        quarantined = conn.execute(
            f'select count(*) from {QUARANTINE_TABLE} where source = ? and "table" = ?',
            [source, table],
        ).fetchone()[0]
        if rows_in != loaded + quarantined:  # a bug, never bad input
            raise RuntimeError(
                f"ingest of {source}/{table} lost rows: {rows_in} in, {loaded} loaded, "
                f"{quarantined} quarantined"
            )
        _drop_temp_tables(conn)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return IngestResult(
        source=source,
        table=table,
        files=rels,
        rows_in=rows_in,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        reasons=dict(sorted(reasons.items())),
    )


def _create_tables(conn: duckdb.DuckDBPyConnection, contract: Table, target: str) -> None:
    """Replace the raw table by an empty one, drop the table's old quarantine rows."""
    cols = [
        f"{_ident(c.name)} {c.type.duckdb_type}{'' if c.nullable else ' NOT NULL'}"
        for c in contract.columns
    ]
    cols += [f"{name} {type_} NOT NULL" for name, type_ in METADATA_COLUMNS]
    conn.execute(f"create schema if not exists {_ident('raw_' + contract.source)}")
    conn.execute(f"create or replace table {target} ({', '.join(cols)})")
    conn.execute("create schema if not exists quarantine")
    conn.execute(
        f"create table if not exists {QUARANTINE_TABLE} (source VARCHAR, "
        '"table" VARCHAR, file VARCHAR, line BIGINT, reason VARCHAR, record JSON)'
    )
    conn.execute(
        f'delete from {QUARANTINE_TABLE} where source = ? and "table" = ?',
        [contract.source, contract.name],
    )


def _drop_temp_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for name in _TEMP_TABLES:
        conn.execute(f"drop table if exists temp.{name}")


# --- one delivery file -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Scan:
    """What a byte scan of the file found: line count, empty lines, whether quotes occur."""

    lines: int  # physical lines (a last line without newline counts)
    interior_blank: tuple[int, ...]  # empty lines before the last non-empty one
    trailing_blank: int  # empty lines at the end of the file
    has_quote: bool


@dataclass(frozen=True)
class _Check:
    kind: str  # reason kind counted in IngestResult.reasons
    sql: str  # the reason text when the row has this problem, else NULL
    # helper columns the reason needs, as layers of (name, SQL) computed one after the other
    layers: tuple[tuple[tuple[str, str], ...], ...] = ()


class _FileIngest:
    """Validate one delivery file and append it to the raw and quarantine tables."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        contract: Table,
        target: str,
        path: Path,
        rel: str,
        synthetic: bool,
    ):
        self.conn, self.contract, self.target = conn, contract, target
        self.path, self.rel, self.allow_synthetic = path, rel, synthetic
        self.delivery = _parse_date(path.stem)

    def fail(self, what: str, todo: str) -> IngestError:
        return IngestError(f"{self.path}: {what}; {todo}")

    def run(self) -> tuple[int, Counter]:
        """Load the file; returns (records in the file, reason kind -> rows)."""
        scan = self._scan()
        names, header_lines = self._header()
        position: dict[str, int] = {}  # column name -> index of its first column in the file
        for i, name in enumerate(names):
            position.setdefault(name, i)
        header_problems = self._header_problems(names, position)
        self._read(len(names))
        lines = self._line_numbers(scan, header_lines, len(names))

        # A file whose header breaks the contract loads nothing: every row is quarantined.
        checks, dup = ([], None) if header_problems else self._checks(position)
        problems = [f"_p{i}" for i in range(len(checks))]
        header_reason = _lit("; ".join(header_problems)) if header_problems else "NULL"
        is_bad = "true" if header_problems else f"coalesce({', '.join(problems)}) is not null"
        # Only the rejected rows are kept aside; the good ones go straight to the raw table.
        self.conn.execute(
            f"create or replace temp table {_BAD} as "
            f"select * from ({self._checked_sql(lines, checks, dup)}) where {is_bad}"
        )

        n_rows = self._scalar(f"select count(*) from {_ROWS}")
        n_broken = self._scalar(f"select count(*) from ({lines.broken})")
        per_check = self.conn.execute(
            f"select {', '.join(['0', *(f'count({p})' for p in problems)])} from {_BAD}"
        ).fetchone()[1:]
        kinds: Counter = Counter()
        for check, n in zip(checks, per_check, strict=True):
            kinds[check.kind] += n
        for problem in header_problems:
            kinds[problem] += n_rows + n_broken
        kinds[_BROKEN] += n_broken

        if not header_problems:
            casts = ", ".join(_cast(f"c{position[c.name]}", c.type) for c in self.contract.columns)
            self.conn.execute(
                f"insert into {self.target} select {casts}, {_lit(self.rel)}, _line, "
                f"DATE {_lit(self.delivery.isoformat())} from ({lines.good}) g "
                f"where not exists (from {_BAD} b where b._k = g._k) order by _line"
            )
        record = ", ".join(
            f"{_lit(key)}, coalesce(c{i}, '')" for i, key in enumerate(_unique_keys(names))
        )
        prefix = f"{_lit(self.contract.source)}, {_lit(self.contract.name)}, {_lit(self.rel)}"
        self.conn.execute(
            f"insert into {QUARANTINE_TABLE} select {prefix}, _line, "
            f"concat_ws('; ', {', '.join([header_reason, *problems])}), json_object({record}) "
            f"from {_BAD} order by _line"
        )
        self.conn.execute(
            f"insert into {QUARANTINE_TABLE} select {prefix}, _line, "
            f"concat_ws('; ', {header_reason}, '{_BROKEN}: ' || _msg), "
            f"json_object('_raw', _raw) from ({lines.broken}) order by _line"
        )
        return n_rows + n_broken, +kinds

    # -- reading ---------------------------------------------------------------------------

    def _scan(self) -> _Scan:
        """Count lines and find empty lines in C-speed chunks; check UTF-8 and NUL bytes."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        newlines = 0  # newlines before the start of ``pending``
        pending = b""  # the last two bytes, whose successors are not read yet
        blank: list[int] = []
        has_quote = False
        last = b""
        try:
            with self.path.open("rb") as f:
                while True:
                    chunk = f.read(_CHUNK)
                    final = not chunk
                    if b"\x00" in chunk:
                        raise self.fail(
                            "contains NUL bytes, so it is not a text CSV file",
                            "deliver the extract as UTF-8 CSV",
                        )
                    held = decoder.getstate()[0]  # an incomplete character (no newline)
                    if held or not chunk.isascii():
                        try:
                            decoder.decode(chunk, final)
                        except UnicodeDecodeError as exc:
                            before = chunk.count(b"\n", 0, max(0, exc.start - len(held)))
                            line = newlines + pending.count(b"\n") + before + 1
                            raise self.fail(
                                f"not UTF-8 (invalid byte sequence on line {line})",
                                "re-export the file as UTF-8 and deliver it again",
                            ) from None
                    has_quote = has_quote or b'"' in chunk
                    buf = pending + chunk
                    limit = len(buf) if final else max(0, len(buf) - 2)
                    if b"\n\n" in buf or b"\n\r\n" in buf:
                        counted, at = newlines, 0
                        for m in _EMPTY_LINE.finditer(buf, 0, len(buf)):
                            if m.start() >= limit:
                                break
                            counted += buf.count(b"\n", at, m.start())
                            at = m.start()
                            blank.append(counted + 2)  # the line after newline number counted+1
                    newlines += buf.count(b"\n", 0, limit)
                    if chunk:
                        last = chunk[-1:]
                    pending = buf[limit:]
                    if final:
                        break
        except OSError as exc:
            raise self.fail(
                f"cannot be read ({exc.strerror or exc})", "check the file and its permissions"
            ) from None
        lines = newlines + (1 if last not in (b"", b"\n") else 0)
        trailing = 0
        while blank and blank[-1] == lines - trailing:
            blank.pop()
            trailing += 1
        return _Scan(lines, tuple(blank), trailing, has_quote)

    def _header(self) -> tuple[list[str], int]:
        """The header's column names and how many physical lines it spans."""
        with self.path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)
            try:
                names = next(reader)
            except StopIteration:
                raise self.fail(
                    "empty file without header row", "deliver the extract with its header row"
                ) from None
            except csv.Error as exc:
                raise self.fail(
                    f"header row is not valid CSV ({exc})", "deliver a comma-separated UTF-8 file"
                ) from None
            lines = reader.line_num
        if not names or names == [""]:
            raise self.fail(
                "line 1 is empty, but the header row must be on line 1",
                "remove the empty lines before the header",
            )
        return names, lines

    def _header_problems(self, names: list[str], position: dict[str, int]) -> list[str]:
        expected = self.contract.column_names
        if not any(name in expected for name in names):
            shown = ",".join(names)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise self.fail(
                f"header {shown!r} has none of the columns of {self.contract.source}/"
                f"{self.contract.name}, so this is not a comma-separated extract of that table",
                f"deliver a comma-separated UTF-8 file with the header {','.join(expected)}",
            )
        problems = [f"missing column {c}" for c in expected if c not in position]
        problems += [
            f"unknown column {_name(n)}" for n in dict.fromkeys(names) if n not in expected
        ]
        problems += [f"duplicate column {_name(n)}" for n, k in Counter(names).items() if k > 1]
        return problems

    def _read(self, n_columns: int) -> None:
        """All records as text into a temp table; structurally broken lines into the rejects."""
        for name in (_REJECT_ERRORS, _REJECT_SCANS):
            self.conn.execute(f"drop table if exists temp.{name}")
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns))
        try:
            self.conn.execute(
                f"create or replace temp table {_ROWS} as select * from read_csv("
                f"{_lit(str(self.path))}, columns = {{{columns}}}, header = true, "
                "auto_detect = false, all_varchar = true, delim = ',', quote = '\"', "
                f"escape = '\"', store_rejects = true, rejects_table = '{_REJECT_ERRORS}', "
                f"rejects_scan = '{_REJECT_SCANS}') with ordinality as t({_cols(n_columns)}, _k)"
            )
        except duckdb.Error as exc:
            raise self.fail(
                f"cannot be read as CSV ({_first_line(exc)})",
                "deliver a comma-separated UTF-8 file with a header row",
            ) from None
        encoding = self.conn.execute(
            f"select min(line) from {_REJECT_ERRORS} where error_type = 'INVALID ENCODING'"
        ).fetchone()[0]
        if encoding is not None:
            raise self.fail(
                f"not UTF-8 (invalid byte sequence near line {encoding})",
                "re-export the file as UTF-8 and deliver it again",
            )
        # One row per broken record: ``_d`` is DuckDB's line number (the physical line minus the
        # line breaks inside quoted values before it), ``_raw`` the record as delivered.
        self.conn.execute(
            f"create or replace temp table {_BROKEN_LINES} as "
            "select line as _d, arg_min(error_message, coalesce(column_idx, 0)) as _msg, "
            "trim(arg_min(csv_line, coalesce(column_idx, 0)), chr(13) || chr(10)) as _raw "
            f"from {_REJECT_ERRORS} group by line"
        )

    def _line_numbers(self, scan: _Scan, header_lines: int, n_columns: int) -> _Lines:
        """Where each record starts: SQL for the good rows with ``_line`` and the broken ones.

        DuckDB numbers good rows only by their order (``_k``), and broken records by a line
        count that skips the line breaks inside quoted values; the byte scan knows the empty
        lines. So good row k sits on the k-th line that is neither empty nor broken, pushed
        further down by the line breaks inside quoted values before it. The sum of all records'
        lines must equal the scan's line count, else the file is refused.
        """
        hx = header_lines - 1  # line breaks inside quoted header names
        nl_row = " + ".join(
            f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)"
            for i in range(n_columns)
        )
        nl_broken = "length(_raw) - length(replace(_raw, chr(10), ''))"
        multiline = scan.has_quote and self._scalar(
            f"select exists (from {_ROWS} where {nl_row} > 0) "
            f"or exists (from {_BROKEN_LINES} where {nl_broken} > 0)"
        )
        # With one column an empty line is a record (an empty value), not an empty line.
        interior = scan.interior_blank if n_columns > 1 else ()
        trailing = scan.trailing_blank if n_columns > 1 else 0
        if multiline and interior:
            if self._empty_lines_inside_values(n_columns) != len(interior):
                raise self.fail(
                    "cannot tell which line each row is on: empty lines between rows together "
                    "with line breaks inside quoted values",
                    "remove the empty lines between rows and deliver the file again",
                )
            interior = ()  # all of them belong to quoted values
        self.conn.execute(
            f"create or replace temp table {_SKIP} as select unnest(?::BIGINT[]) as d "
            f"union select _d from {_BROKEN_LINES}",
            [[p - hx for p in interior]],
        )
        if not multiline and not self._scalar(f"select exists (from {_SKIP})"):
            lines = _Lines(
                good=f"select *, _k + {1 + hx} as _line from {_ROWS}",
                broken=f"select _d as _line, _msg, _raw from {_BROKEN_LINES} where false",
                materialize=False,
            )
            nl = 0
        else:
            # i = skipped lines before good row k: the last skipped line d_i with fewer than k
            # good rows before it (d_i - 1 - i of them).
            d_row = "r._k + 1 + coalesce(s.i, 0)"
            asof = (
                f"from {_ROWS} r asof left join (select d - 1 - i as g, max(i) as i from "
                f"(select d, row_number() over (order by d) as i from {_SKIP}) group by g) s "
                "on r._k > s.g"
            )
            if multiline:
                self.conn.execute(
                    f"create or replace temp table {_LINED} as select * exclude (_nl), "
                    f"_d + {hx} + coalesce(sum(_nl) over (order by _d rows between unbounded "
                    "preceding and 1 preceding), 0) as _line from ("
                    f"select r.*, {d_row} as _d, {nl_row} as _nl {asof} union all by name "
                    f"select _d, {nl_broken} as _nl, _msg, _raw from {_BROKEN_LINES})"
                )
                lines = _Lines(
                    good=f"select * exclude (_d, _msg, _raw) from {_LINED} where _k is not null",
                    broken=f"select _line, _msg, _raw from {_LINED} where _k is null",
                    materialize=False,
                )
                nl = self._scalar(
                    f"select coalesce(sum(_nl), 0) from (select {nl_row} as _nl "
                    f"from {_ROWS} union all select {nl_broken} from {_BROKEN_LINES})"
                )
            else:
                lines = _Lines(
                    good=f"select r.*, {d_row} + {hx} as _line {asof}",
                    broken=f"select _d + {hx} as _line, _msg, _raw from {_BROKEN_LINES}",
                    materialize=True,
                )
                nl = 0
        records = self._scalar(
            f"select (select count(*) from {_ROWS}) + (select count(*) from {_BROKEN_LINES})"
        )
        if 1 + hx + records + nl + len(interior) + trailing != scan.lines:
            raise self.fail(
                f"cannot tell which line each row is on: {scan.lines} lines, but the CSV "
                f"reader finds {records} records after the header, which need "
                f"{records + nl} lines, plus {len(interior) + trailing} empty ones",
                "deliver the file with \\n or \\r\\n line breaks and RFC 4180 quoting",
            )
        return lines

    def _scalar(self, sql: str):
        return self.conn.execute(sql).fetchone()[0]

    def _empty_lines_inside_values(self, n_columns: int) -> int:
        """Empty physical lines that belong to quoted values spanning several lines."""

        def inside(v: str) -> str:
            return (
                f"coalesce(len(list_filter(string_split({v}, chr(10))[2:-2], "
                "lambda x: x = '' or x = chr(13))), 0)"
            )

        per_row = " + ".join(inside(f"c{i}") for i in range(n_columns))
        return self.conn.execute(
            f"select (select coalesce(sum({per_row}), 0) from {_ROWS}) "
            f"+ (select coalesce(sum({inside('_raw')}), 0) from {_BROKEN_LINES})"
        ).fetchone()[0]

    # -- checking ---------------------------------------------------------------------------

    def _checks(self, position: dict[str, int]) -> tuple[list[_Check], _DuplicateKey]:
        """Every check of the contract's columns, the duplicate key check last."""
        checks: list[_Check] = []
        for column in self.contract.columns:
            checks += _column_checks(column, f"c{position[column.name]}", self.allow_synthetic)
        key = self.contract.key
        dup = _duplicate_key_check(
            key, {n: self.contract.column(n).type for n in key}, {n: position[n] for n in key}
        )
        return [*checks, dup.check], dup

    def _checked_sql(self, lines: _Lines, checks: list[_Check], dup: _DuplicateKey | None) -> str:
        """The rows of the file with one ``_p<i>`` reason column per check (NULL = passed)."""
        if dup is None:
            return lines.good
        exprs = ", ".join(f"{check.sql} as _p{i}" for i, check in enumerate(checks))
        rows, helpers = "l", []
        for depth in range(max(len(c.layers) for c in checks)):
            layer = [pair for c in checks if depth < len(c.layers) for pair in c.layers[depth]]
            helpers += [name for name, _ in layer]
            rows = f"(select *, {', '.join(f'{sql} as {name}' for name, sql in layer)} from {rows})"
        drop = f" exclude ({', '.join(helpers)})" if helpers else ""
        materialized = "materialized " if lines.materialize else ""
        return (
            f"with l as {materialized}({lines.good}), {dup.ctes} "
            f"select l.*{drop}, {exprs} from {rows} l left join dups d on {dup.join}"
        )


@dataclass(frozen=True)
class _Lines:
    good: str  # SQL: the good rows (c0.., _k) with their physical ``_line``
    broken: str  # SQL: the broken records: _line, _msg (DuckDB's error), _raw (as delivered)
    materialize: bool  # whether ``good`` is worth materialising (it is read three times)


@dataclass(frozen=True)
class _DuplicateKey:
    ctes: str  # defines ``dups``: one row per duplicated key with its row count and first lines
    join: str  # condition joining a row ``l`` to its key in ``dups d``
    check: _Check


def _duplicate_key_check(
    key: tuple[str, ...], types: dict[str, ColumnType], position: dict[str, int]
) -> _DuplicateKey:
    """Every row whose key occurs more than once in the file; rows with an empty key column are
    left to the null check. Timestamps compare as instants, everything else as delivered."""

    def key_expr(alias: str, name: str) -> str:
        v = f"{alias}.c{position[name]}"
        if types[name] is ColumnType.TIMESTAMP:
            return f"coalesce(epoch_us(try_cast({v} as TIMESTAMPTZ))::VARCHAR, {v})"
        return v

    def on(left: str, right: str) -> str:
        return " and ".join(f"{left}.k{i} = {key_expr(right, n)}" for i, n in enumerate(key))

    groups = ", ".join(f"{key_expr('l', n)} as k{i}" for i, n in enumerate(key))
    not_null = " and ".join(f"l.c{position[n]} is not null" for n in key)
    ctes = (
        f"dupkeys as (select {groups} from l where {not_null} group by all having count(*) > 1), "
        "dups as (select dk.*, count(*) as _n, list(l._line order by l._line)[1:6] as _lines "
        f"from l join dupkeys dk on {on('dk', 'l')} group by all)"
    )
    values = " || ', ' || ".join(_shown(f"l.c{position[n]}") for n in key)
    others = "list_filter(d._lines, lambda x: x <> l._line)[1:5]"
    message = (
        f"case when d._n is not null then '{_DUPLICATE}: ({', '.join(key)}) = (' || {values} "
        f"|| ') on ' || d._n || ' rows, also on line' || if(d._n > 2, 's ', ' ') || "
        f"array_to_string({others}, ', ') || if(d._n > 6, ', ...', '') end"
    )
    return _DuplicateKey(ctes, on("d", "l"), _Check(_DUPLICATE, message))


def _column_checks(column: Column, v: str, allow_synthetic: bool) -> list[_Check]:
    """The checks of one contract column on the text value ``v`` (NULL = empty field)."""
    name = column.name
    checks = []
    if not column.nullable:
        checks.append(
            _Check(
                f"null {name}", f"case when {v} is null then 'null {name}: empty, but required' end"
            )
        )
    t = column.type
    if t is ColumnType.NATIONAL_ID:
        checks.append(_national_id_check(v, name, allow_synthetic))
    elif t is not ColumnType.TEXT:
        bad, expected = _type_rule(t, v)
        checks.append(
            _Check(
                f"bad type {name}",
                f"case when {v} is not null and ({bad}) then "
                f"'bad type {name}: ' || {_shown(v)} || {_lit(' is not ' + expected)} end",
            )
        )
    if column.allowed:
        checks.append(
            _Check(
                f"not allowed {name}",
                f"case when {v} not in ({', '.join(_lit(a) for a in column.allowed)}) then "
                f"'not allowed {name}: ' || {_shown(v)} || "
                f"{_lit(' is not one of ' + ', '.join(column.allowed))} end",
            )
        )
    if column.pattern:
        checks.append(
            _Check(
                f"bad pattern {name}",
                f"case when not regexp_full_match({v}, {_lit(column.pattern)}) then "
                f"'bad pattern {name}: ' || {_shown(v)} || "
                f"{_lit(' does not match ' + column.pattern)} end",
            )
        )
    return checks


def _type_rule(t: ColumnType, v: str) -> tuple[str, str]:
    """(SQL true when the non-null text ``v`` is not of type ``t``, what was expected)."""
    if t is ColumnType.INTEGER:
        return f"not regexp_full_match({v}, '-?[0-9]{{1,18}}')", "an integer"
    if t is ColumnType.DECIMAL:
        precision, scale = map(int, re.findall(r"\d+", t.duckdb_type))
        number = f"-?[0-9]{{1,{precision - scale}}}(\\.[0-9]{{1,{scale}}})?"
        return (
            f"not regexp_full_match({v}, {_lit(number)})",
            f"a decimal number with '.' as separator and at most {scale} decimals",
        )
    if t is ColumnType.BOOLEAN:
        return f"{v} not in ('true', 'false')", "true or false"
    if t is ColumnType.DATE:
        return (
            f"not regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"or try_cast({v} as DATE) is null",
            "a date YYYY-MM-DD",
        )
    if t is ColumnType.TIMESTAMP:
        return (
            f"not regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}"
            f":[0-9]{{2}}(\\.[0-9]{{1,6}})?(Z|[+-][0-9]{{2}}:[0-9]{{2}})') "
            f"or try_cast({v} as TIMESTAMPTZ) is null",
            "an ISO 8601 timestamp with offset (YYYY-MM-DDThh:mm:ss+hh:mm)",
        )
    raise ValueError(f"no type rule for {t}")


def _national_id_check(v: str, name: str, allow_synthetic: bool) -> _Check:
    """Why ``v`` is not a valid identity number (LANDING.md, "Identity numbers"), or NULL.

    Mod-11 check digits (weights 3,7,6,1,8,9,4,5,2 and 5,4,3,2,7,6,5,4,3,2; 11 -> 0, and 10
    never equals a digit), then a real birth date after removing the D-number +40 on the day and
    the synthetic +80 on the month, the century from the individual number as
    :func:`national_id.birth_date` does. The digits and sums are helper columns computed once
    per row, layer by layer, instead of being repeated inside one expression.
    """
    h = f"_h_{v}_"  # helper column prefix, unique per file column

    def weighted(weights: tuple[int, ...]) -> str:
        return " + ".join(f"{w} * {h}d{i}" for i, w in enumerate(weights, 1))

    def number(*positions: int) -> str:
        n = len(positions)
        return " + ".join(f"{10 ** (n - k)} * {h}d{i}" for k, i in enumerate(positions, 1))

    dd, mm, yy, ind = f"{h}dd", f"{h}mm", f"{h}yy", f"{h}ind"
    layers = (
        ((f"{h}n", f"case when regexp_full_match({v}, '[0-9]{{11}}') then {v}::BIGINT end"),),
        tuple((f"{h}d{i}", f"{h}n // {10 ** (11 - i)} % 10") for i in range(1, 12)),
        (
            (f"{h}k1", f"(11 - ({weighted((3, 7, 6, 1, 8, 9, 4, 5, 2))}) % 11) % 11"),
            (f"{h}k2", f"(11 - ({weighted((5, 4, 3, 2, 7, 6, 5, 4, 3, 2))}) % 11) % 11"),
            (dd, number(1, 2)),
            (mm, number(3, 4)),
            (yy, number(5, 6)),
            (ind, number(7, 8, 9)),
        ),
        (
            (f"{h}day", f"if({dd} > 40, {dd} - 40, {dd})"),
            (f"{h}month", f"if({mm} > 80, {mm} - 80, {mm})"),
            (
                f"{h}year",
                f"case when {ind} <= 499 then 1900 + {yy} "
                f"when {ind} <= 749 and {yy} >= 54 then 1800 + {yy} "
                f"when {ind} >= 900 and {yy} >= 40 then 1900 + {yy} "
                f"when {yy} <= 39 then 2000 + {yy} else 1900 + {yy} end",
            ),
        ),
    )
    day, month, year = f"{h}day", f"{h}month", f"{h}year"
    leap = f"({year} % 4 = 0 and ({year} % 100 <> 0 or {year} % 400 = 0))"
    days = (
        f"case when {month} = 2 then if({leap}, 29, 28) "
        f"when {month} in (4, 6, 9, 11) then 30 else 31 end"
    )
    shown = f"'bad {name}: ' || {_shown(v)} || "
    synthetic = (
        ""
        if allow_synthetic
        else f" when {mm} > 80 then {shown}' is a synthetic test number (month + 80), "
        "accepted only when the data is synthetic'"
    )
    sql = (
        f"case when {v} is null then NULL"
        f" when {h}n is null then {shown}' is not 11 digits'"
        f" when {h}k1 <> {h}d10 or {h}k2 <> {h}d11 then {shown}' has wrong check digits'"
        f" when {month} not between 1 and 12 or {day} not between 1 and ({days})"
        f" then {shown}' has no valid birth date'{synthetic} end"
    )
    return _Check(f"bad {name}", sql, layers)


def _cast(v: str, t: ColumnType) -> str:
    """Cast validated text to the raw column type (a plain CAST: a miss is a bug, not NULL)."""
    if t in (ColumnType.TEXT, ColumnType.NATIONAL_ID):
        return v
    return f"cast({v} as {t.duckdb_type})"


# --- small helpers ---------------------------------------------------------------------------

_EMPTY_LINE = re.compile(rb"\n(?=\r?\n)")


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _cols(n: int) -> str:
    return ", ".join(f"c{i}" for i in range(n))


def _shown(v: str) -> str:
    """SQL: the value quoted for a reason, cut after a few dozen characters."""
    return (
        f"('''' || left({v}, {_VALUE_SHOWN}) || if(length({v}) > {_VALUE_SHOWN}, '...', '') "
        "|| '''')"
    )


def _name(name: str) -> str:
    return name if name and name.strip() == name else repr(name)


def _unique_keys(names: list[str]) -> list[str]:
    """Header names as JSON keys; a repeated name gets ``#2``, ``#3`` ..."""
    seen: Counter = Counter()
    keys = []
    for name in names:
        seen[name] += 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
