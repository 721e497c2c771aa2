"""Quiet progress for ``fjordbank run``: a bar per phase on the console, the full log in a file.

Dagster's console logger prints every event (each dbt node's START and PASS: about 950 lines for
the whole graph). :class:`RunProgress` replaces it, for the in-process run of ``fjordbank run``,
with a Dagster logger (:meth:`RunProgress.logger_definition`) that

- writes every record, Dagster's events and dbt's lines alike, to the log file
  (``<data dir>/logs/run-<timestamp>.log``; the newest :data:`KEEP_RUN_LOGS` are kept);
- advances one bar per phase: ``ingest`` (one per landing table loaded), ``dbt`` (a
  model, seed or test per event of the dbt step) and ``checks`` (a blocking row check per
  evaluation of the checks' step), plus ``prepare`` for the erasure requests and the
  retention sweep;
- prints the steps' warnings and errors above the bars, one line each, and keeps each failed
  step's one-line reason (:attr:`RunProgress.failures`) for the end of the command.

On a terminal the bars are tqdm's; when stdout is not one (a CI log) each phase prints a few
plain lines instead (start, every quarter, end), never a bar redrawn a thousand times.

>>> lines = []
>>> bar = PhaseBar("ingest", 4, "tables", interactive=False, echo=lines.append)
>>> for _ in range(4):
...     bar.advance()
>>> bar.close()
>>> [line.split(" (")[0] for line in lines]
['ingest: 0/4 tables', 'ingest: 1/4 tables', 'ingest: 2/4 tables', 'ingest: 3/4 tables', \
'ingest: 4/4 tables done']
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import dagster as dg
from tqdm import tqdm

# The phases whose bar counts events of their step rather than steps, and those events: the
# ingest bar one per landing table loaded; the dbt bar one per dbt model/seed/snapshot or test
# (a singular test on several models is an observation per model instead: the bar is filled
# when the step succeeds); the checks bar one per row check evaluated.
_COUNTED_EVENTS = {
    "ingest": {"ASSET_MATERIALIZATION"},
    "dbt": {"ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"},
    "checks": {"ASSET_CHECK_EVALUATION"},
}
# The order phases appear in, and the unit each counts.
PHASES = {"prepare": "steps", "ingest": "tables", "dbt": "nodes", "checks": "checks"}


def interactive(stream: IO[str] | None = None) -> bool:
    """True when ``stream`` (stdout) is a terminal, where bars can be redrawn."""
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


class PhaseBar:
    """One phase's progress: a tqdm bar on a terminal, else a line at start, at each quarter
    and at the end."""

    def __init__(
        self,
        name: str,
        total: int,
        unit: str,
        *,
        interactive: bool,
        echo: Callable[[str], None],
        stream: IO[str] | None = None,
    ) -> None:
        self.name, self.total, self.unit, self.done = name, max(total, 0), unit, 0
        self._echo, self._started = echo, time.monotonic()
        self._bar = (
            tqdm(total=self.total, desc=f"{name:<8}", unit=f" {unit}", file=stream or sys.stdout)
            if interactive
            else None
        )
        self._quarter = 0
        if self._bar is None:
            self._line()

    def _line(self, suffix: str = "") -> None:
        elapsed = time.monotonic() - self._started
        self._echo(f"{self.name}: {self.done}/{self.total} {self.unit}{suffix} ({elapsed:.1f} s)")

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done > self.total:  # more events than planned: grow, never overflow
            self.total = self.done
            if self._bar is not None:
                self._bar.total = self.total
        if self._bar is not None:
            self._bar.update(n)
            return
        quarter = 4 * self.done // self.total if self.total else 4
        if self._quarter < quarter < 4:
            self._quarter = quarter
            self._line()

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text[:40], refresh=False)

    def close(self, failed: bool = False) -> None:
        if not failed and self.done < self.total:
            if self._bar is not None:
                self._bar.update(self.total - self.done)
            self.done = self.total
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(" FAILED" if failed else " done")


@dataclass
class RunProgress:
    """Progress of one in-process Dagster run, and its log file.

    ``phase_of`` maps a step key to a phase of :data:`PHASES`; ``totals`` is each phase's
    planned count (the bars grow when a phase counts more)."""

    log_path: Path
    phase_of: Callable[[str], str]
    totals: dict[str, int]
    interactive: bool = field(default_factory=interactive)
    echo: Callable[[str], None] | None = None  # default: a line on stdout, above the bars
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step, one-line reason)
    bars: dict[str, PhaseBar] = field(default_factory=dict)
    _started: set[str] = field(default_factory=set)
    _file: IO[str] | None = None

    def __enter__(self) -> RunProgress:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.log_path.open("a", encoding="utf-8")
        # The console as it is now: dbt's lines, which dagster-dbt writes to sys.stdout, go to
        # the log file while the run executes (:meth:`capture_stdout`), the bars stay here.
        self._console = sys.stdout
        if self.echo is None:
            self.echo = lambda line: tqdm.write(line, file=self._console)
        self._stack = ExitStack()
        self._stack.enter_context(redirect_stdout(_LineWriter(self.write)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        for bar in self.bars.values():
            bar.close(failed=any(self.phase_of(step) == bar.name for step, _ in self.failures))
        self.bars.clear()
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, line: str) -> None:
        """A line in the log file only."""
        if self._file is not None:
            stamp = dt.datetime.now().isoformat(sep=" ", timespec="milliseconds")
            self._file.write(f"{stamp} {line}\n")
            self._file.flush()

    def _bar(self, phase: str) -> PhaseBar:
        if phase not in self.bars:
            for other in list(self.bars):  # phases run one after the other
                if other != phase:
                    self.bars.pop(other).close()
            self.bars[phase] = PhaseBar(
                phase,
                self.totals.get(phase, 0),
                PHASES.get(phase, "steps"),
                interactive=self.interactive,
                echo=self.echo,
                stream=self._console,
            )
        return self.bars[phase]

    def handle(self, record: logging.LogRecord) -> None:
        """One Dagster log record: to the file, and to the bars and console when it matters."""
        message = record.getMessage()
        self.write(f"{record.levelname:<7} {message}")
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or (event.step_key if event is not None else None)
        kind = event.event_type_value if event is not None else None
        if step is None:
            return
        phase = self.phase_of(step)
        if kind == "STEP_START":
            self._started.add(step)
            self._bar(phase).note(step)
        elif kind == "STEP_SUCCESS" and phase not in _COUNTED_EVENTS:
            self._bar(phase).advance()
        elif kind == "STEP_FAILURE":
            reason = _failure_reason(event)
            self.failures.append((step, reason))
            if phase not in _COUNTED_EVENTS:
                self._bar(phase).advance()
        elif kind in _COUNTED_EVENTS.get(phase, ()):
            bar = self._bar(phase)
            bar.advance()
            if event.asset_key is not None:
                bar.note(event.asset_key.to_user_string())
        elif event is None and step in self._started and record.levelno >= _shown_level(phase):
            # (a step skipped after a failure never started: its warning is in the log only)
            original = meta.get("orig_message") or message
            first = " ".join(str(original).split())
            self.echo(f"  {step}: {first[:200]}")

    def logger_definition(self) -> dg.LoggerDefinition:
        """A Dagster logger that hands every record to :meth:`handle`."""
        progress = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    progress.handle(record)
                except Exception:  # a display problem never fails the run
                    self.handleError(record)

        @dg.logger(description="fjordbank run: progress bars on the console, the log in a file")
        def fjordbank_progress(_init_context) -> logging.Logger:
            log = logging.Logger("fjordbank.progress", level=logging.DEBUG)
            log.addHandler(_Handler(level=logging.DEBUG))
            return log

        return fjordbank_progress


def _shown_level(phase: str) -> int:
    """The level from which a step's log lines reach the console: warnings (a quarantined row,
    a missing delivery), but for the dbt step only errors (dagster-dbt warns about how it maps
    tests; a failed model or test is a step failure anyway)."""
    return logging.ERROR if phase == "dbt" else logging.WARNING


class _LineWriter(io.TextIOBase):
    """A text stream that hands each complete line to ``sink`` (dbt's lines to the log)."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self._sink, self._partial = sink, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._sink(f"stdout  {line}")
        return len(text)

    def flush(self) -> None:
        pass


def _failure_reason(event: dg.DagsterEvent) -> str:
    """The first meaningful line of a step failure (a dagster.Failure's description, else the
    error's message)."""
    data = event.step_failure_data
    if data is None:
        return "failed"
    user = getattr(data, "user_failure_data", None)
    text = (user.description if user is not None and user.description else None) or (
        data.error.message if data.error else ""
    )
    for line in str(text).splitlines():
        line = " ".join(line.split())
        if line:
            return line[:300]
    return "failed"


# Run logs kept in <data dir>/logs (the oldest are deleted when a run starts); about 350 KB each.
KEEP_RUN_LOGS = 20


def prune_run_logs(folder: Path, keep: int = KEEP_RUN_LOGS) -> list[Path]:
    """Delete all but the newest ``keep`` run logs in ``folder``; returns those deleted.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for day in range(1, 5):
    ...     _ = (folder / f"run-2026120{day}-050000.log").write_text("")
    >>> [p.name for p in prune_run_logs(folder, keep=2)]
    ['run-20261201-050000.log', 'run-20261202-050000.log']
    >>> sorted(p.name for p in folder.iterdir())
    ['run-20261203-050000.log', 'run-20261204-050000.log']
    >>> import shutil; shutil.rmtree(folder)
    """
    logs = sorted(folder.glob("run-*.log"))  # the names sort by time
    old = logs[: max(len(logs) - keep, 0)]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def log_file_for(data_dir: Path, now: dt.datetime | None = None) -> Path:
    """``<data dir>/logs/run-<YYYYmmdd-HHMMSS>.log``.

    >>> log_file_for(Path("/d"), dt.datetime(2026, 12, 6, 5, 0, 1)).as_posix()
    '/d/logs/run-20261206-050001.log'
    """
    now = now or dt.datetime.now()
    return data_dir / "logs" / f"run-{now:%Y%m%d-%H%M%S}.log"
