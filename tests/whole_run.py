"""Whole-platform runs in a temporary data dir, for the end-to-end tests: one generated landing
zone, the ``build_everything`` job run in-process, and its check results and warehouse read.

Import it from a test module (``from tests.whole_run import ...``); it holds no tests.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest

AS_OF = dt.date(2026, 11, 2)
KEY = b"test-key"
MARKETING = (
    "marketing_scoring_features",
    "marketing_propensity_scores",
    "marketing_campaign_audience",
    "marketing_social_matching_audience",
)


@contextmanager
def generated_platform(root: Path, *, persons: int, seed: int, first_run: bool = False):
    """A data dir under ``root`` with ``persons`` generated persons (synthetic identity numbers,
    the test key, no OpenLineage events), set in the environment until the block ends; with
    ``first_run``, a successful ``build_everything`` run already made. Yields the settings."""
    from dagster_project.landing.generate import generate

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_DATA_DIR", str(root / "data"))
        # an earlier run in this process exported its warehouse for dbt's profile
        # (export_dbt_environment): this data dir's warehouse, not that one
        mp.delenv("FJORDBANK_WAREHOUSE", raising=False)
        mp.delenv("FJORDBANK_LANDING_DIR", raising=False)
        mp.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", KEY.decode())
        mp.setenv("OPENLINEAGE_DISABLED", "true")
        from catalog.settings import settings

        s = settings()
        generate(s.landing_dir, persons=persons, seed=seed, as_of=AS_OF, progress=False)
        if first_run:
            result = run_build_everything()
            assert result.success, "the first run of the generated platform failed"
        yield s


def run_build_everything() -> dg.ExecuteInProcessResult:
    """The ``build_everything`` job of the current settings, in-process, errors kept."""
    from dagster_project.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        return (
            defs()
            .resolve_job_def("build_everything")
            .execute_in_process(instance=instance, raise_on_error=False)
        )


def check_evaluations(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """Every asset check evaluated in ``result``, by (asset key, check name)."""
    return {
        (d.asset_key.to_user_string(), d.check_name): d
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        for d in [e.asset_check_evaluation_data]
    }


def query(settings, sql: str, *params) -> list[tuple]:
    """Rows of ``sql`` on the warehouse of ``settings``, read only."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()
