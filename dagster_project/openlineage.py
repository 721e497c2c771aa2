"""Sending OpenLineage events: a client from openlineage-python's standard configuration, a
file by default, and never an exception into the run.

Where events go (openlineage-python's own configuration, first match wins):

1. ``OPENLINEAGE_DISABLED=true``: nowhere.
2. A ``transport`` in ``openlineage.yml`` (``$OPENLINEAGE_CONFIG``, ``./openlineage.yml``,
   ``~/.openlineage/openlineage.yml``) or in ``OPENLINEAGE__TRANSPORT__*`` variables.
3. ``OPENLINEAGE_URL`` (with ``OPENLINEAGE_ENDPOINT``, default ``api/v1/lineage``, and
   ``OPENLINEAGE_API_KEY``): HTTP, e.g. Marquez's ``/api/v1/lineage``.
4. Nothing configured: ``settings().openlineage_dir / "events.jsonl"``, one event per line,
   appended (openlineage-python's ``FileTransport`` with ``append: true``). When an emitter
   starts, that file is rotated if it has reached ``FJORDBANK_OPENLINEAGE_MAX_BYTES`` (or, with
   ``FJORDBANK_OPENLINEAGE_DAILY``, was last written before today), and
   ``FJORDBANK_OPENLINEAGE_KEEP`` rotated files are kept (:mod:`catalog.openlineage.rotation`).
   A file set by the configuration (2.) is never rotated.

An HTTP transport whose configuration sets no ``timeout`` / ``retry`` gets a short timeout and
no retry on connection errors or timeouts (5xx answers are still retried), so a receiver that is
down costs at most one short timeout per event; after ``max_failures`` failed deliveries in a
row an emitter stops trying. An event that is not delivered is logged, one line:
``OpenLineage event not delivered to <endpoint>: <reason>``.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import dagster as dg
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.transport import get_default_factory
from openlineage.client.transport.noop import NoopConfig, NoopTransport

from catalog.loader import Catalog, load_catalog
from catalog.openlineage import (
    DEFAULT_JOB_NAMESPACE,
    Assertion,
    ParentRun,
    PolicyVerdictRunFacet,
    ingest_events,
)
from catalog.openlineage.rotation import rotate
from catalog.settings import SettingsError, settings

__all__ = [
    "DEFAULT_HTTP_RETRY",
    "DEFAULT_HTTP_TIMEOUT",
    "IngestRecord",
    "LineageEmitter",
    "OpenLineageResource",
    "build_client",
    "build_emitter",
    "default_events_file",
    "describe_transport",
    "emit_dbt_build",
    "ingest_lineage",
    "nominal_time_of",
    "parent_of",
    "rotate_events_file",
    "transport_config",
]

log = logging.getLogger(__name__)

DEFAULT_HTTP_TIMEOUT = 2.0
# urllib3 Retry settings: a connection error or timeout is not retried (the receiver is down,
# and waiting again would only slow the run); a 5xx answer is retried twice.
DEFAULT_HTTP_RETRY: dict[str, Any] = {
    "total": 2,
    "connect": 0,
    "read": 0,
    "status": 2,
    "backoff_factor": 0.2,
    "status_forcelist": [500, 502, 503, 504],
    "allowed_methods": ["POST"],
}
DEFAULT_MAX_FAILURES = 3
# Set by Dagster's scheduler on the runs it launches (the schedule's tick time, ISO 8601).
SCHEDULED_EXECUTION_TIME_TAGS = (
    ".dagster/scheduled_execution_time",
    "dagster/scheduled_execution_time",
)


def default_events_file() -> Path:
    """``<data dir>/openlineage/events.jsonl``: where events go when nothing is configured."""
    return settings().openlineage_dir / "events.jsonl"


def _disabled() -> bool:
    return os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def _with_http_defaults(config: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """The transport configuration with a short timeout and fail-fast retries for every HTTP
    transport (also inside a composite) that does not set its own."""
    out = copy.deepcopy(dict(config))
    if out.get("type") == "http":
        out.setdefault("timeout", timeout)
        out.setdefault("retry", copy.deepcopy(DEFAULT_HTTP_RETRY))
    elif out.get("type") == "composite":
        children = out.get("transports")
        if isinstance(children, Mapping):
            out["transports"] = {
                k: _with_http_defaults(v, timeout) if isinstance(v, Mapping) else v
                for k, v in children.items()
            }
        elif isinstance(children, list):
            out["transports"] = [
                _with_http_defaults(v, timeout) if isinstance(v, Mapping) else v for v in children
            ]
    return out


def transport_config(
    default_file: Path | None = None, *, http_timeout: float = DEFAULT_HTTP_TIMEOUT
) -> dict[str, Any]:
    """The transport configuration to use: the standard one (file, env), else the events file.

    Reads openlineage-python's merged configuration (``OpenLineageClient.config``) through a
    client that builds no transport of its own.
    """
    configured = _configured_transport(http_timeout)
    if configured is not None:
        return configured
    return _file_config(default_file)


def _file_config(default_file: Path | None) -> dict[str, Any]:
    """The platform's own events file, appended to."""
    path = Path(default_file) if default_file is not None else default_events_file()
    return {"type": "file", "log_file_path": str(path), "append": True}


