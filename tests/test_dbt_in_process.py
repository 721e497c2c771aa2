"""dbt run in the Dagster step's process (``assets/dbt.py: build_in_process``): a node that
fails fails the step with dbt's own error, the models it did build are still reported, and the
DuckDB database dbt opened is closed when the step ends (this process opens the warehouse
again, with other settings). The successful builds are the other end-to-end tests'."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from tests.whole_run import generated_platform

pytestmark = pytest.mark.slow


def test_a_failing_node_fails_the_step_with_dbts_error_and_releases_the_warehouse(tmp_path):
    from dagster_project.definitions import defs

    with generated_platform(tmp_path, persons=50, seed=3) as s:
        # the seed builds; the staged customers fail: their raw table was never loaded
        selection = [dg.AssetKey("stg_bank__customers"), dg.AssetKey("scoring_scenarios")]
        with dg.DagsterInstance.ephemeral() as instance:
            result = (
                defs()
                .resolve_job_def("build_everything")
                .execute_in_process(
                    instance=instance, raise_on_error=False, asset_selection=selection
                )
            )
        assert not result.success
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert failure.step_key == "fjordbank_dbt"
        message = failure.step_failure_data.user_failure_data.description
        assert message.startswith("dbt build failed: "), message
        first = message.splitlines()[0]
        assert "ERROR creating sql incremental model main.stg_bank__customers" in first
        assert 'Table with name "raw_bank.customers" does not exist' in message  # DuckDB's, in full
        assert str(s.dbt_target_path / "build" / "dbt.log") in message
        built = [
            e.asset_key.to_user_string()
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"
        ]
        assert built == ["scoring_scenarios"]
        # closed by the step: a connection with other settings than dbt's opens at once
        with duckdb.connect(str(s.warehouse), config={"threads": 1}) as conn:
            assert conn.execute("select count(*) from main.scoring_scenarios").fetchone()[0] > 0


def test_a_large_selection_runs_from_dagster_dbts_project_copy_which_is_removed(
    tmp_path, monkeypatch
):
    """Above dagster-dbt's threshold of selected resources (200; lowered here so that one seed
    crosses it) the selection is a generated selector in a copy of the project, which
    dagster-dbt leaves behind; the step removes it once dbt has ended."""
    import tempfile

    from dagster_project.definitions import defs

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr("dagster_dbt.asset_utils._SELECTION_ARGS_THRESHOLD", 0)
    with (
        generated_platform(tmp_path, persons=50, seed=3),
        dg.DagsterInstance.ephemeral() as instance,
    ):
        result = (
            defs()
            .resolve_job_def("build_everything")
            .execute_in_process(
                instance=instance,
                raise_on_error=False,
                asset_selection=[dg.AssetKey("scoring_scenarios")],
            )
        )
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert result.success
    (started,) = [m for m in logs if m.startswith("Running dbt in this process")]
    assert f"--selector dagster_run_{result.run_id}" in started
    built = [
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert built == ["scoring_scenarios"]
    assert not list(temp.rglob("dbt_project.yml")), "the project copy was left behind"


@pytest.mark.parametrize("changed", ["a model", "the manifest"])
def test_a_project_changed_after_the_definitions_read_it_builds_nothing(tmp_path, changed):
    """The policy gate checked the manifest the definitions read; dbt parses the project again
    when it builds. A model saved (or the manifest compiled again by another process) in
    between fails the dbt step before dbt starts (fail closed)."""
    import os
    import time

    from dagster_project.definitions import defs
    from dagster_project.project import DBT_PROJECT_DIR

    with generated_platform(tmp_path, persons=50, seed=3) as s:
        job = defs().resolve_job_def("build_everything")  # reads the compiled manifest
        touched = (
            DBT_PROJECT_DIR / "models" / "staging" / "bank" / "stg_bank__customers.sql"
            if changed == "a model"
            else s.dbt_target_path / "manifest.json"
        )
        before = touched.stat()
        try:
            os.utime(touched, ns=(before.st_atime_ns, time.time_ns() + 10**9))
            with dg.DagsterInstance.ephemeral() as instance:
                result = job.execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    asset_selection=[dg.AssetKey("scoring_scenarios")],
                )
                logs = [e.user_message for e in instance.all_logs(result.run_id)]
        finally:
            os.utime(touched, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert not result.success
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert failure.step_key == "fjordbank_dbt"
        assert "changed after this run compiled and checked its SQL; nothing was built" in (
            failure.step_failure_data.user_failure_data.description
        )
        assert not [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
        assert not [m for m in logs if m.startswith("Running dbt")]  # dbt never started
