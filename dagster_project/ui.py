"""`make ui`: the Dagster UI and, beside it, the lineage page over HTTP.

A browser does not follow a ``file://`` link from an ``http://`` page, so the asset links to the
column lineage page (``<data dir>/reports/lineage.html``, written by ``catalog report`` and
``make run``) point at a small static server that :func:`serve` starts next to ``dagster dev``:

- bound to 127.0.0.1 only, on ``$FJORDBANK_LINEAGE_PORT`` (default 3001);
- it serves the files directly in the reports folder, nothing else: no directory listing, no
  sub-folder, no dot-file, no path or symlink leading out of the folder, only GET and HEAD, and
  only to a request addressed to ``127.0.0.1:<port>`` or ``localhost:<port>`` (a page of another
  site cannot read it through DNS rebinding); ``/`` redirects to the page;
- every answer is ``Cache-Control: no-store``: the page is rewritten by every run.

``dagster dev`` runs in its own process group (``-h 127.0.0.1 -p PORT -w workspace.yaml`` from
the repository root), so one signal reaches it: Ctrl-C, SIGTERM or SIGHUP to this process stops
the static server and sends ``dagster dev`` one SIGTERM (which it handles as Ctrl-C: the
webserver and the daemon are shut down); if it has not stopped after ``STOP_TIMEOUT_S``, its
whole process group is killed. When ``dagster dev`` exits by itself, the server stops too.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import click

from catalog.settings import LINEAGE_PORT_ENV, REPO_ROOT, SettingsError, settings

__all__ = [
    "HOST",
    "LINEAGE_PAGE",
    "PortTakenError",
    "ReportsHandler",
    "lineage_page_http_url",
    "serve",
    "start_reports_server",
]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
LINEAGE_PAGE = "lineage.html"
STOP_TIMEOUT_S = 75.0  # dagster dev waits up to 60 s for each of its own processes


def lineage_page_http_url(port: int, anchor: str | None = None) -> str:
    """The lineage page on the server next to the UI, preselecting ``anchor`` through the URL
    fragment: a dataset (a model's name, ``source.table`` for a source) or a column
    (``model.column``, ``source.table.column``); the page reads ``location.hash``.

    >>> lineage_page_http_url(3001, "marketing_scoring_features")
    'http://127.0.0.1:3001/lineage.html#marketing_scoring_features'
    >>> lineage_page_http_url(3001)
    'http://127.0.0.1:3001/lineage.html'
    """
    url = f"http://{HOST}:{port}/{LINEAGE_PAGE}"
    return f"{url}#{quote(anchor, safe='._-')}" if anchor else url


class PortTakenError(OSError):
    """The port is held by another process; the message is one line saying what to do."""


class ReportsHandler(SimpleHTTPRequestHandler):
    """GET and HEAD of the files directly in one folder (see the module docstring)."""

    server_version = "fjordbank-reports"
    sys_version = ""

    def __init__(self, *args: Any, directory: str, port: int, **kwargs: Any):
        self.root = Path(directory).resolve()
        self.allowed_hosts = {f"{HOST}:{port}", f"localhost:{port}"}
        super().__init__(*args, directory=directory, **kwargs)

    def send_head(self):  # type: ignore[no-untyped-def]
        host = self.headers.get("Host")
        if host is not None and host.lower() not in self.allowed_hosts:
            self.send_error(HTTPStatus.FORBIDDEN, "Only http://127.0.0.1:<port>/ is served")
            return None
        path = urlsplit(self.path).path
        if path in ("", "/"):
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"/{LINEAGE_PAGE}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        name = path.lstrip("/")
        target = (self.root / name).resolve()
        if (
            "/" in name
            or "\\" in name
            or name.startswith(".")
            or target.parent != self.root
            or not target.is_file()
        ):
            if name == LINEAGE_PAGE:
                self.send_error(
                    HTTPStatus.NOT_FOUND,
                    "The lineage page is not written yet",
                    "Run `make run` or `catalog report`, then reload this page.",
                )
            else:
                self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return None
        return super().send_head()

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - " + format, self.address_string(), *args)


def _taken(port: int, what: str, fix: str) -> PortTakenError:
    return PortTakenError(
        errno.EADDRINUSE,
        f"port {port} on {HOST} is taken ({what}): stop what holds it, or {fix}",
    )


def start_reports_server(
    directory: str | Path, port: int, *, host: str = HOST
) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve ``directory`` (created when missing) on ``host:port`` in a daemon thread; stop it
    with ``server.shutdown(); server.server_close()``. Port 0 picks a free port
    (``server.server_address[1]``). :class:`PortTakenError` when the port is held."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def finish_request(self, request: Any, client_address: Any) -> None:
            ReportsHandler(
                request,
                client_address,
                self,
                directory=str(directory),
                port=self.server_address[1],
            )

    try:
        server = Server((host, port), ReportsHandler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _taken(
                port, "the lineage page's server", f"set {LINEAGE_PORT_ENV} to a free port"
            ) from exc
        raise
    thread = threading.Thread(target=server.serve_forever, name="lineage-page", daemon=True)
    thread.start()
    return server, thread


def _check_free(port: int) -> None:
    """:class:`PortTakenError` when a process listens on ``HOST:port`` (for Dagster's port:
    one clear line before ``dagster dev`` starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise _taken(
                    port, "another `make ui`?", "choose another with `fjordbank ui --port N`"
                ) from exc
            raise


def _dagster_dev(port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    workspace = REPO_ROOT / "workspace.yaml"
    return [str(dagster), "dev", "-h", HOST, "-p", str(port), "-w", str(workspace)]


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for ``proc`` to exit; kill its process group when it takes longer than
    ``timeout``."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        click.echo(f"dagster dev did not stop within {timeout:g} s: killing it", err=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def serve(
    port: int,
    lineage_port: int | None = None,
    *,
    command: Sequence[str] | None = None,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> int:
    """Run ``dagster dev`` on ``127.0.0.1:port`` and the lineage page's server on
    ``127.0.0.1:lineage_port`` (default ``$FJORDBANK_LINEAGE_PORT``, else 3001; 0: a free
    one) until one stops
    (see the module docstring). Returns the exit code for the command: ``dagster dev``'s own,
    0 after Ctrl-C or SIGTERM, 2 (one line on stderr, nothing started) when a port is taken or
    the port setting is malformed. ``command`` replaces ``dagster dev`` (tests)."""
    try:
        s = settings()
        if lineage_port is None:
            lineage_port = s.lineage_port
        if command is None:
            _check_free(port)
        server, thread = start_reports_server(s.reports_dir, lineage_port)
        lineage_port = server.server_address[1]  # the one picked, for port 0
    except (SettingsError, PortTakenError) as exc:
        click.echo(f"error: {exc.strerror if isinstance(exc, OSError) else exc}", err=True)
        return 2
    # The code server dagster dev starts builds the asset links from this variable.
    os.environ[LINEAGE_PORT_ENV] = str(lineage_port)
    click.echo(f"lineage page:  {lineage_page_http_url(lineage_port)}  (serving {s.reports_dir})")
    stopping: list[int] = []
    proc: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        if stopping:  # once: a second SIGTERM would cut dagster dev's own shutdown short
            return
        stopping.append(signum)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)

    in_main = threading.current_thread() is threading.main_thread()
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.getsignal(sig) for sig in handled} if in_main else {}
    try:
        if in_main:
            for sig in handled:
                signal.signal(sig, on_signal)
        cmd = list(command or _dagster_dev(port))
        try:
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, start_new_session=True)
        except OSError as exc:
            click.echo(f"error: cannot start {cmd[0]}: {exc.strerror} (run `make venv`)", err=True)
            return 2
        if stopping:  # a signal came while it was starting
            proc.send_signal(signal.SIGTERM)
        while proc.poll() is None and not stopping:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.5)
        rc = _stop(proc, stop_timeout)
    finally:
        if proc is not None and proc.poll() is None:  # an error of our own: never leave it
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            _stop(proc, stop_timeout)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else rc
