"""The landing contract (``shared/design/LANDING.md``) as data.

One :class:`Table` per extract a group company delivers into
``<landing root>/<source>/<table>/<YYYY-MM-DD>.csv``. The synthetic generator writes exactly these
columns, the ingest validates every file against them, and the dbt sources declare the same names.

>>> CONTRACT["markets"]["securities_holdings"].key
('custody_account_no', 'isin', 'as_of_date')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """Wire types of the landing files (LANDING.md, "Files")."""

    TEXT = "text"
    INTEGER = "integer"  # counts
    DECIMAL = "decimal"  # amounts in NOK, '.' as decimal separator
    BOOLEAN = "boolean"  # true / false
    DATE = "date"  # YYYY-MM-DD
    TIMESTAMP = "timestamp"  # ISO 8601 with offset
    NATIONAL_ID = "national_id"  # 11 digits with valid mod-11 check digits

    @property
    def duckdb_type(self) -> str:
        return {
            ColumnType.TEXT: "VARCHAR",
            ColumnType.INTEGER: "BIGINT",
            ColumnType.DECIMAL: "DECIMAL(18,2)",
            ColumnType.BOOLEAN: "BOOLEAN",
            ColumnType.DATE: "DATE",
            ColumnType.TIMESTAMP: "TIMESTAMPTZ",
            ColumnType.NATIONAL_ID: "VARCHAR",
        }[self]


# Free text longer than this is refused unless the column says otherwise (``max_length``).
DEFAULT_MAX_LENGTH = 100
# First characters that make a spreadsheet run a cell as a formula (CSV injection): a free-text
# value starting with one of them is refused.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.TEXT
    nullable: bool = False
    allowed: tuple[str, ...] = ()  # closed set of values, empty = any
    pattern: str | None = None  # regular expression the whole value must match
    description: str = ""
    # Characters a text value may have; None for the types whose form bounds it already.
    max_length: int | None = None
    # Refuse values starting with one of FORMULA_STARTS; None = for free text (a text column
    # without an allowed set or pattern), the columns whose pattern allows any first character
    # say True.
    formula_guard: bool | None = None

    @property
    def free_text(self) -> bool:
        """A text column whose values no allowed set or pattern constrains."""
        return self.type is ColumnType.TEXT and not self.allowed and self.pattern is None

    @property
    def refuses_formulas(self) -> bool:
        return self.free_text if self.formula_guard is None else self.formula_guard


@dataclass(frozen=True)
class PrivacyEvents:
    """How a privacy event log's rows restrict processing (LANDING.md, "What a bad delivery
    gets"): a row that cannot be applied is a restricting event unless ``column`` holds one of
    the ``permissive`` values (a lost grant or a lost withdrawal of an objection only keeps the
    person more restricted). ``column`` None: every row restricts. ``stop_run``: an event that
    cannot be applied stops the run instead of withholding the outputs downstream of the log."""

    column: str | None
    permissive: tuple[str, ...] = ()
    stop_run: bool = False


@dataclass(frozen=True)
class Table:
    source: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str = ""
    # Set for the privacy event logs: their rows are never lost quietly (see PrivacyEvents).
    privacy_events: PrivacyEvents | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.source}.{self.name} has no column {name!r}")


T, INT, DEC, BOOL, DATE, TS, NID = (
    ColumnType.TEXT,
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
    ColumnType.NATIONAL_ID,
)


def _c(name: str, type_: ColumnType = T, **kw) -> Column:
    """A contract column; free text gets :data:`DEFAULT_MAX_LENGTH` unless it says otherwise."""
    if type_ is T and not kw.get("allowed") and kw.get("pattern") is None:
        kw.setdefault("max_length", DEFAULT_MAX_LENGTH)
    return Column(name, type_, **kw)


_CHANNELS = ("online_bank", "mobile_app", "branch", "phone")

TABLES: tuple[Table, ...] = (
    # --- bank: Fjordbank ASA -----------------------------------------------------------------
    Table(
        "bank",
        "customers",
        (
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("national_id", NID),
            _c("first_name"),
            _c("last_name"),
            _c("birth_date", DATE),
            _c("street_address", nullable=True, max_length=200),
            _c("postcode", pattern=r"[0-9]{4}", nullable=True),
            _c("city", nullable=True),
            _c("country_code", pattern=r"[A-Z]{2}"),
            _c(
                "email",
                nullable=True,
                pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+",
                max_length=254,
                formula_guard=True,
            ),
            _c("phone", nullable=True, pattern=r"\+[1-9][0-9]{6,14}"),
            _c("customer_since", DATE),
            _c("customer_until", DATE, nullable=True),
        ),
        key=("customer_no",),
        description="Customers of the parent bank.",
    ),
    Table(
        "bank",
        "accounts",
        (
            _c("account_no"),
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("product_code", allowed=("current", "savings", "bsu", "fixed_term")),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
            _c("balance", DEC),
            _c("deposits_last_30d", INT),
            _c("withdrawals_last_30d", INT),
            _c("deposit_amount_last_30d", DEC),
            _c("withdrawal_amount_last_30d", DEC),
        ),
        key=("account_no",),
        description="Deposit accounts with 30-day usage counters.",
    ),
    Table(
        "bank",
        "cards",
        (
            _c("card_ref"),
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("product_code", allowed=("debit", "credit")),
            _c("credit_limit", DEC, nullable=True),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
        ),
        key=("card_ref",),
        description="Debit and credit cards.",
    ),
    Table(
        "bank",
        "loans",
        (
            _c("loan_no"),
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("product_code", allowed=("mortgage", "consumer", "car", "student")),
            _c("principal", DEC),
            _c("outstanding", DEC),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
            _c("in_default", BOOL),
        ),
        key=("loan_no",),
        description="Loans of the bank.",
    ),
    Table(
        "bank",
        "customer_roles",
        (
            _c("agreement_no"),
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("role", allowed=("co_debtor", "guarantor", "guardian")),
            _c("related_customer_no", pattern=r"B[0-9]{8}"),
        ),
        key=("agreement_no", "customer_no", "role"),
        description="Co-debtor, guarantor and guardian roles on agreements.",
    ),
    Table(
        "bank",
        "digital_logins",
        (
            _c("customer_no", pattern=r"B[0-9]{8}"),
            _c("login_date", DATE),
            _c("channel", allowed=("online_bank", "mobile_app")),
            _c("login_count", INT),
        ),
        key=("customer_no", "login_date", "channel"),
        description="Daily login counts per channel.",
    ),
    # --- insurance: Fjordbank Forsikring AS ----------------------------------------------------
    Table(
        "insurance",
        "policies",
        (
            _c("policy_no"),
            _c("insurance_customer_no"),
            _c("national_id", NID),
            _c(
                "product_code",
                allowed=("life", "disability", "health", "home", "car", "travel"),
            ),
            _c("annual_premium", DEC),
            _c("start_date", DATE),
            _c("end_date", DATE, nullable=True),
        ),
        key=("policy_no",),
        description="Personal insurance policies.",
    ),
    # --- pension: Fjordbank Pensjon AS ---------------------------------------------------------
    Table(
        "pension",
        "agreements",
        (
            _c("agreement_no"),
            _c("pension_customer_no"),
            _c("national_id", NID),
            _c(
                "product_code",
                allowed=("ips", "employer_defined_contribution", "private_pension"),
            ),
            _c("balance", DEC),
            _c("start_date", DATE),
            _c("end_date", DATE, nullable=True),
        ),
        key=("agreement_no",),
        description="Pension agreements.",
    ),
    # --- markets: Fjordbank Markets ------------------------------------------------------------
    Table(
        "markets",
        "securities_accounts",
        (
            _c("custody_account_no"),
            _c("national_id", NID),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
        ),
        key=("custody_account_no",),
        description="Securities custody accounts.",
    ),
    Table(
        "markets",
        "securities_holdings",
        (
            _c("custody_account_no"),
            _c("isin", pattern=r"[A-Z]{2}[A-Z0-9]{9}[0-9]"),
            _c("as_of_date", DATE),
            _c("national_id", NID),
            _c("instrument_name", max_length=200),
            _c("quantity", DEC),
            _c("market_value", DEC),
        ),
        key=("custody_account_no", "isin", "as_of_date"),
        description="Securities holdings per custody account and day.",
    ),
    # --- asset_management: Fjordbank Asset Management AS ---------------------------------------
    Table(
        "asset_management",
        "fund_holdings",
        (
            _c("fund_account_no"),
            _c("fund_code"),
            _c("as_of_date", DATE),
            _c("national_id", NID),
            _c("fund_name", max_length=200),
            _c("units", DEC),
            _c("market_value", DEC),
        ),
        key=("fund_account_no", "fund_code", "as_of_date"),
        description="Fund holdings per fund account and day.",
    ),
    # --- privacy: the group's privacy settings (append-only event logs) ------------------------
    Table(
        "privacy",
        "group_sharing_consents",
        (
            _c("national_id", NID),
            _c("event_time", TS),
            _c("consent", allowed=("granted", "withdrawn")),
            _c("channel", allowed=_CHANNELS),
        ),
        key=("national_id", "event_time"),
        description="Consent to group-internal sharing; no event means not consented.",
        privacy_events=PrivacyEvents("consent", ("granted",)),  # a withdrawal restricts
    ),
    Table(
        "privacy",
        "objections",
        (
            _c("national_id", NID),
            _c(
                "scope",
                allowed=(
                    "direct_marketing",
                    "profiling",
                    "statistics",
                    "social_matching",
                    "model_development",
                ),
            ),
            _c("event_time", TS),
            _c("action", allowed=("object", "withdraw")),
        ),
        key=("national_id", "scope", "event_time"),
        description="Objections to processing per scope, and their withdrawals.",
        privacy_events=PrivacyEvents("action", ("withdraw",)),  # an objection restricts
    ),
    Table(
        "privacy",
        "cookie_consents",
        (
            _c("visitor_id"),
            _c("event_time", TS),
            _c("marketing_cookies", BOOL),
        ),
        key=("visitor_id", "event_time"),
        description="Marketing-cookie consents of website and app visitors.",
        # a refusal of marketing cookies restricts (it overrides an earlier acceptance)
        privacy_events=PrivacyEvents("marketing_cookies", ("true",)),
    ),
    Table(
        "privacy",
        "erasure_requests",
        (
            _c("request_id"),
            _c("national_id", NID),
            _c("received_at", TS),
        ),
        key=("request_id",),
        description="Erasure requests (GDPR Art. 17) customer service has accepted.",
        # every request restricts, and it governs all data of the person: the run stops
        privacy_events=PrivacyEvents(None, stop_run=True),
    ),
    # --- web: the group's websites and apps ----------------------------------------------------
    Table(
        "web",
        "page_views",
        (
            _c("view_id"),
            _c("visitor_id"),
            _c("national_id", NID, nullable=True),
            _c("ip_address", max_length=45),
            _c("page_path", max_length=2048),
            _c("viewed_at", TS),
        ),
        key=("view_id",),
        description="Page views; national_id only when the visitor was logged in.",
    ),
    # --- risk: the bank's credit and fraud units -----------------------------------------------
    Table(
        "risk",
        "default_cases",
        (
            _c("case_no"),
            _c("national_id", NID),
            _c("loan_no"),
            _c("defaulted_amount", DEC),
            _c("loss_amount", DEC, nullable=True),
            _c("cause", max_length=500),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
        ),
        key=("case_no",),
        description="Default cases, kept 13 years for legal claims.",
    ),
    Table(
        "risk",
        "fraud_cases",
        (
            _c("case_no"),
            _c("national_id", NID),
            _c("category"),
            _c("opened_on", DATE),
            _c("closed_on", DATE, nullable=True),
        ),
        key=("case_no",),
        description="Fraud cases, kept 10 years.",
    ),
)

CONTRACT: dict[str, dict[str, Table]] = {}
for _t in TABLES:
    CONTRACT.setdefault(_t.source, {})[_t.name] = _t

SOURCES: tuple[str, ...] = tuple(CONTRACT)

# Which group company owns each source (Dagster owners, OpenLineage ownership).
COMPANIES: dict[str, str] = {
    "bank": "Fjordbank ASA",
    "insurance": "Fjordbank Forsikring AS",
    "pension": "Fjordbank Pensjon AS",
    "markets": "Fjordbank Markets",
    "asset_management": "Fjordbank Asset Management AS",
    "privacy": "Fjordbank ASA",
    "web": "Fjordbank ASA",
    "risk": "Fjordbank ASA",
}


def table(source: str, name: str) -> Table:
    """The contract of one landing table; a one-line error for an unknown one."""
    try:
        return CONTRACT[source][name]
    except KeyError:
        known = ", ".join(f"{t.source}/{t.name}" for t in TABLES)
        raise KeyError(
            f"no landing table {source}/{name} in the contract (known: {known})"
        ) from None
