"""One more day's delivery of every landing table, for the daily run's tests and benchmark.

:func:`next_delivery` writes ``<landing root>/<source>/<table>/<day>.csv`` for every table of
the contract: every ``every``-th key of the table (its latest delivered record, in key order)
delivered again (a company's updates: the same keys, now with a later delivery date), every
``correct``-th of those with one value changed (a company's corrections: see
:func:`corrected`), plus the ``extra`` records given per table (a consent withdrawal, an
objection, an erasure request ...). The records are read as text by DuckDB, so the new file has
the contract's header and the values exactly as delivered, but for the corrected one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Mapping, Sequence
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import duckdb

from catalog.national_id import InvalidNationalId, check_national_id
from dagster_project.landing._sql import lit
from dagster_project.landing.contract import TABLES, Column, ColumnType, Table
from dagster_project.landing.deliveries import landing_files


def next_delivery(
    landing_root: Path,
    day: dt.date,
    *,
    every: int = 100,
    extra: Mapping[tuple[str, str], Sequence[Mapping[str, str]]] | None = None,
    correct: int = 0,
    seed: int = 0,
) -> dict[str, int]:
    """Write ``day``'s delivery of every landing table; returns the records per
    ``"source.table"``. ``correct``: every ``correct``-th record delivered again has one value
    changed (0: none), the column and value drawn with ``seed``. Raises ``ValueError`` (one
    line) when a table already has a delivery for ``day``, or ``every`` is not positive or
    ``correct`` negative."""
    if every < 1:
        raise ValueError(f"every must be a positive whole number, got {every!r}")
    if correct < 0:
        raise ValueError(f"correct must be 0 (no corrections) or more, got {correct!r}")
    extra = extra or {}
    landing_root = Path(landing_root)
    counts: dict[str, int] = {}
    with closing(duckdb.connect()) as conn:
        for table in TABLES:
            folder = landing_root / table.source / table.name
            path = folder / f"{day.isoformat()}.csv"
            if path.exists():
                raise ValueError(f"{path}: a delivery for {day} exists already; pick a later day")
            folder.mkdir(parents=True, exist_ok=True)
            header = list(table.column_names)
            rows: list[tuple] = []
            files = landing_files(landing_root, table.source, table.name)
            if files:
                rows = _latest_records(conn, table, files, every)
            if correct:
                rng = random.Random(f"{seed}:{day.isoformat()}:{table.source}.{table.name}")
                pool = national_id_pool(table, rows)
                rows = [
                    corrected(table, r, rng, pool) if i % correct == 0 else r
                    for i, r in enumerate(rows)
                ]
            given = extra.get((table.source, table.name), ())
            added = [tuple(r.get(c, "") for c in header) for r in given]
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(tuple("" if v is None else v for v in r) for r in [*rows, *added])
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(out.getvalue(), encoding="utf-8")
            tmp.replace(path)
            counts[f"{table.source}.{table.name}"] = len(rows) + len(added)
    return counts


def _latest_records(
    conn: duckdb.DuckDBPyConnection, table: Table, files: Sequence[Path], every: int
) -> list[tuple]:
    """Every ``every``-th key of ``table`` in key order, each with its record of the latest
    file that delivered it, as text."""
    columns = ", ".join(f'"{c}"' for c in table.column_names)
    key = ", ".join(f'"{c}"' for c in table.key)
    paths = ", ".join(lit(str(f)) for f in files)
    return conn.execute(
        f"select {columns} from ("
        f"  select {columns}, row_number() over (order by {key}) as key_no from ("
        f"    select {columns} from read_csv([{paths}], header = true, all_varchar = true, "
        "      delim = ',', quote = '\"', escape = '\"', filename = true, union_by_name = true)"
        f"    qualify row_number() over (partition by {key} order by filename desc) = 1"
        "  )"
        f") where (key_no - 1) % {int(every)} = 0 order by key_no"
    ).fetchall()


def corrected(
    table: Table, record: tuple, rng: random.Random, national_ids: Sequence[str]
) -> tuple:
    """``record`` (text values in contract order) with one value that is not part of the key
    changed, still within the contract: another allowed value, a flipped boolean, a count one
    higher, an amount one krone higher, a date a day earlier (an empty nullable date becomes
    the record's other date, so an agreement ends), a timestamp an hour earlier, free text one
    letter longer, or another of ``national_ids`` (valid numbers: :func:`national_id_pool`). A
    column with a pattern, or a value it cannot change, is left and another one drawn; a
    record with no such column is returned as it was."""
    values = list(record)
    candidates = [i for i, c in enumerate(table.columns) if c.name not in table.key]
    rng.shuffle(candidates)
    for i in candidates:
        column, value = table.columns[i], values[i]
        new = _changed(column, value, rng, national_ids, values, table)
        if new is not None and new != value:
            values[i] = new
            return tuple(values)
    return tuple(values)


def _changed(
    column: Column,
    value: str,
    rng: random.Random,
    national_ids: Sequence[str],
    values: Sequence[str],
    table: Table,
) -> str | None:
    """``value`` changed within ``column``'s contract, or None when it cannot be (a pattern, an
    empty value, a value that is not of the column's type: a record planted to be refused)."""
    if column.allowed:
        others = [a for a in column.allowed if a != value]
        return rng.choice(others) if others else None
    kind = column.type
    if kind is ColumnType.NATIONAL_ID:
        if not national_ids:
            return None
        for _ in range(8):  # a draw, not a scan: the pool can hold millions of numbers
            drawn = rng.choice(national_ids)
            if drawn != value:
                return drawn
        return None
    if value in (None, ""):
        if kind is ColumnType.DATE and column.nullable:
            dates = [
                v
                for c, v in zip(table.columns, values, strict=True)
                if c.type is ColumnType.DATE and v and c.name != column.name
            ]
            return max(dates) if dates else None
        return None
    try:
        if kind is ColumnType.BOOLEAN:
            return {"true": "false", "false": "true"}.get(value)
        if kind is ColumnType.INTEGER:
            return str(int(value) + 1)
        if kind is ColumnType.DECIMAL:
            return str(Decimal(value) + 1)
        if kind is ColumnType.DATE:
            return (dt.date.fromisoformat(value) - dt.timedelta(days=1)).isoformat()
        if kind is ColumnType.TIMESTAMP:
            return (dt.datetime.fromisoformat(value) - dt.timedelta(hours=1)).isoformat()
    except (ValueError, ArithmeticError):
        return None
    if column.free_text and len(value) < (column.max_length or 0):
        return value + "e"
    return None


def national_id_pool(table: Table, records: Sequence[tuple]) -> list[str]:
    """The valid national identity numbers in ``records`` of ``table`` (text values in contract
    order): what :func:`corrected` may move a record to."""
    names = table.column_names
    if "national_id" not in names:
        return []
    at = names.index("national_id")
    pool = []
    for record in records:
        try:
            pool.append(check_national_id(record[at] or "", allow_synthetic=True))
        except InvalidNationalId:
            continue
    return pool
