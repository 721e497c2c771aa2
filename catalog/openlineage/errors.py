"""The one error the event builders raise."""

from __future__ import annotations

__all__ = ["LineageEventError"]


class LineageEventError(ValueError):
    """The events cannot be built from what was given (one line: what is wrong, what to do)."""
