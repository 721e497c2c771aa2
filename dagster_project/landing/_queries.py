"""The SQL of the synthetic generator: DuckDB macros, working tables, one query per landing table.

Every random draw is a pure function of ``(seed, entity key, salt)`` through DuckDB's ``hash``,
so a query gives the same rows however many threads run it. ``u(k, 'salt')`` is a uniform draw
in [0, 1), ``ri(k, 'salt', n)`` an integer in [0, n); ``u2``/``ri2`` take a second key. Event
times are whole epoch seconds (BIGINT) until the writer formats them.

A table query returns the contract's columns (any order) and, optionally, ``delivery_lag``: the
number of days before the delivery date of the file the row belongs to (0 = the as-of file).
Adding a landing table is one query here and its entry in ``table_queries()``.

History (LANDING.md, "History in the synthetic data"), in days before the delivery date so that
every date is inside the stated years: relationships (bank customers, accounts, cards, loans,
insurance policies, pension agreements, custody accounts) end up to ``RELATIONSHIP_END_DAYS``
ago while most stay active; default cases open up to ``DEFAULT_CASE_DAYS`` ago, fraud cases up
to ``FRAUD_CASE_DAYS`` ago (the newest and a share of the recent ones still open); page views
and logins span ``USAGE_DAYS``; consents and objections ``PRIVACY_EVENT_DAYS``. The rare cases
are spread by stratified ranks, so even a small group has old and recent ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from math import gcd

from dagster_project.landing import _names

# How far back the history reaches, in days (365 a year: always inside the stated years).
RELATIONSHIP_END_DAYS = 20 * 365
DEFAULT_CASE_DAYS = 16 * 365
FRAUD_CASE_DAYS = 12 * 365
USAGE_DAYS = 3 * 365
PRIVACY_EVENT_DAYS = 10 * 365
# Page views and logins are dense in these last days (the usage bands read the last 30 days of
# logins and page views); older ones are sparse.
RECENT_VIEW_DAYS = 90
RECENT_LOGIN_DAYS = 14

# Individual-number steps coprime with every group size (250, 300) used in ``_nid_slots``.
_NID_STEPS = (7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)


def lit(values) -> str:
    """A DuckDB list literal of strings or numbers."""
    items = []
    for v in values:
        if isinstance(v, str):
            items.append("'" + v.replace("'", "''") + "'")
        else:
            items.append(str(v))
    return "[" + ", ".join(items) + "]"


def decimals(values) -> str:
    """A DuckDB list literal of decimal numbers given as strings (``"284.60"``)."""
    return "[" + ", ".join(str(Decimal(v)) for v in values) + "]"


def isin(body: str) -> str:
    """``body`` (2 letters + 9 alphanumerics) with its ISIN check digit (Luhn over the digits).

    >>> isin("NO001009698")
    'NO0010096985'
    """
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    for pos, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if pos % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def instrument_isins() -> list[str]:
    """One fictional Norwegian ISIN per instrument of ``_names.INSTRUMENTS``."""
    return [
        isin(f"NO00{(1_234_500 + 7_919 * k) % 10_000_000:07d}")
        for k in range(len(_names.INSTRUMENTS))
    ]


def _coprime_steps(n: int) -> list[int]:
    return [s for s in range(1, max(n, 2)) if gcd(s, n) == 1]


def macros(seed: int, as_of: dt.date) -> list[str]:
    """The macros every query uses; ``seed`` and ``as_of`` are baked in as literals."""
    as_of_epoch = int(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC).timestamp())
    return [
        f"CREATE MACRO seed() AS CAST({int(seed)} AS BIGINT)",
        f"CREATE MACRO asof_day() AS DATE '{as_of.isoformat()}'",
        f"CREATE MACRO asof_epoch() AS CAST({as_of_epoch} AS BIGINT)",
        # DuckDB combines the hashes of several arguments by a cheap mix that leaves draws with
        # different salts correlated; hashing the combined hash again decorrelates them.
        "CREATE MACRO h(k, salt) AS hash(hash(seed(), k, salt))",
        "CREATE MACRO h2(k, j, salt) AS hash(hash(seed(), k, j, salt))",
        "CREATE MACRO unit(x) AS CAST(x >> 11 AS DOUBLE) / 9007199254740992.0",
        "CREATE MACRO u(k, salt) AS unit(h(k, salt))",
        "CREATE MACRO u2(k, j, salt) AS unit(h2(k, j, salt))",
        "CREATE MACRO below(x, n) AS CAST(x % CAST(greatest(n, 1) AS UBIGINT) AS BIGINT)",
        "CREATE MACRO ri(k, salt, n) AS below(h(k, salt), n)",
        "CREATE MACRO ri2(k, j, salt, n) AS below(h2(k, j, salt), n)",
        "CREATE MACRO flag(b) AS CAST(b AS INTEGER)",
        "CREATE MACRO loguniform(x, lo, hi) AS exp(ln(lo) + x * (ln(hi) - ln(lo)))",
        "CREATE MACRO money(x) AS CAST(round(x, 2) AS DECIMAL(18, 2))",
        # xs[...] with x uniform in [0, 1); pick_skew favours the first entries.
        "CREATE MACRO pick(xs, x) AS"
        " xs[1 + least(len(xs) - 1, CAST(floor(x * len(xs)) AS BIGINT))]",
        "CREATE MACRO pick_skew(xs, x, e) AS"
        " xs[1 + least(len(xs) - 1, CAST(floor(pow(x, e) * len(xs)) AS BIGINT))]",
        "CREATE MACRO add_days(d, n) AS CAST(d + CAST(n AS INTEGER) AS DATE)",
        "CREATE MACRO add_years(d, n) AS CAST(d + to_years(CAST(n AS INTEGER)) AS DATE)",
        # The day a relationship begun on ``start`` ended: on or after ``start``, before the
        # delivery date and at most RELATIONSHIP_END_DAYS back, uniform in that window.
        "CREATE MACRO end_after(start, x) AS add_days(asof_day(),"
        f" -(1 + below(x, least({RELATIONSHIP_END_DAYS}, asof_day() - start))))",
        # Stratified position in [0, 1) of the ``r``-th (1-based) of ``n`` rare cases: case r
        # falls in the r-th of n equal slices, so the cases cover the whole range.
        "CREATE MACRO stratum(r, n, x) AS (r - 1 + x) / greatest(n, 1)",
        # A whole number in the s-th (0-based) of n integer slices of [0, span): distinct
        # slices never give the same number (span >= n keeps every slice non-empty).
        "CREATE MACRO slice_pick(s, n, span, x) AS"
        " s * span // n + below(x, (s + 1) * span // n - s * span // n)",
        "CREATE MACRO account_no(seq) AS"
        " printf('%04d%07d', 1503 + seq // 10000000, seq % 10000000)",
        "CREATE MACRO ascii_name(x) AS lower(strip_accents(replace(replace(replace(replace("
        "replace(replace(x, 'Æ', 'Ae'), 'æ', 'ae'), 'Ø', 'O'), 'ø', 'o'), 'Å', 'A'), 'å', 'a')))",
        # ISO 8601 local time in Oslo with its UTC offset, e.g. 2026-03-04T10:15:00+01:00.
        "CREATE MACRO oslo_offset(e) AS"
        " CAST(epoch(timezone('Europe/Oslo', to_timestamp(e))) AS BIGINT) - e",
        "CREATE MACRO iso_ts(e) AS"
        " strftime(timezone('Europe/Oslo', to_timestamp(e)), '%Y-%m-%dT%H:%M:%S')"
        " || CASE WHEN oslo_offset(e) < 0 THEN '-' ELSE '+' END"
        " || printf('%02d:%02d', abs(oslo_offset(e)) // 3600, abs(oslo_offset(e)) % 3600 // 60)",
        # A moment on day ``asof - days`` between 06:00 and 21:00 UTC.
        "CREATE MACRO day_time(days, tod) AS asof_epoch() - 86400 * days + 21600 + tod",
        # A moment strictly after ``t`` and at least two hours before the delivery date.
        "CREATE MACRO later(t, x) AS t + 60 + below(x, asof_epoch() - 7200 - t - 60)",
    ]


# --- working tables ---------------------------------------------------------------------------

PERSONS_DRAW = """
CREATE TEMP TABLE p0 AS
SELECT i, minor, female, dnum,
       CASE WHEN minor THEN add_days(asof_day(), -(1 + ri(i, 'age', 17 * 365 + 360)))
            ELSE add_days(asof_day(), -(18 * 365 + 5 + ri(i, 'age', 67 * 365))) END AS birth_date
