"""A warehouse value as JSON: what the report shows for each value it found."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any


def json_value(value: Any) -> Any:
    """``value`` as DuckDB returned it, in JSON's types (dates ISO, decimals as text, bytes hex).

    >>> json_value([dt.date(2026, 1, 2), decimal.Decimal("1.50"), b"\\x01", None])
    ['2026-01-02', '1.50', '01', None]
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)
