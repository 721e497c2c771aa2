"""The file quarantine as the data-subject-rights side sees it: set-aside delivery files.

The one home of the file quarantine's layout. The ingest (``dagster_project/landing/load.py``)
moves a delivery file of an ordinary table that cannot be read (NUL bytes, not UTF-8, a foreign
header ...) with :func:`set_aside`, bytes unchanged, to ``<folder>/<source>/<table>/<file
name>`` (``Settings.file_quarantine_dir``), with ``<file name>.json`` beside it: source, table,
reason, set_aside_at, sha256, size, original_path. The table is then loaded from its other
deliveries; a file stays here until someone fixes it and delivers it again (then deletes the
copy and its JSON) or its retention ends. Those files hold whole customer records, so
retention, access and erasure must reach them:

- :func:`set_aside_files` lists the files; :func:`retention_start` is the day a file's
  retention runs from (the delivery date in its name, else the day it was set aside, else, for a
  file set aside by hand without its JSON, the day it was last modified);
- :func:`expired_files` / :func:`delete_files`: the retention sweep's part (the file and its
  JSON deleted);
- :func:`find_lines`: the lines of a file that hold one of a person's identifiers. The files
  cannot be read as CSV, so their bytes are searched line by line (a line is what ends with a
  ``\\n`` byte); NUL bytes are ignored when matching (a UTF-16 file is ASCII interleaved with
  NULs), and an identifier only matches as a whole token (no letter or digit either side), so a
  customer number is not found inside a longer one;
- :func:`remove_lines`: the erasure's part. The matching lines are cut out, every other byte
  kept exactly; the file is written aside, flushed and renamed; its JSON gets the new sha256
  and size and an ``erasures`` entry (when, lines removed: counts, never values).

>>> import tempfile
>>> q = Path(tempfile.mkdtemp())
>>> f = q / "bank" / "customers" / "2024-03-01.csv"
>>> f.parent.mkdir(parents=True)
>>> _ = f.write_bytes(b"nid,name\\n01017012345,Ada\\x00\\n02027054321,Bo\\n")
>>> entry = set_aside_files(q)[0]
>>> find_lines(entry, {"01017012345"}), retention_start(entry) == dt.date(2024, 3, 1)
([2], True)
>>> remove_lines(entry, [2]).file.read_bytes()
b'nid,name\\n02027054321,Bo\\n'
>>> import shutil; shutil.rmtree(q)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

SUFFIX = ".json"
# <YYYY-MM-DD>.csv, or <YYYY-MM-DD>.<set-aside time>.csv for a second file of the same name.
_DELIVERY_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.\d{8}T\d{12}Z)?\.csv")
_TOKEN_EDGE = "0-9A-Za-z"


class FileQuarantineError(RuntimeError):
    """A set-aside file could not be read or rewritten; one line saying what to do."""


@dataclass(frozen=True)
class SetAsideFile:
    """One file in the file quarantine and what its JSON says (``meta`` {} without a JSON)."""

    source: str
    table: str
    file: Path
    meta: dict[str, Any]

    @property
    def table_name(self) -> str:
        """``<source>.<table>``."""
        return f"{self.source}.{self.table}"

    @property
    def reason(self) -> str:
        return str(self.meta.get("reason") or "reason unknown (no JSON beside the file)")

    @property
    def set_aside_at(self) -> str | None:
        value = self.meta.get("set_aside_at")
        return str(value) if value else None

    @property
    def original(self) -> str:
        """The path it was delivered at."""
        return str(self.meta.get("original_path") or "unknown")

    @property
    def sha256(self) -> str | None:
        value = self.meta.get("sha256")
        return str(value) if value else None

    @property
    def size(self) -> int | None:
        value = self.meta.get("size")
        return int(value) if isinstance(value, int) else None

    @property
    def meta_path(self) -> Path:
        return meta_path(self.file)

    def to_text(self) -> str:
        """One line for a log or a run summary."""
        return f"{self.original}: set aside to {self.file} ({self.reason})"

    def relative(self, folder: Path) -> str:
        """The file's path inside the folder (``<source>/<table>/<file>``)."""
        return self.file.relative_to(folder).as_posix()


def meta_path(path: Path) -> Path:
    """The JSON beside a set-aside file."""
    return path.with_name(path.name + SUFFIX)


def set_aside(path: Path, folder: Path, source: str, table: str, reason: str) -> SetAsideFile:
    """Move the delivery file ``path`` of ``source/table`` into the file quarantine ``folder``.

    The JSON is written first, then the file is moved (a rename on one file system), so a crash
    in between leaves the file where it was, to be set aside again by the next run. A file of the
    same name already held there with other bytes is kept: the newcomer gets the time it was set
    aside in its name.

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
    >>> import shutil; shutil.rmtree(tmp)
    """
    path = Path(path)
    sha, size = _sha256(path)
    target_dir = Path(folder) / source / table
    target_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    target = target_dir / path.name
    if target.exists() and _sha256(target)[0] != sha:
        target = target_dir / f"{path.stem}.{now:%Y%m%dT%H%M%S%fZ}{path.suffix}"
    meta = {
        "source": source,
        "table": table,
        "original_path": str(path),
        "reason": reason,
        "set_aside_at": now.isoformat(timespec="seconds"),
        "sha256": sha,
        "size": size,
    }
    sidecar = meta_path(target)
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, sidecar)
    shutil.move(path, target)
    return SetAsideFile(source, table, target, meta)


