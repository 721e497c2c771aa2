"""Legal holds on erasure: which source tables keep a person's rows, why, and until when.

``holds.yml`` names the tables and the legal reason; the period is the table's retention
declaration (:func:`catalog.retention.load_declarations`), the one source of truth the retention
sweep also enforces. A row is held while it has not expired (:meth:`Declaration.expired_sql`);
a row whose period runs from a date still unknown (an open case) is held until that period has
run after the date is set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalog.erasure.errors import ErasureError
from catalog.retention.declarations import (
    DELIVERY,
    SUPERSEDED,
    Declaration,
    interval_sql,
    load_declarations,
)

HOLDS_PATH = Path(__file__).resolve().parent / "holds.yml"


@dataclass(frozen=True)
class Hold:
    """A source table (``source.table``) whose rows an erasure keeps within their retention."""

    table: str
    legal_basis: str
    reason: str
    declaration: Declaration

    @property
    def retention(self) -> str:
        return self.declaration.retention or ""

    @property
    def retention_from(self) -> str:
        return self.declaration.retention_from or ""

    def expired_sql(self, today: dt.date, alias: str = "t") -> str:
        """SQL: the raw row ``alias`` is past its hold on ``today`` (erased, not kept)."""
        return self.declaration.expired_sql(today, alias)

    def until_sql(self, alias: str = "t") -> str:
        """SQL: the last day a raw row ``alias`` is held (NULL while its start is unknown)."""
        start = self.declaration.from_sql(alias)
        return f"cast(cast({start} as date) + {interval_sql(self.retention)} as date)"

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "legal_basis": self.legal_basis,
            "reason": self.reason,
            "retention": self.retention,
            "retention_from": self.retention_from,
        }


def load_holds(manifest: Any, path: Path | None = None) -> dict[str, Hold]:
    """The holds of ``path`` (default ``catalog/erasure/holds.yml``) by ``source.table``, each
    with its table's retention declaration; :class:`ErasureError` (one line) when the file is
    wrong or a table has no usable declaration."""
    path = path or HOLDS_PATH
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ErasureError(
            f"{path}: cannot read the legal holds ({' '.join(str(e).split())})"
        ) from None
    holds = data.get("holds") if isinstance(data, Mapping) else None
    if not isinstance(holds, Mapping):
        raise ErasureError(f"{path}: expected a mapping 'holds: {{source.table: hold}}'")
    declared = {
        f"{d.source}.{d.name}": d for d in load_declarations(manifest) if d.kind == "source"
    }
    out: dict[str, Hold] = {}
    for table, spec in holds.items():
        label = f"{path.name}: {table}"
        if not isinstance(spec, Mapping) or set(spec) != {"legal_basis", "reason"}:
            raise ErasureError(f"{label}: a hold has exactly the keys legal_basis and reason")
        if not all(isinstance(spec[k], str) and spec[k].strip() for k in spec):
            raise ErasureError(f"{label}: legal_basis and reason must be non-empty text")
        decl = declared.get(str(table))
        if decl is None:
            raise ErasureError(
                f"{label}: not a dbt source table with a retention declaration; name one of "
                f"{', '.join(sorted(declared))}"
            )
        if not decl.retention or decl.retention_from in (DELIVERY, SUPERSEDED):
            raise ErasureError(
                f"{label}: a hold runs from a date column of the table, but its retention runs "
                f"from {decl.retention_from!r}; declare a date column as retention_from"
            )
        basis, reason = spec["legal_basis"].strip(), spec["reason"].strip()
        out[str(table)] = Hold(str(table), basis, reason, decl)
    return out