FROM (
    SELECT range AS i,
           u(range, 'minor') < 0.06 AS minor,
           u(range, 'female') < 0.5 AS female,
           u(range, 'minor') >= 0.06 AND u(range, 'd_number') < 0.03 AS dnum
    FROM range({persons})
)
"""

# Unique synthetic identity numbers. Per (birth date, D-number, sex) the valid individual
# numbers of the birth century with the sex's parity, in a hashed order; person k of a group
# gets the group's k-th valid number. A birth date and sex hold about 2 x 207-248 numbers (the
# ordinary ones and the D-numbers, day + 40); a person beyond the ordinary numbers of their
# birth date gets a D-number of the same date, after the persons drawn as D-number holders.
# ``_nid_slots`` makes the numbers for the demand of ``groups`` (birth_date, dnum, female, n).
NID_RANKED = """
CREATE TEMP TABLE nid_ranked AS
SELECT *, row_number() OVER (PARTITION BY birth_date, dnum, female
                             ORDER BY h(i, 'nid_slot'), i) - 1 AS slot0
FROM p0
"""


def _nid_slots(name: str, groups: str) -> str:
    return f"""
CREATE TEMP TABLE {name} AS
WITH groups AS (
    SELECT birth_date, dnum, female, n,
           year(birth_date) AS y,
           year(birth_date) % 100 AS yy,
           day(birth_date) + CASE WHEN dnum THEN 40 ELSE 0 END AS dd,
           month(birth_date) + 80 AS mm,
           CASE WHEN female THEN 0 ELSE 1 END AS parity,
           CASE WHEN year(birth_date) < 2000 AND year(birth_date) % 100 >= 40
                THEN 300 ELSE 250 END AS half
    FROM ({groups})
), cand AS (
    SELECT *, unnest(range(least(half, 2 * n + 16))) AS r,
           CAST(hash(hash(seed(), birth_date, dnum, female, 'nid_offset')) % half AS BIGINT) AS off,
           {lit(_NID_STEPS)}[1 + CAST(hash(hash(seed(), birth_date, dnum, female, 'nid_step'))
                                        % {len(_NID_STEPS)} AS BIGINT)] AS step
    FROM groups
), ind AS (
    SELECT *, CASE WHEN y >= 2000 THEN 500 + q WHEN q < 500 THEN q ELSE 400 + q END AS ind
    FROM (SELECT *, 2 * ((off + r * step) % half) + parity AS q FROM cand)
), digits AS (
    SELECT *, dd // 10 AS d1, dd % 10 AS d2, mm // 10 AS d3, mm % 10 AS d4, yy // 10 AS d5,
           yy % 10 AS d6, ind // 100 AS d7, ind // 10 % 10 AS d8, ind % 10 AS d9
    FROM ind
), k1 AS (
    SELECT *, (11 - (3 * d1 + 7 * d2 + 6 * d3 + d4 + 8 * d5 + 9 * d6 + 4 * d7 + 5 * d8
                     + 2 * d9) % 11) % 11 AS c1
    FROM digits
), k2 AS (
    SELECT *, (11 - (5 * d1 + 4 * d2 + 3 * d3 + 2 * d4 + 7 * d5 + 6 * d6 + 5 * d7 + 4 * d8
                     + 3 * d9 + 2 * c1) % 11) % 11 AS c2
    FROM k1
)
SELECT birth_date, dnum, female,
       row_number() OVER (PARTITION BY birth_date, dnum, female ORDER BY r) - 1 AS slot,
       printf('%02d%02d%02d%03d%d%d', dd, mm, yy, ind, c1, c2) AS national_id
FROM k2
WHERE c1 < 10 AND c2 < 10
"""


NID_SLOTS_ORDINARY = _nid_slots(
    "nid_ordinary",
    "SELECT birth_date, false AS dnum, female, count(*) AS n FROM p0 WHERE NOT dnum "
    "GROUP BY birth_date, female",
)

# The persons past the ordinary numbers of their birth date and sex take D-numbers, numbered
# after that date's drawn D-number holders.
NID_ASSIGNED = """
CREATE TEMP TABLE nid_assigned AS
WITH cap AS (
    SELECT birth_date, female, count(*) AS cap FROM nid_ordinary GROUP BY birth_date, female
), drawn_d AS (
    SELECT birth_date, female, count(*) AS n FROM p0 WHERE dnum GROUP BY birth_date, female
)
SELECT r.i, r.minor, r.female, r.birth_date,
       r.dnum OR r.slot0 >= coalesce(c.cap, 0) AS dnum,
       CASE WHEN r.dnum OR r.slot0 < coalesce(c.cap, 0) THEN r.slot0
            ELSE coalesce(d.n, 0) + r.slot0 - coalesce(c.cap, 0) END AS slot
