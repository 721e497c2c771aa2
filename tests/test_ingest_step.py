"""The ingest as one step (``assets/ingest.py: build_ingest_assets``): a table whose delivery
cannot be ingested is named in the step's failure while every other table still loads, an
unexpected error stops the step at once, and nothing downstream is built. The fault is injected
into one table's ``ingest_table`` call."""

from __future__ import annotations

import pytest

from dagster_project.landing.deliveries import IngestError
from tests.whole_run import generated_platform, query, run_build_everything

pytestmark = pytest.mark.slow


def _failing_for_cards(monkeypatch, fault: Exception) -> None:
    import dagster_project.assets.ingest as ingest

    real = ingest.ingest_table

    def failing(conn, source, table, *args, **kwargs):
        if (source, table) == ("bank", "cards"):
            raise fault
        return real(conn, source, table, *args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_table", failing)


def _loaded(result) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_a_table_that_cannot_be_ingested_fails_the_step_after_the_others_loaded(
    tmp_path, monkeypatch
):
    fault = IngestError("bank/cards: the delivery cannot be read")
    _failing_for_cards(monkeypatch, fault)
    with generated_platform(tmp_path, persons=40, seed=5) as s:
        result = run_build_everything()
        assert not result.success
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert failure.step_key == "ingest"
        message = failure.step_failure_data.user_failure_data.description
        assert message == f"1 table(s) not ingested: bank/cards: {fault}"
        loaded = _loaded(result)
        assert "raw_bank/cards" not in loaded
        # the tables after it in the contract's order loaded too
        assert {"raw_bank/customers", "raw_web/page_views", "raw_privacy/objections"} <= loaded
        assert len([k for k in loaded if k.startswith("raw_")]) == 17
        assert query(s, "select count(*) from raw_web.page_views")[0][0] > 0
        # the dbt step never ran
        assert not [e for e in result.all_events if e.step_key == "fjordbank_dbt"]


def test_an_unexpected_error_stops_the_step_at_once_with_its_traceback(tmp_path, monkeypatch):
    _failing_for_cards(monkeypatch, RuntimeError("ingest of bank/cards lost rows"))
    with generated_platform(tmp_path, persons=40, seed=5):
        result = run_build_everything()
        assert not result.success
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert failure.step_key == "ingest"
        error = failure.step_failure_data.error.to_string()
        assert "RuntimeError: ingest of bank/cards lost rows" in error
        assert "failing" in error  # the traceback down to where it was raised
        loaded = _loaded(result)
        assert "raw_bank/accounts" in loaded  # before it in the contract's order
        assert not loaded & {"raw_bank/cards", "raw_web/page_views"}  # it and after it
        assert not [e for e in result.all_events if e.step_key == "fjordbank_dbt"]
