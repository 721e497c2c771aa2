"""Jobs and schedules.

- ``build_everything``: carry out the erasure requests delivered, ingest every landing table,
  then build and test every dbt model (``make run``, manual runs from the UI).
- ``daily_run``: the retention sweep first (every ingest asset depends on it), then everything
  ``build_everything`` does, so what has expired is deleted before the build and the outputs
  are rebuilt from what remains. The ``daily_build`` schedule runs it every morning, so scores
  are fresh and a consent withdrawal or objection reaches every output in the next daily run.
- ``marketing_refresh``: the marketing outputs and everything they depend on.

The sweep is not part of ``build_everything`` so a build never deletes as a side effect of
someone building a model: deleting is the schedule's job, or ``fjordbank sweep --apply``'s.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.assets.sweep import SWEEP_KEY

build_everything = dg.define_asset_job(
    "build_everything",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(SWEEP_KEY),
    description=(
        "Carry out the erasure requests, ingest every landing table, then build and test "
        "every dbt model (no retention sweep: see daily_run)."
    ),
)

daily_run = dg.define_asset_job(
    "daily_run",
    selection=dg.AssetSelection.all(),
    description=(
        "Sweep expired rows (retention) first, then what build_everything does: outputs are "
        "rebuilt from what remains."
    ),
)

marketing_refresh = dg.define_asset_job(
    "marketing_refresh",
    selection=(
        dg.AssetSelection.groups("marketing").upstream() - dg.AssetSelection.assets(SWEEP_KEY)
    ),
    description="Renew the marketing scores and audiences with everything they depend on.",
)

daily_build = dg.ScheduleDefinition(
    name="daily_build",
    job=daily_run,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Oslo",
    description=(
        "Daily run: expired rows swept first, fresh propensity scores, consents and "
        "objections applied everywhere."
    ),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
