"""Jobs and schedules: one job builds everything; it runs daily so scores are fresh and a
consent withdrawal or objection reaches every output in the next daily run. The job starts with
the retention sweep (every ingest asset depends on it), so what has expired is deleted before
the build and the outputs are rebuilt from what remains."""

from __future__ import annotations

import dagster as dg

build_everything = dg.define_asset_job(
    "build_everything",
    selection=dg.AssetSelection.all(),
    description=(
        "Sweep expired rows (retention), ingest every landing table, then build and test "
        "every dbt model."
    ),
)

marketing_refresh = dg.define_asset_job(
    "marketing_refresh",
    selection=dg.AssetSelection.groups("marketing").upstream(),
    description="Renew the marketing scores and audiences with everything they depend on.",
)

daily_build = dg.ScheduleDefinition(
    name="daily_build",
    job=build_everything,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Oslo",
    description=(
        "Daily run: expired rows swept first, fresh propensity scores, consents and "
        "objections applied everywhere."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
