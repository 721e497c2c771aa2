"""Bad deliveries on whole platform runs (issue 14): what is set aside, what is withheld, and
that the rest of the group's build goes on.

One generated platform under ``tmp_path``; the runs build on each other in file order:

1. a clean run, to find a person in every marketing output;
2. an objections file with an unknown extra column objecting for that person, and a customers
   file with a NUL byte: the objection applies, the customers file is set aside, the run
   succeeds;
3. an objections file that cannot be read: the outputs downstream of the objections are not
   published, everything else is, and a check names the file and line;
4. that file delivered again correctly: the outputs are published again.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from catalog.pseudonym import hmac_sha256_hex
from tests.whole_run import (
    AS_OF,
    KEY,
    MARKETING,
    check_evaluations,
    generated_platform,
    query,
    run_build_everything,
)

pytestmark = pytest.mark.slow

# Outputs no objection or consent governs: never withheld.
UNGOVERNED = ("group_customer_register",)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    root = tmp_path_factory.mktemp("landing_faults")
    with generated_platform(root, persons=400, seed=11, first_run=True) as s:
        yield s


def _materialised(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _relations(settings) -> set[str]:
    return {
        r[0]
        for r in query(
            settings, "select table_name from information_schema.tables where table_schema='main'"
        )
    }


def _deliver(settings, source: str, table: str, day: int, content: bytes):
    path = settings.landing_dir / source / table / f"{(AS_OF + dt.timedelta(days=day))}.csv"
    path.write_bytes(content)
    return path


def test_an_extra_column_does_not_hide_an_objection_and_a_bad_customers_file_is_set_aside(
    platform,
):
    in_all = " intersect ".join(f"select person_id from main.{m}" for m in MARKETING)
    person_id = query(platform, f"select person_id from ({in_all}) order by 1 limit 1")[0][0]
    nid = next(
        n
        for (n,) in query(platform, "select national_id from main.group_customer_register")
        if hmac_sha256_hex(n, KEY) == person_id
    )
    later = "2026-11-03T08:00:00+01:00"
    objections = _deliver(
        platform,
        "privacy",
        "objections",
        1,
        (
            "national_id,scope,event_time,action,comment\n"
            f"{nid},direct_marketing,{later},object,called customer service\n"
        ).encode(),
    )
    customers = sorted((platform.landing_dir / "bank" / "customers").glob("*.csv"))[-1]
    good = customers.read_bytes()
    header, _, rest = good.partition(b"\n")
    bad = header + b"\n" + rest.replace(b",", b",\x00", 1)
    bad_customers = _deliver(platform, "bank", "customers", 1, bad)
    loaded_before = query(platform, "select count(*) from raw_bank.customers")[0][0]

    result = run_build_everything()

    assert result.success
    checks = check_evaluations(result)
    # The objection is applied from its contract columns; the extra column is reported.
    for model in MARKETING:
        assert query(
            platform, f"select count(*) from main.{model} where person_id = ?", person_id
        ) == [(0,)], model
    assert query(
        platform,
        "select count(*) from raw_privacy.objections where national_id = ? and _source_file = ?",
        nid,
        objections.relative_to(platform.landing_dir).as_posix(),
    ) == [(1,)]
    columns = checks[("raw_privacy/objections", "contract_columns_only")]
    assert not columns.passed and columns.severity == dg.AssetCheckSeverity.WARN
    assert "comment" in columns.description and objections.name in columns.description
    assert checks[("raw_privacy/objections", "restricting_events_applied")].passed
    # The customers file is set aside with its reason, bytes kept; the table keeps the others.
    assert not bad_customers.exists()
    held = platform.file_quarantine_dir / "bank" / "customers" / bad_customers.name
    assert held.read_bytes() == bad
    meta = json.loads(held.with_name(held.name + ".json").read_text())
    assert meta["original_path"] == str(bad_customers)
    assert "NUL bytes" in meta["reason"] and meta["sha256"]
    assert query(platform, "select count(*) from raw_bank.customers")[0][0] == loaded_before
    set_aside = checks[("raw_bank/customers", "no_files_set_aside")]
    assert not set_aside.passed and set_aside.severity == dg.AssetCheckSeverity.WARN
    assert bad_customers.name in set_aside.description and "NUL bytes" in set_aside.description
    # ... and everything built.
    assert {*MARKETING, *UNGOVERNED, "raw_bank/customers"} <= _materialised(result)
    failed = {k for k, d in checks.items() if not d.passed}
    assert failed == {
        ("raw_privacy/objections", "contract_columns_only"),
        ("raw_bank/customers", "no_files_set_aside"),
    }


def test_an_unreadable_objections_file_withholds_the_outputs_it_governs(platform, capsys):
    from dagster_project.cli import _set_aside_and_withheld
    from dagster_project.project import dbt_project

    manifest = json.loads(dbt_project().manifest_path.read_text())
    source = next(
        k
        for k, v in manifest["sources"].items()
        if (v["source_name"], v["name"]) == ("privacy", "objections")
    )
    governed, stack = set(), [source]
    while stack:
        for child in manifest["child_map"][stack.pop()]:
            node = manifest["nodes"].get(child)
            if node and node["resource_type"] == "model" and node["name"] not in governed:
                governed.add(node["name"])
                stack.append(child)
    assert set(MARKETING) <= governed and not set(UNGOVERNED) & governed
    assert governed <= _relations(platform)  # published by the earlier runs
    bad = _deliver(
        platform,
        "privacy",
        "objections",
        2,
        "national_id,scope,event_time,action\n01018012345,profiling,2026-11-04T08:00:00+01:00,"
        "object\nBjørn,direct_marketing,2026-11-04T08:00:00+01:00,object\n".encode("latin-1"),
    )

    result = run_build_everything()

    assert result.success  # the rest of the group's build went on
    checks = check_evaluations(result)
    blocking = checks[("raw_privacy/objections", "restricting_events_applied")]
    assert not blocking.passed and blocking.severity == dg.AssetCheckSeverity.ERROR
    rel = bad.relative_to(platform.landing_dir).as_posix()
    assert f"{rel} line 3" in blocking.description and "not UTF-8" in blocking.description
    assert bad.exists()  # a privacy event log's file is never moved away
    # The governed outputs are neither built nor left standing; the others are built.
    materialised = _materialised(result)
    assert not governed & materialised
    assert not governed & _relations(platform)
    others = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"] not in governed
    }
    assert others and others <= materialised
    assert {*UNGOVERNED} <= _relations(platform)
    # The run summary says what needs attention: the set-aside file, the withheld outputs.
    capsys.readouterr()
    _set_aside_and_withheld(platform)
    summary = capsys.readouterr().out
    assert "set aside: 1 delivery file(s) could not be read" in summary
    assert "bank/customers/" in summary and "NUL bytes" in summary
    (withheld,) = [line for line in summary.splitlines() if line.startswith("WITHHELD: ")]
    assert "privacy.objections (" in withheld and f"{rel} line 3" in withheld
    assert all(name in withheld for name in governed)
    # Nothing else failed because of it.
    assert {k for k, d in checks.items() if not d.passed} <= {
        ("raw_privacy/objections", "restricting_events_applied"),
        ("raw_privacy/objections", "contract_columns_only"),
        ("raw_bank/customers", "no_files_set_aside"),
    }


def test_the_objections_delivered_again_correctly_publish_the_outputs_again(platform, capsys):
    from dagster_project.cli import _set_aside_and_withheld

    bad = platform.landing_dir / "privacy" / "objections" / f"{AS_OF + dt.timedelta(days=2)}.csv"
    assert bad.exists()  # left by the test before
    bad.write_text("national_id,scope,event_time,action\n", encoding="utf-8")

    result = run_build_everything()

    assert result.success
    checks = check_evaluations(result)
    assert checks[("raw_privacy/objections", "restricting_events_applied")].passed
    assert {*MARKETING, *UNGOVERNED} <= _materialised(result) & _relations(platform)
    assert all(d.passed for (_, name), d in checks.items() if name == "no_objectors")
    capsys.readouterr()
    _set_aside_and_withheld(platform)
    assert "WITHHELD" not in capsys.readouterr().out
