"""Resources: the DuckDB file warehouse, one writing run at a time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from catalog.runlock import WarehouseUnwritable, warehouse_lock
from catalog.settings import SettingsError, settings
from dagster_project.warehouse_functions import apply_duckdb_settings

# DuckDB's message when another process holds the database file.
_LOCK_CONFLICT = re.compile(r"Could not set lock on file|Conflicting lock", re.IGNORECASE)
_LOCK_PID = re.compile(r"\(PID (\d+)\)")
# What the storage said when it cannot be written, and what to do about it.
_STORAGE_ERRORS = (
    (
        re.compile(r"read-only file system|permission denied", re.IGNORECASE),
        "it cannot be written ({why}); make the file and its folder writable (or point "
        "FJORDBANK_DATA_DIR / FJORDBANK_WAREHOUSE at a writable place) and run again",
    ),
    (
        re.compile(r"no space left on device|disk (is )?full|not enough space", re.IGNORECASE),
        "the disk is full ({why}); free some space there and run again: the run's writes "
        "were rolled back",
    ),
)


class WarehouseError(Exception):
    """The warehouse cannot be used; the message is one line saying what to do."""


def storage_problem(path: str | Path, exc: BaseException) -> str | None:
    """One line for an error of the storage under the warehouse (read-only, full disk), or None
    when ``exc`` is something else.

    >>> storage_problem("/w.duckdb", OSError("IO Error: No space left on device"))[:46]
    'cannot write the warehouse /w.duckdb: the disk'
    >>> storage_problem("/w.duckdb", ValueError("Binder Error: no such column")) is None
    True
    """
    text = " ".join(str(exc).split())
    for pattern, advice in _STORAGE_ERRORS:
        if match := pattern.search(text):
            return f"cannot write the warehouse {path}: " + advice.format(why=match.group(0))
    return None


def connect_waiting(
    path: str | Path,
    *,
    read_only: bool = False,
    wait: float,
    on_wait: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that, while another process holds the file (a ``catalog`` command
    reading it, a DuckDB shell), tries again for up to ``wait`` seconds, telling ``on_wait``
    once; then raises :class:`WarehouseError` naming the holder's pid. A read-only or full
    storage raises :class:`WarehouseError` at once."""
    deadline = time.monotonic() + wait
    delay, told = 0.25, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            text = " ".join(str(exc).split())
            if problem := storage_problem(path, exc):
                raise WarehouseError(problem) from None
            if not _LOCK_CONFLICT.search(text):
                raise
            pid = _LOCK_PID.search(text)
            who = f"process {pid.group(1)}" if pid else "another process"
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"the warehouse {path} stayed locked by {who} for {wait:g} s; close that "
                    "process (a `catalog` command, a DuckDB shell) and run again, or wait longer "
                    "with FJORDBANK_WAREHOUSE_WAIT=<seconds>"
                ) from None
            if not told and on_wait is not None:
                on_wait(f"the warehouse {path} is open in {who}; trying again for up to {wait:g} s")
                told = True
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 5.0)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file warehouse. DuckDB allows one writing process: a run holds the
    warehouse's writer lock (:mod:`catalog.runlock`) from the moment this resource is
    set up until the run ends, waiting with a log line while another run or ``fjordbank run``
    holds it. Connections open, are used and close; one that meets another process's lock on
    the file tries again for ``$FJORDBANK_WAREHOUSE_WAIT`` seconds. Every failure of the
    storage is a :class:`dagster.Failure` of one line."""

    path: str
    _held: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.dagster_run
        command = f"dagster run {run.run_id[:8]} ({run.job_name})" if run else "dagster run"
        stack = ExitStack()
        try:
            stack.enter_context(warehouse_lock(Path(self.path), command, on_wait=context.log.info))
        except WarehouseUnwritable as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        self._held = stack

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._held is not None:
            self._held.close()
            self._held = None

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            wait = settings().warehouse_wait
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            config = settings().duckdb_config
            conn = connect_waiting(
                self.path, read_only=read_only, wait=wait, on_wait=dg.get_dagster_logger().info
            )
            try:
                apply_duckdb_settings(conn, config)
            except BaseException:
                conn.close()
                raise
        except (WarehouseError, SettingsError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        except OSError as exc:
            problem = storage_problem(self.path, exc) or f"{self.path}: {exc.strerror or exc}"
            raise dg.Failure(description=problem, allow_retries=False) from None
        try:
            yield conn
        except (duckdb.Error, OSError) as exc:
            if problem := storage_problem(self.path, exc):
                raise dg.Failure(description=problem, allow_retries=False) from None
            raise
        finally:
            conn.close()
