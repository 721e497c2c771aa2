"""One more day's delivery of every landing table, for the daily run's tests and benchmark.

:func:`next_delivery` writes ``<landing root>/<source>/<table>/<day>.csv`` for every table of
the contract: every ``every``-th record of the table's latest delivery delivered again (a
company's corrections and updates: the same keys, now with a later delivery date), plus the
``extra`` records given per table (a consent withdrawal, an objection, an erasure request ...).
The records are copied as text by DuckDB, so the new file has the contract's header and the
values exactly as first delivered.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path

import duckdb

from dagster_project.landing._sql import lit
from dagster_project.landing.contract import TABLES
from dagster_project.landing.deliveries import landing_files


def next_delivery(
    landing_root: Path,
    day: dt.date,
    *,
    every: int = 100,
    extra: Mapping[tuple[str, str], Sequence[Mapping[str, str]]] | None = None,
) -> dict[str, int]:
    """Write ``day``'s delivery of every landing table; returns the records per
    ``"source.table"``. Raises ``ValueError`` (one line) when a table already has a delivery
    for ``day`` or ``every`` is not positive."""
    if every < 1:
        raise ValueError(f"every must be a positive whole number, got {every!r}")
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
                columns = ", ".join(f'"{c}"' for c in header)
                rows = conn.execute(
                    f"select {columns} from read_csv({lit(str(files[-1]))}, header = true, "
                    "all_varchar = true, delim = ',', quote = '\"', escape = '\"') "
                    f"qualify (row_number() over () - 1) % {int(every)} = 0"
                ).fetchall()
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
