"""The job and run facets every event carries: ``jobType``, ``sql`` and ``sourceCodeLocation``
on the job; ``parent``, ``processing_engine``, ``nominalTime`` and the policy verdict on the
run.

>>> sorted(job_facets(integration="DBT", job_type="MODEL", sql="select 1"))
['jobType', 'sql']
>>> list(run_facets(parent=None, engine="dbt", engine_version="1.11.0", nominal_time=None,
...                 verdict=None))
['processing_engine']
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from openlineage.client.constants import __version__ as OPENLINEAGE_CLIENT_VERSION
from openlineage.client.facet_v2 import (
    RunFacet,
    job_type_job,
    nominal_time_run,
    processing_engine_run,
    source_code_location_job,
    sql_job,
)

from catalog.openlineage.naming import PRODUCER_FIELD
from catalog.openlineage.parent import ParentRun
from catalog.openlineage.timestamps import Timestamp, iso_timestamp
from catalog.openlineage.verdict import POLICY_VERDICT_FACET, PolicyVerdictRunFacet

__all__ = ["dagster_engine_version", "job_facets", "run_facets"]


def job_facets(
    *, integration: str, job_type: str, sql: str | None = None, code: str | Path | None = None
) -> dict[str, Any]:
    """``jobType`` (a batch job), ``sql`` (DuckDB) when given, ``sourceCodeLocation`` of
    ``code`` when given."""
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=integration, jobType=job_type, **PRODUCER_FIELD
        )
    }
    if sql:
        facets["sql"] = sql_job.SQLJobFacet(query=sql, dialect="duckdb", **PRODUCER_FIELD)
    if code is not None:
        path = Path(code).absolute()
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=path.as_uri(), path=path.as_posix(), **PRODUCER_FIELD
        )
    return facets


def run_facets(
    *,
    parent: ParentRun | None,
    engine: str,
    engine_version: str,
    nominal_time: Timestamp | None,
    verdict: PolicyVerdictRunFacet | None,
) -> dict[str, RunFacet]:
    """``parent`` (when given), ``processing_engine``, ``nominalTime`` (scheduled runs) and the
    policy verdict (when given)."""
    facets: dict[str, RunFacet] = {}
    if parent is not None:
        facets["parent"] = parent.facet()
    facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
        version=engine_version,
        name=engine,
        openlineageAdapterVersion=OPENLINEAGE_CLIENT_VERSION,
        **PRODUCER_FIELD,
    )
    if nominal_time is not None:
        facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=iso_timestamp(nominal_time), **PRODUCER_FIELD
        )
    if verdict is not None:
        facets[POLICY_VERDICT_FACET] = verdict
    return facets


def dagster_engine_version(given: str | None) -> str:
    """The Dagster version for ``processing_engine``: ``given``, else the installed one."""
    if given:
        return given
    try:  # read from the distribution's metadata: catalog never imports Dagster
        return importlib.metadata.version("dagster")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
