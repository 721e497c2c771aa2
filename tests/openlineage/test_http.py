"""Events of a small materialisation over real HTTP to a local receiver, configured by the
environment alone; a receiver that is down or hangs costs the run nothing but log lines."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde
from synthetic_build import (  # noqa: F401 (fixtures, imported to register them)
    isolated_openlineage_env_fixture,
    small_project_fixture,
)

from catalog.openlineage import dagster_run_event, ingest_events, policy_verdict_facet
from dagster_project.openlineage import LineageEmitter, build_emitter

LOGGER = "dagster_project.openlineage"
BOUND_SECONDS = 10  # generous: each attempt below is bounded by a sub-second timeout


@dataclass
class Receiver:
    """A lineage endpoint on 127.0.0.1 that records what it is sent."""

    server: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 201

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=BOUND_SECONDS)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(body),
                    }
                )
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    state = Receiver(server, thread)
    thread.start()
    yield state
    if thread.is_alive():
        state.stop()


@pytest.fixture
def lineage_env(isolated_openlineage_env, monkeypatch, receiver) -> Receiver:
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    monkeypatch.setenv("OPENLINEAGE_ENDPOINT", "api/v1/lineage")
    return receiver


def _small_run(project) -> list:
    """What one small materialisation emits: the Dagster run, an ingest, a dbt build."""
    verdict = policy_verdict_facet([], checked_at="2026-03-02T09:57:30+00:00")
    return [
        dagster_run_event(
            project.parent, RunState.START, "2026-03-02T09:57:00+00:00", dagster_version="1.13.0"
        ),
        *ingest_events(
            "bank",
            "customers",
            ["bank/customers/2026-03-01.csv"],
            3,
            0,
            parent=project.parent,
            warehouse=project.warehouse,
            landing_root=project.landing_root,
            started_at="2026-03-02T09:58:00+00:00",
            completed_at="2026-03-02T09:58:01+00:00",
            columns=[("customer_no", "VARCHAR"), ("national_id", "VARCHAR")],
            code_path=project.project_dir.parent / "ingest.py",
            verdict=verdict,
            dagster_version="1.13.0",
        ),
        *project.dbt_events(verdict),
        dagster_run_event(
            project.parent, RunState.COMPLETE, "2026-03-02T10:00:07+00:00", dagster_version="1.13.0"
        ),
    ]


def _emit_bounded(emitter: LineageEmitter, events: list) -> int:
    """Emit in a worker thread and fail the test if it does not finish within the bound."""
    delivered: list[int] = []
    worker = threading.Thread(target=lambda: delivered.append(emitter.emit_all(events)))
    worker.daemon = True
    worker.start()
    worker.join(timeout=BOUND_SECONDS)
    assert not worker.is_alive(), f"emitting {len(events)} events did not end within the bound"
    return delivered[0]


def test_events_arrive_complete_and_in_order(small_project, lineage_env, caplog):
    receiver = lineage_env
    events = _small_run(small_project)
    expected = [Serde.to_dict(e) for e in events]  # before the client adds its own facets
    emitter = build_emitter()
    assert emitter.destination == f"{receiver.url}/api/v1/lineage"

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _emit_bounded(emitter, events) == len(events) == 14
    assert not [r for r in caplog.records if "not delivered" in r.getMessage()]

    assert [r["path"] for r in receiver.requests] == ["/api/v1/lineage"] * len(events)
    assert {r["content_type"] for r in receiver.requests} == {"application/json"}
    received = [r["body"] for r in receiver.requests]
    for got, want in zip(received, expected, strict=True):
        # the client adds one run facet of its own: its version as a run tag
        client_tags = got["run"]["facets"].pop("tags")
        assert [(t["key"], t["source"]) for t in client_tags["tags"]] == [
            ("openlineage_client_version", "OPENLINEAGE_CLIENT")
        ]
        assert got == want
    # emission order kept; per run, START before COMPLETE / FAIL
    assert [(r["eventType"], r["run"]["runId"]) for r in received] == [
        (e.eventType.value, e.run.runId) for e in events
    ]
    first_state: dict[str, str] = {}
    for r in received:
        first_state.setdefault(r["run"]["runId"], r["eventType"])
    assert set(first_state.values()) == {"START"}
    assert {r["eventType"] for r in received} == {"START", "COMPLETE", "FAIL"}


def test_a_receiver_that_is_down_does_not_fail_the_run(small_project, lineage_env, caplog):
    receiver = lineage_env
    url = f"{receiver.url}/api/v1/lineage"
    receiver.stop()  # nothing listens on the port any more
    events = _small_run(small_project)[:2]
    emitter = build_emitter()

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _emit_bounded(emitter, events) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(f"OpenLineage event not delivered to {url}: ConnectionError: ")
        assert "\n" not in line
    assert emitter.undelivered == 2 and emitter.delivered == 0


def test_a_receiver_that_hangs_costs_one_short_timeout(
    small_project, lineage_env, monkeypatch, caplog
):
    # A socket that accepts connections (backlog) but never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        lineage_env.stop()
        monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        emitter = build_emitter(http_timeout=0.3)
        assert emitter.client.transport.timeout == 0.3
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            assert _emit_bounded(emitter, _small_run(small_project)[:1]) == 0
        [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert "not delivered to" in line and "timed out" in line.lower()
    finally:
        silent.close()


def test_server_errors_are_retried_then_logged(small_project, lineage_env, caplog):
    receiver = lineage_env
    receiver.status = 503
    emitter = build_emitter()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert _emit_bounded(emitter, _small_run(small_project)[:1]) == 0
    assert len(receiver.requests) == 3  # the first attempt and two retries of a 5xx answer
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert "not delivered to" in line and "503" in line
