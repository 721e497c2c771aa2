"""The emitter: openlineage-python's standard configuration, the events file by default, and
never an exception into the run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.transport.transport import Config, Transport
from spec_validation import spec_dir, validate_events_file
from synthetic_build import (  # noqa: F401 (fixtures, imported to register them)
    isolated_openlineage_env_fixture,
    small_project_fixture,
)

from catalog.openlineage import ParentRun
from dagster_project.landing.deliveries import IngestError
from dagster_project.landing.load import ingest_table
from dagster_project.openlineage import (
    DEFAULT_HTTP_RETRY,
    LineageEmitter,
    OpenLineageResource,
    build_emitter,
    emit_dbt_build,
    ingest_lineage,
    nominal_time_of,
    transport_config,
)

LOGGER = "dagster_project.openlineage"


def _spec_present() -> bool:
    return (spec_dir() / "OpenLineage.json").is_file()


def test_without_configuration_events_are_appended_to_the_events_file(
    small_project, isolated_openlineage_env, tmp_path
):
    events = small_project.dbt_events()
    first = build_emitter()
    path = tmp_path / "data" / "openlineage" / "events.jsonl"
    assert first.destination == str(path)
    assert first.emit_all(events[:4]) == 4
    second = build_emitter()  # a later step of the run: appends, never overwrites
    assert second.emit_all(events[4:]) == len(events) - 4
    lines = path.read_text().splitlines()
    assert [json.loads(line)["eventTime"] for line in lines] == [e.eventTime for e in events]
    if _spec_present():
        assert validate_events_file(path) == len(events)


def test_an_openlineage_yml_in_the_working_directory_is_used(
    isolated_openlineage_env, tmp_path, monkeypatch
):
    Path("openlineage.yml").write_text(
        "transport:\n  type: http\n  url: http://lineage.example:5000\n  timeout: 7\n"
    )
    config = transport_config()
    assert config["type"] == "http" and config["url"] == "http://lineage.example:5000"
    assert config["timeout"] == 7  # what the configuration sets is kept
    assert config["retry"] == DEFAULT_HTTP_RETRY  # what it leaves out gets the short default
    assert build_emitter().destination == "http://lineage.example:5000/api/v1/lineage"

    other = tmp_path / "other.yml"
    other.write_text(f"transport:\n  type: file\n  log_file_path: {tmp_path / 'x.jsonl'}\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(other))
    assert transport_config() == {"type": "file", "log_file_path": str(tmp_path / "x.jsonl")}


def test_transport_variables_configure_a_composite_of_http_and_file(
    isolated_openlineage_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "composite")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__URL", "http://m:5000")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__TYPE", "file")
    monkeypatch.setenv(
        "OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__LOG_FILE_PATH", str(tmp_path / "c.jsonl")
    )
    config = transport_config()
    assert config["type"] == "composite"
    assert config["transports"]["marquez"]["timeout"] == 2.0
    assert "timeout" not in config["transports"]["local"]
    assert build_emitter().client.transport.kind == "composite"


def test_disabled_means_nothing_is_written(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    emitter = build_emitter()
    assert emitter.client.transport.kind == "noop"
    emitter.emit_all(small_project.dbt_events())
    assert not (tmp_path / "data" / "openlineage").exists()


def test_a_configuration_the_client_rejects_is_logged_not_raised(isolated_openlineage_env, caplog):
    Path("openlineage.yml").write_text("transport:\n  type: http\n")  # no url
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        emitter = build_emitter()
    assert emitter.client.transport.kind == "noop"
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert line.startswith("OpenLineage is not configured correctly (RuntimeError:")
    assert "fix openlineage.yml or the OPENLINEAGE_* variables" in line


def test_an_unwritable_events_file_is_logged(
    small_project, isolated_openlineage_env, tmp_path, caplog
):
    blocked = tmp_path / "blocked"
    blocked.mkdir()  # a directory where the file should be
    emitter = build_emitter(blocked)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert emitter.emit(small_project.dbt_events()[0]) is False
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert line.startswith(f"OpenLineage event not delivered to {blocked}: RuntimeError: ")


class _Refusing(Transport):
    kind = "refusing"
    config_class = Config

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, event):
        self.calls += 1
        raise ConnectionError("connection refused")


def test_after_failures_in_a_row_the_emitter_stops_trying(small_project, caplog):
    transport = _Refusing()
    emitter = LineageEmitter(OpenLineageClient(transport=transport), max_failures=3)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert emitter.emit_all(small_project.dbt_events()[:5]) == 0
    assert transport.calls == 3
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 5 and emitter.undelivered == 5
    assert lines[0] == (
        "OpenLineage event not delivered to refusing: ConnectionError: connection refused"
    )
    assert lines[-1].endswith("not tried after 3 failed deliveries in a row")


def test_the_resource_builds_emitters_and_names_the_dagster_run(isolated_openlineage_env, tmp_path):
    resource = OpenLineageResource(events_file=str(tmp_path / "lineage" / "e.jsonl"))
    assert resource.emitter().destination == str(tmp_path / "lineage" / "e.jsonl")
    assert OpenLineageResource().emitter().destination == str(
        tmp_path / "data" / "openlineage" / "events.jsonl"
    )
    context = SimpleNamespace(run_id="0195a7e2-4b1c-7d3e-9f00-0000000000cc", job_name="daily")
    assert resource.parent(context) == ParentRun(context.run_id, "daily", "fjordbank")


def test_nominal_time_of_scheduled_runs():
    assert nominal_time_of({".dagster/scheduled_execution_time": "2026-03-02T04:00:00+00:00"}) == (
        "2026-03-02T04:00:00+00:00"
    )
    assert nominal_time_of({"dagster/schedule_name": "daily_build"}) is None
    assert nominal_time_of({".dagster/scheduled_execution_time": "not a time"}) is None


LOGINS = "customer_no,login_date,channel,login_count\n"


def test_ingest_lineage_around_a_real_ingest(isolated_openlineage_env, tmp_path):
    landing = tmp_path / "landing"
    (landing / "bank" / "digital_logins").mkdir(parents=True)
    (landing / "bank" / "digital_logins" / "2026-03-01.csv").write_text(
        LOGINS + "B00000017,2026-02-28,mobile_app,3\nB00000018,2026-02-28,fax,1\n"
    )
    warehouse = tmp_path / "warehouse.duckdb"
    parent = ParentRun("0195a7e2-4b1c-7d3e-9f00-0000000000bb", "build_everything")
    emitter = build_emitter()
    conn = duckdb.connect(str(warehouse))
    try:
        with ingest_lineage(
            emitter,
            "bank",
            "digital_logins",
            parent=parent,
            landing_root=landing,
            warehouse=warehouse,
        ) as lineage:
            lineage.record(
                ingest_table(conn, "bank", "digital_logins", landing, allow_synthetic=True)
            )
        (landing / "bank" / "digital_logins" / "notes.txt").write_text("not a delivery")
        with (
            pytest.raises(IngestError, match="not a delivery file"),
            ingest_lineage(
                emitter,
                "bank",
                "digital_logins",
                parent=parent,
                landing_root=landing,
                warehouse=warehouse,
            ),
        ):
            ingest_table(conn, "bank", "digital_logins", landing, allow_synthetic=True)
    finally:
        conn.close()

    path = tmp_path / "data" / "openlineage" / "events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "FAIL"]
    complete = events[1]
    assert complete["job"]["name"] == "raw_bank.digital_logins"
    assert [(i["namespace"], i["name"]) for i in complete["inputs"]] == [
        ("file", (landing / "bank/digital_logins/2026-03-01.csv").as_posix())
    ]
    raw, quarantine = complete["outputs"]
    assert raw["outputFacets"]["outputStatistics"]["rowCount"] == 1
    assert quarantine["outputFacets"]["outputStatistics"]["rowCount"] == 1
    assert raw["facets"]["ownership"]["owners"][0]["name"] == "company:Fjordbank ASA"
    assert raw["facets"]["documentation"]["description"] == "Daily login counts per channel."
    assert [f["name"] for f in raw["facets"]["schema"]["fields"]][-4:] == [
        "_source_file",
        "_source_line",
        "_delivery_date",
        "_load_id",
    ]
    assert raw["facets"]["dataQualityAssertions"]["assertions"][0] | {"params": {}} == {
        "assertion": "no_quarantined_rows",
        "name": "no_quarantined_rows",
        "success": False,
        "params": {},
    }
    assert complete["job"]["facets"]["sourceCodeLocation"]["url"].endswith(
        "/dagster_project/landing/load.py"
    )
    assert events[3]["run"]["facets"]["errorMessage"]["message"].startswith(
        f"{landing / 'bank/digital_logins/notes.txt'}: not a delivery file"
    )
    assert events[3]["run"]["runId"] == events[2]["run"]["runId"] != complete["run"]["runId"]
    if _spec_present():
        assert validate_events_file(path) == 4


def test_emit_dbt_build_without_artifacts_logs_and_goes_on(
    isolated_openlineage_env, tmp_path, caplog
):
    emitter = build_emitter()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        delivered = emit_dbt_build(
            emitter,
            tmp_path / "target",
            parent=None,
            warehouse=tmp_path / "wh.duckdb",
            project_dir=tmp_path / "dbt",
        )
    assert delivered == 0
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert line.startswith(
        f"OpenLineage events of the dbt build in {tmp_path / 'target'} not built: FileNotFoundError"
    )
