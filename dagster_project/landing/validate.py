"""Validating a delivery against the contract: which rows are rejected, and why.

:func:`validate_delivery` checks every record of a file read by :func:`read_delivery` in one
vectorised DuckDB query: the header (missing, unknown, duplicate columns), then per column type,
nulls, allowed values, patterns, identity numbers (LANDING.md) and the contract limits: a maximum
length per text column (``too long <column>``) and no free-text value a spreadsheet would run as
a formula (``spreadsheet formula <column>``: it starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return), and duplicate keys within the file. Every problem of a row is named in its
reason (``<kind>: <value> <what is wrong>``) and counted under its kind; a header that breaks the
contract rejects every row, and a broken record is rejected as a ``broken line``. For the
privacy event logs an unknown extra column does not hide the events: ``tolerate_unknown_columns``
loads the rows from their contract columns and reports the extra column in
:attr:`Verdict.ignored_columns` (a missing or repeated contract column still rejects). The
rejected rows are kept aside in a temp table for the loader; nothing is written to the warehouse
here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import duckdb

from dagster_project.landing._sql import lit
from dagster_project.landing.contract import FORMULA_STARTS, Column, ColumnType, Table
from dagster_project.landing.read import Delivery

_VALUE_SHOWN = 40  # characters of a value quoted in a reason
_BROKEN = "broken line"
_DUPLICATE = "duplicate key"

# The rejected rows of one file (connection-local, replaced by the next file's validation).
_BAD = "_ingest_bad"
TEMP_TABLES = (_BAD,)


@dataclass(frozen=True)
class Verdict:
    """What :func:`validate_delivery` found in one delivery file."""

    loads: bool  # the header matches the contract, so the rows not rejected load
    rejected: str  # temp table: the rejected rows of ``Delivery.rows`` (c0.., _k, _line, ...)
    reason: str  # SQL over ``rejected``: every problem of the row, "; "-separated
    broken_reason: str  # SQL over ``Delivery.broken``: why the broken record is rejected
    reasons: Counter  # reason kind -> rejected rows, e.g. {"bad national_id": 3}; no zeros
    ignored_columns: tuple[str, ...] = ()  # unknown columns tolerated (not loaded)


def validate_delivery(
    conn: duckdb.DuckDBPyConnection,
    contract: Table,
    delivery: Delivery,
    *,
    allow_synthetic: bool,
    tolerate_unknown_columns: bool = False,
) -> Verdict:
    """Check every record of ``delivery`` against ``contract``; keep the rejected ones aside.

    ``allow_synthetic`` accepts synthetic identity numbers (month + 80); only for synthetic data.
    ``tolerate_unknown_columns``: a column the contract does not know is ignored (and named in
    :attr:`Verdict.ignored_columns`) instead of rejecting every row.
    """
    expected = contract.column_names
    ignored = (
        tuple(n for n in dict.fromkeys(delivery.names) if n not in expected)
        if tolerate_unknown_columns
        else ()
    )
    header_problems = _header_problems(contract, delivery.names, delivery.position, ignored)
    # A file whose header breaks the contract loads nothing: every row is quarantined.
    checks, dup = (
        ([], None) if header_problems else _checks(contract, delivery.position, allow_synthetic)
    )
    problems = [f"_p{i}" for i in range(len(checks))]
    header_reason = lit("; ".join(header_problems)) if header_problems else "NULL"
    is_bad = "true" if header_problems else f"coalesce({', '.join(problems)}) is not null"
    # Only the rejected rows are kept aside; the good ones go straight to the raw table.
    conn.execute(
        f"create or replace temp table {_BAD} as "
        f"select * from ({_checked_sql(delivery, checks, dup)}) where {is_bad}"
    )
    per_check = conn.execute(
        f"select {', '.join(['0', *(f'count({p})' for p in problems)])} from {_BAD}"
    ).fetchone()[1:]
    kinds: Counter = Counter()
    for check, n in zip(checks, per_check, strict=True):
        kinds[check.kind] += n
    for problem in header_problems:
        kinds[problem] += delivery.n_rows + delivery.n_broken
    kinds[_BROKEN] += delivery.n_broken
    return Verdict(
        loads=not header_problems,
        rejected=_BAD,
        reason=f"concat_ws('; ', {', '.join([header_reason, *problems])})",
        broken_reason=f"concat_ws('; ', {header_reason}, '{_BROKEN}: ' || _msg)",
        reasons=+kinds,
        ignored_columns=ignored,
    )


def _header_problems(
    contract: Table, names: tuple[str, ...], position: dict[str, int], ignored: tuple[str, ...]
) -> list[str]:
    """Missing, unknown and repeated columns of the header, in that order; the ``ignored``
    unknown columns are no problem (nor their repetition)."""
    expected = contract.column_names
    problems = [f"missing column {c}" for c in expected if c not in position]
    problems += [
        f"unknown column {_name(n)}"
        for n in dict.fromkeys(names)
        if n not in expected and n not in ignored
    ]
    problems += [
        f"duplicate column {_name(n)}"
        for n, k in Counter(names).items()
        if k > 1 and n not in ignored
    ]
    return problems


def _checks(
    contract: Table, position: dict[str, int], allow_synthetic: bool
) -> tuple[list[_Check], _DuplicateKey]:
    """Every check of the contract's columns, the duplicate key check last."""
    checks: list[_Check] = []
    for column in contract.columns:
        checks += _column_checks(column, f"c{position[column.name]}", allow_synthetic)
    key = contract.key
    dup = _duplicate_key_check(
        key, {n: contract.column(n).type for n in key}, {n: position[n] for n in key}
    )
    return [*checks, dup.check], dup