FROM nid_ranked r
LEFT JOIN cap c USING (birth_date, female)
LEFT JOIN drawn_d d USING (birth_date, female)
"""

NID_SLOTS_D = _nid_slots(
    "nid_d",
    "SELECT birth_date, true AS dnum, female, count(*) AS n FROM nid_assigned WHERE dnum "
    "GROUP BY birth_date, female",
)

PERSONS = """
CREATE TEMP TABLE persons AS
WITH slots AS (
    SELECT * FROM nid_ordinary UNION ALL SELECT * FROM nid_d
), drawn AS (
    SELECT r.i, r.minor, r.female, r.dnum, r.birth_date, s.national_id,
           date_sub('year', r.birth_date, asof_day()) AS age,
           u(r.i, 'in_bank') < 0.85 AS bank_draw,
           NOT r.minor AND u(r.i, 'in_insurance') < 0.32 AS insurance,
           NOT r.minor AND date_sub('year', r.birth_date, asof_day()) >= 20
               AND u(r.i, 'in_pension') < 0.24 AS pension,
           u(r.i, 'in_markets') < 0.25 AS markets,
           u(r.i, 'in_asset_management') < 0.33 AS asset_management
    FROM nid_assigned r
    JOIN slots s USING (birth_date, dnum, female, slot)
)
SELECT * EXCLUDE (bank_draw),
       bank_draw OR NOT (insurance OR pension OR markets OR asset_management) AS bank
FROM drawn
"""

BANK_CUSTOMERS = f"""
CREATE TEMP TABLE bank_customers AS
WITH b AS (
    SELECT *,
           row_number() OVER (ORDER BY h(i, 'bank_no'), i) AS bank_rank,
           CASE WHEN dnum THEN u(i, 'abroad') < 0.7 ELSE u(i, 'abroad') < 0.02 END AS abroad,
           1 + least({len(_names.POSTCODES) - 1},
                     CAST(floor(pow(u(i, 'postcode'), 1.7) * {len(_names.POSTCODES)}) AS BIGINT))
               AS pc,
           greatest(birth_date, add_days(asof_day(), -40 * 365)) AS since_floor
    FROM persons
    WHERE bank
), ended AS (
    -- ~6 % have left, up to RELATIONSHIP_END_DAYS ago; they became customers before that.
    SELECT *,
           u(i, 'ended') < 0.06 AND asof_day() - since_floor >= 2 AS ended,
           end_after(add_days(since_floor, 1), h(i, 'until')) AS until_draw
    FROM b
), named AS (
    SELECT *,
           printf('B%08d', bank_rank) AS customer_no,
           CASE WHEN female
                THEN pick_skew({lit(_names.FEMALE_FIRST_NAMES)}, u(i, 'first_name'), 1.4)
                ELSE pick_skew({lit(_names.MALE_FIRST_NAMES)}, u(i, 'first_name'), 1.4)
           END AS first_name,
           pick_skew({lit(_names.LAST_NAMES)}, u(i, 'last_name'), 2.2) AS last_name,
           abroad OR u(i, 'no_address') < 0.01 AS no_address,
           add_days(since_floor, ri(i, 'since', CASE WHEN ended THEN until_draw
                                                     ELSE asof_day() END - since_floor))
               AS customer_since
    FROM ended
)
SELECT *,
       CASE WHEN no_address THEN NULL
            ELSE pick({lit(_names.STREETS)}, u(i, 'street')) || ' '
                 || CAST(1 + ri(i, 'house_no', 140) AS VARCHAR)
                 || CASE WHEN u(i, 'house_letter') < 0.12
                         THEN pick(['A', 'B', 'C'], u(i, 'letter')) ELSE '' END
       END AS street_address,
       CASE WHEN no_address THEN NULL ELSE {lit(c for c, _ in _names.POSTCODES)}[pc] END
           AS postcode,
       CASE WHEN no_address THEN NULL ELSE {lit(t for _, t in _names.POSTCODES)}[pc] END AS city,
       CASE WHEN abroad THEN pick({lit(_names.FOREIGN_COUNTRIES)}, u(i, 'country'))
            ELSE 'NO' END AS country_code,
       CASE WHEN u(i, 'no_email') < 0.08 THEN NULL
            ELSE ascii_name(first_name) || pick(['.', '', '_', '.'], u(i, 'email_sep'))
                 || ascii_name(last_name)
                 || CASE WHEN u(i, 'email_has_no') < 0.5
                         THEN CAST(1 + ri(i, 'email_no', 99) AS VARCHAR) ELSE '' END
                 || '@' || pick({lit(_names.EMAIL_DOMAINS)}, u(i, 'email_domain'))
       END AS email,
       CASE WHEN u(i, 'no_phone') < CASE WHEN abroad THEN 0.5 ELSE 0.05 END THEN NULL
            ELSE '+47' || pick(['4', '9'], u(i, 'phone_first'))
                 || printf('%07d', ri(i, 'phone', 10000000))
       END AS phone,
       CASE WHEN ended THEN until_draw END AS customer_until,
       coalesce(customer_until, add_days(asof_day(), -1)) AS last_day
