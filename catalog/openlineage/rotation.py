"""Rotation of an append-only events file (openlineage-python's ``FileTransport`` with
``append: true``), so that ``events.jsonl`` does not grow forever.

The transport itself is unchanged: it opens the file, appends one event and closes it, for every
event. :func:`rotate` runs once when an emitter starts (a Dagster step, a command), before its
first event:

- the file is rotated when it holds ``max_bytes`` or more, or, with ``daily``, when it was last
  written on an earlier day (local time) than today;
- rotating renames it to ``<stem>.<UTC time of its last write>.<suffix>``
  (``events.20261206T051502Z.jsonl``; ``-1``, ``-2``, ... on a clash), and the next event creates
  a new file; only the ``keep`` newest rotated files are kept, the older ones are deleted.

Two processes that emit at once are safe: the check, the rename and the deletions run under an
exclusive lock (``.<name>.lock`` beside the file), so one rotates and the other then finds a new
file; an emitter that is appending while another rotates finishes its write in the renamed file
(a rename keeps open files) and its next event opens the new one. No event is lost or split. A
session that starts under the limit appends all its events, so a file can pass ``max_bytes`` by
one session's events (a dbt build).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from catalog.settings import OpenLineageRotation

__all__ = ["LOCK_TIMEOUT_S", "Rotated", "rotate", "rotated_files"]

LOCK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Rotated:
    """What one :func:`rotate` did: the file it renamed to (None: nothing was due) and the
    rotated files it deleted to keep ``keep``."""

    renamed_to: Path | None
    size: int = 0
    deleted: tuple[Path, ...] = ()


def _pattern(path: Path) -> re.Pattern[str]:
    return re.compile(
        re.escape(path.stem) + r"\.(\d{8}T\d{6}Z)(?:-(\d+))?" + re.escape(path.suffix) + r"$"
    )


def rotated_files(path: str | Path) -> list[Path]:
    """The rotated files of ``path``, oldest first (the live file is not among them).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> for name in ("events.jsonl", "events.20261206T051502Z-1.jsonl", "other.jsonl",
    ...              "events.20261205T051502Z.jsonl", "events.20261206T051502Z.jsonl"):
    ...     _ = (d / name).write_text("{}\\n")
    >>> [p.name[7:] for p in rotated_files(d / "events.jsonl")]
    ['20261205T051502Z.jsonl', '20261206T051502Z.jsonl', '20261206T051502Z-1.jsonl']
    >>> import shutil; shutil.rmtree(d)
    """
    path = Path(path)
    pattern = _pattern(path)
    found = []
    if path.parent.is_dir():
        for child in path.parent.iterdir():
            m = pattern.fullmatch(child.name)
            if m and child.is_file():
                found.append(((m.group(1), int(m.group(2) or 0)), child))
    return [p for _, p in sorted(found)]


def _due(path: Path, policy: OpenLineageRotation, now: dt.datetime) -> int | None:
    """The file's size when it is due for rotation, else None."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if stat.st_size == 0:
        return None
    if policy.max_bytes and stat.st_size >= policy.max_bytes:
        return stat.st_size
    written = dt.datetime.fromtimestamp(stat.st_mtime).date()
    if policy.daily and written < now.date():
        return stat.st_size
    return None


def _target(path: Path) -> Path:
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    base = f"{path.stem}.{written:%Y%m%dT%H%M%SZ}"
    target = path.with_name(base + path.suffix)
    n = 0
    while target.exists():
        n += 1
        target = path.with_name(f"{base}-{n}{path.suffix}")
    return target


def rotate(
    path: str | Path, policy: OpenLineageRotation, *, now: dt.datetime | None = None
) -> Rotated:
    """Rotate ``path`` when it is due (see the module docstring) and keep ``policy.keep``
    rotated files. Raises ``TimeoutError`` when another process holds the lock for longer than
    ``LOCK_TIMEOUT_S``, and ``OSError`` when the folder cannot be written."""
    path = Path(path)
    if policy.keep < 1:
        raise ValueError(f"keep must be at least 1, not {policy.keep}")
    now = now or dt.datetime.now()
    if not path.parent.is_dir():
        return Rotated(None)
    lock = FileLock(path.with_name(f".{path.name}.lock"))
    try:
        with lock.acquire(timeout=LOCK_TIMEOUT_S):
            size = _due(path, policy, now)
            renamed_to = None
            if size is not None:
                renamed_to = _target(path)
                path.rename(renamed_to)
            old = rotated_files(path)
            deleted = tuple(old[: max(0, len(old) - policy.keep)])
            for p in deleted:
                p.unlink(missing_ok=True)
    except Timeout as exc:
        raise TimeoutError(
            f"{lock.lock_file} held by another process for over {LOCK_TIMEOUT_S:g} s"
        ) from exc
    return Rotated(renamed_to, size or 0, deleted)
