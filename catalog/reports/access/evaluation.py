"""Evaluating a computed identifier's expression for one person, in an in-memory DuckDB with
the warehouse's keyed-hash function registered under the pseudonymisation key."""

from __future__ import annotations

from typing import Any

import duckdb

from catalog.pseudonym import hasher


def evaluate_derivation(expression: Any, value: str, function: str, key: bytes | None) -> str:
    """Evaluate ``expression`` with every column replaced by ``value``, in an in-memory DuckDB
    where the keyed-hash ``function`` is registered under ``key``; LookupError when it needs
    the key and has none, or evaluates to NULL.

    >>> import sqlglot
    >>> evaluate_derivation(sqlglot.parse_one("'p:' || upper(x)"), "ab", "keyed", None)
    'p:AB'
    """
    from sqlglot import exp

    uses_key = any(
        isinstance(f, exp.Anonymous) and f.name.lower() == function.lower()
        for f in expression.find_all(exp.Anonymous)
    )
    if uses_key and key is None:
        raise LookupError("needs the pseudonymisation key")
    substituted = expression.transform(
        lambda n: exp.Literal.string(value) if isinstance(n, exp.Column) else n
    )
    conn = duckdb.connect()
    try:
        if key is not None:
            conn.create_function(
                function,
                hasher(key),
                [duckdb.sqltype("VARCHAR")],
                duckdb.sqltype("VARCHAR"),
                side_effects=False,
            )
        row = conn.execute(f"select cast(({substituted.sql('duckdb')}) as varchar)").fetchone()
    finally:
        conn.close()
    if row is None or row[0] is None:
        raise LookupError("evaluates to NULL")
    return str(row[0])
