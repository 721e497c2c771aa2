"""Reading one delivery file: its records as text, the broken ones aside, each on its physical line.

:func:`read_delivery` reads the file once with DuckDB's ``read_csv`` (every column as text, the
structurally broken lines kept aside with ``store_rejects``) into connection-local temp tables,
and works out the physical line each record starts on (1-based; the header is line 1). Python
only reads the header and counts lines (a chunked byte scan that also checks UTF-8 and NUL
bytes), never loops over rows. A file that cannot be read, or whose lines cannot be told apart,
raises :class:`IngestError` with one line naming the file.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.landing._sql import lit
from dagster_project.landing.contract import Table
from dagster_project.landing.deliveries import IngestError

_CHUNK = 1 << 23  # bytes per read in the line scan
_EMPTY_LINE = re.compile(rb"\n(?=\r?\n)")

# Temporary tables of one read (connection-local, replaced by the next file's read).
_ROWS = "_ingest_rows"
_REJECT_ERRORS = "_ingest_reject_errors"
_REJECT_SCANS = "_ingest_reject_scans"
_BROKEN_LINES = "_ingest_broken"
_SKIP = "_ingest_skip"
_LINED = "_ingest_lined"
TEMP_TABLES = (_ROWS, _REJECT_ERRORS, _REJECT_SCANS, _BROKEN_LINES, _SKIP, _LINED)


@dataclass(frozen=True)
class Delivery:
    """One delivery file as :func:`read_delivery` left it in the connection's temp tables."""

    names: tuple[str, ...]  # the header's column names as delivered (a name may repeat)
    position: dict[str, int]  # column name -> index i of its first file column ``c<i>``
    rows: str  # SQL: the records that parsed (c0.. as text, NULL = empty; _k) with ``_line``
    broken: str  # SQL: the broken records: _line, _msg (DuckDB's error), _raw (as delivered)
    materialize: bool  # whether ``rows`` is worth materialising (it is read three times)
    n_rows: int  # records that parsed
    n_broken: int  # broken records


def read_delivery(conn: duckdb.DuckDBPyConnection, path: Path, contract: Table) -> Delivery:
    """Read one delivery file of ``contract``'s table into temp tables (:data:`TEMP_TABLES`).

    Raises :class:`IngestError` for a file that cannot be read: not UTF-8, NUL bytes, no header,
    a header with none of the contract's columns (not a comma-separated extract of the table),
    or lines that cannot be told apart.
    """
    return _Reader(conn, path).read(contract)


@dataclass(frozen=True)
class _Scan:
    """What a byte scan of the file found: line count, empty lines, whether quotes occur."""

    lines: int  # physical lines (a last line without newline counts)
    interior_blank: tuple[int, ...]  # empty lines before the last non-empty one
    trailing_blank: int  # empty lines at the end of the file
    has_quote: bool


class _Reader:
    """Read one delivery file into the temp tables."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, path: Path):
        self.conn, self.path = conn, path

    def fail(self, what: str, todo: str, line: int | None = None) -> IngestError:
        return IngestError(f"{self.path}: {what}; {todo}", path=self.path, line=line)

    def read(self, contract: Table) -> Delivery:
        """Scan, read the header, refuse a foreign one, read the records, number their lines."""
        scan = self._scan()
        names, header_lines = self._header()
        position: dict[str, int] = {}  # column name -> index of its first column in the file
        for i, name in enumerate(names):
            position.setdefault(name, i)
        self._refuse_foreign_header(names, contract)
        self._read(len(names))
        lines = self._line_numbers(scan, header_lines, len(names))
        return Delivery(
            names=tuple(names),
            position=position,
            rows=lines.good,
            broken=lines.broken,
            materialize=lines.materialize,
            n_rows=self._scalar(f"select count(*) from {_ROWS}"),
            n_broken=self._scalar(f"select count(*) from ({lines.broken})"),
        )

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
                    if (nul := chunk.find(b"\x00")) >= 0:
                        line = newlines + pending.count(b"\n") + chunk.count(b"\n", 0, nul) + 1
                        raise self.fail(
                            f"contains NUL bytes (first on line {line}), so it is not a text "
                            "CSV file",
                            "deliver the extract as UTF-8 CSV",
                            line,
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
                                line,
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
                    "empty file without header row", "deliver the extract with its header row", 1
                ) from None
            except csv.Error as exc:
                raise self.fail(
                    f"header row is not valid CSV ({exc})",
                    "deliver a comma-separated UTF-8 file",
                    1,
                ) from None
            lines = reader.line_num
        if not names or names == [""]:
            raise self.fail(
                "line 1 is empty, but the header row must be on line 1",
                "remove the empty lines before the header",
                1,
            )
        return names, lines

    def _refuse_foreign_header(self, names: list[str], contract: Table) -> None:
        """A header with none of the contract's columns is not an extract of the table."""
        expected = contract.column_names
        if not any(name in expected for name in names):
            shown = ",".join(names)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise self.fail(
                f"header {shown!r} has none of the columns of {contract.source}/"
                f"{contract.name}, so this is not a comma-separated extract of that table",
                f"deliver a comma-separated UTF-8 file with the header {','.join(expected)}",
                1,
            )

    def _read(self, n_columns: int) -> None:
        """All records as text into a temp table; structurally broken lines into the rejects."""
        for name in (_REJECT_ERRORS, _REJECT_SCANS):
            self.conn.execute(f"drop table if exists temp.{name}")
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns))
        try:
            self.conn.execute(
                f"create or replace temp table {_ROWS} as select * from read_csv("
                f"{lit(str(self.path))}, columns = {{{columns}}}, header = true, "
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
                encoding,
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


@dataclass(frozen=True)
class _Lines:
    good: str  # SQL: the good rows (c0.., _k) with their physical ``_line``
    broken: str  # SQL: the broken records: _line, _msg (DuckDB's error), _raw (as delivered)
    materialize: bool  # whether ``good`` is worth materialising (it is read three times)


def _cols(n: int) -> str:
    return ", ".join(f"c{i}" for i in range(n))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