def _checked_sql(delivery: Delivery, checks: list[_Check], dup: _DuplicateKey | None) -> str:
    """The rows of the file with one ``_p<i>`` reason column per check (NULL = passed)."""
    if dup is None:
        return delivery.rows
    exprs = ", ".join(f"{check.sql} as _p{i}" for i, check in enumerate(checks))
    rows, helpers = "l", []
    for depth in range(max(len(c.layers) for c in checks)):
        layer = [pair for c in checks if depth < len(c.layers) for pair in c.layers[depth]]
        helpers += [name for name, _ in layer]
        rows = f"(select *, {', '.join(f'{sql} as {name}' for name, sql in layer)} from {rows})"
    drop = f" exclude ({', '.join(helpers)})" if helpers else ""
    materialized = "materialized " if delivery.materialize else ""
    return (
        f"with l as {materialized}({delivery.rows}), {dup.ctes} "
        f"select l.*{drop}, {exprs} from {rows} l left join dups d on {dup.join}"
    )


@dataclass(frozen=True)
class _Check:
    kind: str  # reason kind counted in Verdict.reasons
    sql: str  # the reason text when the row has this problem, else NULL
    # helper columns the reason needs, as layers of (name, SQL) computed one after the other
    layers: tuple[tuple[tuple[str, str], ...], ...] = ()


@dataclass(frozen=True)
class _DuplicateKey:
    ctes: str  # defines ``dups``: one row per duplicated key with its row count and first lines
    join: str  # condition joining a row ``l`` to its key in ``dups d``
    check: _Check


def _duplicate_key_check(
    key: tuple[str, ...], types: dict[str, ColumnType], position: dict[str, int]
) -> _DuplicateKey:
    """Every row whose key occurs more than once in the file; rows with an empty key column are
    left to the null check. Timestamps compare as instants, everything else as delivered."""

    def key_expr(alias: str, name: str) -> str:
        v = f"{alias}.c{position[name]}"
        if types[name] is ColumnType.TIMESTAMP:
            return f"coalesce(epoch_us(try_cast({v} as TIMESTAMPTZ))::VARCHAR, {v})"
        return v

    def on(left: str, right: str) -> str:
        return " and ".join(f"{left}.k{i} = {key_expr(right, n)}" for i, n in enumerate(key))

    groups = ", ".join(f"{key_expr('l', n)} as k{i}" for i, n in enumerate(key))
    not_null = " and ".join(f"l.c{position[n]} is not null" for n in key)
    ctes = (
        f"dupkeys as (select {groups} from l where {not_null} group by all having count(*) > 1), "
        "dups as (select dk.*, count(*) as _n, list(l._line order by l._line)[1:6] as _lines "
        f"from l join dupkeys dk on {on('dk', 'l')} group by all)"
    )
    values = " || ', ' || ".join(_shown(f"l.c{position[n]}") for n in key)
    others = "list_filter(d._lines, lambda x: x <> l._line)[1:5]"
    message = (
        f"case when d._n is not null then '{_DUPLICATE}: ({', '.join(key)}) = (' || {values} "
        f"|| ') on ' || d._n || ' rows, also on line' || if(d._n > 2, 's ', ' ') || "
        f"array_to_string({others}, ', ') || if(d._n > 6, ', ...', '') end"
    )
    return _DuplicateKey(ctes, on("d", "l"), _Check(_DUPLICATE, message))


