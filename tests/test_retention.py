"""Retention: the declarations, `catalog retention`, the purge engine and the sweep, on a tmp
landing zone and warehouse loaded by the real ingest (catalog/retention)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from catalog.cli import main as catalog_main
from catalog.manifest import Manifest
from catalog.retention import RetentionError, load_declarations
from catalog.retention.purge import PurgeError, PurgeTarget, purge
from catalog.retention.records import Records
from catalog.retention.sweep import expired_left, sweep
from dagster_project.landing.load import ingest_table

TODAY = dt.date(2026, 6, 1)
A, B = "02016126007", "31129956715"  # valid identity numbers (LANDING.md's examples)

PAGE_VIEWS_HEADER = "view_id,visitor_id,national_id,ip_address,page_path,viewed_at\n"
# v1 and v4 expired (viewed over a year before TODAY); v2 spans two physical lines.
RECENT = (
    PAGE_VIEWS_HEADER
    + "v1,vis1,,10.0.0.1,/a,2024-01-01T10:00:00+00:00\n"
    + 'v2,vis2,,10.0.0.2,"/b\r\nc",2026-05-01T10:00:00+00:00\n'
    + "v3,vis3,,10.0.0.3,/d,2025-12-01T10:00:00+00:00\n"
    + "v4,vis4,,10.0.0.4,/e,2023-05-01T10:00:00+00:00\n"
)
OLD = PAGE_VIEWS_HEADER + "v0,vis0,,10.0.0.9,/z,2023-01-01T10:00:00+00:00\n"
OBJECTIONS = (
    "national_id,scope,event_time,action\n"
    # A's only profiling event: 11 years old and still in force, never expires
    f"{A},profiling,2015-01-01T00:00:00+00:00,object\n"
    # B's first profiling event, superseded 2015-03-01 (over 10 years ago): expired
    f"{B},profiling,2014-01-01T00:00:00+00:00,object\n"
    f"{B},profiling,2015-03-01T00:00:00+00:00,withdraw\n"
    f"{B},direct_marketing,2014-06-01T00:00:00+00:00,object\n"
    # superseded only 2024: not yet expired
    f"{A},statistics,2020-01-01T00:00:00+00:00,object\n"
    f"{A},statistics,2024-01-01T00:00:00+00:00,withdraw\n"
)


def _cols(*names: str) -> dict[str, Any]:
    return {n: {"name": n, "description": "", "meta": {}} for n in names}


def _source(source: str, table: str, columns: tuple[str, ...], privacy: dict) -> dict[str, Any]:
    return {
        "unique_id": f"source.fjordbank.{source}.{table}",
        "name": table,
        "resource_type": "source",
        "package_name": "fjordbank",
        "source_name": source,
        "schema": f"raw_{source}",
        "identifier": table,
        "description": f"{source} {table}",
        "config": {"meta": {"privacy": privacy}},
        "columns": _cols(*columns, "_source_file", "_source_line", "_delivery_date"),
    }


def manifest_dict(page_views: dict | None = None, objections: dict | None = None) -> dict:
    pv = {"retention": "P1Y", "retention_from": "viewed_at"}
    ob = {
        "retention": "P10Y",
        "retention_from": "superseded",
        "superseded_within": ["national_id", "scope"],
    }
    sources = [
        _source(
            "web",
            "page_views",
            ("view_id", "visitor_id", "national_id", "ip_address", "page_path", "viewed_at"),
            page_views or pv,
        ),
        _source(
            "privacy",
            "objections",
            ("national_id", "scope", "event_time", "action"),
            objections or ob,
        ),
    ]
    return {
        "metadata": {"project_name": "fjordbank", "adapter_type": "duckdb", "dbt_version": "1.11"},
        "nodes": {},
        "sources": {s["unique_id"]: s for s in sources},
        "groups": {},
    }


def _manifest(data: dict) -> Manifest:
    return Manifest.from_dict(data)


@pytest.fixture
def zone(tmp_path: Path):
    """A landing zone with page views and objections, ingested into a tmp warehouse."""
    landing = tmp_path / "landing"
    files = {
        "web/page_views/2026-05-20.csv": RECENT,
        "web/page_views/2025-01-01.csv": OLD,
        "privacy/objections/2026-05-20.csv": OBJECTIONS,
    }
    for rel, text in files.items():
        (landing / rel).parent.mkdir(parents=True, exist_ok=True)
        (landing / rel).write_bytes(text.encode())
    warehouse = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(warehouse))
    for source, table in (("web", "page_views"), ("privacy", "objections")):
        ingest_table(conn, source, table, landing, allow_synthetic=True)
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(manifest_dict()))
    yield landing, conn, warehouse, manifest_path
    conn.close()


def _snapshot(landing: Path, conn: duckdb.DuckDBPyConnection) -> tuple:
    files = {p.relative_to(landing).as_posix(): p.read_bytes() for p in landing.rglob("*.csv")}
    tables = tuple(  # a file loaded again gets a new load id; its rows are the same
        conn.execute(f"select * {x} from {t} order by all").fetchall()
        for t, x in (
            ("raw_web.page_views", "exclude (_load_id)"),
            ("raw_privacy.objections", "exclude (_load_id)"),
            ("quarantine.rejected_rows", ""),
        )
    )
    return files, tables


# -- declarations ----------------------------------------------------------------------------------


def test_every_source_table_of_the_real_project_declares_its_retention(real_project):
    manifest, _ = real_project
    declarations = load_declarations(manifest)
    sources = {d.table: d for d in declarations if d.kind == "source"}
    assert len(sources) == len(manifest.sources) > 10
    for d in sources.values():
        assert d.retention and d.retention_from, d.table
    # the seeds' periods
    assert sources["raw_risk.default_cases"].retention == "P13Y"
    assert sources["raw_risk.default_cases"].retention_from == "closed_on"
    assert sources["raw_risk.fraud_cases"].retention == "P10Y"
    assert sources["raw_risk.fraud_cases"].retention_from == "opened_on"
    assert sources["raw_bank.customers"].retention == "P13Y"
    assert sources["raw_privacy.objections"].retention_from == "superseded"
    kinds = {d.table: d.kind for d in declarations}
    assert kinds["quarantine.rejected_rows"] == "quarantine"
    assert {"openlineage", "dagster_run_storage"} <= set(kinds)


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"retention": "P1Y"}, "source web.page_views: retention_from is missing"),
        (
            {"retention": "P1Y", "retention_from": "seen_at"},
            "source web.page_views: retention_from 'seen_at' is not a column of the table",
        ),
        ({"retention_from": "viewed_at"}, "source web.page_views: retention is missing"),
        (
            {"retention": "1 year", "retention_from": "viewed_at"},
            "source web.page_views: retention '1 year' is not an ISO 8601 duration",
        ),
        (
            {"retention": "P1Y", "retention_from": "superseded", "superseded_within": ["who"]},
            "source web.page_views: superseded_within/event_time names 'who'",
        ),
    ],
)
def test_a_wrong_declaration_is_refused_naming_table_and_key(privacy, message, tmp_path):
    with pytest.raises(RetentionError, match="^" + message.replace("(", r"\(")):
        load_declarations(_manifest(manifest_dict(page_views=privacy)))
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_dict(page_views=privacy)))
    result = CliRunner().invoke(catalog_main, ["retention", "--manifest", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and message.split(":")[0] in result.output


# -- catalog retention -------------------------------------------------------------------------


def test_catalog_retention_json_lists_every_table_with_its_expired_rows(zone):
    landing, conn, warehouse, manifest_path = zone
    before = _snapshot(landing, conn)
    conn.close()  # the command opens the warehouse read-only
    result = CliRunner().invoke(
        catalog_main,
        [
            "retention",
            "--manifest",
            str(manifest_path),
            "--warehouse",
            str(warehouse),
            "--format",
            "json",
            "--today",
            TODAY.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {r["table"]: r for r in json.loads(result.output)}
    keys = {"table", "retention", "retention_from", "rows", "rows_expired", "oldest"}
    assert all(keys <= set(r) for r in rows.values())
    pv = rows["raw_web.page_views"]
    assert (pv["retention"], pv["retention_from"]) == ("P1Y", "viewed_at")
    quarantined = 1 if rows["quarantine.rejected_rows"]["rows"] else 0  # "/b\nc" may be refused
    assert pv["rows"] == 5 - quarantined and pv["rows_expired"] == 3  # v0, v1, v4
    assert pv["oldest"].startswith("2023-01-01")
    ob = rows["raw_privacy.objections"]
    assert (ob["rows"], ob["rows_expired"], ob["retention_from"]) == (6, 1, "superseded")
    assert ob["oldest"].startswith("2015-03-01")  # the oldest supersession
    assert rows["openlineage"]["rows"] is None
    conn = duckdb.connect(str(warehouse))
    assert _snapshot(landing, conn) == before  # read-only
    conn.close()


# -- the purge engine --------------------------------------------------------------------------


def test_purge_rewrites_a_landing_file_keeping_every_other_byte(zone):
    landing, conn, _, _ = zone
    target = PurgeTarget("web", "page_views", raw_where="t.view_id in ('v1', 'v4')")
    dry = purge(conn, landing, [target], apply=False)
    assert dry.tables["web.page_views"].to_json() == {
        "raw": 2,
        "quarantine": 0,
        "landing": 2,
        "files_rewritten": 1,
    }
    result = purge(conn, landing, [target], apply=True)
    assert result.total().landing == 2
    path = landing / "web/page_views/2026-05-20.csv"
    kept = RECENT.splitlines(keepends=True)
    assert path.read_bytes() == "".join([kept[0], kept[2], kept[3], kept[4]]).encode()
    assert (landing / "web/page_views/2025-01-01.csv").read_text() == OLD  # untouched
    assert not list(landing.rglob(".*purge-tmp"))
    # the warehouse stays in step with the rewritten file: a re-ingest gives the same rows
    after = _snapshot(landing, conn)
    ingest_table(conn, "web", "page_views", landing, allow_synthetic=True)
    assert _snapshot(landing, conn) == after
    # a file left without records keeps its header
    purge(
        conn, landing, [PurgeTarget("web", "page_views", raw_where="t.view_id = 'v0'")], apply=True
    )
    assert (landing / "web/page_views/2025-01-01.csv").read_text() == PAGE_VIEWS_HEADER


def test_purge_of_quarantine_rows_by_record(zone):
    landing, conn, _, _ = zone
    bad = PAGE_VIEWS_HEADER + "v9,vis9,,10.0.0.9,/q,not-a-time\n"
    (landing / "web/page_views/2026-05-21.csv").write_text(bad)
    ingest_table(conn, "web", "page_views", landing, allow_synthetic=True)
    target = PurgeTarget(
        "web", "page_views", quarantine_where="q.record->>'view_id' = $v", params={"v": "v9"}
    )
    result = purge(conn, landing, [target], apply=True)
    assert result.tables["web.page_views"].quarantine == 1
    assert (landing / "web/page_views/2026-05-21.csv").read_text() == PAGE_VIEWS_HEADER
    n = conn.execute("select count(*) from quarantine.rejected_rows where file like '%21.csv'")
    assert n.fetchone()[0] == 0


def test_purge_fails_closed_when_a_file_changed_since_the_ingest(zone):
    landing, conn, _, _ = zone
    path = landing / "web/page_views/2026-05-20.csv"
    path.write_text(RECENT + "v5,vis5,,10.0.0.5,/f,2026-05-02T10:00:00+00:00\n")
    before = _snapshot(landing, conn)
    with pytest.raises(PurgeError, match="changed since the last ingest"):
        purge(conn, landing, [PurgeTarget("web", "page_views", raw_where="true")], apply=True)
    assert _snapshot(landing, conn) == before
    with pytest.raises(PurgeError, match=r"web\.page_views: the purge predicate does not run"):
        purge(conn, landing, [PurgeTarget("web", "page_views", raw_where="t.nope")], apply=True)


def test_scan_records_spans_quoted_newlines_and_skips_empty_lines():
    r = Records(b'h\r\n1,"a\r\nb"\r\n\r\n2,c')
    assert (r.starts.tolist(), r.spans.tolist()) == ([2, 5], [2, 1])


# -- the sweep ---------------------------------------------------------------------------------


def test_an_event_still_in_force_is_never_swept(zone):
    landing, conn, _, manifest_path = zone
    declarations = load_declarations(_manifest(json.loads(manifest_path.read_text())))
    sweep(conn, landing, declarations, TODAY, apply=True)
    left = conn.execute(
        "select national_id, scope, action, cast(event_time as date) from raw_privacy.objections "
        "order by all"
    ).fetchall()
    assert left == [
        (A, "profiling", "object", dt.date(2015, 1, 1)),  # 11 years old, still in force
        (A, "statistics", "object", dt.date(2020, 1, 1)),  # superseded under 10 years ago
        (A, "statistics", "withdraw", dt.date(2024, 1, 1)),
        (B, "direct_marketing", "object", dt.date(2014, 6, 1)),  # in force
        (B, "profiling", "withdraw", dt.date(2015, 3, 1)),  # in force
    ]
    assert "2014-01-01" not in (landing / "privacy/objections/2026-05-20.csv").read_text()
    # ten years on, the in-force events are still there
    sweep(conn, landing, declarations, dt.date(2040, 1, 1), apply=True)
    assert conn.execute("select count(*) from raw_privacy.objections").fetchone()[0] == 4


def test_sweep_dry_run_changes_nothing_and_apply_leaves_nothing_expired(zone):
    landing, conn, _, manifest_path = zone
    declarations = load_declarations(_manifest(json.loads(manifest_path.read_text())))
    before = _snapshot(landing, conn)
    dry = sweep(conn, landing, declarations, TODAY, apply=False)
    assert _snapshot(landing, conn) == before
    assert dry.purge.tables["privacy.objections"].raw == 1
    assert set(expired_left(conn, landing, declarations, TODAY)) == {
        "raw_web.page_views",
        "raw_privacy.objections",
    }
    done = sweep(conn, landing, declarations, TODAY, apply=True)
    assert done.purge.to_json()["tables"] == dry.purge.to_json()["tables"]
    assert expired_left(conn, landing, declarations, TODAY) == {}
    assert "v1," not in (landing / "web/page_views/2026-05-20.csv").read_text()
    # a delivery not ingested yet: the sweep re-ingests it first (apply), then sweeps it
    (landing / "web/page_views/2026-05-25.csv").write_text(
        PAGE_VIEWS_HEADER + "v7,vis7,,10.0.0.7,/g,2020-01-01T10:00:00+00:00\n"
    )
    assert sweep(conn, landing, declarations, TODAY, apply=False).not_ingested == (
        "raw_web.page_views",
    )
    with pytest.raises(PurgeError, match="not all ingested"):
        sweep(conn, landing, declarations, TODAY, apply=True)

    def resync(source: str, table: str) -> None:
        ingest_table(conn, source, table, landing, allow_synthetic=True)

    again = sweep(conn, landing, declarations, TODAY, apply=True, resync=resync)
    assert again.resynced == ("raw_web.page_views",)
    assert again.purge.tables["web.page_views"].landing == 1
    assert expired_left(conn, landing, declarations, TODAY) == {}