FROM named
"""

# Active adult bank customers numbered 0..n-1: the pool co-debtors, guarantors and guardians
# are drawn from.
BANK_ADULTS = """
CREATE TEMP TABLE bank_adults AS
SELECT row_number() OVER (ORDER BY bank_rank) - 1 AS aidx, i, customer_no
FROM bank_customers
WHERE NOT minor AND customer_until IS NULL
"""

# Loans; ~2 % of the holders whose relationship reaches into the last DEFAULT_CASE_DAYS (at
# least one) default on one loan. Cases open on stratified days of those years, the holders
# whose relationship began earliest taking the oldest (a day outside the relationship moves to
# its edge); an active customer's newest case and 60 % of the other cases of active customers
# opened in the last 3 years are still open. A closed case closes within 3 years, and the loan
# (the agreement the 13-year retention runs from) ends with it. Other loans end when the
# customer leaves or when repaid (~10 %), up to RELATIONSHIP_END_DAYS ago; a loan opens within
# its term before it ends (before its default case, if it has one).
LOANS_BASE = f"""
CREATE TEMP TABLE loans_base AS
WITH l AS (
    SELECT *, unnest(range(4)) AS p FROM bank_customers WHERE NOT minor
), wanted AS (
    SELECT *,
           ['mortgage', 'consumer', 'car', 'student'][p + 1] AS product_code,
           [25, 5, 7, 20][p + 1] * 365 AS term_days,
           greatest(customer_since, add_years(birth_date, 18)) AS earliest
    FROM l
    WHERE u2(i, p, 'has_loan') < [0.35, 0.12, 0.10, 0.12][p + 1] AND (p <> 3 OR age < 45)
), eligible AS (
    SELECT * FROM wanted WHERE earliest <= last_day
), holders AS (
    SELECT DISTINCT i, customer_until, earliest, last_day,
           greatest(earliest, add_days(asof_day(), -{DEFAULT_CASE_DAYS})) AS case_from
    FROM eligible
    WHERE last_day >= add_days(asof_day(), -{DEFAULT_CASE_DAYS})
), chosen AS (
    SELECT *,
           row_number() OVER (ORDER BY case_from DESC, h(i, 'case_rank'), i) AS case_rank,
           count(*) OVER () AS cases
    FROM holders
    WHERE u(i, 'defaulter') < 0.02
       OR i = (SELECT i FROM holders ORDER BY h(i, 'defaulter'), i LIMIT 1)
), opened_case AS (
    SELECT *,
           greatest(case_from, least(last_day, add_days(asof_day(), -(1 + CAST(floor(
               stratum(case_rank, cases, u(i, 'case_open')) * {DEFAULT_CASE_DAYS}) AS BIGINT)))))
               AS case_opened
    FROM chosen
), cases AS (
    SELECT i, case_opened,
           customer_until IS NULL
               AND case_opened >= add_days(asof_day(), -3 * 365)
               AND (u(i, 'case_still_open') < 0.6
                    OR row_number() OVER (PARTITION BY customer_until IS NULL
                                          ORDER BY case_opened DESC, i) = 1) AS still_open,
           add_days(case_opened, ri(i, 'case_close', least(3 * 365, last_day - case_opened) + 1))
               AS case_closed
    FROM opened_case
), loans AS (
    SELECT e.*, c.case_opened, c.still_open, c.case_closed,
           c.i IS NOT NULL
               AND row_number() OVER (PARTITION BY e.i ORDER BY h2(e.i, e.p, 'default_loan'), e.p)
                   = 1 AS defaulted
    FROM eligible e
    LEFT JOIN cases c USING (i)
), closed AS (
    SELECT *,
           CASE WHEN customer_until IS NOT NULL THEN customer_until
                WHEN defaulted THEN CASE WHEN NOT still_open THEN case_closed END
                WHEN u2(i, p, 'loan_repaid') < 0.10 THEN end_after(earliest, h2(i, p, 'loan_close'))
           END AS closed_on
    FROM loans
), anchored AS (
    SELECT *,
           CASE WHEN defaulted THEN case_opened ELSE coalesce(closed_on, last_day) END AS anchor,
           CASE p WHEN 0 THEN round(loguniform(u2(i, p, 'principal'), 800000, 7000000), -3)
                  WHEN 1 THEN round(loguniform(u2(i, p, 'principal'), 10000, 350000), -2)
                  WHEN 2 THEN round(loguniform(u2(i, p, 'principal'), 80000, 700000), -2)
                  ELSE round(loguniform(u2(i, p, 'principal'), 30000, 600000), -2)
           END AS principal
    FROM closed
), opened AS (
    SELECT *,
           add_days(anchor, -ri2(i, p, 'loan_open', least(anchor - earliest + 1, term_days)))
               AS opened_on
    FROM anchored
)
SELECT i, p, national_id, customer_no, printf('L%010d', bank_rank * 4 + p) AS loan_no,
       product_code, money(principal) AS principal,
       CASE WHEN closed_on IS NOT NULL THEN money(0)
            ELSE money(principal * greatest(0.02, 1 - (asof_day() - opened_on) / term_days)) END
           AS outstanding,
       opened_on, closed_on, defaulted, case_opened, case_closed, still_open
FROM opened
"""

DEFAULT_CASES = f"""
CREATE TEMP TABLE default_cases AS
WITH cases AS (
    SELECT *, money(principal * (0.1 + 0.8 * u(i, 'defaulted'))) AS defaulted_amount
    FROM loans_base
    WHERE defaulted
)
SELECT printf('DC%08d', row_number() OVER (ORDER BY case_opened, loan_no)) AS case_no,
       national_id, loan_no, defaulted_amount,
       CASE WHEN still_open THEN NULL
            ELSE money(defaulted_amount * 0.7 * pow(u(i, 'loss'), 2)) END AS loss_amount,
       pick({lit(_names.DEFAULT_CAUSES)}, u(i, 'cause')) AS cause,
       case_opened AS opened_on,
       CASE WHEN NOT still_open THEN case_closed END AS closed_on
FROM cases
"""

CUSTODY = """
CREATE TEMP TABLE custody AS
WITH c AS (
    SELECT *, row_number() OVER (ORDER BY h(i, 'custody_no'), i) AS rank
    FROM persons WHERE markets
), a AS (
    SELECT *, unnest(range(1 + flag(u(i, 'custody_2') < 0.1))) AS j FROM c
), b AS (
    SELECT *,
           printf('%012d', 300000000000 + rank * 2 + j) AS custody_account_no,
           add_days(asof_day(),
                    -(1 + ri2(i, j, 'custody_open', least(20 * 365, asof_day() - birth_date))))
               AS opened_on
    FROM a
)
SELECT *,
       CASE WHEN u2(i, j, 'custody_closed') < CASE j WHEN 0 THEN 0.04 ELSE 0.3 END
            THEN end_after(opened_on, h2(i, j, 'custody_close')) END AS closed_on
FROM b
"""

# Persons who ever granted group-sharing consent (~40 %), with their event times. At least one
# is a tie (granted and withdrawn at the same instant, delivered on two days) and at least one
# a plain withdrawal.
CONSENTERS = f"""
CREATE TEMP TABLE consenters AS
WITH c AS (
    SELECT i, national_id FROM persons WHERE u(i, 'consent') < 0.40
), t AS (
    SELECT *,
           u(i, 'consent_tie') < 0.01
               OR i = (SELECT i FROM c ORDER BY h(i, 'consent_tie'), i LIMIT 1) AS tie
    FROM c
), w AS (
    SELECT *,
           NOT tie AND (u(i, 'consent_withdrawn') < 0.10
               OR i = (SELECT i FROM t WHERE NOT tie ORDER BY h(i, 'consent_withdrawn'), i
                       LIMIT 1)) AS withdrawn,
           day_time(1 + ri(i, 'grant_day', {PRIVACY_EVENT_DAYS}), ri(i, 'grant_tod', 54000))
               AS t_grant
    FROM t
)
SELECT *,
       later(t_grant, h(i, 'withdraw_after')) AS t_withdraw,
       withdrawn AND u(i, 'regrant') < 0.3 AS regranted,
       later(later(t_grant, h(i, 'withdraw_after')), h(i, 'regrant_after')) AS t_regrant,
       flag(u(i, 'tie_order') < 0.5) AS tie_grant_lag
