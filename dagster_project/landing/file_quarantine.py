"""The file quarantine: delivery files of ordinary tables that cannot be read, set aside.

A delivery file that cannot be read at all (NUL bytes, not UTF-8, no header, a foreign header,
a name that is not a delivery date ...) would stop the whole group's build. For an ordinary
table (not a privacy event log, see :class:`~contract.PrivacyEvents`) the ingest moves it,
bytes unchanged, to ``<folder>/<source>/<table>/<file name>`` (the folder is
``Settings.file_quarantine_dir``, ``<data dir>/quarantine/files``), with a small JSON beside it,
``<file name>.json``: the reason, when it was set aside, its SHA-256, its size and the path it
was delivered at. The table is then loaded from its other deliveries.

:func:`set_aside_files` lists what the folder holds, for the run summary and the ingest
asset's check. A file stays there until someone deals with it: fix it and deliver it again
under ``<landing>/<source>/<table>/``, then delete the quarantined copy and its JSON.

>>> import tempfile
>>> tmp = Path(tempfile.mkdtemp())
>>> bad = tmp / "landing" / "bank" / "cards" / "2024-03-01.csv"
>>> bad.parent.mkdir(parents=True)
>>> _ = bad.write_bytes(b"card_ref\\x00")
>>> f = set_aside(bad, tmp / "q", "bank", "cards", "contains NUL bytes; deliver UTF-8 CSV")
>>> bad.exists(), f.file.read_bytes(), f.reason
(False, b'card_ref\\x00', 'contains NUL bytes; deliver UTF-8 CSV')
>>> [(g.source, g.table, g.file.name) for g in set_aside_files(tmp / "q")]
[('bank', 'cards', '2024-03-01.csv')]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

_SUFFIX = ".json"


@dataclass(frozen=True)
class SetAsideFile:
    """One delivery file in the file quarantine, as its JSON describes it."""

    source: str
    table: str
    file: Path  # where it is now
    original: str  # the path it was delivered at
    reason: str  # ``<what is wrong>; <what to do>``
    set_aside_at: str  # ISO 8601 UTC
    sha256: str
    size: int

    def to_text(self) -> str:
        """One line for a log or a run summary."""
        return f"{self.original}: set aside to {self.file} ({self.reason})"


def set_aside(path: Path, folder: Path, source: str, table: str, reason: str) -> SetAsideFile:
    """Move the delivery file ``path`` of ``source/table`` into the file quarantine ``folder``.

    The JSON is written first, then the file is moved (a rename on one file system), so a crash
    in between leaves the file where it was, to be set aside again by the next run. A file of the
    same name already held there with other bytes is kept: the newcomer gets the time it was set
    aside in its name.
    """
    path = Path(path)
    sha, size = _sha256(path)
    target_dir = Path(folder) / source / table
    target_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    target = target_dir / path.name
    if target.exists() and _sha256(target)[0] != sha:
        target = target_dir / f"{path.stem}.{now:%Y%m%dT%H%M%S%fZ}{path.suffix}"
    entry = SetAsideFile(
        source=source,
        table=table,
        file=target,
        original=str(path),
        reason=reason,
        set_aside_at=now.isoformat(timespec="seconds"),
        sha256=sha,
        size=size,
    )
    meta = _meta_path(target)
    tmp = meta.with_name(meta.name + ".tmp")
    tmp.write_text(json.dumps(_to_json(entry), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta)
    shutil.move(path, target)
    return entry


def set_aside_files(
    folder: Path, source: str | None = None, table: str | None = None
) -> list[SetAsideFile]:
    """The files in the file quarantine ``folder`` (all, or one source / table), oldest first.

    A file without its JSON (set aside by hand) is listed with the reason unknown.
    """
    base = Path(folder)
    if source is not None:
        base = base / source
        if table is not None:
            base = base / table
    if not base.is_dir():
        return []
    found = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        if path.name.endswith((_SUFFIX, _SUFFIX + ".tmp")):
            continue
        rel = path.relative_to(folder).parts
        if len(rel) != 3:
            continue  # not <source>/<table>/<file>
        found.append(_read_entry(path, rel[0], rel[1]))
    return sorted(found, key=lambda f: (f.set_aside_at, str(f.file)))


def _read_entry(path: Path, source: str, table: str) -> SetAsideFile:
    meta = _meta_path(path)
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    sha, size = (data.get("sha256"), data.get("size")) if data else _sha256(path)
    return SetAsideFile(
        source=source,
        table=table,
        file=path,
        original=str(data.get("original_path", "unknown")),
        reason=str(data.get("reason", "reason unknown (no JSON beside the file)")),
        set_aside_at=str(data.get("set_aside_at", "")),
        sha256=str(sha),
        size=int(size or 0),
    )


def _to_json(entry: SetAsideFile) -> dict:
    return {
        "source": entry.source,
        "table": entry.table,
        "original_path": entry.original,
        "reason": entry.reason,
        "set_aside_at": entry.set_aside_at,
        "sha256": entry.sha256,
        "size": entry.size,
    }


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + _SUFFIX)


def _sha256(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
