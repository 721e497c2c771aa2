"""The access report's one error: the report could not be made (exit 2)."""

from __future__ import annotations


class AccessError(Exception):
    """The report could not be made (exit 2): one line, what is wrong and what to do."""