FROM w
"""

VISITORS = f"""
CREATE TEMP TABLE visitors AS
WITH linked AS (
    SELECT i, national_id, i * 2 + j AS vkey
    FROM persons, range(2) t(j)
    WHERE u(i, 'web_user') < CASE WHEN bank THEN 0.65 ELSE 0.35 END
      AND (j = 0 OR u(i, 'second_device') < 0.2)
), anonymous AS (
    SELECT CAST(NULL AS BIGINT) AS i, CAST(NULL AS VARCHAR) AS national_id,
           2 * {{persons}} + range AS vkey
    FROM range(CAST(ceil(0.4 * {{persons}}) AS BIGINT))
), v AS (
    SELECT *, md5(CAST(seed() AS VARCHAR) || '/visitor/' || CAST(vkey AS VARCHAR)) AS m
    FROM (SELECT * FROM linked UNION ALL SELECT * FROM anonymous)
)
SELECT i, national_id, vkey,
       substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-4' || substr(m, 14, 3) || '-'
           || '8' || substr(m, 18, 3) || '-' || substr(m, 21, 12) AS visitor_id,
       day_time(1 + ri(vkey, 'first_seen_day', {USAGE_DAYS}), ri(vkey, 'first_seen_tod', 54000))
           AS first_seen,
       CAST(pick({lit(_names.IPV4_FIRST_OCTETS)}, u(vkey, 'ip1')) AS VARCHAR) || '.'
           || CAST(ri(vkey, 'ip2', 256) AS VARCHAR) || '.' || CAST(ri(vkey, 'ip3', 256) AS VARCHAR)
           || '.' || CAST(1 + ri(vkey, 'ip4', 254) AS VARCHAR) AS home_ip
FROM v
"""


def builds(persons: int) -> list[tuple[str, list[str]]]:
    """Working tables in dependency order: (progress label, statements)."""
    return [
        (
            "persons",
            [
                PERSONS_DRAW.format(persons=persons),
                NID_RANKED,
                NID_SLOTS_ORDINARY,
                NID_ASSIGNED,
                NID_SLOTS_D,
                PERSONS,
            ],
        ),
        ("bank customers", [BANK_CUSTOMERS, BANK_ADULTS]),
        ("loans", [LOANS_BASE, DEFAULT_CASES]),
        ("custody accounts", [CUSTODY]),
        ("consents", [CONSENTERS]),
        ("visitors", [VISITORS.format(persons=persons)]),
    ]


# --- one query per landing table -------------------------------------------------------------

CUSTOMERS = """
SELECT customer_no, national_id, first_name, last_name, birth_date, street_address, postcode,
       city, country_code, email, phone, customer_since, customer_until
FROM bank_customers
"""

ACCOUNTS = """
WITH a AS (
    SELECT *, unnest(range(1 + flag(u(i, 'acc_2') < 0.5) + flag(u(i, 'acc_3') < 0.15))) AS j
    FROM bank_customers
), typed AS (
    SELECT *,
           CASE WHEN j = 0 THEN 'current'
                WHEN j = 1 AND age BETWEEN 13 AND 33 AND u(i, 'bsu') < 0.5 THEN 'bsu'
                WHEN u2(i, j, 'acc_type') < 0.8 THEN 'savings'
                ELSE 'fixed_term' END AS product_code,
           CASE WHEN j = 0 THEN customer_since
                ELSE add_days(customer_since,
                              ri2(i, j, 'acc_open', last_day - customer_since + 1)) END
               AS opened_on
    FROM a
), closed AS (
    SELECT *,
           CASE WHEN customer_until IS NOT NULL THEN customer_until
                WHEN j > 0 AND u2(i, j, 'acc_closed') < 0.10
                THEN end_after(opened_on, h2(i, j, 'acc_close')) END
               AS closed_on
    FROM typed
), usage AS (
    SELECT *,
           CASE WHEN closed_on IS NOT NULL THEN 0
                WHEN product_code = 'current' THEN 1 + ri2(i, j, 'dep_n', 8)
                WHEN product_code IN ('savings', 'bsu') THEN ri2(i, j, 'dep_n', 3)
                ELSE 0 END AS deposits_last_30d,
           CASE WHEN closed_on IS NOT NULL THEN 0
                WHEN product_code = 'current' THEN ri2(i, j, 'wd_n', 60)
                WHEN product_code = 'savings' THEN ri2(i, j, 'wd_n', 2)
                ELSE 0 END AS withdrawals_last_30d
    FROM closed
)
SELECT account_no(bank_rank * 3 + j) AS account_no, customer_no, product_code, opened_on,
       closed_on,
       CASE WHEN closed_on IS NOT NULL THEN money(0)
            WHEN product_code = 'current' THEN money(loguniform(u2(i, j, 'bal'), 100, 150000))
            WHEN product_code = 'savings' THEN money(loguniform(u2(i, j, 'bal'), 500, 2000000))
            WHEN product_code = 'bsu' THEN money(loguniform(u2(i, j, 'bal'), 1000, 300000))
            ELSE money(loguniform(u2(i, j, 'bal'), 10000, 3000000)) END AS balance,
       deposits_last_30d, withdrawals_last_30d,
       money(deposits_last_30d * loguniform(u2(i, j, 'dep_amt'), 200, 40000))
           AS deposit_amount_last_30d,
       money(withdrawals_last_30d * loguniform(u2(i, j, 'wd_amt'), 50, 3000))
           AS withdrawal_amount_last_30d
FROM usage
"""

CARDS = """
WITH c AS (
    SELECT *, unnest([0, 1]) AS t,
           greatest(customer_since, add_years(birth_date, 13)) AS earliest
    FROM bank_customers
), wanted AS (
    SELECT *,
           add_days(earliest, ri2(i, t, 'card_open', last_day - earliest + 1)) AS opened_on
    FROM c
    WHERE earliest <= last_day
      AND ((t = 0 AND age >= 13 AND u(i, 'debit') < 0.9)
           OR (t = 1 AND NOT minor AND u(i, 'credit') < 0.3))
)
SELECT printf('K%010d', bank_rank * 2 + t) AS card_ref, customer_no,
       CASE t WHEN 0 THEN 'debit' ELSE 'credit' END AS product_code,
       CASE t WHEN 0 THEN NULL
              ELSE money(pick([10000, 15000, 20000, 25000, 30000, 50000, 75000, 100000],
                              u(i, 'credit_limit'))) END AS credit_limit,
       opened_on,
       CASE WHEN customer_until IS NOT NULL THEN customer_until
            WHEN u2(i, t, 'card_closed') < 0.08
            THEN end_after(opened_on, h2(i, t, 'card_close')) END
           AS closed_on
FROM wanted
"""

LOANS = """
SELECT l.loan_no, l.customer_no, l.product_code, l.principal, l.outstanding, l.opened_on,
       l.closed_on, d.case_no IS NOT NULL AND d.closed_on IS NULL AS in_default