def _sha256(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def set_aside_files(
    folder: Path | None, source: str | None = None, table: str | None = None
) -> list[SetAsideFile]:
    """Every file of the file quarantine ``folder`` (or of one source / table), by path ([]
    when there is no folder).

    Only ``<source>/<table>/<file>`` counts; JSON sidecars, hidden files and ``*.tmp`` are not
    set-aside files. A JSON that cannot be read is taken as missing (the reason then says so).
    """
    if folder is None or not Path(folder).is_dir():
        return []
    folder = Path(folder)
    found = []
    pattern = f"{source or '*'}/{table or '*'}/*"
    for path in sorted(p for p in folder.glob(pattern) if p.is_file()):
        if path.name.startswith(".") or path.name.endswith((SUFFIX, ".tmp")):
            continue
        source, table = path.relative_to(folder).parts[:2]
        try:
            meta = json.loads(meta_path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        found.append(SetAsideFile(source, table, path, meta if isinstance(meta, dict) else {}))
    return found


def retention_start(entry: SetAsideFile) -> dt.date:
    """The day the file's retention runs from: the delivery date in its name; when the name is
    not a date, the day it was set aside (JSON ``set_aside_at``); without either, the day the
    file was last modified (a file set aside by hand)."""
    m = _DELIVERY_NAME.fullmatch(entry.file.name)
    if m:
        try:
            return dt.date.fromisoformat(m.group(1))
        except ValueError:
            pass
    if entry.set_aside_at:
        try:
            return dt.datetime.fromisoformat(entry.set_aside_at).date()
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(entry.file.stat().st_mtime, dt.UTC).date()


def expired_files(
    entries: Sequence[SetAsideFile], interval_sql: str, today: dt.date
) -> list[SetAsideFile]:
    """The files whose retention (a DuckDB interval literal, e.g. ``INTERVAL '90 days'``) has
    run out on ``today``: ``start + retention <= today``, computed by DuckDB as the sweep does
    for the warehouse's tables (month ends alike)."""
    if not entries:
        return []
    starts = [retention_start(e) for e in entries]
    with duckdb.connect(":memory:") as conn:
        ends = conn.execute(
            f"select unnest($starts)::date + {interval_sql}", {"starts": starts}
        ).fetchall()
    return [e for e, (end,) in zip(entries, ends, strict=True) if _as_date(end) <= today]


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def delete_files(entries: Iterable[SetAsideFile]) -> int:
    """Delete each file and its JSON (the file first: a JSON left alone is no personal data).
    Returns how many files were deleted."""
    n = 0
    for e in entries:
        try:
            e.file.unlink(missing_ok=True)
            e.meta_path.unlink(missing_ok=True)
        except OSError as exc:
            raise FileQuarantineError(
                f"{e.file}: cannot delete the expired set-aside file ({exc.strerror}); "
                "check its permissions and sweep again"
            ) from None
        n += 1
    return n


def identifier_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """A regex matching any of ``values`` as a whole token (None for no values)."""
    values = sorted({v for v in values if v}, key=len, reverse=True)
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in values)
    return re.compile(f"(?<![{_TOKEN_EDGE}])(?:{alternatives})(?![{_TOKEN_EDGE}])")


def split_lines(data: bytes) -> list[bytes]:
    """The file's lines, each with its ``\\n`` (the last one may have none); ``b"".join`` of
    them is ``data``."""
    pieces = data.split(b"\n")
    out = [p + b"\n" for p in pieces[:-1]]
    return out + ([pieces[-1]] if pieces[-1] else [])


def _read(entry: SetAsideFile) -> bytes:
    try:
        return entry.file.read_bytes()
    except OSError as exc:
        raise FileQuarantineError(
            f"{entry.file}: cannot read the set-aside file ({exc.strerror}); check its permissions"
        ) from None


def find_lines(entry: SetAsideFile, values: Iterable[str]) -> list[int]:
    """The 1-based lines of the file holding one of ``values`` (see the module doc)."""
    pattern = identifier_pattern(values)
    if pattern is None:
        return []
    return [
        i
        for i, line in enumerate(split_lines(_read(entry)), start=1)
        if pattern.search(line.replace(b"\x00", b"").decode("latin-1"))
    ]


def remove_lines(
    entry: SetAsideFile, lines: Iterable[int], *, now: dt.datetime | None = None
) -> SetAsideFile:
    """Cut ``lines`` (1-based) out of the file, every other byte kept, and update its JSON
    (sha256, size, an ``erasures`` entry with the time and the number of lines removed). The
    file is written aside as ``.<name>.erase-tmp``, flushed and renamed over it."""
    drop = set(lines)
    if not drop:
        return entry
    pieces = split_lines(_read(entry))
    kept = b"".join(p for i, p in enumerate(pieces, start=1) if i not in drop)
    removed = sum(1 for i in range(1, len(pieces) + 1) if i in drop)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    meta = dict(entry.meta)
    meta.update(sha256=hashlib.sha256(kept).hexdigest(), size=len(kept))
    meta["erasures"] = [
        *meta.get("erasures", []),
        {"erased_at": now.isoformat(timespec="seconds"), "lines_removed": removed},
    ]
    try:
        _write_atomic(entry.file, kept)
        _write_atomic(entry.meta_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise FileQuarantineError(
            f"{entry.file}: cannot rewrite the set-aside file ({exc.strerror}); check the "
            "folder's permissions and erase again"
        ) from None
    return SetAsideFile(entry.source, entry.table, entry.file, meta)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.erase-tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
