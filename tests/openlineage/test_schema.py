"""The events of a small synthetic build validate against the official OpenLineage schemas and
carry the facets the platform promises, with the graph's lineage and the resolved tags."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde
from spec_validation import assert_valid, validate_events_file, validator
from synthetic_build import (
    DAGSTER_RUN_ID,
    EPHEMERAL,
    FEATURES,
    SKIPPED,
    SNAPSHOT,
    STG,
    SmallProject,
    small_project_fixture,  # noqa: F401 (the fixture, imported to register it)
)

from catalog.openlineage import (
    POLICY_VERDICT_FACET,
    POLICY_VERDICT_SCHEMA_URL,
    LineageEventError,
    ParentRun,
    asset_events,
    dagster_run_event,
    dbt_test_assertions,
    duckdb_namespace,
    ingest_events,
    policy_verdict_facet,
    policy_verdict_schema,
    tags_facet,
)

CHECKED_AT = "2026-03-02T09:59:00+00:00"


def _verdict(violations=()):
    return policy_verdict_facet(
        list(violations), checked_at=CHECKED_AT, rules=["neutral_register", "fail_closed"]
    )


def _ingest(project: SmallProject, **kw):
    args = {
        "parent": project.parent,
        "warehouse": project.warehouse,
        "started_at": "2026-03-02T09:58:00+00:00",
        "completed_at": "2026-03-02T09:58:02+00:00",
        "columns": [
            ("customer_no", "VARCHAR"),
            ("national_id", "VARCHAR"),
            ("postcode", "VARCHAR"),
        ],
        "metadata_columns": [("_source_file", "VARCHAR"), ("_delivery_date", "DATE")],
        "landing_root": project.landing_root,
        "tags": project.tags["source.fjordbank.bank.customers"].columns,
        "owner": "Fjordbank ASA",
        "description": "Customers of the parent bank.",
        "code_path": project.project_dir.parent / "ingest.py",
        "verdict": _verdict(),
        "dagster_version": "1.13.0",
        "nominal_time": "2026-03-02T05:00:00+01:00",
    } | kw
    return ingest_events(
        "bank",
        "customers",
        ["bank/customers/2026-03-01.csv", "bank/customers/2026-03-02.csv"],
        10,
        2,
        **args,
    )


def _outputs_by_job(events):
    return {e.job.name: e for e in events if e.eventType is RunState.COMPLETE}


# -- validation against the spec -------------------------------------------------------------


def test_every_event_of_a_small_build_validates_against_the_spec(small_project):
    events = [
        dagster_run_event(
            small_project.parent,
            RunState.START,
            "2026-03-02T09:57:00+00:00",
            dagster_version="1.13.0",
            nominal_time="2026-03-02T05:00:00+01:00",
        ),
        *_ingest(small_project),
        *small_project.dbt_events(verdict=_verdict(), nominal_time="2026-03-02T05:00:00+01:00"),
        dagster_run_event(
            small_project.parent,
            RunState.COMPLETE,
            "2026-03-02T10:00:07+00:00",
            dagster_version="1.13.0",
        ),
    ]
    seen = Counter()
    for event in events:
        as_json = json.loads(Serde.to_json(event))
        assert_valid(as_json)
        for group in (as_json["run"]["facets"], as_json["job"]["facets"]):
            seen.update(group.keys())
        for ds in as_json["outputs"]:
            seen.update(ds.get("facets", {}).keys())
            seen.update(ds.get("outputFacets", {}).keys())
    # every facet the platform promises was among what got validated
    for key in (
        "parent",
        "processing_engine",
        "nominalTime",
        POLICY_VERDICT_FACET,
        "errorMessage",
        "jobType",
        "sql",
        "sourceCodeLocation",
        "schema",
        "columnLineage",
        "tags",
        "ownership",
        "documentation",
        "dataQualityAssertions",
        "dataSource",
        "outputStatistics",
    ):
        assert seen[key], f"no event carried the {key} facet"


def test_the_validator_rejects_what_breaks_the_spec(small_project):
    v = validator()
    event = json.loads(
        Serde.to_json(
            _outputs_by_job(small_project.dbt_events(_verdict()))[
                "wh.main.fjordbank.marketing_features.build.run"
            ]
        )
    )
    assert v.errors(event) == []

    def broken(mutate) -> list[str]:
        e = copy.deepcopy(event)
        mutate(e)
        return v.errors(e)

    assert any("eventTime" in p for p in broken(lambda e: e.pop("eventTime")))
    assert any("date-time" in p for p in broken(lambda e: e.update(eventTime="yesterday")))
    assert any("uuid" in p for p in broken(lambda e: e["run"].update(runId="run-1")))
    out = "outputs[0].facets"
    assert any(
        p.startswith(f"{out}.columnLineage")
        for p in broken(lambda e: e["outputs"][0]["facets"]["columnLineage"].update(fields=[1, 2]))
    )
    assert any(
        "required" in p
        for p in broken(lambda e: e["outputs"][0]["facets"]["tags"]["tags"][0].pop("value"))
    )
    # a facet under another key than the one its schema declares
    assert any(
        "declares the facet key 'schema'" in p
        for p in broken(
            lambda e: e["outputs"][0]["facets"].update(
                columns=e["outputs"][0]["facets"].pop("schema")
            )
        )
    )
    # a facet version the spec folder does not have
    assert any(
        "names no schema" in p
        for p in broken(
            lambda e: e["job"]["facets"]["sql"].update(
                _schemaURL="https://openlineage.io/spec/facets/9-9-9/SQLJobFacet.json"
                "#/$defs/SQLJobFacet"
            )
        )
    )
    # the custom facet against the shipped schema: a pass must have no violations
    assert any(
        p.startswith(f"run.facets.{POLICY_VERDICT_FACET}")
        for p in broken(lambda e: e["run"]["facets"][POLICY_VERDICT_FACET].update(violations=2))
    )
    assert any(
        "_producer" in p
        for p in broken(lambda e: e["run"]["facets"][POLICY_VERDICT_FACET].pop("_producer"))
    )


def test_validate_events_file_checks_every_line(small_project, tmp_path):
    events = small_project.dbt_events(_verdict())
    good = tmp_path / "events.jsonl"
    good.write_text("".join(Serde.to_json(e) + "\n" for e in events))
    assert validate_events_file(good) == len(events) == 10

    bad = tmp_path / "bad.jsonl"
    lines = good.read_text().splitlines()
    broken = json.loads(lines[3])
    broken["eventType"] = "FINISHED"
    lines[3] = json.dumps(broken)
    bad.write_text("\n".join([*lines, "{not json"]) + "\n")
    with pytest.raises(AssertionError, match=r"line 4: core schema") as info:
        validate_events_file(bad)
    assert "line 11: not JSON" in str(info.value)
    with pytest.raises(AssertionError, match="no events file"):
        validate_events_file(tmp_path / "missing.jsonl")


# -- the custom facet -------------------------------------------------------------------------


def test_the_policy_verdict_facet_and_its_shipped_schema():
    schema = policy_verdict_schema()
    document, _, pointer = POLICY_VERDICT_SCHEMA_URL.partition("#")
    assert schema["$id"] == document
    assert pointer == "/$defs/PolicyVerdictRunFacet"
    assert "PolicyVerdictRunFacet" in schema["$defs"]
    assert schema["properties"] == {POLICY_VERDICT_FACET: {"$ref": "#/$defs/PolicyVerdictRunFacet"}}

    class V:
        def __init__(self, rule):
            self.rule = rule

    facet = policy_verdict_facet(
        [V("fail_closed"), V("fail_closed"), {"rule": "purpose_limitation"}],
        checked_at="2026-03-02T09:59:00Z",
        rules=["neutral_register", "fail_closed"],
    )
    as_json = Serde.to_dict(facet)
    assert as_json["verdict"] == "fail" and as_json["violations"] == 3
    assert as_json["rules"] == [
        {"rule": "neutral_register", "violations": 0},
        {"rule": "fail_closed", "violations": 2},
        {"rule": "purpose_limitation", "violations": 1},  # counted though not listed
    ]
    assert as_json["_schemaURL"] == POLICY_VERDICT_SCHEMA_URL and as_json["_producer"]
    assert validator().facet_errors(POLICY_VERDICT_FACET, as_json) == []
    passed = Serde.to_dict(policy_verdict_facet([], checked_at=CHECKED_AT))
    assert passed["verdict"] == "pass" and passed["violations"] == 0
    assert {r["rule"] for r in passed["rules"]} >= {"fail_closed", "neutral_register"}
    assert validator().facet_errors(POLICY_VERDICT_FACET, passed) == []


# -- what the dbt events say ------------------------------------------------------------------


def test_dbt_events_start_then_end_per_run_in_time_order(small_project):
    events = small_project.dbt_events(_verdict())
    times = [e.eventTime for e in events]
    assert times == sorted(times)
    by_run: dict[str, list] = {}
    for e in events:
        by_run.setdefault(e.run.runId, []).append(e)
    assert len(by_run) == 5  # seed, stg, snapshot, features, broken; skipped and ephemeral none
    for run_events in by_run.values():
        assert [e.eventType for e in run_events][:1] == [RunState.START]
        assert len(run_events) == 2 and run_events[0].job.name == run_events[1].job.name
    names = {e.job.name: e.eventType for e in events if e.eventType is not RunState.START}
    assert names == {
        "wh.main.fjordbank.scoring_scenarios.build.seed": RunState.COMPLETE,
        "wh.main.fjordbank.stg_bank__customers.build.run": RunState.COMPLETE,
        "wh.snapshots.fjordbank.customers_snapshot.build.snapshot": RunState.COMPLETE,
        "wh.main.fjordbank.marketing_features.build.run": RunState.COMPLETE,
        "wh.main.fjordbank.broken_model.build.run": RunState.FAIL,
    }
    assert not any(SKIPPED.split(".")[-1] in n or EPHEMERAL.split(".")[-1] in n for n in names)
    # START at the execute phase's start, the end at its completion
    features = [e for e in events if "marketing_features" in e.job.name]
    assert [e.eventTime for e in features] == [
        "2026-03-02T10:00:01.500000Z",
        "2026-03-02T10:00:04.000000Z",
    ]
    # deterministic run ids: building twice gives the same events
    again = small_project.dbt_events(_verdict())
    assert [Serde.to_dict(e) for e in again] == [Serde.to_dict(e) for e in events]


def test_a_failed_model_has_a_fail_event_with_the_error_and_no_outputs(small_project):
    fail = next(e for e in small_project.dbt_events() if e.eventType is RunState.FAIL)
    assert fail.job.name == "wh.main.fjordbank.broken_model.build.run"
    error = fail.run.facets["errorMessage"]
    assert error.message == 'Binder Error: Referenced column "nope" not found LINE 1'
    assert error.programmingLanguage == "SQL"
    assert fail.outputs == []
    start = next(
        e
        for e in small_project.dbt_events()
        if e.eventType is RunState.START and e.run.runId == fail.run.runId
    )
    assert [o.name for o in start.outputs] == ["wh.main.broken_model"]
    assert "errorMessage" not in start.run.facets


def test_dbt_job_and_run_facets(small_project):
    ends = _outputs_by_job(
        small_project.dbt_events(_verdict(), nominal_time="2026-03-02T05:00:00+01:00")
    )
    features = ends["wh.main.fjordbank.marketing_features.build.run"]
    job = Serde.to_dict(features.job)["facets"]
    assert job["jobType"] | {"_producer": "", "_schemaURL": ""} == {
        "_producer": "",
        "_schemaURL": "",
        "integration": "DBT",
        "jobType": "MODEL",
        "processingType": "BATCH",
    }
    assert job["sql"]["query"].startswith("select md5(c.national_id)")
    assert job["sql"]["dialect"] == "duckdb"
    location = job["sourceCodeLocation"]
    code = small_project.project_dir / "models/marts/marketing/marketing_features.sql"
    assert location["url"] == code.as_uri() and location["type"] == "file"
    seed = Serde.to_dict(ends["wh.main.fjordbank.scoring_scenarios.build.seed"].job)["facets"]
    assert seed["jobType"]["jobType"] == "SEED" and "sql" not in seed
    snapshot = Serde.to_dict(ends["wh.snapshots.fjordbank.customers_snapshot.build.snapshot"].job)
    assert snapshot["facets"]["jobType"]["jobType"] == "SNAPSHOT"

    run = Serde.to_dict(features.run)["facets"]
    assert run["parent"]["run"]["runId"] == DAGSTER_RUN_ID
    assert run["parent"]["job"] == {
        "namespace": "fjordbank",
        "name": "build_everything",
        "facets": {},
    }
    assert run["parent"]["root"]["run"]["runId"] == DAGSTER_RUN_ID
    assert run["processing_engine"]["name"] == "dbt"
    assert run["processing_engine"]["version"] == "1.11.16"
    assert run["nominalTime"]["nominalStartTime"] == "2026-03-02T05:00:00+01:00"
    assert run[POLICY_VERDICT_FACET]["verdict"] == "pass"


def test_dataset_naming_follows_the_conventions(small_project):
    ends = _outputs_by_job(small_project.dbt_events())
    ns = duckdb_namespace(small_project.warehouse)
    assert ns == "duckdb://" + small_project.warehouse.as_posix()
    features = ends["wh.main.fjordbank.marketing_features.build.run"]
    assert [(o.namespace, o.name) for o in features.outputs] == [(ns, "wh.main.marketing_features")]
    # the ephemeral model is no dataset: its source is read instead
    assert [(i.namespace, i.name) for i in features.inputs] == [
        (ns, "wh.main.stg_bank__customers"),
        (ns, "wh.raw_markets.securities_holdings"),
        (ns, "wh.main.scoring_scenarios"),
    ]
    seed = ends["wh.main.fjordbank.scoring_scenarios.build.seed"]
    csv = (small_project.project_dir / "seeds/scoring_scenarios.csv").as_posix()
    assert [(i.namespace, i.name) for i in seed.inputs] == [("file", csv)]
    stg = ends["wh.main.fjordbank.stg_bank__customers.build.run"]
    assert [i.name for i in stg.inputs] == ["wh.raw_bank.customers"]


def _lineage(event) -> dict:
    return Serde.to_dict(event.outputs[0].facets["columnLineage"])


def _inputs(fields: list[dict]) -> dict[tuple[str, str], list[tuple[str, str, bool]]]:
    return {
        (f["name"], f["field"]): [
            (t["type"], t["subtype"], t["masking"]) for t in f["transformations"]
        ]
        for f in fields
    }


def test_column_lineage_is_the_graphs_edges_with_ephemeral_models_resolved(small_project):
    ends = _outputs_by_job(small_project.dbt_events())
    lineage = _lineage(ends["wh.main.fjordbank.marketing_features.build.run"])
    fields = {c: _inputs(f["inputFields"]) for c, f in lineage["fields"].items()}
    assert fields == {
        "person_key": {
            ("wh.main.stg_bank__customers", "national_id"): [("DIRECT", "TRANSFORMATION", True)]
        },
        "postcode": {("wh.main.stg_bank__customers", "postcode"): [("DIRECT", "IDENTITY", False)]},
        "value_band": {
            # AGGREGATION of the ephemeral model's copy, and its WHERE on the same column
            ("wh.raw_markets.securities_holdings", "market_value"): [
                ("DIRECT", "AGGREGATION", False),
                ("INDIRECT", "FILTER", False),
            ],
            ("wh.main.scoring_scenarios", "weight"): [("INDIRECT", "CONDITIONAL", False)],
        },
        "scenario": {("wh.main.scoring_scenarios", "scenario"): [("DIRECT", "IDENTITY", False)]},
    }
    assert _inputs(lineage["dataset"]) == {
        ("wh.main.stg_bank__customers", "national_id"): [("INDIRECT", "JOIN", False)],
        ("wh.raw_markets.securities_holdings", "national_id"): [("INDIRECT", "JOIN", False)],
        ("wh.raw_markets.securities_holdings", "market_value"): [("INDIRECT", "FILTER", False)],
        ("wh.main.stg_bank__customers", "postcode"): [("INDIRECT", "GROUP_BY", False)],
    }
    ns = duckdb_namespace(small_project.warehouse)
    assert {f["namespace"] for f in lineage["dataset"]} == {ns}
    seed = _lineage(ends["wh.main.fjordbank.scoring_scenarios.build.seed"])
    assert _inputs(seed["fields"]["weight"]["inputFields"]) == {
        ((small_project.project_dir / "seeds/scoring_scenarios.csv").as_posix(), "weight"): [
            ("DIRECT", "IDENTITY", False)
        ]
    }


def test_a_model_missing_from_the_graph_is_an_error_not_silence(small_project):
    nodes = [n for uid, n in small_project.graph.nodes.items() if uid != SNAPSHOT]
    edges = [e for e in small_project.graph.edges if SNAPSHOT not in (e.target_node, e.source.node)]
    from catalog.lineage.graph import ProjectGraph

    small_project.graph = ProjectGraph(nodes, edges)
    with pytest.raises(LineageEventError, match=re.escape(f"no node {SNAPSHOT}; build the graph")):
        small_project.dbt_events()


def test_output_facets_tags_ownership_documentation_assertions(small_project):
    ends = _outputs_by_job(small_project.dbt_events())
    features = ends["wh.main.fjordbank.marketing_features.build.run"].outputs[0]
    facets = Serde.to_dict(features)["facets"]
    assert [f["name"] for f in facets["schema"]["fields"]] == [
        "person_key",
        "postcode",
        "value_band",
        "scenario",
    ]
    assert facets["schema"]["fields"][0]["type"] == "varchar"
    assert facets["schema"]["fields"][0]["description"] == "Keyed hash."
    tags = [(t["field"], t["key"], t["value"]) for t in facets["tags"]["tags"]]
    assert tags[:4] == [
        ("person_key", "privacy.category", "user.unique_id.pseudonymous"),
        ("person_key", "privacy.purposes", "marketing.advertising.profiling"),
        ("person_key", "privacy.legal_basis", "legitimate_interests"),
        ("person_key", "privacy.retention", "P1D"),
    ]
    assert len(tags) == 4 * 4 and {t["source"] for t in facets["tags"]["tags"]} == {"DBT"}
    assert facets["ownership"]["owners"] == [{"name": "company:Fjordbank ASA", "type": "COMPANY"}]
    assert facets["documentation"]["description"] == "Scoring features, **renewed daily**."
    assertions = {a["name"]: a for a in facets["dataQualityAssertions"]["assertions"]}
    assert assertions["unique_marketing_features_person_key"] | {"params": {}} == {
        "assertion": "unique",
        "name": "unique_marketing_features_person_key",
        "success": False,
        "column": "person_key",
        "severity": "error",
        "params": {},
    }
    assert assertions["assert_features_fresh"]["assertion"] == "custom_sql"
    assert assertions["assert_features_fresh"]["success"] is True
    assert "column" not in assertions["assert_features_fresh"]
    warned = assertions["accepted_values_marketing_features_scenario"]
    assert warned["success"] is False and warned["severity"] == "warn"
    assert (
        Serde.to_dict(ends["wh.main.fjordbank.marketing_features.build.run"].outputs[0])[
            "outputFacets"
        ]["outputStatistics"]["rowCount"]
        == 42
    )
    start = next(
        e
        for e in small_project.dbt_events()
        if e.eventType is RunState.START and "marketing_features" in e.job.name
    )
    assert "dataQualityAssertions" not in start.outputs[0].facets  # the tests ran after START
    stg = Serde.to_dict(ends["wh.main.fjordbank.stg_bank__customers.build.run"].outputs[0])
    assert [a["assertion"] for a in stg["facets"]["dataQualityAssertions"]["assertions"]] == [
        "not_null"
    ]
    assert stg["outputFacets"] == {}


def test_test_assertions_skip_skipped_tests(small_project):
    found = dbt_test_assertions(small_project.manifest_json, small_project.run_results)
    assert set(found) == {STG, FEATURES}
    assert len(found[FEATURES]) == 3


def test_tags_facet_from_a_plain_mapping():
    facet = tags_facet(
        {
            "email": {
                "privacy.category": "user.contact.email",
                "privacy.purposes": ["marketing.communications", "essential.service"],
                "privacy.retention": None,
            }
        },
        source="DAGSTER",
    )
    assert [(t.field, t.key, t.value, t.source) for t in facet.tags] == [
        ("email", "privacy.category", "user.contact.email", "DAGSTER"),
        ("email", "privacy.purposes", "marketing.communications, essential.service", "DAGSTER"),
    ]


# -- Dagster-side events --------------------------------------------------------------------


def test_ingest_events_read_files_and_write_raw_and_quarantine(small_project):
    start, end = _ingest(small_project)
    assert (start.eventType, end.eventType) == (RunState.START, RunState.COMPLETE)
    assert start.run.runId == end.run.runId and end.job.name == "raw_bank.customers"
    files = [
        (small_project.landing_root / f"bank/customers/2026-03-0{d}.csv").as_posix() for d in (1, 2)
    ]
    assert [(i.namespace, i.name) for i in end.inputs] == [("file", f) for f in files]
    ns = duckdb_namespace(small_project.warehouse)
    assert [(o.namespace, o.name) for o in end.outputs] == [
        (ns, "wh.raw_bank.customers"),
        (ns, "wh.quarantine.rejected_rows"),
    ]
    stats = [
        Serde.to_dict(o).get("outputFacets", {}).get("outputStatistics", {}).get("rowCount")
        for o in end.outputs
    ]
    assert stats == [10, 2]
    assert all(not o.outputFacets for o in start.outputs)  # row counts only once known
    raw = Serde.to_dict(end.outputs[0])["facets"]
    assert [f["name"] for f in raw["schema"]["fields"]] == [
        "customer_no",
        "national_id",
        "postcode",
        "_source_file",
        "_delivery_date",
    ]
    lineage = raw["columnLineage"]
    assert _inputs(lineage["fields"]["national_id"]["inputFields"]) == {
        (f, "national_id"): [("DIRECT", "IDENTITY", False)] for f in files
    }
    assert lineage["fields"]["_source_file"] == {"inputFields": []}
    assert len(lineage["dataset"]) == 2 * 3
    assert {
        (t["field"], t["value"]) for t in raw["tags"]["tags"] if t["key"] == "privacy.category"
    } == {
        ("customer_no", "user.unique_id"),
        ("national_id", "user.government_id.national_identification_number"),
        ("postcode", "user.contact.address.postal_code"),
    }
    job = Serde.to_dict(end.job)["facets"]
    assert (job["jobType"]["integration"], job["jobType"]["jobType"]) == ("DAGSTER", "ASSET")
    run = Serde.to_dict(end.run)["facets"]
    assert run["processing_engine"]["name"] == "dagster"
    assert run["parent"]["run"]["runId"] == DAGSTER_RUN_ID


def test_a_failed_ingest_has_a_fail_event(small_project):
    start, fail = _ingest(small_project, error="bank/customers/2026-03-02.csv: bad header")
    assert fail.eventType is RunState.FAIL and fail.outputs == []
    assert fail.run.facets["errorMessage"].message == "bank/customers/2026-03-02.csv: bad header"
    assert fail.run.facets["errorMessage"].programmingLanguage == "PYTHON"
    for event in (start, fail):
        assert_valid(json.loads(Serde.to_json(event)))


def test_relative_files_without_a_landing_root_are_refused(small_project):
    with pytest.raises(LineageEventError, match="absolute path"):
        _ingest(small_project, landing_root=None)


def test_python_asset_events_take_the_declared_lineage(small_project):
    from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph, Subtype

    asset = "asset.fjordbank.propensity_scores"
    graph = ProjectGraph(
        [
            *small_project.graph.nodes.values(),
            Node(
                asset,
                "propensity_scores",
                "asset",
                ("person_key", "score"),
                relation="marketing.propensity_scores",
                depends_on=(FEATURES,),
            ),
        ],
        [
            *small_project.graph.edges,
            Edge(
                ColumnRef(FEATURES, "person_key"),
                asset,
                "person_key",
                EdgeType.DIRECT,
                Subtype.IDENTITY,
            ),
            Edge(
                ColumnRef(FEATURES, "value_band"),
                asset,
                "score",
                EdgeType.DIRECT,
                Subtype.TRANSFORMATION,
            ),
        ],
    )
    tags = {asset: {"score": {"privacy.category": "user.behavior", "privacy.retention": "P1D"}}}
    start, end = asset_events(
        asset,
        graph,
        tags,
        parent=small_project.parent,
        warehouse=small_project.warehouse,
        started_at="2026-03-02T10:01:00+00:00",
        completed_at="2026-03-02T10:01:05+00:00",
        row_count=7,
        column_types={"score": "DOUBLE"},
        owner="Fjordbank ASA",
        code_path=Path("/srv/fjordbank/dagster_project/assets/scoring.py"),
        manifest_json=small_project.manifest_json,
        verdict=_verdict(),
        dagster_version="1.13.0",
    )
    assert end.job.name == "propensity_scores"
    assert [i.name for i in end.inputs] == ["wh.main.marketing_features"]
    out = Serde.to_dict(end.outputs[0])
    assert out["name"] == "wh.marketing.propensity_scores"
    assert _inputs(out["facets"]["columnLineage"]["fields"]["score"]["inputFields"]) == {
        ("wh.main.marketing_features", "value_band"): [("DIRECT", "TRANSFORMATION", False)]
    }
    assert out["facets"]["schema"]["fields"][1] == {
        "name": "score",
        "type": "DOUBLE",
        "ordinal_position": 2,
        "fields": [],
    }
    assert [(t["key"], t["source"]) for t in out["facets"]["tags"]["tags"]] == [
        ("privacy.category", "DAGSTER"),
        ("privacy.retention", "DAGSTER"),
    ]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 7
    for event in (start, end):
        assert_valid(json.loads(Serde.to_json(event)))
    with pytest.raises(LineageEventError, match=r"no node asset\.fjordbank\.nope"):
        asset_events(
            "asset.fjordbank.nope",
            graph,
            tags,
            parent=None,
            warehouse=small_project.warehouse,
            started_at=CHECKED_AT,
            completed_at=CHECKED_AT,
        )


def test_the_dagster_run_event_is_the_parent_named_by_the_others(small_project):
    event = dagster_run_event(
        ParentRun(DAGSTER_RUN_ID, "build_everything"),
        RunState.FAIL,
        "2026-03-02T10:00:07Z",
        error="2 steps failed",
        dagster_version="1.13.0",
    )
    as_json = json.loads(Serde.to_json(event))
    assert as_json["run"]["runId"] == DAGSTER_RUN_ID
    assert as_json["job"] == {
        "namespace": "fjordbank",
        "name": "build_everything",
        "facets": as_json["job"]["facets"],
    }
    assert as_json["job"]["facets"]["jobType"]["jobType"] == "JOB"
    assert "parent" not in as_json["run"]["facets"]
    assert as_json["run"]["facets"]["errorMessage"]["message"] == "2 steps failed"
    assert_valid(as_json)
    naive = dagster_run_event(ParentRun(DAGSTER_RUN_ID, "x"), RunState.START, "2026-03-02T10:00")
    assert naive.eventTime == "2026-03-02T10:00:00+00:00"  # naive times are UTC
    with pytest.raises(LineageEventError, match="not an ISO 8601 timestamp"):
        dagster_run_event(ParentRun(DAGSTER_RUN_ID, "x"), RunState.START, "yesterday")
