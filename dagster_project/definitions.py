"""The Definitions object, assembled from the modules beside this one (loaded lazily)."""

import functools
from pathlib import Path

import dagster as dg

from catalog.settings import settings
from dagster_project.assets.dbt import DbtCoreCliResource, build_dbt_assets
from dagster_project.assets.erasure import build_erasure_asset
from dagster_project.assets.ingest import build_ingest_assets
from dagster_project.assets.sweep import build_sweep_asset
from dagster_project.catalog_view import catalog_view
from dagster_project.checks import build_row_checks, plan_row_checks
from dagster_project.openlineage import OpenLineageResource
from dagster_project.project import dbt_executable, dbt_project, source_nodes
from dagster_project.resources import Warehouse
from dagster_project.schedules import build_everything, daily_build, daily_run, marketing_refresh
from dagster_project.translator import asset_key_for


@dg.definitions
def defs() -> dg.Definitions:
    s = settings()
    project = dbt_project()
    # the manifest's time before the catalog reads it: the dbt step builds only while the
    # project and the manifest are unchanged since (assets/dbt.py)
    read_at = Path(project.manifest_path).stat().st_mtime
    catalog = catalog_view(project.manifest_path)
    row_checks = plan_row_checks(
        catalog.graph,
        catalog.tags,
        catalog.policy,
        asset_key_for=functools.partial(asset_key_for, catalog.graph),
    )
    return dg.Definitions(
        assets=[
            build_sweep_asset(Path(project.manifest_path)),
            build_erasure_asset(Path(project.manifest_path)),
            *build_ingest_assets(source_nodes(project)),
            build_dbt_assets(project, catalog, manifest_read_at=read_at),
        ],
        asset_checks=build_row_checks(row_checks),
        jobs=[build_everything, daily_run, marketing_refresh],
        schedules=[daily_build],
        resources={
            "dbt": DbtCoreCliResource(
                project_dir=project, target=s.dbt_target, dbt_executable=dbt_executable()
            ),
            "warehouse": Warehouse(path=str(s.warehouse)),
            "openlineage": OpenLineageResource(),
        },
        executor=dg.in_process_executor,
    )
