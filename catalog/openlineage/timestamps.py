"""Event and facet times: ISO 8601 with an offset, naive taken as UTC.

>>> iso_timestamp("2026-01-05T05:00:00")
'2026-01-05T05:00:00+00:00'
>>> parse_timestamp("not a time") is None
True
"""

from __future__ import annotations

import datetime as dt

from catalog.openlineage.errors import LineageEventError

__all__ = ["Timestamp", "iso_timestamp", "parse_timestamp"]

Timestamp = dt.datetime | str


def iso_timestamp(t: Timestamp) -> str:
    """ISO 8601 with offset (a string that has one is kept as it is); naive is taken as UTC."""
    if isinstance(t, str):
        try:
            parsed = dt.datetime.fromisoformat(t)
        except ValueError:
            raise LineageEventError(
                f"{t!r} is not an ISO 8601 timestamp; pass a datetime"
            ) from None
        if parsed.tzinfo is not None:
            return t
        t = parsed
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.isoformat()


def parse_timestamp(text: str) -> dt.datetime | None:
    """The instant an ISO 8601 string names (naive taken as UTC); None when it names none."""
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
