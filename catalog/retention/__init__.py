"""Retention enforced, not only described (PRIVACY.md rule 9).

- :mod:`~catalog.retention.declarations`: every stored table's retention and the column it runs
  from, read from the dbt source tables' privacy meta and ``catalog/stores.yml`` (the one source
  of truth: the sweep, ``catalog retention`` and the record of processing read it), and each
  table's expiry predicate as SQL;
- :mod:`~catalog.retention.report`: ``catalog retention``, rows and expired rows per table;
- :mod:`~catalog.retention.purge`: the engine that deletes rows matching a predicate from a
  source table's landing files, raw table and quarantine rows;
- :mod:`~catalog.retention.sweep`: the daily sweep of expired rows, and its proof that nothing
  expired is left.
"""

from catalog.retention.declarations import (
    Declaration,
    RetentionError,
    load_declarations,
)

__all__ = ["Declaration", "RetentionError", "load_declarations"]