def _column_checks(column: Column, v: str, allow_synthetic: bool) -> list[_Check]:
    """The checks of one contract column on the text value ``v`` (NULL = empty field)."""
    name = column.name
    checks = []
    if not column.nullable:
        checks.append(
            _Check(
                f"null {name}", f"case when {v} is null then 'null {name}: empty, but required' end"
            )
        )
    t = column.type
    if t is ColumnType.NATIONAL_ID:
        checks.append(_national_id_check(v, name, allow_synthetic))
    elif t is not ColumnType.TEXT:
        bad, expected = _type_rule(t, v)
        checks.append(
            _Check(
                f"bad type {name}",
                f"case when {v} is not null and ({bad}) then "
                f"'bad type {name}: ' || {_shown(v)} || {lit(' is not ' + expected)} end",
            )
        )
    if column.allowed:
        checks.append(
            _Check(
                f"not allowed {name}",
                f"case when {v} not in ({', '.join(lit(a) for a in column.allowed)}) then "
                f"'not allowed {name}: ' || {_shown(v)} || "
                f"{lit(' is not one of ' + ', '.join(column.allowed))} end",
            )
        )
    if column.pattern:
        checks.append(
            _Check(
                f"bad pattern {name}",
                f"case when not regexp_full_match({v}, {lit(column.pattern)}) then "
                f"'bad pattern {name}: ' || {_shown(v)} || "
                f"{lit(' does not match ' + column.pattern)} end",
            )
        )
    if column.max_length is not None:
        n = column.max_length
        checks.append(
            _Check(
                f"too long {name}",
                f"case when length({v}) > {n} then 'too long {name}: ' || length({v}) || "
                f"' characters, at most {n}' end",
            )
        )
    if column.refuses_formulas:
        q = lit("'")  # the first character, quoted
        starts = ", ".join(
            f"chr({ord(c)})" if not c.isprintable() else lit(c) for c in FORMULA_STARTS
        )
        checks.append(
            _Check(
                f"spreadsheet formula {name}",
                f"case when left({v}, 1) in ({starts}) then 'spreadsheet formula {name}: ' || "
                f"{_shown(v)} || ' starts with ' || case left({v}, 1) when chr(9) then 'a tab' "
                f"when chr(13) then 'a carriage return' else {q} || left({v}, 1) || {q} end "
                "|| ', which a spreadsheet would run as a formula' end",
            )
        )
    return checks


def _type_rule(t: ColumnType, v: str) -> tuple[str, str]:
    """(SQL true when the non-null text ``v`` is not of type ``t``, what was expected)."""
    if t is ColumnType.INTEGER:
        return f"not regexp_full_match({v}, '-?[0-9]{{1,18}}')", "an integer"
    if t is ColumnType.DECIMAL:
        precision, scale = map(int, re.findall(r"\d+", t.duckdb_type))
        number = f"-?[0-9]{{1,{precision - scale}}}(\\.[0-9]{{1,{scale}}})?"
        return (
            f"not regexp_full_match({v}, {lit(number)})",
            f"a decimal number with '.' as separator and at most {scale} decimals",
        )
    if t is ColumnType.BOOLEAN:
        return f"{v} not in ('true', 'false')", "true or false"
    if t is ColumnType.DATE:
        return (
            f"not regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"or try_cast({v} as DATE) is null",
            "a date YYYY-MM-DD",
        )
    if t is ColumnType.TIMESTAMP:
        return (
            f"not regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}"
            f":[0-9]{{2}}(\\.[0-9]{{1,6}})?(Z|[+-][0-9]{{2}}:[0-9]{{2}})') "
            f"or try_cast({v} as TIMESTAMPTZ) is null",
            "an ISO 8601 timestamp with offset (YYYY-MM-DDThh:mm:ss+hh:mm)",
        )
    raise ValueError(f"no type rule for {t}")


