"""The Definitions object, assembled from the modules beside this one (loaded lazily)."""

from __future__ import annotations

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.assets.dbt import build_dbt_assets
from dagster_project.assets.ingest import build_ingest_assets
from dagster_project.project import dbt_executable, dbt_project, settings, source_nodes
from dagster_project.resources import Warehouse
from dagster_project.schedules import build_everything, daily_build, marketing_refresh


@dg.definitions
def defs() -> dg.Definitions:
    s = settings()
    project = dbt_project()
    return dg.Definitions(
        assets=[*build_ingest_assets(source_nodes(project)), build_dbt_assets(project)],
        jobs=[build_everything, marketing_refresh],
        schedules=[daily_build],
        resources={
            "dbt": DbtCliResource(
                project_dir=project, target=s.dbt_target, dbt_executable=dbt_executable()
            ),
            "warehouse": Warehouse(path=str(s.warehouse)),
        },
        executor=dg.in_process_executor,
    )
