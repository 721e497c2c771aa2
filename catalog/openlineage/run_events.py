"""A run's pair of events: its id, START then COMPLETE or FAIL, and many runs in time order.

>>> from openlineage.client.event_v2 import Job
>>> start, end = start_and_end(job=Job(namespace="fjordbank", name="j"),
...     run_id=stable_run_id("2026-01-05T05:00:00+00:00", "k"), run_facets={}, inputs=[],
...     start_outputs=[], end_outputs=[], started_at="2026-01-05T05:00:00+00:00",
...     ended_at="2026-01-05T05:00:01+00:00", error="boom", language="SQL")
>>> end.eventType.value, end.run.facets["errorMessage"].message
('FAIL', 'boom')
>>> [e.eventType.value for e in chronological([[start, end]])]
['START', 'FAIL']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import RunFacet, error_message_run
from openlineage.client.uuid import generate_static_uuid

from catalog.openlineage.naming import PRODUCER_FIELD
from catalog.openlineage.timestamps import parse_timestamp

__all__ = ["chronological", "stable_run_id", "start_and_end"]


def stable_run_id(started_at: str, key: str) -> str:
    """A UUIDv7 for the run, stable for the same start time and key (re-emission safe)."""
    instant = parse_timestamp(started_at) or dt.datetime.now(dt.UTC)
    return str(generate_static_uuid(instant=instant, data=key.encode("utf-8")))


def start_and_end(
    *,
    job: Job,
    run_id: str,
    run_facets: Mapping[str, RunFacet],
    inputs: list[InputDataset],
    start_outputs: list[OutputDataset],
    end_outputs: list[OutputDataset],
    started_at: str,
    ended_at: str,
    error: str | None,
    language: str,
) -> list[RunEvent]:
    """START then COMPLETE (or FAIL with the error and no outputs, as openlineage-dbt does)."""
    start = RunEvent(
        eventType=RunState.START,
        eventTime=started_at,
        run=Run(runId=run_id, facets=dict(run_facets)),
        job=job,
        inputs=inputs,
        outputs=start_outputs,
        **PRODUCER_FIELD,
    )
    if error is None:
        end_state, end_facets, outputs = RunState.COMPLETE, dict(run_facets), end_outputs
    else:
        end_state, outputs = RunState.FAIL, []
        end_facets = {
            **run_facets,
            "errorMessage": error_message_run.ErrorMessageRunFacet(
                message=error, programmingLanguage=language, **PRODUCER_FIELD
            ),
        }
    end = RunEvent(
        eventType=end_state,
        eventTime=ended_at,
        run=Run(runId=run_id, facets=end_facets),
        job=job,
        inputs=inputs,
        outputs=outputs,
        **PRODUCER_FIELD,
    )
    return [start, end]


def chronological(pairs: Iterable[list[RunEvent]]) -> list[RunEvent]:
    """All events by time; a run's START always precedes its end (stable sort, START first)."""
    events = [e for pair in pairs for e in pair]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)

    def key(e: RunEvent) -> tuple[dt.datetime, int]:
        return (parse_timestamp(e.eventTime) or epoch, 0 if e.eventType is RunState.START else 1)

    return sorted(events, key=key)
