"""The suppression list: keyed hashes of erased persons' identifiers, applied at ingest.

An erasure removes the person from the landing files, but a company may deliver them again in
a later file (a full extract, a correction). The ingest drops those rows: for each landing
table the list names the columns that hold identifiers and the identifier domain of each
(``national:...`` for identity numbers, ``source:...:<company>`` for a company's customer
numbers, ``group:...`` for cookie ids), and per domain the keyed hashes (HMAC-SHA256 under the
pseudonymisation key, :mod:`catalog.pseudonym`) of the erased values. The list never holds an
identifier itself; a person's identity number is stored as its keyed hash, the ``person_id``.

Tables under a legal hold (:mod:`.holds`) and the erasure requests are never suppressed: a held
row must still be kept when re-delivered (the retention sweep removes it when its period ends),
and an erasure request must never be lost.

The file is ``<data dir>/privacy/erasure/suppressed.json``, written aside and renamed.

>>> s = Suppression()
>>> s.add({"bank.customers": {"national_id": "national:nid"}}, {"national:nid": {"ab12"}})
>>> s.columns_for("bank", "customers")
{'national_id': 'national:nid'}
>>> s.matches("national:nid", "ab12"), s.matches("national:nid", "cd34")
(True, False)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.erasure.errors import ErasureError

if TYPE_CHECKING:
    import duckdb

SUPPRESSION_FILE = Path("privacy") / "erasure" / "suppressed.json"
_VERSION = 1


def suppression_path(data_dir: Path) -> Path:
    """Where the suppression list of a data dir is kept."""
    return Path(data_dir) / SUPPRESSION_FILE


@dataclass
class Suppression:
    """``columns``: ``source.table`` -> {column: domain}; ``hashes``: domain -> keyed hashes."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    hashes: dict[str, set[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.hashes.values())

    def add(self, columns: Mapping[str, Mapping[str, str]], hashes: Mapping[str, set[str]]):
        """Add identifier columns and keyed hashes (a union with what is there)."""
        for table, cols in columns.items():
            self.columns.setdefault(table, {}).update(cols)
        for domain, values in hashes.items():
            self.hashes.setdefault(domain, set()).update(values)

    def columns_for(self, source: str, table: str) -> dict[str, str]:
        """The columns of a landing table to check, with their domains ({} = not suppressed)."""
        cols = self.columns.get(f"{source}.{table}", {})
        return {c: d for c, d in cols.items() if self.hashes.get(d)}

    def matches(self, domain: str, keyed_hash: str) -> bool:
        return keyed_hash in self.hashes.get(domain, ())

    def to_json(self) -> dict[str, Any]:
        return {
            "suppression_list": "keyed hashes (HMAC-SHA256) of erased persons' identifiers",
            "version": _VERSION,
            "columns": {t: dict(sorted(c.items())) for t, c in sorted(self.columns.items())},
            "hashes": {d: sorted(v) for d, v in sorted(self.hashes.items())},
        }

    @classmethod
    def load(cls, path: Path) -> Suppression:
        """The list at ``path``; an empty one when there is no file. :class:`ErasureError` for
        a file that cannot be read (fail closed: ingest must not load erased persons)."""
        path = Path(path)
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != _VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {_VERSION}")
            columns = {
                str(t): {str(c): str(d) for c, d in cols.items()}
                for t, cols in data["columns"].items()
            }
            hashes = {str(d): {str(h) for h in v} for d, v in data["hashes"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ErasureError(
                f"{path}: the erasure suppression list cannot be read ({e}); restore it from "
                "backup before any ingest (erased persons would come back)"
            ) from None
        return cls(columns, hashes)

    def save(self, path: Path) -> None:
        """Write the list atomically (aside, flushed, renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


@dataclass
class SuppressionMatcher:
    """A loaded suppression list with the key its hashes were made under: what ingest uses."""

    suppression: Suppression
    key: bytes = field(repr=False)

    def columns_for(self, source: str, table: str) -> dict[str, str]:
        return self.suppression.columns_for(source, table)

    def erased_values(
        self,
        conn: duckdb.DuckDBPyConnection,
        domain: str,
        query: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The values of ``query`` (one VARCHAR column) that belong to an erased person of
        ``domain``, sorted. DuckDB hashes every value (:func:`catalog.pseudonym.
        duckdb_keyed_hash`) and joins them with the list's hashes; the key is bound as
        parameters. ``params`` are the query's own (no name may start with ``suppression_``)."""
        from catalog.pseudonym import duckdb_keyed_hash, hmac_pads

        hashes = sorted(self.suppression.hashes.get(domain, ()))
        if not hashes:
            return []
        ipad, opad = hmac_pads(self.key)
        rows = conn.execute(
            f"select distinct v from ({query}) s(v) where v is not null and "
            f"{duckdb_keyed_hash('v', '$suppression_ipad', '$suppression_opad')} "
            "in (select unnest($suppression_hashes)) order by v",
            {
                **(params or {}),
                "suppression_ipad": ipad,
                "suppression_opad": opad,
                "suppression_hashes": hashes,
            },
        ).fetchall()
        return [v for (v,) in rows]


def matcher_for(data_dir: Path) -> SuppressionMatcher | None:
    """The suppression list of a data dir with the pseudonymisation key, for ingest; None when
    nothing was ever erased. Fails closed (:class:`ErasureError`) when the list is there but
    unreadable, or there is no key to hash with."""
    from catalog.pseudonym import PseudonymKeyMissing, pseudonym_key

    suppression = Suppression.load(suppression_path(data_dir))
    if not suppression:
        return None
    try:
        key = pseudonym_key()
    except PseudonymKeyMissing as e:
        raise ErasureError(f"the erasure suppression list needs the key: {e}") from None
    return SuppressionMatcher(suppression, key)
