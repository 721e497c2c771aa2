"""The one error the lineage engine raises for input it cannot trust."""

from __future__ import annotations


class LineageError(Exception):
    """Lineage could not be derived; the message is one line: ``<model>: <what>; <what to do>``.

    The engine fails closed: SQL that does not parse, a ``*`` that cannot be expanded, or a
    column that cannot be resolved raises this error instead of leaving a gap in the graph.

    >>> str(LineageError("column x is unknown; declare it", model="stg_bank__customers"))
    'stg_bank__customers: column x is unknown; declare it'
    """

    def __init__(self, what: str, *, model: str | None = None):
        self.what = " ".join(what.split())  # always one line
        self.model = model
        super().__init__(f"{model}: {self.what}" if model else self.what)

    def for_model(self, model: str) -> LineageError:
        """The same error, attributed to ``model`` (kept if one is already named)."""
        return self if self.model else LineageError(self.what, model=model)
