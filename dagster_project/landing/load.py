"""Loading a landing table: every delivery file into ``raw_<source>.<table>``, rejects quarantined.

A pure library (no Dagster): :func:`ingest_table` reloads one landing table from all its delivery
files ``<landing root>/<source>/<table>/<YYYY-MM-DD>.csv`` (LANDING.md) into
``raw_<source>.<table>``: the contract's columns in contract order, typed by
:attr:`ColumnType.duckdb_type`, then the :data:`METADATA_COLUMNS` ``_source_file`` (path relative
to the landing root), ``_source_line`` (1-based physical line; the header is line 1) and
``_delivery_date``. Every row that breaks the contract goes to :data:`QUARANTINE_TABLE` instead,
with its file, line, all its problems in ``reason`` and the row as delivered in ``record``; rows
in = rows loaded + rows quarantined. The raw table and the table's quarantine rows are replaced in
one transaction, so a file that cannot be read at all (:class:`IngestError`) leaves both as they
were.

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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from dagster_project.landing import read, validate
from dagster_project.landing._sql import lit
from dagster_project.landing.contract import ColumnType, Table
from dagster_project.landing.contract import table as contract_table
from dagster_project.landing.deliveries import IngestError, delivery_date, landing_files
from dagster_project.landing.suppress import suppress_erased

if TYPE_CHECKING:
    from catalog.erasure.suppression import SuppressionMatcher

QUARANTINE_TABLE = "quarantine.rejected_rows"
METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_delivery_date", "DATE"),
)

# Temporary tables of one ingest run (connection-local, dropped before commit).
_TEMP_TABLES = (*read.TEMP_TABLES, *validate.TEMP_TABLES)


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
    rows_suppressed: int = 0  # rows of erased persons delivered again, dropped everywhere


def ingest_table(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    landing_root: Path,
    *,
    allow_synthetic: bool,
    suppression: SuppressionMatcher | None = None,
) -> IngestResult:
    """Reload ``raw_<source>.<table>`` from all delivered files; quarantine what breaks the
    contract. Idempotent: a second run over the same files gives the same tables.

    ``allow_synthetic`` accepts synthetic identity numbers (month + 80); only for synthetic data.
    ``suppression``: the erasure suppression list; rows of erased persons delivered again are
    then removed from the landing files, raw table and quarantine (:mod:`.suppress`) and counted
    in ``rows_suppressed`` (rows in = loaded + quarantined + suppressed).
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
            n, kinds = _load_file(conn, contract, target, path, rel, allow_synthetic)
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
    suppressed = 0
    if suppression is not None:
        dropped_raw, dropped_quarantine = suppress_erased(conn, contract, landing_root, suppression)
        loaded, quarantined = loaded - dropped_raw, quarantined - dropped_quarantine
        suppressed = dropped_raw + dropped_quarantine
    return IngestResult(
        source=source,
        table=table,
        files=rels,
        rows_in=rows_in,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        reasons=dict(sorted(reasons.items())),
        rows_suppressed=suppressed,
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


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    target: str,
    path: Path,
    rel: str,
    allow_synthetic: bool,
) -> tuple[int, Counter]:
    """Append one delivery file to the raw and quarantine tables; returns (records in the file,
    reason kind -> rows)."""
    date = delivery_date(path)
    delivery = read.read_delivery(conn, path, contract)
    verdict = validate.validate_delivery(conn, contract, delivery, allow_synthetic=allow_synthetic)
    if verdict.loads:
        casts = ", ".join(_cast(f"c{delivery.position[c.name]}", c.type) for c in contract.columns)
        conn.execute(
            f"insert into {target} select {casts}, {lit(rel)}, _line, "
            f"DATE {lit(date.isoformat())} from ({delivery.rows}) g "
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
    return delivery.n_rows + delivery.n_broken, verdict.reasons


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
