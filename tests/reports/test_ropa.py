"""The record of processing (GDPR Art. 30(1)): generated from tags, lineage and the controller
configuration; every purpose an activity, every item filled, erasure limits from the tags."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mini_project import controller_doc

from catalog.cli import main
from catalog.lineage import ColumnRef, EdgeType
from catalog.loader import Catalog
from catalog.reports import ropa
from catalog.reports.controller import (
    ControllerConfigError,
    load_controller_config,
    parse_controller_config,
)
from catalog.retention import load_declarations
from catalog.taxonomy import covered_by_any
from dagster_project.landing.contract import COMPANIES


def _purposes_in_tags(catalog: Catalog) -> dict[str, list[ColumnRef]]:
    out: dict[str, list[ColumnRef]] = defaultdict(list)
    for uid, node in catalog.tags.items():
        for column, tags in node.columns.items():
            for p in tags.purposes:
                out[p].append(ColumnRef(uid, column))
    return out


def _assert_filled(value, where: str) -> None:
    assert value, f"{where} is empty"
    if isinstance(value, dict):
        for k, v in value.items():
            _assert_filled(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _assert_filled(v, f"{where}[{i}]")
    elif isinstance(value, str):
        assert value.strip(), f"{where} is blank"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# -- the controller configuration (fast) -------------------------------------------------------


def test_controller_configuration_is_complete_and_names_the_required_recipients():
    cfg = load_controller_config()
    assert cfg.controller["name"] == "Fjordbank ASA"
    assert cfg.data_protection_officer["contact"]
    assert dict(cfg.companies) == COMPANIES  # the landing contract's companies
    matching = " ".join(cfg.activity_for("marketing.advertising.customer_matching").recipients)
    assert "Schibsted" in matching and "Meta" in matching
    survey = " ".join(cfg.activity_for("marketing.communications").recipients)
    assert "survey" in survey
    aml = " ".join(cfg.activity_for("essential.legal_obligation.anti_money_laundering").recipients)
    assert "ØKOKRIM" in aml


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("controller", "data_protection_officer", "contact"), "", "data_protection_officer"),
        (("activities", "marketing.advertising.profiling", "recipients"), [], "recipients"),
        (("third_country_transfers",), "  ", "third_country_transfers"),
        (("security_measures", "general"), None, "security_measures.general"),
        (("activities", "marketing.nonsense"), {"recipients": ["x"]}, "not a data use"),
        (("access", "identifier_categories", "user.unique_id"), "planet", "must be one of"),
    ],
)
def test_an_empty_or_wrong_controller_item_is_an_error(path, value, expected):
    doc = controller_doc()
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ControllerConfigError, match=expected):
        parse_controller_config(doc)


# -- the record on the tiny project (fast) -----------------------------------------------------


def test_mini_project_record_has_one_activity_per_purpose_with_tags_and_lineage(mini_catalog):
    activities = {a.purpose: a for a in ropa.record_of_processing(mini_catalog)}
    assert set(activities) == set(_purposes_in_tags(mini_catalog))
    profiling = activities["marketing.advertising.profiling"]
    # data subjects through lineage: the gate reads holdings and consents
    assert profiling.data_subject_categories == (
        "Securities customers of Fjordbank Markets",
        "Customers who gave or withdrew consent to group-internal sharing",
    )
    assert [c["key"] for c in profiling.personal_data_categories] == [
        "user.financial.securities",
        "user.government_id.national_identification_number",
    ]
    # the outputs by their tags; the source tables they read by their retention declarations
    assert [e["retention"] for e in profiling.erasure_time_limits] == ["P1D", "P10Y"]
    assert profiling.erasure_time_limits[0]["datasets"] == [
        "int_investments_consented",
        "marketing_features",
    ]
    assert profiling.erasure_time_limits[1]["datasets"] == [
        "markets.securities_holdings",
        "privacy.group_sharing_consents",
    ]
    assert profiling.erasure_time_limits[1]["runs_from"] == "the delivery date"
    assert profiling.purposes[0]["legal_basis"] == ["legitimate_interests (Art. 6(1)(f))"]
    measures = " ".join(profiling.security_measures)
    assert "group_sharing consent gate (int_investments_consented)" in measures
    assert "objections log (scopes: direct_marketing, profiling)" in measures
    # system columns are not personal data categories
    service = activities["essential.service"]
    assert "system.operations" not in {c["key"] for c in service.personal_data_categories}


def test_a_purpose_without_a_controller_entry_stops_the_record(mini_catalog, tmp_path):
    doc = controller_doc()
    del doc["activities"]["marketing.advertising.profiling"]
    mini_catalog.controller = parse_controller_config(doc)
    with pytest.raises(ropa.RopaError, match=r"marketing\.advertising\.profiling .* no entry"):
        ropa.record_of_processing(mini_catalog)


def test_a_source_without_data_subjects_stops_the_record(mini_catalog):
    doc = controller_doc()
    del doc["data_subjects"]["markets"]
    mini_catalog.controller = parse_controller_config(doc)
    with pytest.raises(ropa.RopaError, match=r"markets\.securities_holdings .* data subjects"):
        ropa.record_of_processing(mini_catalog)


def test_cli_ropa_formats_and_the_empty_item_exit_code(mini_manifest_path, tmp_path):
    code, out, _ = run("ropa", "--manifest", str(mini_manifest_path), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {a["purpose"] for a in data["activities"]} == {
        "essential.legal_obligation.legal_claims",
        "essential.service",
        "essential.service.operations",
        "functional.storage.privacy_preferences",
        "marketing.advertising.profiling",
    }
    for a in data["activities"]:
        assert set(ropa.ITEMS) <= set(a)
        _assert_filled({k: a[k] for k in ropa.ITEMS}, a["purpose"])

    code, out, _ = run("ropa", "--manifest", str(mini_manifest_path), "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and rows[0] == ["purpose", *ropa.ITEMS] and len(rows) == 6
    assert all(cell.strip() for row in rows[1:] for cell in row)

    code, out, _ = run("ropa", "--manifest", str(mini_manifest_path))
    assert code == 0 and out.startswith("# Record of processing activities (GDPR Art. 30(1))")
    assert out.count("| (f) | Time limits for erasure |") == 5

    doc = controller_doc()
    doc["activities"]["essential.service"]["recipients"] = []
    bad = tmp_path / "controller.yml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    code, out, err = run("ropa", "--manifest", str(mini_manifest_path), "--controller", str(bad))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "activities.essential.service.recipients" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- the record of the real project (slow: compiles the project) -------------------------------


@pytest.mark.slow
def test_real_record_covers_every_purpose_fills_every_item_and_takes_retention_from_tags(
    real_catalog,
):
    activities = ropa.record_of_processing(real_catalog)
    in_tags = _purposes_in_tags(real_catalog)
    graph = real_catalog.graph
    declared = {
        (d.source, d.name): d
        for d in load_declarations(real_catalog.manifest)
        if d.kind == "source"
    }
    assert [a.purpose for a in activities] == sorted(in_tags)
    assert len(activities) >= 10
    for a in activities:
        data = a.to_json()
        _assert_filled({k: data[k] for k in ropa.ITEMS}, a.purpose)
        personal = [r for r in in_tags[a.purpose] if real_catalog.is_personal(r)]
        # built columns: their retention tags; the stored source tables the purpose reads
        # (DIRECT or INDIRECT): the retention declarations the sweep enforces
        expected: set[tuple[str, str]] = set()
        for r in personal:
            node = graph.nodes[r.node]
            if node.resource_type != "source":
                expected.add((real_catalog.column_tags(r).retention, node.label))
        sources = {
            u.node
            for r in in_tags[a.purpose]
            for u in [r, *graph.upstream(r, types=(EdgeType.DIRECT, EdgeType.INDIRECT))]
            if graph.nodes[u.node].resource_type == "source"
        }
        for uid in sources:
            node = graph.nodes[uid]
            expected.add((declared[(node.source_name, node.name)].retention, node.label))
        actual = {(e["retention"], d) for e in a.erasure_time_limits for d in e["datasets"]}
        assert actual == expected, a.purpose
        categories = {
            k
            for r in personal
            for k in real_catalog.column_tags(r).categories
            if not covered_by_any(k, ("system",))
        }
        assert {c["key"] for c in a.personal_data_categories} == categories
    by_purpose = {a.purpose: a for a in activities}
    claims = by_purpose["essential.legal_obligation.legal_claims"]
    # the staging view by its tag, the stored source table by its retention declaration
    assert [(e["retention"], e["runs_from"]) for e in claims.erasure_time_limits] == [
        ("P13Y", "the daily build (rebuilt from the sources)"),
        ("P13Y", "closed_on (kept while it is null)"),
    ]
    assert any("legal_claims (Art. 9(2)(f))" in b for b in claims.purposes[0]["legal_basis"])
    stats = " ".join(by_purpose["analytics.reporting.statistics"].security_measures)
    assert "at least 5 persons" in stats
    web = by_purpose["marketing.advertising.first_party.targeted"]
    assert "Visitors of the group's websites and apps" in web.data_subject_categories


@pytest.mark.slow
def test_real_record_through_the_cli(real_project, tmp_path: Path):
    _, manifest_path = real_project
    out = tmp_path / "ropa.md"
    code, stdout, _ = run(
        "ropa", "--manifest", str(manifest_path), "--project-dir", "dbt", "--out", str(out)
    )
    assert code == 0 and stdout.startswith(f"wrote {out}")
    text = out.read_text()
    assert "Customer matching on social platforms" in text and "Schibsted" in text