FROM loans_base l
LEFT JOIN default_cases d USING (loan_no)
"""

CUSTOMER_ROLES = """
WITH pool AS (
    SELECT count(*) AS n FROM bank_adults
), owners AS (
    SELECT l.i, l.p, l.loan_no, l.customer_no, l.product_code, a.aidx
    FROM loans_base l JOIN bank_adults a USING (customer_no)
    WHERE l.closed_on IS NULL
), roles AS (
    SELECT loan_no AS agreement_no, 'co_debtor' AS role, customer_no AS related_customer_no,
           (aidx + 1 + ri(i, 'co_debtor', n - 1)) % n AS other
    FROM owners, pool
    WHERE n >= 2 AND product_code = 'mortgage' AND u(i, 'has_co_debtor') < 0.3
    UNION ALL
    SELECT loan_no, 'guarantor', customer_no, (aidx + 1 + ri2(i, p, 'guarantor', n - 1)) % n
    FROM owners, pool
    WHERE n >= 2 AND product_code IN ('consumer', 'car') AND u2(i, p, 'has_guarantor') < 0.06
    UNION ALL
    SELECT account_no(bank_rank * 3), 'guardian', customer_no, ri(i, 'guardian_1', n)
    FROM bank_customers, pool
    WHERE n >= 2 AND minor AND customer_until IS NULL
    UNION ALL
    SELECT account_no(bank_rank * 3), 'guardian', customer_no,
           (ri(i, 'guardian_1', n) + 1 + ri(i, 'guardian_2', n - 1)) % n
    FROM bank_customers, pool
    WHERE n >= 2 AND minor AND customer_until IS NULL AND u(i, 'two_guardians') < 0.6
)
SELECT r.agreement_no, a.customer_no, r.role, r.related_customer_no
FROM roles r JOIN bank_adults a ON a.aidx = r.other
"""

# Logins over the last USAGE_DAYS per customer and channel: dense in the last RECENT_LOGIN_DAYS,
# up to three days in stratified slices of the older window; from the customer's 13th birthday
# and customer_since to the day they left. Key (customer, day, channel).
DIGITAL_LOGINS = f"""
WITH channels AS (
    SELECT * FROM (VALUES (0, 'online_bank', 0.45), (1, 'mobile_app', 0.70)) v(k, channel, p)
), users AS (
    SELECT c.i, c.customer_no, c.last_day, ch.k, ch.channel,
           0.03 + 0.27 * u2(c.i, ch.k, 'login_activity') AS activity,
           greatest(c.customer_since, add_years(c.birth_date, 13),
                    add_days(asof_day(), -{USAGE_DAYS})) AS login_from
    FROM bank_customers c, channels ch
    WHERE c.last_day >= add_days(asof_day(), -{USAGE_DAYS}) AND c.age >= 13
      AND u2(c.i, ch.k, 'uses_channel') < ch.p
), recent AS (
    SELECT customer_no, add_days(asof_day(), -(1 + d)) AS login_date, channel,
           1 + CAST(floor(4 * pow(u2(i, k * 16 + d, 'login_count'), 3)) AS BIGINT) AS login_count
    FROM users, range({RECENT_LOGIN_DAYS}) t(d)
    WHERE u2(i, k * 16 + d, 'login_day') < activity
      AND add_days(asof_day(), -(1 + d)) BETWEEN login_from AND last_day
), older AS (
    SELECT *, least(last_day, add_days(asof_day(), -{RECENT_LOGIN_DAYS + 1})) - login_from + 1
                  AS span
    FROM users
), slices AS (
    SELECT *, least(span, CAST(floor(4 * pow(u2(i, k, 'old_logins'), 2)) AS BIGINT)) AS n
    FROM older
    WHERE span > 0
), old AS (
    SELECT customer_no, channel,
           add_days(login_from, slice_pick(s, n, span, h2(i, k * 4 + s, 'old_login_day')))
               AS login_date,
           1 + CAST(floor(4 * pow(u2(i, k * 4 + s, 'old_login_count'), 3)) AS BIGINT)
               AS login_count
    FROM slices, range(3) t(s)
    WHERE s < n
)
SELECT customer_no, login_date, channel, login_count FROM recent
UNION ALL
SELECT customer_no, login_date, channel, login_count FROM old
"""

_INSURANCE_PRODUCTS = ("life", "disability", "health", "home", "car", "travel")
_PREMIUMS = ((1200, 12000), (1500, 9000), (3000, 15000), (2500, 12000), (4000, 18000), (900, 2500))

POLICIES = f"""
WITH c AS (
    SELECT *, row_number() OVER (ORDER BY h(i, 'insurance_no'), i) AS rank
    FROM persons WHERE insurance
), pol AS (
    SELECT *, unnest(range(1 + flag(u(i, 'pol_2') < 0.45) + flag(u(i, 'pol_3') < 0.15))) AS j
    FROM c
), p2 AS (
    SELECT *,
           (ri(i, 'pol_offset', 6) + j * [1, 5][1 + ri(i, 'pol_step', 2)]) % 6 AS k,
           add_years(birth_date, 18) AS adult,
           CASE WHEN u2(i, j, 'pol_ended') < 0.10
                THEN end_after(add_years(birth_date, 18), h2(i, j, 'pol_end')) END AS end_date
    FROM pol
), p3 AS (
    SELECT *,
           CASE WHEN end_date IS NULL
                THEN add_days(asof_day(), -(1 + ri2(i, j, 'pol_start',
                                                least(15 * 365, asof_day() - adult))))
                ELSE add_days(end_date, -ri2(i, j, 'pol_start',
                                             least(15 * 365, end_date - adult) + 1)) END
               AS start_date
    FROM p2
)
SELECT printf('FP%09d', rank * 3 + j) AS policy_no,
       printf('F%08d', rank) AS insurance_customer_no,
       national_id,
       {lit(_INSURANCE_PRODUCTS)}[k + 1] AS product_code,
       money(loguniform(u2(i, j, 'premium'), {lit(lo for lo, _ in _PREMIUMS)}[k + 1],
                        {lit(hi for _, hi in _PREMIUMS)}[k + 1])) AS annual_premium,
       start_date,
       end_date
FROM p3
"""

AGREEMENTS = """
WITH c AS (
    SELECT *, row_number() OVER (ORDER BY h(i, 'pension_no'), i) AS rank
    FROM persons WHERE pension
), a AS (
    SELECT *, unnest(range(1 + flag(u(i, 'pension_2') < 0.25))) AS j FROM c
), b AS (
    SELECT *,
           (ri(i, 'pension_offset', 3) + j) % 3 AS k,
           add_years(birth_date, 20) AS adult,
           CASE WHEN u2(i, j, 'pension_ended') < 0.06
                THEN end_after(add_years(birth_date, 20), h2(i, j, 'pension_end')) END
               AS end_date
    FROM a
), d AS (
    SELECT *,
           CASE WHEN end_date IS NULL
                THEN add_days(asof_day(), -(1 + ri2(i, j, 'pension_start',
                                                least(30 * 365, asof_day() - adult))))
                ELSE add_days(end_date, -ri2(i, j, 'pension_start',
                                             least(30 * 365, end_date - adult) + 1)) END
               AS start_date
    FROM b
)
SELECT printf('PA%09d', rank * 2 + j) AS agreement_no,
       printf('P%08d', rank) AS pension_customer_no,
       national_id,
       ['ips', 'employer_defined_contribution', 'private_pension'][k + 1] AS product_code,
       money(loguniform(u2(i, j, 'pension_balance'), 5000, 4000000)) AS balance,
       start_date,
       end_date
