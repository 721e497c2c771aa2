"""The erasure receipt: proof that an erasure was carried out, without the person's identity.

It holds the keyed hash of the identity number (the ``person_id``: only the holder of the
pseudonymisation key can tell whose it is, and only by hashing the number again), the request id,
when the request was received and carried out, the rows removed per table and place (landing files,
raw table, quarantine, and the lines cut out of set-aside delivery files), the rows of derived
tables the next build rebuilds without the person, the rows kept under a legal hold (table, rows,
legal basis, reason, until when), how many identifiers were found and suppressed per kind, and the
other erasure requests of the person it also carried out. It never holds the identity number, a
name, an email, a phone number, a customer number or any other value of the person's rows: counts,
dates and table names only.

Written as ``<receipts dir>/<request id>.json`` (``<request id>.2.json`` ... when the request was
carried out before), aside and renamed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.erasure.errors import ErasureError

RECEIPTS_DIR = Path("privacy") / "erasure" / "receipts"
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PLACES = (
    "landing",
    "raw",
    "quarantine",
    "files_rewritten",
    "set_aside_lines",  # lines cut out of set-aside delivery files (the file quarantine)
    "set_aside_files",
)


@dataclass
class Receipt:
    request_id: str
    keyed_hash: str
    received_at: str
    carried_out_at: str | None
    applied: bool
    removed: dict[str, dict[str, int]]  # source.table -> raw/quarantine/landing/files_rewritten
    derived: dict[str, int]  # derived table -> the person's rows, rebuilt by the next build
    kept: list[dict[str, Any]]  # legal holds: table, place, rows per until, legal basis, reason
    holds: dict[str, dict[str, Any]]  # every declared hold
    identifiers: dict[str, int]  # identifier kind -> values found
    suppressed: dict[str, int]  # identifier domain -> keyed hashes on the suppression list
    requests_covered: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    path: Path | None = None

    @staticmethod
    def check_request_id(request_id: str) -> None:
        if not _REQUEST_ID.fullmatch(request_id):
            raise ErasureError(
                f"request id {request_id!r} is not usable: 1-64 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit"
            )

    @property
    def rows_removed(self) -> int:
        return sum(
            c.get("raw", 0) + c.get("quarantine", 0) + c.get("set_aside_lines", 0)
            for c in self.removed.values()
        )

    @property
    def rows_kept(self) -> int:
        return sum(r["rows"] for k in self.kept for r in k["rows"])

    @property
    def found(self) -> bool:
        """Anything held about the person: rows to remove, derived rows or held rows."""
        return bool(self.rows_removed or self.rows_kept or any(self.derived.values()))

    @property
    def exit_code(self) -> int:
        return 0 if self.found else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "erasure_receipt": "GDPR Art. 17",
            "request_id": self.request_id,
            "keyed_hash": self.keyed_hash,
            "keyed_hash_of": "the national identity number (HMAC-SHA256, the person_id)",
            "received_at": self.received_at,
            "carried_out_at": self.carried_out_at,
            "status": (
                ("erased" if self.applied else "would erase") if self.found else "nothing held"
            ),
            "removed": {
                t: {p: c.get(p, 0) for p in _PLACES} for t, c in sorted(self.removed.items())
            },
            "rows_removed": self.rows_removed,
            "derived": {
                "tables": self.derived,
                "note": "rebuilt from what remains by the next build, without the person",
            },
            "kept": self.kept,
            "rows_kept": self.rows_kept,
            "legal_holds": self.holds,
            "identifiers_found": self.identifiers,
            "suppressed": self.suppressed,
            "requests_covered": self.requests_covered,
            "notes": self.notes,
        }


def render_json(receipt: Receipt) -> str:
    return json.dumps(receipt.to_json(), indent=2, ensure_ascii=False) + "\n"


def render_markdown(receipt: Receipt) -> str:
    d = receipt.to_json()
    lines = [
        f"# Erasure (GDPR Art. 17): {d['status']}",
        "",
        f"- request: `{d['request_id']}`, received {d['received_at']}",
        f"- carried out: {d['carried_out_at'] or 'not yet (dry run; --apply carries it out)'}",
        f"- person (keyed hash of the identity number): `{d['keyed_hash']}`",
        "",
        "## Removed" if receipt.applied else "## Would be removed",
        "",
        "| table | landing records | raw rows | quarantine rows | files rewritten "
        "| set-aside lines (files) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t, c in d["removed"].items():
        lines.append(
            f"| {t} | {c['landing']} | {c['raw']} | {c['quarantine']} | {c['files_rewritten']} "
            f"| {c['set_aside_lines']} ({c['set_aside_files']}) |"
        )
    lines += ["", "## Derived tables (rebuilt by the next build without the person)", ""]
    lines += [f"- {t}: {n} rows" for t, n in d["derived"]["tables"].items()] or ["- none"]
    lines += ["", "## Kept under a legal hold", ""]
    for k in d["kept"]:
        for r in k["rows"]:
            until = r["until"] or r.get("note") or k.get("note", "")
            lines.append(
                f"- {k['table']} ({k['place']}): {r['rows']} rows until {until}; "
                f"{k['legal_basis']}: {k['reason']} ({k['retention']} from {k['retention_from']})"
            )
    if not d["kept"]:
        lines.append("- nothing")
    lines += ["", "## Identifiers", ""]
    lines += [f"- {k}: {n} found" for k, n in d["identifiers_found"].items()] or ["- none"]
    if d["requests_covered"]:
        covered = ", ".join(d["requests_covered"])
        lines += ["", f"Other requests of the person carried out: {covered}"]
    if d["notes"]:
        lines += ["", "## Notes", "", *[f"- {n}" for n in d["notes"]]]
    return "\n".join(lines) + "\n"


def write_receipt(receipt: Receipt, receipts_dir: Path) -> Path:
    """Write the receipt as JSON under ``receipts_dir`` (never over an earlier one)."""
    receipts_dir = Path(receipts_dir)
    receipts_dir.mkdir(parents=True, exist_ok=True)
    path, n = receipts_dir / f"{receipt.request_id}.json", 1
    while path.exists():
        n += 1
        path = receipts_dir / f"{receipt.request_id}.{n}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render_json(receipt))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
