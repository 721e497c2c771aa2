"""Suppression at ingest: rows of erased persons that a company delivered again are dropped.

After a table is loaded, the values of its identifier columns (as the erasure suppression list,
:mod:`catalog.erasure.suppression`, names them) are hashed with the pseudonymisation key and
compared with the erased persons' keyed hashes, both in DuckDB. The rows that match leave every
place at once, through the purge engine (:func:`catalog.retention.purge.purge`): the landing
file is rewritten without them, and the raw and quarantine rows go, so the warehouse stays in
step with the files. They are counted as suppressed, never quarantined (the quarantine would
keep them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from catalog.erasure.suppression import SuppressionMatcher
from catalog.retention.purge import QUARANTINE, PurgeError, PurgeTarget, purge
from dagster_project.landing.contract import Table
from dagster_project.landing.deliveries import IngestError


def suppress_erased(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    landing_root: Path,
    matcher: SuppressionMatcher,
    *,
    files: Sequence[str] | None = None,
) -> tuple[int, int]:
    """Drop the erased persons' rows of a freshly loaded table from its landing files, raw
    table and quarantine rows; returns (raw rows, quarantine rows) dropped. ``files`` (paths
    relative to the landing root) limits the search to the rows of those files, the ones just
    loaded (the erasure itself removed the rows loaded before it); None searches every row.

    Raises :class:`IngestError` when a landing file cannot be rewritten; the rows are then
    still deleted from the warehouse (fail closed: they reach no output), and the next ingest
    tries the files again.
    """
    source, table = contract.source, contract.name
    columns = {
        c: d for c, d in matcher.columns_for(source, table).items() if c in contract.column_names
    }
    if not columns:
        return 0, 0
    raw = f'"raw_{source}"."{table}"'
    raw_where, q_where, params = [], [], {}
    in_files, q_in_files, in_params = "true", "true", {}
    if files is not None:
        in_params = {"files": list(files)}
        in_files, q_in_files = "list_contains($files, _source_file)", "list_contains($files, file)"
    for i, (col, domain) in enumerate(sorted(columns.items())):
        hit = matcher.erased_values(
            conn,
            domain,
            f'select cast("{col}" as varchar) from {raw} where {in_files}',
            in_params,
        )
        if hit:
            raw_where.append(f'list_contains($r{i}, cast(t."{col}" as varchar))')
            params[f"r{i}"] = hit
        hit = matcher.erased_values(
            conn,
            domain,
            f"select q.record->>$c from {QUARANTINE} q where q.source = $s and "
            f'q."table" = $t and {q_in_files}',
            {"c": col, "s": source, "t": table, **in_params},
        )
        if hit:
            q_where.append(f"list_contains($q{i}, q.record->>'{col}')")
            params[f"q{i}"] = hit
    if not raw_where and not q_where:
        return 0, 0
    target = PurgeTarget(
        source,
        table,
        " or ".join(raw_where) or None,
        " or ".join(q_where) or None,
        params,
    )
    try:
        result = purge(conn, landing_root, [target], apply=True)
    except PurgeError as e:
        if target.raw_where:
            conn.execute(
                f"delete from {raw} t where {target.raw_where}",
                {k: v for k, v in params.items() if k.startswith("r")},
            )
        if target.quarantine_where:
            conn.execute(
                f'delete from {QUARANTINE} q where q.source = $s and q."table" = $t and '
                f"({target.quarantine_where})",
                {"s": source, "t": table, **{k: v for k, v in params.items() if k[0] == "q"}},
            )
        raise IngestError(
            f"{source}/{table}: rows of erased persons were delivered again and dropped from the "
            f"warehouse, but the landing files could not be rewritten ({e}); run the ingest again"
        ) from None
    counts = result.tables[target.key]
    return counts.raw, counts.quarantine