FROM d
"""

SECURITIES_ACCOUNTS = """
SELECT custody_account_no, national_id, opened_on, closed_on FROM custody
"""


def _securities_holdings() -> str:
    n = len(_names.INSTRUMENTS)
    steps = _coprime_steps(n)
    return f"""
WITH a AS (
    SELECT *, unnest(range(1 + CAST(floor(8 * pow(u2(i, j, 'n_holdings'), 2)) AS INTEGER))) AS k
    FROM custody
    WHERE closed_on IS NULL
), x AS (
    SELECT *,
           1 + (ri2(i, j, 'isin_offset', {n}) + k * {lit(steps)}[1 + ri2(i, j, 'isin_step',
                                                                        {len(steps)})]) % {n}
               AS idx,
           round(loguniform(u2(i, j * 8 + k, 'quantity'), 1, 5000)) AS q
    FROM a
)
SELECT custody_account_no,
       {lit(instrument_isins())}[idx] AS isin,
       asof_day() AS as_of_date,
       national_id,
       {lit(name for name, _ in _names.INSTRUMENTS)}[idx] AS instrument_name,
       money(q) AS quantity,
       money(q * {decimals(price for _, price in _names.INSTRUMENTS)}[idx]) AS market_value
FROM x
"""


def _fund_holdings() -> str:
    n = len(_names.FUNDS)
    steps = _coprime_steps(n)
    return f"""
WITH c AS (
    SELECT *, row_number() OVER (ORDER BY h(i, 'fund_account_no'), i) AS rank
    FROM persons WHERE asset_management
), a AS (
    SELECT *, unnest(range(1 + CAST(floor(4 * pow(u(i, 'n_funds'), 2)) AS INTEGER))) AS k
    FROM c
), x AS (
    SELECT *,
           1 + (ri(i, 'fund_offset', {n}) + k * {lit(steps)}[1 + ri(i, 'fund_step',
                                                                   {len(steps)})]) % {n} AS idx,
           round(loguniform(u2(i, k, 'units'), 5, 30000), 2) AS units
    FROM a
)
SELECT printf('AM%09d', rank) AS fund_account_no,
       {lit(code for code, _, _ in _names.FUNDS)}[idx] AS fund_code,
       asof_day() AS as_of_date,
       national_id,
       {lit(name for _, name, _ in _names.FUNDS)}[idx] AS fund_name,
       money(units) AS units,
       money(units * {decimals(nav for _, _, nav in _names.FUNDS)}[idx]) AS market_value
FROM x
"""


_CHANNELS = lit(_names.CONSENT_CHANNELS)

GROUP_SHARING_CONSENTS = f"""
SELECT national_id, t_grant AS event_time, 'granted' AS consent,
       pick({_CHANNELS}, u(i, 'grant_channel')) AS channel,
       CASE WHEN tie THEN tie_grant_lag ELSE 0 END AS delivery_lag
FROM consenters
UNION ALL
SELECT national_id, t_grant, 'withdrawn', pick({_CHANNELS}, u(i, 'tie_channel')),
       1 - tie_grant_lag
FROM consenters WHERE tie
UNION ALL
SELECT national_id, t_withdraw, 'withdrawn', pick({_CHANNELS}, u(i, 'withdraw_channel')), 0
FROM consenters WHERE withdrawn
UNION ALL
SELECT national_id, t_regrant, 'granted', pick({_CHANNELS}, u(i, 'regrant_channel')), 0
FROM consenters WHERE regranted
"""

_OBJECTION_RATES = {
    "direct_marketing": 0.04,
    "profiling": 0.03,
    "statistics": 0.02,
    "social_matching": 0.03,
    "model_development": 0.02,
}


def _objections() -> str:
    """Objectors per scope (at least one each); ~20 % withdraw later, a few object again."""
    per_scope = [
        f"""
    SELECT i, national_id, {k} AS k, '{scope}' AS scope FROM persons
    WHERE u(i, 'objects_{scope}') < {rate}
       OR i = (SELECT i FROM persons ORDER BY h(i, 'objects_{scope}'), i LIMIT 1)"""
        for k, (scope, rate) in enumerate(_OBJECTION_RATES.items())
    ]
    return f"""
WITH o AS ({" UNION ALL ".join(per_scope)}
), t AS (
    SELECT *,
           day_time(1 + ri2(i, k, 'object_day', {PRIVACY_EVENT_DAYS}),
                    ri2(i, k, 'object_tod', 54000))
               AS t_object,
           u2(i, k, 'object_withdrawn') < 0.2 AS withdrawn,
           u2(i, k, 'object_again') < 0.25 AS again
    FROM o
), t2 AS (
    SELECT *, later(t_object, h2(i, k, 'object_withdraw_after')) AS t_withdraw FROM t
)
SELECT national_id, scope, t_object AS event_time, 'object' AS action FROM t2
UNION ALL
SELECT national_id, scope, t_withdraw, 'withdraw' FROM t2 WHERE withdrawn
UNION ALL
SELECT national_id, scope, later(t_withdraw, h2(i, k, 'object_again_after')), 'object'
FROM t2 WHERE withdrawn AND again
"""


COOKIE_CONSENTS = """
WITH n AS (
    SELECT *, 1 + flag(u(vkey, 'cookie_2') < 0.3) + flag(u(vkey, 'cookie_3') < 0.1) AS n_events
    FROM visitors
), e AS (
    SELECT *, unnest(range(n_events)) AS k FROM n
)
SELECT visitor_id,
       CASE WHEN k = 0 THEN first_seen
            ELSE first_seen + CAST(floor((asof_epoch() - 7200 - first_seen)
                                         * (k + u2(vkey, k, 'cookie_t')) / n_events) AS BIGINT)
       END AS event_time,
       (u(vkey, 'cookie_first') < 0.55) <> (k % 2 = 1) AS marketing_cookies
