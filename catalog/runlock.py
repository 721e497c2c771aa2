"""One writer of the warehouse at a time: an OS file lock beside the warehouse.

DuckDB lets one process write a database file; a second writer fails at once ("Could not set
lock on file ... Conflicting lock is held"). Every run that writes the warehouse therefore
holds ``<warehouse>.writer.lock`` for its whole duration: ``fjordbank run`` and ``fjordbank
sweep --apply`` around their work, and a Dagster run launched by the UI or the schedule while
its :class:`~dagster_project.resources.Warehouse` resource is set up (the run's whole
execution, with the in-process executor). A second writer waits, printing who holds the lock,
or with ``wait=False`` stops with :class:`WarehouseBusy`.

The lock is an OS lock (``flock``, through the ``filelock`` library): the kernel releases it
when its process ends, however it ends (``kill -9`` included), so a dead holder never blocks.
Who holds it (pid, host, command, since when) is written beside it, in
``<warehouse>.writer.json``, for the waiting message only; it is never trusted for exclusion.

Within one process the lock is re-entrant: the ``fjordbank run`` command holds it, and the
Dagster run it executes in-process finds it held by its own process and goes on.

>>> import tempfile
>>> wh = Path(tempfile.mkdtemp()) / "warehouse.duckdb"
>>> with warehouse_lock(wh, "doctest"):
...     holder_of(wh).command
'doctest'
>>> holder_of(wh) is None
True
>>> import shutil; shutil.rmtree(wh.parent)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

# How often a waiting writer looks again (seconds); the OS lock itself is tried each time.
POLL_SECONDS = 1.0

_held: dict[str, int] = {}  # lock path -> depth, for the locks this process holds
_held_guard = threading.Lock()


class WarehouseBusy(Exception):
    """Another process holds the warehouse and the caller asked not to wait."""


class WarehouseUnwritable(Exception):
    """The lock cannot be created beside the warehouse (read-only place, no space)."""


@dataclass(frozen=True)
class Holder:
    """Who holds the warehouse, as the holder wrote it."""

    pid: int
    host: str
    command: str
    since: str  # ISO 8601, local time with offset

    def describe(self) -> str:
        """``held by pid N (command) since HH:MM:SS``; the host when it is another one, and a
        note when that pid is no longer running here (a process it started still holds it)."""
        try:
            clock = dt.datetime.fromisoformat(self.since).strftime("%H:%M:%S")
        except ValueError:
            clock = self.since
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        gone = "" if where or process_alive(self.pid) else ", no longer running"
        return f"held by pid {self.pid} ({self.command}{gone}) since {clock}{where}"


def lock_path(warehouse: Path) -> Path:
    """The OS lock file beside the warehouse."""
    return warehouse.with_name(warehouse.name + ".writer.lock")


def holder_path(warehouse: Path) -> Path:
    """The holder's description beside the warehouse."""
    return warehouse.with_name(warehouse.name + ".writer.json")


def holder_of(warehouse: Path) -> Holder | None:
    """The holder as written beside the warehouse, or None (free, or not yet written)."""
    try:
        raw = json.loads(holder_path(warehouse).read_text())
        return Holder(int(raw["pid"]), str(raw["host"]), str(raw["command"]), str(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def held_by_this_process(warehouse: Path) -> bool:
    """True while this process holds the warehouse's lock."""
    with _held_guard:
        return _held.get(str(lock_path(warehouse).resolve()), 0) > 0


def process_alive(pid: int) -> bool:
    """True when a process with this pid runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _busy_line(warehouse: Path) -> str:
    holder = holder_of(warehouse)
    return holder.describe() if holder else "held by another process"


def _write_holder(warehouse: Path, command: str) -> None:
    holder = Holder(
        pid=os.getpid(),
        host=socket.gethostname(),
        command=command,
        since=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    )
    target = holder_path(warehouse)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(holder)) + "\n")
    os.replace(tmp, target)


def _unwritable(where: Path, exc: OSError) -> WarehouseUnwritable:
    reason = exc.strerror or str(exc)
    return WarehouseUnwritable(
        f"cannot write beside the warehouse in {where}: {reason}; make that folder writable "
        "(or point FJORDBANK_DATA_DIR / FJORDBANK_WAREHOUSE at a writable place) and run again"
    )


@contextmanager
def warehouse_lock(
    warehouse: Path,
    command: str,
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    poll: float = POLL_SECONDS,
) -> Iterator[None]:
    """Hold the warehouse's writer lock for the block.

    When another process holds it: with ``wait``, call ``on_wait`` with ``waiting for the
    warehouse: held by pid N (command) since HH:MM:SS`` (again whenever the holder changes) and
    wait until it is free; without, raise :class:`WarehouseBusy` with that holder's line.
    Raises :class:`WarehouseUnwritable` when the lock file cannot be created there.
    """
    path = lock_path(warehouse)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(path.parent, exc) from None
    key = str(path.resolve())
    with _held_guard:
        if _held.get(key, 0) > 0:  # re-entrant within this process
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return

    lock = FileLock(path, thread_local=False)
    told = None
    try:
        while True:
            try:
                lock.acquire(timeout=0 if told is None else poll)
                break
            except Timeout:
                line = _busy_line(warehouse)
                if not wait:
                    raise WarehouseBusy(line) from None
                if line != told and on_wait is not None:
                    on_wait(f"waiting for the warehouse: {line}")
                told = line
    except OSError as exc:
        raise _unwritable(path.parent, exc) from None
    try:
        try:
            _write_holder(warehouse, command)
        except OSError as exc:
            raise _unwritable(path.parent, exc) from None
        if told is not None and on_wait is not None:
            on_wait("the warehouse is free: going on")
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)
            holder_path(warehouse).unlink(missing_ok=True)
    finally:
        lock.release()
