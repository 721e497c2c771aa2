"""The parent run: the Dagster run that materialised something, named by every event of it.

>>> p = ParentRun("0191e4a4-0000-7000-8000-000000000001", "build_everything")
>>> f = p.facet()
>>> f.job.name, f.root.run.runId == p.run_id
('build_everything', True)
"""

from __future__ import annotations

from dataclasses import dataclass

from openlineage.client.facet_v2 import parent_run

from catalog.openlineage.naming import DEFAULT_JOB_NAMESPACE, PRODUCER_FIELD

__all__ = ["ParentRun"]


@dataclass(frozen=True)
class ParentRun:
    """The Dagster run that materialised something: its run id (a UUID) and job."""

    run_id: str
    job_name: str
    namespace: str = DEFAULT_JOB_NAMESPACE

    def facet(self) -> parent_run.ParentRunFacet:
        """The ``parent`` run facet; a Dagster run has no parent, so it is also the root."""
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_id),
            job=parent_run.Job(namespace=self.namespace, name=self.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.run_id),
                job=parent_run.RootJob(namespace=self.namespace, name=self.job_name),
            ),
            **PRODUCER_FIELD,
        )
