"""The blocking row checks as one op (``dagster_project/checks.py: build_row_checks``): every
check its own result from one step and one warehouse connection, a selection of them runs
only those, and a check whose query cannot run fails the step after the others gave theirs."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from dagster_project.checks import RowCheck, build_row_checks
from dagster_project.resources import Warehouse

MART = dg.AssetKey("mart")


@dg.asset(key=MART)
def _mart() -> None:
    """Stands for a dbt model; the checks read the warehouse, not this asset's output."""


def _checks() -> list[RowCheck]:
    return [
        RowCheck("mart", MART, "holds", "no x but 1", "select count(*) from t where x <> 1"),
        RowCheck("mart", MART, "broken", "reads a missing table", "select count(*) from gone"),
        RowCheck("mart", MART, "offended", "no row at all", "select count(*) from t"),
    ]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "row-checks-test-key")


def _run(tmp_path, selection=None):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("create or replace table t as select * from (values (1), (1)) as v (x)")
    return dg.materialize(
        [_mart, *build_row_checks(_checks())],
        resources={"warehouse": Warehouse(path=str(warehouse))},
        selection=selection,
        raise_on_error=False,
    )


def _evaluations(result) -> dict[str, tuple[bool, int]]:
    return {
        d.check_name: (d.passed, d.metadata["offending_rows"].value)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        for d in [e.asset_check_evaluation_data]
    }


def test_every_check_gives_its_result_from_one_step_and_an_unrunnable_one_fails_it(tmp_path):
    result = _run(tmp_path)
    assert not result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert steps == {"mart", "row_checks"}
    # the check after the broken one still ran
    assert _evaluations(result) == {"holds": (True, 0), "offended": (False, 2)}
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "row_checks"
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("1 row check(s) could not run, so the policy is not proven")
    assert "mart.broken: " in message and "gone" in message


def test_a_selection_runs_only_the_selected_checks(tmp_path):
    result = _run(tmp_path, selection=dg.AssetSelection.checks(dg.AssetCheckKey(MART, "holds")))
    assert result.success
    assert _evaluations(result) == {"holds": (True, 0)}
