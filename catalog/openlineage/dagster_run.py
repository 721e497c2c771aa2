"""The event of the Dagster run itself (job type JOB): the parent every other event names.

>>> from openlineage.client.event_v2 import RunState
>>> from catalog.openlineage.parent import ParentRun
>>> e = dagster_run_event(ParentRun("0191e4a4-0000-7000-8000-000000000001", "build_everything"),
...                       RunState.START, "2026-01-05T05:00:00", dagster_version="1.13.0")
>>> e.job.name, e.eventTime, "parent" in e.run.facets
('build_everything', '2026-01-05T05:00:00+00:00', False)
"""

from __future__ import annotations

from pathlib import Path

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run

from catalog.openlineage.naming import PRODUCER_FIELD
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.run_facets import dagster_engine_version, job_facets, run_facets
from catalog.openlineage.timestamps import Timestamp, iso_timestamp
from catalog.openlineage.verdict import PolicyVerdictRunFacet

__all__ = ["dagster_run_event"]


def dagster_run_event(
    parent: ParentRun,
    state: RunState,
    at: Timestamp,
    *,
    error: str | None = None,
    nominal_time: Timestamp | None = None,
    verdict: PolicyVerdictRunFacet | None = None,
    dagster_version: str | None = None,
    code_path: str | Path | None = None,
) -> RunEvent:
    """An event of the Dagster run itself (job type JOB): the parent the other events name."""
    facets = run_facets(
        parent=None,
        engine="dagster",
        engine_version=dagster_engine_version(dagster_version),
        nominal_time=nominal_time,
        verdict=verdict,
    )
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="PYTHON", **PRODUCER_FIELD
        )
    return RunEvent(
        eventType=state,
        eventTime=iso_timestamp(at),
        run=Run(runId=parent.run_id, facets=facets),
        job=Job(
            namespace=parent.namespace,
            name=parent.job_name,
            facets=job_facets(integration="DAGSTER", job_type="JOB", code=code_path),
        ),
        **PRODUCER_FIELD,
    )
