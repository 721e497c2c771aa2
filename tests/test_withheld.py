"""Outputs withheld while a restricting privacy event cannot be applied (assets/withheld.py):
the governed models come from the manifest's graph, and their relations are dropped."""

from __future__ import annotations

import json

import duckdb
import pytest

from dagster_project.assets.withheld import plan_withholding, withheld_outputs, withhold


def _manifest(tmp_path):
    def model(name, materialized="table"):
        return {
            "resource_type": "model",
            "name": name,
            "schema": "main",
            "alias": name,
            "config": {"materialized": materialized},
        }

    nodes = {
        "model.p.stg_objections": model("stg_objections", "view"),
        "model.p.int_objections": model("int_objections", "ephemeral"),
        "model.p.marketing": model("marketing"),
        "model.p.register": model("register"),
        "test.p.not_null_marketing": {"resource_type": "test", "name": "nn"},
    }
    child_map = {
        "source.p.privacy.objections": ["model.p.stg_objections"],
        "source.p.bank.customers": ["model.p.register"],
        "model.p.stg_objections": ["model.p.int_objections"],
        "model.p.int_objections": ["model.p.marketing"],
        "model.p.marketing": ["test.p.not_null_marketing"],
        "model.p.register": ["model.p.marketing"],
    }
    sources = {
        "source.p.privacy.objections": {"source_name": "privacy", "name": "objections"},
        "source.p.bank.customers": {"source_name": "bank", "name": "customers"},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes, "child_map": child_map, "sources": sources}))
    return path


def _warehouse(tmp_path, unapplied):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("create table main.marketing as select 1 as person_id")
    conn.execute("create table main.register as select 1 as person_id")
    conn.execute("create view main.stg_objections as select 1 as x")
    conn.execute("create schema quarantine")
    conn.execute(
        'create table quarantine.unapplied_events (source VARCHAR, "table" VARCHAR, '
        "file VARCHAR, line BIGINT, reason VARCHAR)"
    )
    for r in unapplied:
        conn.execute("insert into quarantine.unapplied_events values (?, ?, ?, ?, ?)", r)
    return conn


def _relations(conn):
    return {
        r[0] for r in conn.execute("select table_name from information_schema.tables").fetchall()
    }


def test_nothing_is_withheld_when_every_event_was_applied(tmp_path):
    conn = _warehouse(tmp_path, [])
    plan = plan_withholding(conn, _manifest(tmp_path))
    assert not plan and plan.selectors == () and withhold(conn, plan) == []
    assert {"marketing", "register", "stg_objections"} <= _relations(conn)


def test_the_models_downstream_of_the_log_are_withheld_and_dropped(tmp_path):
    conn = _warehouse(
        tmp_path, [("privacy", "objections", "privacy/objections/2026-11-03.csv", 3, "not UTF-8")]
    )
    plan = plan_withholding(conn, _manifest(tmp_path))

    assert plan.selectors == ("source:privacy.objections+",)
    # ephemeral models have no relation; tests are not outputs; the register is not governed
    assert [m for m, _, _ in plan.models] == ["marketing", "stg_objections"]
    assert "privacy/objections/2026-11-03.csv line 3" in plan.summary()
    assert sorted(withhold(conn, plan)) == ["marketing", "stg_objections"]
    assert "marketing" not in _relations(conn) and "stg_objections" not in _relations(conn)
    assert "register" in _relations(conn)
    conn.close()
    assert [m for m, _, _ in withheld_outputs(tmp_path / "w.duckdb", _manifest(tmp_path)).models]
    assert not withheld_outputs(tmp_path / "none.duckdb", _manifest(tmp_path))


def test_a_log_without_a_dbt_source_fails_closed(tmp_path):
    conn = _warehouse(tmp_path, [("privacy", "cookie_consents", "f.csv", 2, "rejected")])
    with pytest.raises(ValueError, match=r"declares no source privacy\.cookie_consents"):
        plan_withholding(conn, _manifest(tmp_path))
