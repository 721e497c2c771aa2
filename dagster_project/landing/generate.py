"""Synthetic landing data for the Fjordbank group, in bulk and deterministic.

``generate(out, persons=..., seed=...)`` writes one delivery of every landing table of the
contract (``contract.CONTRACT``) as ``<out>/<source>/<table>/<as_of>.csv``, formatted as
LANDING.md says. All rows come from DuckDB SQL over ``range()`` (see ``_queries``): every random
draw is a hash of (seed, entity, salt), so the same (persons, seed, as_of) gives byte-identical
files, and a million persons take under a minute, not a Python loop per row; DuckDB keeps at most
``MEMORY_LIMIT`` in memory and spills the rest, so ten million persons need no more memory.

The delivery carries the history retention rules need (relationships ended up to 20 years
ago, default cases up to 16, fraud cases up to 12 with a few still open, page views and logins
over 3 years, consents and objections over 10), all relative to ``as_of``; see ``_queries``.

Identity numbers are synthetic only (month + 80), unique, with valid check digits. A person past
the ordinary numbers of their birth date and sex (207-248 of them) gets a D-number (day + 40) of
that date: room for about 21 million persons (the tightest birth dates fill up there on
average); at 10,000,000 persons 0.03 % take such a D-number, besides the 3 % drawn as D-number
holders. Up to a few hundred thousand persons no one does. The one exception to "one file per
table": group-sharing consent ties (granted and withdrawn at the same ``event_time`` for one
person) cannot share a delivery, whose key is (national_id, event_time),
so one event of each tie is delivered the day before, in ``<as_of - 1 day>.csv``.

>>> counts = generate(Path("data/landing"), persons=1_000, seed=7)  # doctest: +SKIP
>>> sorted(counts)[:2]  # doctest: +SKIP
['asset_management.fund_holdings', 'bank.accounts']
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from contextlib import closing
from pathlib import Path

import duckdb
from tqdm import tqdm

from dagster_project.landing import _queries
from dagster_project.landing.contract import TABLES, ColumnType, Table

# Birth years must stay within the individual-number centuries the generator knows
# (1900-2039) for persons aged 0-85.
MIN_AS_OF = dt.date(1990, 1, 1)
MAX_AS_OF = dt.date(2039, 12, 31)
# DuckDB's working memory and threads, set on purpose. The working tables and sorts of
# 10,000,000 persons take several GB; DuckDB keeps MEMORY_LIMIT of them in memory and spills the
# rest to a temporary directory beside the output (not /tmp, which may live in memory), so the
# generator's peak resident memory is about MEMORY_LIMIT plus the interpreter, whatever the
# number of persons (bench/generator.py measures it at 1,000,000 and 10,000,000). Fewer threads
# need less memory per operator; the output is the same for any limit and thread count.
MEMORY_LIMIT = "1GB"
THREADS = min(2, os.cpu_count() or 1)
_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def generate(
    out: Path,
    *,
    persons: int,
    seed: int,
    as_of: dt.date | None = None,
    progress: bool = True,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = THREADS,
) -> dict[str, int]:
    """Write one synthetic delivery of every landing table under ``out``.

    Returns the rows written per ``"source.table"``. Raises ``ValueError`` (one line) for bad
    arguments; no file is left half-written (each is written aside and renamed when complete).
    ``memory_limit`` (DuckDB's size syntax, e.g. ``"1GB"``) and ``threads`` bound DuckDB's
    working memory; what does not fit spills to ``<out>/.generate-spill-*``, removed at the end.
    """
    as_of = as_of or dt.date.today()
    _check_arguments(out, persons, seed, as_of)
    if not isinstance(memory_limit, str) or not _MEMORY.fullmatch(memory_limit.strip()):
        raise ValueError(f"memory_limit must be a size such as '1GB', got {memory_limit!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive whole number, got {threads!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    queries = _queries.table_queries()
    missing = [f"{t.source}.{t.name}" for t in TABLES if (t.source, t.name) not in queries]
    if missing:  # a table added to the contract without a generator query
        raise RuntimeError(f"no generator query for landing table(s): {', '.join(missing)}")

    builds = _queries.builds(persons)
    counts: dict[str, int] = {}
    written: list[tuple[Path, Path]] = []
    with (
        tempfile.TemporaryDirectory(prefix=".generate-spill-", dir=out) as spill,
        closing(_connect(spill, memory_limit, threads)) as con,
        tqdm(
            total=len(builds) + len(TABLES),
            desc="generate",
            unit="step",
            disable=not progress,
        ) as bar,
    ):
        try:
            for statement in _queries.macros(seed, as_of):
                con.execute(statement)
            for label, statements in builds:
                bar.set_postfix_str(label)
                for statement in statements:
                    con.execute(statement)
                if label == "persons":
                    _check_all_numbered(con, persons)
                bar.update()
            for table in TABLES:
                bar.set_postfix_str(f"{table.source}.{table.name}")
                counts[f"{table.source}.{table.name}"] = _write_table(
                    con, table, queries[(table.source, table.name)], out, as_of, written
                )
                bar.update()
        except BaseException as exc:
            for partial, _ in written:
                partial.unlink(missing_ok=True)
            if isinstance(exc, duckdb.OutOfMemoryException):
                raise ValueError(
                    f"the generator needed more than its DuckDB memory limit ({memory_limit}, "
                    f"{threads} thread(s)); give a larger memory_limit or fewer threads"
                ) from None
            if isinstance(exc, duckdb.IOException) and "No space left" in str(exc):
                raise ValueError(
                    f"no space left on the disk of {out} for the delivery files and DuckDB's "
                    "spill files; free some space or write elsewhere (--out)"
                ) from None
            raise
    for partial, final in written:
        os.replace(partial, final)
    return counts


def _check_arguments(out: Path, persons: int, seed: int, as_of: dt.date) -> None:
    if isinstance(persons, bool) or not isinstance(persons, int) or persons < 1:
        raise ValueError(f"persons must be a positive whole number, got {persons!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
        raise ValueError(f"seed must be a whole number that fits in 64 bits, got {seed!r}")
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise ValueError(f"as_of must be a date (YYYY-MM-DD), got {as_of!r}")
    if not MIN_AS_OF <= as_of <= MAX_AS_OF:
        raise ValueError(
            f"as_of {as_of.isoformat()} is outside {MIN_AS_OF.isoformat()}.."
            f"{MAX_AS_OF.isoformat()}, the dates synthetic identity numbers can be made for"
        )
    if Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"output path {out} is a file; give a directory for the landing zone")


def _connect(spill_dir: str, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": spill_dir,
            "preserve_insertion_order": True,
        },
    )


def _check_all_numbered(con: duckdb.DuckDBPyConnection, persons: int) -> None:
    (numbered,) = con.execute("SELECT count(*) FROM persons").fetchone()
    if numbered != persons:
        raise ValueError(
            f"cannot give {persons:,} persons unique synthetic identity numbers "
            f"(only {numbered:,} fit the birth dates); use fewer persons"
        )


def _formatted(column: str, type_: ColumnType) -> str:
    """The select expression that renders a column as the contract's wire type."""
    if type_ is ColumnType.TIMESTAMP:  # epoch seconds -> ISO 8601 with the Oslo offset
        return f"iso_ts(q.{column}) AS {column}"
    return f"CAST(q.{column} AS {type_.duckdb_type}) AS {column}"


def _write_table(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    query: str,
    out: Path,
    as_of: dt.date,
    written: list[tuple[Path, Path]],
) -> int:
    """COPY one table's rows, in key order, to its delivery file(s); the rows written."""
    names = [d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description]
    lacking = [c for c in table.column_names if c not in names]
    if lacking:  # a bug in the generator's SQL, not a user error
        raise RuntimeError(f"{table.source}.{table.name}: query lacks columns {lacking}")
    if "delivery_lag" in names:
        lags = [
            r[0] for r in con.execute(f"SELECT DISTINCT delivery_lag FROM ({query})").fetchall()
        ]
    else:
        lags = []
    select = ", ".join(_formatted(c.name, c.type) for c in table.columns)
    order = ", ".join(f"q.{k}" for k in table.key)
    directory = out / table.source / table.name
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for lag in sorted({0, *lags}):
        where = f"WHERE q.delivery_lag = {int(lag)}" if lags else ""
        final = directory / f"{(as_of - dt.timedelta(days=lag)).isoformat()}.csv"
        partial = final.with_name(final.name + ".partial")
        written.append((partial, final))
        target = str(partial).replace("'", "''")
        (rows,) = con.execute(
            f"COPY (SELECT {select} FROM ({query}) q {where} ORDER BY {order}) "
            f"TO '{target}' (FORMAT csv, HEADER true, DELIMITER ',')"
        ).fetchone()
        total += rows
    return total