def _configured_transport(http_timeout: float) -> dict[str, Any] | None:
    """The transport the standard configuration sets (file, env), None when it sets none."""
    probe = OpenLineageClient(transport=NoopTransport(NoopConfig()))
    configured = dict(probe.config.transport or {})
    if configured.get("type"):
        return _with_http_defaults(configured, http_timeout)
    if url := os.environ.get("OPENLINEAGE_URL"):
        http: dict[str, Any] = {
            "type": "http",
            "url": url,
            "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT") or "api/v1/lineage",
        }
        if api_key := os.environ.get("OPENLINEAGE_API_KEY"):
            http["auth"] = {"type": "api_key", "apiKey": api_key}
        return _with_http_defaults(http, http_timeout)
    return None


def build_client(
    default_file: Path | None = None,
    *,
    http_timeout: float = DEFAULT_HTTP_TIMEOUT,
    logger: logging.Logger | Any | None = None,
) -> OpenLineageClient:
    """An ``OpenLineageClient`` on :func:`transport_config`'s transport (facets, filters and
    tags configuration still come from the standard sources). The default events file is
    rotated first when it is due (:func:`rotate_events_file`)."""
    if _disabled():
        return OpenLineageClient()  # the client's own no-op transport
    config = _configured_transport(http_timeout)
    if config is None:  # the platform's own events file
        config = _file_config(default_file)
        path = Path(config["log_file_path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        rotate_events_file(path, logger=logger)
    elif config.get("type") == "file":
        Path(config["log_file_path"]).parent.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(transport=get_default_factory().create(config))


def rotate_events_file(path: Path, *, logger: logging.Logger | Any | None = None) -> None:
    """Rotate the default events file when the settings say it is due; what was done is logged.
    Never raises: a malformed setting, a lock held too long or a folder that cannot be written
    is logged as a warning and the events are appended to the file unrotated."""
    logger = logger or log
    try:
        policy = settings().openlineage_rotation
        done = rotate(path, policy)
    except (SettingsError, TimeoutError, OSError) as exc:
        logger.warning(f"OpenLineage events file {path} not rotated: {exc}")
        return
    if done.renamed_to is not None:
        logger.info(
            f"OpenLineage events file rotated: {path.name} ({done.size / 1e6:.1f} MB) -> "
            f"{done.renamed_to.name}; keeping {policy.keep} rotated file(s)"
            + (f", deleted {', '.join(p.name for p in done.deleted)}" if done.deleted else "")
        )


def describe_transport(transport: Any) -> str:
    """Where a transport sends events, for log lines: the URL, the file, or its kind."""
    kind = getattr(transport, "kind", None) or type(transport).__name__
    if kind == "http" and getattr(transport, "url", None):
        return urljoin(transport.url, getattr(transport, "endpoint", "") or "")
    config = getattr(transport, "config", None)
    if kind == "file" and getattr(config, "log_file_path", None):
        return str(config.log_file_path)
    if kind == "composite":
        children = getattr(transport, "transports", None) or []
        return "composite(" + ", ".join(describe_transport(t) for t in children) + ")"
    return str(kind)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no message"
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}"


class LineageEmitter:
    """Emits events through an ``OpenLineageClient``; a failure is logged, never raised.

    After ``max_failures`` failed deliveries in a row the emitter stops trying (every further
    event is logged as not delivered at once), so a receiver that hangs cannot slow a run by
    more than a few timeouts.
    """

    def __init__(
        self,
        client: OpenLineageClient,
        *,
        logger: logging.Logger | Any | None = None,
        max_failures: int = DEFAULT_MAX_FAILURES,
    ):
        self.client = client
        self.destination = describe_transport(client.transport)
        self.logger = logger or log
        self.max_failures = max_failures
        self.delivered = 0
        self.undelivered = 0
        self._failures_in_a_row = 0

    def emit(self, event: RunEvent) -> bool:
        """Send one event; True when the transport accepted it."""
        if self._failures_in_a_row >= self.max_failures:
            self._not_delivered(
                f"not tried after {self._failures_in_a_row} failed deliveries in a row"
            )
            return False
        try:
            self.client.emit(event)
        except Exception as exc:  # lineage must never fail the run it describes
            self._failures_in_a_row += 1
            self._not_delivered(_reason(exc))
            return False
        self._failures_in_a_row = 0
        self.delivered += 1
        return True

    def emit_all(self, events: Iterable[RunEvent]) -> int:
        """Send events in order; the number delivered."""
        return sum(self.emit(e) for e in events)

    def _not_delivered(self, reason: str) -> None:
        self.undelivered += 1
        self.logger.warning(f"OpenLineage event not delivered to {self.destination}: {reason}")

    def close(self) -> None:
        try:
            self.client.close(timeout=DEFAULT_HTTP_TIMEOUT)
        except Exception as exc:  # closing is best effort as well
            self.logger.warning(f"OpenLineage transport to {self.destination} not closed: {exc}")

    def __enter__(self) -> LineageEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_emitter(
    default_file: Path | None = None,
    *,
    http_timeout: float = DEFAULT_HTTP_TIMEOUT,
    logger: logging.Logger | Any | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> LineageEmitter:
    """A :class:`LineageEmitter` on :func:`build_client`. A configuration openlineage-python
    rejects is logged and gives an emitter that delivers nothing (the run goes on)."""
    try:
        client = build_client(default_file, http_timeout=http_timeout, logger=logger)
    except Exception as exc:
        (logger or log).warning(
            f"OpenLineage is not configured correctly ({_reason(exc)}); no events will be "
            "sent: fix openlineage.yml or the OPENLINEAGE_* variables"
        )
        client = OpenLineageClient(transport=NoopTransport(NoopConfig()))
    return LineageEmitter(client, logger=logger, max_failures=max_failures)


# -- Dagster context -------------------------------------------------------------------------


def parent_of(context: Any, namespace: str = DEFAULT_JOB_NAMESPACE) -> ParentRun:
    """The Dagster run an asset executes in, as the parent of its OpenLineage run."""
    return ParentRun(run_id=context.run_id, job_name=context.job_name, namespace=namespace)


def nominal_time_of(run_tags: Mapping[str, str]) -> str | None:
    """The schedule's tick time of a scheduled run (None for a run launched by hand)."""
    for tag in SCHEDULED_EXECUTION_TIME_TAGS:
        value = run_tags.get(tag)
        if value:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.isoformat()
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class IngestRecord:
    """What an ingest did, filled in by the code inside :func:`ingest_lineage`."""

    files: Sequence[str | Path] = ()
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    assertions: list[Assertion] = field(default_factory=list)

    def record(self, result: Any) -> None:
        """Take files and row counts from an ``IngestResult``; the ``no_quarantined_rows``
        check becomes an assertion."""
        self.files = tuple(result.files)
        self.rows_loaded = result.rows_loaded
        self.rows_quarantined = result.rows_quarantined
        self.assertions.append(
            Assertion(
                assertion="no_quarantined_rows",
                name="no_quarantined_rows",
                success=result.rows_quarantined == 0,
            )
        )


@contextmanager
def ingest_lineage(
    emitter: LineageEmitter,
    source: str,
    table: str,
    *,
    parent: ParentRun | None,
    landing_root: Path,
    warehouse: Path,
    tags: Mapping[str, Any] | None = None,
    namespace: str = DEFAULT_JOB_NAMESPACE,
    nominal_time: str | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
) -> Iterator[IngestRecord]:
    """Around one ingest: on exit, START and COMPLETE (FAIL with the error when the body
    raised, which is re-raised) are built from the landing contract and what the body
    recorded, and emitted. Lineage never raises into the ingest. In an asset::

        with ingest_lineage(emitter, "bank", "customers", parent=parent_of(context),
                            landing_root=s.landing_dir, warehouse=s.warehouse) as lineage:
            lineage.record(ingest_table(conn, "bank", "customers", s.landing_dir, ...))
    """
    record = IngestRecord()
    started = _now()
    error: str | None = None
    try:
        yield record
    except BaseException as exc:
        error = " ".join(str(getattr(exc, "description", None) or exc).split()) or repr(exc)
        raise
    finally:
        try:
            events = _ingest_events(
                source,
                table,
                record,
                parent=parent,
                landing_root=landing_root,
                warehouse=warehouse,
                tags=tags,
                namespace=namespace,
                started_at=started,
                error=error,
                nominal_time=nominal_time,
                verdict=verdict,
            )
        except Exception as exc:  # a bug in event building must not fail the ingest either
            emitter.logger.warning(
                f"OpenLineage events of {source}/{table} not built: {_reason(exc)}"
            )
        else:
            emitter.emit_all(events)


def _ingest_events(
    source: str,
    table: str,
    record: IngestRecord,
    *,
    parent: ParentRun | None,
    landing_root: Path,
    warehouse: Path,
    tags: Mapping[str, Any] | None,
    namespace: str,
    started_at: str,
    error: str | None,
    nominal_time: str | None,
    verdict: PolicyVerdictRunFacet | None,
) -> list[RunEvent]:
    """The ingest's events, described by the landing contract and the ingest module."""
    from dagster_project.landing import load as ingest_module
    from dagster_project.landing.contract import COMPANIES
    from dagster_project.landing.contract import table as contract_table

    contract = contract_table(source, table)
    return ingest_events(
        source,
        table,
        record.files,
        record.rows_loaded,
        record.rows_quarantined,
        parent=parent,
        namespace=namespace,
        warehouse=warehouse,
        started_at=started_at,
        completed_at=_now(),
        columns=[(c.name, c.type.duckdb_type) for c in contract.columns],
        metadata_columns=list(ingest_module.METADATA_COLUMNS),
        landing_root=landing_root,
        error=error,
        tags=tags,
        owner=COMPANIES.get(source),
        description=contract.description,
        assertions=record.assertions,
        quarantine_table=ingest_module.QUARANTINE_TABLE,
        code_path=inspect.getsourcefile(ingest_module),
        job_name=f"raw_{source}.{table}",
        nominal_time=nominal_time,
        verdict=verdict,
        dagster_version=dg.__version__,
    )


def emit_dbt_build(
    emitter: LineageEmitter,
    target_path: Path,
    *,
    parent: ParentRun | None,
    warehouse: Path,
    project_dir: Path,
    namespace: str = DEFAULT_JOB_NAMESPACE,
    nominal_time: str | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
    catalog: Catalog | None = None,
) -> int:
    """After ``dbt build``: the events of every node it executed, from ``manifest.json`` and
    ``run_results.json`` in ``target_path``, emitted in time order. The number delivered;
    lineage never raises into the run (what went wrong is logged). ``catalog``, when the caller
    already holds it for the same project, gives the lineage graph and the tags; else they are
    loaded from that ``manifest.json``."""
    import json

    from catalog.manifest import Manifest
    from catalog.openlineage import dbt_run_events
    from dagster_project.translator import company_for

    try:
        manifest_json = json.loads((Path(target_path) / "manifest.json").read_text())
        run_results = json.loads((Path(target_path) / "run_results.json").read_text())
        if catalog is None:
            catalog = load_catalog(Manifest.from_dict(manifest_json, root_path=Path(project_dir)))
        events = dbt_run_events(
            manifest_json,
            run_results,
            catalog.graph,
            catalog.tags,
            parent=parent,
            namespace=namespace,
            warehouse=warehouse,
            verdict=verdict,
            nominal_time=nominal_time,
            project_dir=project_dir,
            owner_of=company_for,
        )
    except Exception as exc:
        emitter.logger.warning(
            f"OpenLineage events of the dbt build in {target_path} not built: {_reason(exc)}"
        )
        return 0
    return emitter.emit_all(events)


class OpenLineageResource(dg.ConfigurableResource):
    """OpenLineage emission for the assets: the standard client configuration, else
    ``events_file`` (default ``<data dir>/openlineage/events.jsonl``)."""

    namespace: str = DEFAULT_JOB_NAMESPACE
    events_file: str | None = None
    http_timeout: float = DEFAULT_HTTP_TIMEOUT

    def emitter(self, logger: logging.Logger | Any | None = None) -> LineageEmitter:
        return build_emitter(
            Path(self.events_file) if self.events_file else None,
            http_timeout=self.http_timeout,
            logger=logger,
        )

    def parent(self, context: Any) -> ParentRun:
        return parent_of(context, self.namespace)
