"""The erasure requests delivered in ``privacy.erasure_requests`` and not yet carried out.

A request's row is removed (landing file and raw table) right after its receipt is written
(:func:`catalog.erasure.engine.erase_all`), so every row still in ``raw_privacy.erasure_requests``
is pending. The request row keeps the identity number only until then: the receipt proves the
erasure with the keyed hash instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

REQUESTS_RELATION = '"raw_privacy"."erasure_requests"'


@dataclass(frozen=True)
class Request:
    request_id: str
    national_id: str
    received_at: str  # ISO 8601


def pending_requests(conn: duckdb.DuckDBPyConnection) -> list[Request]:
    """The requests in the raw table, oldest first; [] when the table is not there."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw_privacy' "
        "and table_name = 'erasure_requests'"
    ).fetchone()[0]
    if not exists:
        return []
    rows = conn.execute(
        f"select request_id, national_id, received_at from {REQUESTS_RELATION} "
        "order by received_at, request_id"
    ).fetchall()
    return [Request(str(r), str(n), t.isoformat()) for r, n, t in rows]