FROM e
"""

# Page views since the visitor was first seen: one to six in the last RECENT_VIEW_DAYS, and for
# visitors first seen before that up to two more (k = 8, 9) in stratified slices of the older days.
PAGE_VIEWS = f"""
WITH v AS (
    SELECT *, asof_epoch() - {RECENT_VIEW_DAYS} * 86400 AS recent_from,
           greatest(first_seen, asof_epoch() - {RECENT_VIEW_DAYS} * 86400) AS view_from,
           CAST(floor(3 * pow(u(vkey, 'n_old_views'), 2)) AS INTEGER) AS n_old
    FROM visitors
), x AS (
    SELECT *, unnest(range(1 + CAST(floor(6 * pow(u(vkey, 'n_views'), 2)) AS INTEGER))) AS k
    FROM v
    UNION ALL
    SELECT v.*, 8 + s AS k
    FROM v, range(2) t(s)
    WHERE first_seen < recent_from AND s < n_old
), y AS (
    SELECT *,
           CASE WHEN k < 8
                THEN view_from + CAST(floor((asof_epoch() - 3600 - view_from)
                                            * u2(vkey, k, 'view_t')) AS BIGINT)
                ELSE first_seen + CAST(floor((recent_from - first_seen)
                                             * stratum(k - 7, n_old, u2(vkey, k, 'view_t')))
                                       AS BIGINT) END AS viewed_at,
           i IS NOT NULL AND u2(vkey, k, 'logged_in') < 0.5 AS logged_in
    FROM x
)
SELECT printf('PV%012d', row_number() OVER (ORDER BY viewed_at, vkey, k)) AS view_id,
       visitor_id,
       CASE WHEN logged_in THEN national_id END AS national_id,
       CASE WHEN u2(vkey, k, 'other_ip') < 0.2
            THEN CAST(pick({lit(_names.IPV4_FIRST_OCTETS)}, u2(vkey, k, 'ip1')) AS VARCHAR)
                 || '.' || CAST(ri2(vkey, k, 'ip2', 256) AS VARCHAR)
                 || '.' || CAST(ri2(vkey, k, 'ip3', 256) AS VARCHAR)
                 || '.' || CAST(1 + ri2(vkey, k, 'ip4', 254) AS VARCHAR)
            ELSE home_ip END AS ip_address,
       CASE WHEN logged_in AND u2(vkey, k, 'private_page') < 0.7
            THEN pick({lit(_names.LOGGED_IN_PAGES)}, u2(vkey, k, 'page'))
            ELSE pick_skew({lit(_names.PUBLIC_PAGES)}, u2(vkey, k, 'page'), 1.3) END
           AS page_path,
       viewed_at
FROM y
"""

DEFAULT_CASES_OUT = """
SELECT case_no, national_id, loan_no, defaulted_amount, loss_amount, cause, opened_on, closed_on
FROM default_cases
"""

# ~1 % of bank customers (at least one) have a fraud case, registered on stratified days of the
# last FRAUD_CASE_DAYS, the customers of longest standing taking the oldest (a day outside the
# relationship moves to its edge); an investigation takes up to two years. The newest case of
# an active customer and half of the cases of the last two years are still open.
FRAUD_CASES = f"""
WITH c AS (
    SELECT *, greatest(customer_since, add_days(asof_day(), -{FRAUD_CASE_DAYS})) AS f_from
    FROM bank_customers
    WHERE last_day >= add_days(asof_day(), -{FRAUD_CASE_DAYS})
), f AS (
    SELECT * FROM c
    WHERE u(i, 'fraud') < 0.01 OR i = (SELECT i FROM c ORDER BY h(i, 'fraud'), i LIMIT 1)
), r AS (
    SELECT *, row_number() OVER (ORDER BY f_from DESC, h(i, 'fraud_rank'), i) AS fraud_rank,
           count(*) OVER () AS cases
    FROM f
), g AS (
    SELECT *,
           greatest(f_from, least(last_day, add_days(asof_day(), -(1 + CAST(floor(
               stratum(fraud_rank, cases, u(i, 'fraud_open')) * {FRAUD_CASE_DAYS}) AS BIGINT)))))
               AS opened_on
    FROM r
), o AS (
    SELECT *,
           customer_until IS NULL
               AND row_number() OVER (PARTITION BY customer_until IS NULL
                                      ORDER BY opened_on DESC, i) = 1 AS newest_active
    FROM g
)
SELECT printf('FC%08d', row_number() OVER (ORDER BY opened_on, customer_no)) AS case_no,
       national_id,
       pick({lit(_names.FRAUD_CATEGORIES)}, u(i, 'fraud_category')) AS category,
       opened_on,
       CASE WHEN newest_active
                 OR (opened_on >= add_days(asof_day(), -2 * 365)
                     AND u(i, 'fraud_open_case') < 0.5) THEN NULL
            ELSE add_days(opened_on, ri(i, 'fraud_close',
                                        least(2 * 365, asof_day() - 1 - opened_on) + 1)) END
           AS closed_on
FROM o
"""


# A few erasure requests (Art. 17) in the latest delivery, received in its last 25 days:
# ERASURE_PLAIN persons without a case, and one person with a default case and one with a
# fraud case still inside their retention (13 years after the default case ends, 10 after the
# fraud case is registered), so an erasure meets legal holds.
ERASURE_PLAIN = 3
ERASURE_REQUESTS = f"""
WITH fraud AS ({FRAUD_CASES}), held AS (
    SELECT national_id, 'default' AS kind FROM default_cases
    WHERE closed_on IS NULL OR add_years(closed_on, 13) > asof_day()
    UNION ALL
    SELECT national_id, 'fraud' AS kind FROM fraud
    WHERE add_years(opened_on, 10) > asof_day()
), held_picked AS (
    SELECT national_id FROM (
        SELECT national_id, row_number() OVER (PARTITION BY kind
            ORDER BY hash(seed(), national_id, 'erasure_held'), national_id) AS r
        FROM held)
    WHERE r = 1
), plain AS (
    SELECT national_id FROM persons
    WHERE national_id NOT IN (SELECT national_id FROM held)
    ORDER BY h(i, 'erasure'), i
    LIMIT {ERASURE_PLAIN}
), requested AS (
    SELECT national_id FROM held_picked UNION SELECT national_id FROM plain
)
SELECT printf('ER%08d', row_number() OVER (
           ORDER BY hash(seed(), national_id, 'erasure_rank'), national_id)) AS request_id,
       national_id,
       day_time(1 + below(hash(seed(), national_id, 'erasure_day'), 25),
                below(hash(seed(), national_id, 'erasure_tod'), 54000)) AS received_at
FROM requested
"""


def table_queries() -> dict[tuple[str, str], str]:
    """(source, table) -> the query producing that landing table's rows."""
    return {
        ("bank", "customers"): CUSTOMERS,
        ("bank", "accounts"): ACCOUNTS,
        ("bank", "cards"): CARDS,
        ("bank", "loans"): LOANS,
        ("bank", "customer_roles"): CUSTOMER_ROLES,
        ("bank", "digital_logins"): DIGITAL_LOGINS,
        ("insurance", "policies"): POLICIES,
        ("pension", "agreements"): AGREEMENTS,
        ("markets", "securities_accounts"): SECURITIES_ACCOUNTS,
        ("markets", "securities_holdings"): _securities_holdings(),
        ("asset_management", "fund_holdings"): _fund_holdings(),
        ("privacy", "group_sharing_consents"): GROUP_SHARING_CONSENTS,
        ("privacy", "objections"): _objections(),
        ("privacy", "cookie_consents"): COOKIE_CONSENTS,
        ("privacy", "erasure_requests"): ERASURE_REQUESTS,
        ("web", "page_views"): PAGE_VIEWS,
        ("risk", "default_cases"): DEFAULT_CASES_OUT,
        ("risk", "fraud_cases"): FRAUD_CASES,
    }