def _national_id_check(v: str, name: str, allow_synthetic: bool) -> _Check:
    """Why ``v`` is not a valid identity number (LANDING.md, "Identity numbers"), or NULL.

    Mod-11 check digits (weights 3,7,6,1,8,9,4,5,2 and 5,4,3,2,7,6,5,4,3,2; 11 -> 0, and 10
    never equals a digit), then a real birth date after removing the D-number +40 on the day and
    the synthetic +80 on the month, the century from the individual number as
    :func:`national_id.birth_date` does. The digits and sums are helper columns computed once
    per row, layer by layer, instead of being repeated inside one expression.
    """
    h = f"_h_{v}_"  # helper column prefix, unique per file column

    def weighted(weights: tuple[int, ...]) -> str:
        return " + ".join(f"{w} * {h}d{i}" for i, w in enumerate(weights, 1))

    def number(*positions: int) -> str:
        n = len(positions)
        return " + ".join(f"{10 ** (n - k)} * {h}d{i}" for k, i in enumerate(positions, 1))

    dd, mm, yy, ind = f"{h}dd", f"{h}mm", f"{h}yy", f"{h}ind"
    layers = (
        ((f"{h}n", f"case when regexp_full_match({v}, '[0-9]{{11}}') then {v}::BIGINT end"),),
        tuple((f"{h}d{i}", f"{h}n // {10 ** (11 - i)} % 10") for i in range(1, 12)),
        (
            (f"{h}k1", f"(11 - ({weighted((3, 7, 6, 1, 8, 9, 4, 5, 2))}) % 11) % 11"),
            (f"{h}k2", f"(11 - ({weighted((5, 4, 3, 2, 7, 6, 5, 4, 3, 2))}) % 11) % 11"),
            (dd, number(1, 2)),
            (mm, number(3, 4)),
            (yy, number(5, 6)),
            (ind, number(7, 8, 9)),
        ),
        (
            (f"{h}day", f"if({dd} > 40, {dd} - 40, {dd})"),
            (f"{h}month", f"if({mm} > 80, {mm} - 80, {mm})"),
            (
                f"{h}year",
                f"case when {ind} <= 499 then 1900 + {yy} "
                f"when {ind} <= 749 and {yy} >= 54 then 1800 + {yy} "
                f"when {ind} >= 900 and {yy} >= 40 then 1900 + {yy} "
                f"when {yy} <= 39 then 2000 + {yy} else 1900 + {yy} end",
            ),
        ),
    )
    day, month, year = f"{h}day", f"{h}month", f"{h}year"
    leap = f"({year} % 4 = 0 and ({year} % 100 <> 0 or {year} % 400 = 0))"
    days = (
        f"case when {month} = 2 then if({leap}, 29, 28) "
        f"when {month} in (4, 6, 9, 11) then 30 else 31 end"
    )
    shown = f"'bad {name}: ' || {_shown(v)} || "
    synthetic = (
        ""
        if allow_synthetic
        else f" when {mm} > 80 then {shown}' is a synthetic test number (month + 80), "
        "accepted only when the data is synthetic'"
    )
    sql = (
        f"case when {v} is null then NULL"
        f" when {h}n is null then {shown}' is not 11 digits'"
        f" when {h}k1 <> {h}d10 or {h}k2 <> {h}d11 then {shown}' has wrong check digits'"
        f" when {month} not between 1 and 12 or {day} not between 1 and ({days})"
        f" then {shown}' has no valid birth date'{synthetic} end"
    )
    return _Check(f"bad {name}", sql, layers)


def _shown(v: str) -> str:
    """SQL: the value quoted for a reason, cut after a few dozen characters."""
    return (
        f"('''' || left({v}, {_VALUE_SHOWN}) || if(length({v}) > {_VALUE_SHOWN}, '...', '') "
        "|| '''')"
    )


def _name(name: str) -> str:
    return name if name and name.strip() == name else repr(name)
