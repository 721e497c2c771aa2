"""The ingest as one step (``assets/ingest.py: build_ingest_assets``): a table that cannot be
ingested is named in the step's failure while every other table still loads, and nothing
downstream is built. The fault is injected into one table's ``ingest_table`` call."""

from __future__ import annotations

import pytest

from dagster_project.landing.deliveries import IngestError
from tests.whole_run import generated_platform, query, run_build_everything

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (IngestError("bank/cards: the delivery cannot be read"), "1 table(s) not ingested: "),
        (RuntimeError("ingest of bank/cards lost rows"), "RuntimeError: ingest of bank/cards"),
    ],
    ids=["expected", "unexpected"],
)
def test_a_table_that_cannot_be_ingested_fails_the_step_after_the_others_loaded(
    tmp_path, monkeypatch, fault, reason
):
    import dagster_project.assets.ingest as ingest

    real = ingest.ingest_table

    def failing_for_cards(conn, source, table, *args, **kwargs):
        if (source, table) == ("bank", "cards"):
            raise fault
        return real(conn, source, table, *args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_table", failing_for_cards)
    with generated_platform(tmp_path, persons=40, seed=5) as s:
        result = run_build_everything()
        assert not result.success
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        assert failure.step_key == "ingest"
        assert reason in failure.step_failure_data.error.to_string()
        if isinstance(fault, IngestError):  # a one-line reason for the console
            message = failure.step_failure_data.user_failure_data.description
            assert message == "1 table(s) not ingested: bank/cards: " + str(fault)
        loaded = {
            e.asset_key.to_user_string()
            for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"
        }
        assert "raw_bank/cards" not in loaded
        # the tables after it in the contract's order loaded too
        assert {"raw_bank/customers", "raw_web/page_views", "raw_privacy/objections"} <= loaded
        assert len([k for k in loaded if k.startswith("raw_")]) == 17
        assert query(s, "select count(*) from raw_web.page_views")[0][0] > 0
        # the dbt step never ran
        assert not [e for e in result.all_events if e.step_key == "fjordbank_dbt"]
