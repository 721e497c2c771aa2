"""Every stored table's retention, the column it runs from, and its expiry predicate as SQL.

One source of truth: the dbt source tables declare ``retention`` (ISO 8601) and
``retention_from`` in their privacy meta (``dbt/dbt_project.yml``); what is stored but not
rebuilt from the sources (the quarantine, the OpenLineage files, Dagster's run storage) is
declared in ``catalog/stores.yml``. The sweep, ``catalog retention`` and the record of
processing all read :func:`load_declarations`.

``retention_from`` is one of:

- a date or timestamp column of the table: the period runs from its value; a row whose value
  is null (a relationship, agreement or case still running) never expires;
- ``delivery``: the delivery date (``_delivery_date``; for the quarantine, the date in the
  delivery file's name; for the file quarantine, the date in the set-aside file's name, else
  the day it was set aside: :func:`catalog.file_quarantine.retention_start`);
- ``superseded``: for append-only event logs. An event expires only once a later event of the
  same ``superseded_within`` key (e.g. person and scope) replaced it, counted from that later
  event's ``event_time``; the event in force (the latest for its key) never expires, however
  old: an objection from 11 years ago still binds. Events tied on ``event_time`` do not
  supersede each other.

A row is expired on ``today`` when ``from + retention <= today`` (dates; a timestamp is taken
as its date). Declarations are validated strictly: a missing or unknown key or column raises
:class:`RetentionError`, one line naming the table and the key.

>>> d = Declaration("raw_web.page_views", "web", "page_views", "P1Y", "viewed_at",
...                 relation='"raw_web"."page_views"')
>>> d.expired_sql(dt.date(2026, 12, 6))
'coalesce(cast(t."viewed_at" as date) + INTERVAL \\'1 years\\' <= DATE \\'2026-12-06\\', false)'
>>> interval_sql("P1Y6M"), interval_sql("P2W")
("INTERVAL '1 years 6 months'", "INTERVAL '14 days'")
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STORES_PATH = Path(__file__).resolve().parent.parent / "stores.yml"
QUARANTINE = "quarantine.rejected_rows"
# The set-aside delivery files (catalog/file_quarantine.py), a folder, not a table.
FILE_QUARANTINE = "quarantine.files"
DELIVERY = "delivery"
SUPERSEDED = "superseded"
DELIVERY_COLUMN = "_delivery_date"
EVENT_TIME = "event_time"
# The delivery date in a quarantine row's ``file`` (<source>/<table>/<YYYY-MM-DD>.csv).
QUARANTINE_DELIVERY_SQL = (
    r"try_cast(nullif(regexp_extract({q}.file, '(\d{{4}}-\d{{2}}-\d{{2}})\.csv$', 1), '') "
    "as date)"
)
_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?")
_SOURCE_KEYS = frozenset({"retention", "retention_from", "superseded_within"})
_STORE_KEYS = frozenset({"description", "personal_data", "retention", "retention_from"})


class RetentionError(ValueError):
    """A retention declaration that is missing or wrong: one line naming the table and key."""


@dataclass(frozen=True)
class Declaration:
    """One stored table's retention.

    ``table`` is the name the reports use (``raw_<source>.<table>``, ``quarantine.rejected_rows``,
    or a store's key); ``relation`` the quoted warehouse relation (None for stores outside the
    warehouse); ``source``/``name`` the dbt source and table (None for stores).
    ``retention`` is None only for a store that holds no personal data.
    """

    table: str
    source: str | None
    name: str | None
    retention: str | None
    retention_from: str | None
    relation: str | None = None
    superseded_within: tuple[str, ...] = ()
    personal_data: bool = True
    description: str = ""

    @property
    def kind(self) -> str:
        """``source`` (a raw table and its landing files), ``quarantine``, ``file_quarantine``
        (the set-aside delivery files) or ``store``."""
        if self.source is not None:
            return "source"
        if self.table == FILE_QUARANTINE:
            return "file_quarantine"
        return "quarantine" if self.table == QUARANTINE else "store"

    def from_sql(self, alias: str = "t") -> str:
        """SQL: the value the period runs from, for a row ``alias`` of :attr:`relation`."""
        if self.kind == "quarantine":
            return QUARANTINE_DELIVERY_SQL.format(q=alias)
        if self.retention_from == DELIVERY:
            return f"{alias}.{_ident(DELIVERY_COLUMN)}"
        if self.retention_from == SUPERSEDED:
            same = " and ".join(
                f"n.{_ident(c)} = {alias}.{_ident(c)}" for c in self.superseded_within
            )
            time = _ident(EVENT_TIME)
            return (
                f"(select min(n.{time}) from {self.relation} n where {same} "
                f"and n.{time} > {alias}.{time})"
            )
        return f"{alias}.{_ident(self.retention_from or '')}"

    def expired_sql(self, today: dt.date, alias: str = "t") -> str:
        """SQL predicate: the row ``alias`` has expired on ``today`` (never true for a null
        ``from`` value, nor for a store without retention)."""
        if not self.retention:
            return "false"
        return (
            f"coalesce(cast({self.from_sql(alias)} as date) + {interval_sql(self.retention)} "
            f"<= DATE '{today.isoformat()}', false)"
        )


def interval_sql(iso: str) -> str:
    """An ISO 8601 duration (years, months, weeks, days) as a DuckDB interval literal."""
    m = _DURATION.fullmatch(iso)
    if not m or not any(m.groups()):
        raise ValueError(f"{iso!r} is not an ISO 8601 duration of years, months, weeks or days")
    years, months, weeks, days = (int(g or 0) for g in m.groups())
    days += 7 * weeks
    parts = [f"{n} {unit}" for n, unit in ((years, "years"), (months, "months"), (days, "days"))]
    return "INTERVAL '" + " ".join(p for p in parts if not p.startswith("0 ")) + "'"


def load_declarations(manifest: Any, stores_path: Path | None = None) -> list[Declaration]:
    """Every source table of ``manifest`` (a ``catalog.manifest.Manifest``) and every store of
    ``stores_path`` (default ``catalog/stores.yml``), sources first, by table name."""
    sources = sorted((_source_declaration(n) for n in manifest.sources), key=lambda d: d.table)
    return [*sources, *_store_declarations(stores_path or STORES_PATH)]


def source_declarations(declarations: Iterable[Declaration]) -> list[Declaration]:
    return [d for d in declarations if d.kind == "source"]


def quarantine_declaration(declarations: Iterable[Declaration]) -> Declaration:
    for d in declarations:
        if d.kind == "quarantine":
            return d
    raise RetentionError(f"stores: {QUARANTINE} has no retention declaration; declare it")


def file_quarantine_declaration(declarations: Iterable[Declaration]) -> Declaration:
    for d in declarations:
        if d.kind == "file_quarantine":
            return d
    raise RetentionError(f"stores: {FILE_QUARANTINE} has no retention declaration; declare it")


def _source_declaration(node: Any) -> Declaration:
    label = f"source {node.source_name}.{node.name}"
    privacy = (node.meta or {}).get("privacy")
    if not isinstance(privacy, Mapping):
        raise RetentionError(f"{label}: no privacy meta; declare retention and retention_from")
    columns = {str(c.name).lower() for c in node.columns}
    retention = _retention(label, privacy.get("retention"))
    start = privacy.get("retention_from")
    if not isinstance(start, str) or not start.strip():
        raise RetentionError(
            f"{label}: retention_from is missing; declare the column its retention runs from "
            f"(one of its date columns, '{DELIVERY}' or '{SUPERSEDED}')"
        )
    start = start.strip()
    within: tuple[str, ...] = ()
    if start == SUPERSEDED:
        raw = privacy.get("superseded_within")
        if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
            raise RetentionError(
                f"{label}: superseded_within must list the columns an event supersedes "
                "within (e.g. [national_id, scope])"
            )
        within = tuple(c.lower() for c in raw)
        for col in (*within, EVENT_TIME):
            if col not in columns:
                raise RetentionError(
                    f"{label}: superseded_within/event_time names {col!r}, not a column of the "
                    "table; fix the declaration"
                )
    elif start == DELIVERY:
        pass  # every raw table has _delivery_date (the ingest adds it), declared or not
    elif start.lower() not in columns:
        raise RetentionError(
            f"{label}: retention_from {start!r} is not a column of the table; name one of its "
            f"columns, '{DELIVERY}' or '{SUPERSEDED}'"
        )
    elif "superseded_within" in privacy:
        raise RetentionError(f"{label}: superseded_within is set but retention_from is {start!r}")
    schema = node.schema or f"raw_{node.source_name}"
    identifier = node.identifier or node.name
    return Declaration(
        table=f"{schema}.{identifier}",
        source=node.source_name,
        name=node.name,
        retention=retention,
        retention_from=start.lower() if start not in (DELIVERY, SUPERSEDED) else start,
        relation=f"{_ident(schema)}.{_ident(identifier)}",
        superseded_within=within,
        description=node.description or "",
    )


def _store_declarations(path: Path) -> list[Declaration]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RetentionError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from None
    stores = data.get("stores") if isinstance(data, Mapping) else None
    if not isinstance(stores, Mapping):
        raise RetentionError(f"{path}: expected a mapping 'stores: {{name: declaration}}'")
    out = []
    for name, decl in stores.items():
        label = f"{path.name}: store {name}"
        if not isinstance(decl, Mapping):
            raise RetentionError(f"{label}: the declaration must be a mapping")
        unknown = sorted(set(decl) - _STORE_KEYS)
        if unknown:
            raise RetentionError(f"{label}: unknown key {unknown[0]!r}; allowed: "
                                 f"{', '.join(sorted(_STORE_KEYS))}")  # fmt: skip
        personal = decl.get("personal_data")
        if not isinstance(personal, bool):
            raise RetentionError(f"{label}: personal_data must be true or false")
        if not personal:
            if "retention" in decl or "retention_from" in decl:
                raise RetentionError(f"{label}: retention set on a store without personal data")
            out.append(Declaration(str(name), None, None, None, None, personal_data=False,
                                   description=str(decl.get("description") or "")))  # fmt: skip
            continue
        if name not in (QUARANTINE, FILE_QUARANTINE):
            raise RetentionError(
                f"{label}: the sweep cannot enforce a retention on this store; only "
                f"{QUARANTINE} and {FILE_QUARANTINE} may hold personal data"
            )
        retention = _retention(label, decl.get("retention"))
        if decl.get("retention_from") != DELIVERY:
            raise RetentionError(f"{label}: retention_from must be '{DELIVERY}'")
        out.append(
            Declaration(
                str(name),
                None,
                None,
                retention,
                DELIVERY,
                relation=QUARANTINE if name == QUARANTINE else None,
                description=str(decl.get("description") or ""),
            )
        )
    for required in (QUARANTINE, FILE_QUARANTINE):
        if not any(d.table == required for d in out):
            raise RetentionError(f"{path}: store {required} is not declared; declare its retention")
    return out


def _retention(label: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RetentionError(f"{label}: retention is missing; declare an ISO 8601 duration")
    try:
        interval_sql(value.strip())
    except ValueError as e:
        raise RetentionError(f"{label}: retention {e}") from None
    return value.strip()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
