"""The dbt project: declarations checked against the landing contract (fast), and one full
``dbt build`` on a tiny hand-made raw warehouse whose rows are asserted (slow).

The build runs in-process with ``dbtRunner``, its warehouse, target and logs under pytest's
temporary directory; ``dbt/target`` in the work tree is never touched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import pytest
import yaml
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from fixtures.raw_data import RawFixture, build_raw_warehouse

from catalog.national_id import birth_date
from catalog.tags import project_tags
from dagster_project.landing.contract import CONTRACT
from dagster_project.project import DBT_PROJECT_DIR

KEY = "test-key"
METADATA = {
    "_source_file": "varchar",
    "_source_line": "bigint",
    "_delivery_date": "date",
    "_load_id": "bigint",
}

# Keys of the banking extensions (PRIVACY.md, catalog/taxonomy_extensions.yml) the tags may use.
EXTENSION_CATEGORIES = {
    "user.financial.securities",
    "user.financial.funds",
    "user.financial.loan",
    "user.financial.insurance",
    "user.financial.pension",
    "user.financial.credit_history",
    "user.financial.fraud",
    "user.financial.product_holding",
    "user.financial.account_activity",
    "user.behavior.digital_usage",
    "user.relationship",
}
EXTENSION_USES = {
    "essential.service.customer_administration",
    "essential.legal_obligation.capital_requirements",
    "essential.legal_obligation.anti_money_laundering",
    "essential.legal_obligation.legal_claims",
    "essential.legal_obligation.data_subject_rights",
    "finance.credit_assessment",
    "analytics.reporting.statistics",
    "analytics.model_development",
    "marketing.advertising.customer_matching",
}
CATEGORIES = {c.fides_key for c in DEFAULT_TAXONOMY.data_category} | EXTENSION_CATEGORIES
USES = {u.fides_key for u in DEFAULT_TAXONOMY.data_use} | EXTENSION_USES
LEGAL_BASES = {
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
}
NEUTRAL = (
    "user.name",
    "user.contact",
    "user.demographic.date_of_birth",
    "user.government_id.national_identification_number",
    "user.unique_id",
    "user.financial.product_holding",
    "system",
)


def _covered(key: str, parents: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in parents)


# --- declarations (fast) ----------------------------------------------------------------------


def _yaml_files(kind: str) -> list[dict]:
    """The property files (not dbt_project.yml / profiles.yml) declaring ``kind``."""
    docs = (
        yaml.safe_load(p.read_text()) or {}
        for p in sorted(DBT_PROJECT_DIR.rglob("*.yml"))
        if p.parent != DBT_PROJECT_DIR
    )
    return [d for d in docs if kind in d]


def _privacy(entry: dict) -> dict:
    return ((entry.get("config") or {}).get("meta") or {}).get("privacy") or {}


def test_sources_declare_exactly_the_contract_columns():
    declared = {}
    for doc in _yaml_files("sources"):
        for src in doc["sources"]:
            assert src["schema"] == f"raw_{src['name']}"
            for t in src["tables"]:
                declared[(src["name"], t["name"])] = [
                    (c["name"], c["data_type"]) for c in t["columns"]
                ]
    expected = {
        (source, name): [(c.name, c.type.duckdb_type.lower()) for c in table.columns]
        + list(METADATA.items())
        for source, tables in CONTRACT.items()
        for name, table in tables.items()
    }
    assert declared == expected


def test_every_node_and_column_is_described_typed_and_tagged(real_project):
    """Checked on what dbt and the catalog resolve (folder-level ``+meta`` defaults in
    dbt_project.yml, doc blocks, the sources' ``column_privacy``), not on the YAML as written."""
    manifest, _ = real_project
    tags = project_tags(manifest)
    problems = []
    for node in manifest:
        if node.resource_type not in ("source", "model", "seed"):
            continue
        if not node.description:
            problems.append(f"{node.resource_type} {node.label}: no description")
        for c in node.columns:
            t = tags[node.unique_id].columns[c.name.lower()]
            where = f"{node.resource_type} {node.label}.{c.name}"
            if not c.description or not c.data_type:
                problems.append(f"{where}: description or data_type missing")
            if t.category not in CATEGORIES:
                problems.append(f"{where}: unknown category {t.category!r}")
            if not t.purposes or not set(t.purposes) <= USES:
                problems.append(f"{where}: bad purposes {t.purposes!r}")
            if len(t.legal_basis) != 1 or t.legal_basis[0] not in LEGAL_BASES:
                problems.append(f"{where}: bad legal basis {t.legal_basis!r}")
            if not str(t.retention or "").startswith("P"):
                problems.append(f"{where}: retention is not an ISO 8601 duration")
    assert problems == []


def test_every_model_has_a_sql_file_and_a_declaration():
    sql = {p.stem for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")}
    declared = {m["name"] for doc in _yaml_files("models") for m in doc["models"]}
    assert sql == declared


def test_only_staging_calls_source_and_no_model_uses_qualify():
    for p in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        text = p.read_text().lower()
        assert ("source(" in text) == ("staging" in p.parts), p.name
        assert "qualify" not in text, p.name


def test_consent_gates_are_declared():
    gates = {
        m["name"]: _privacy(m).get("consent_gate")
        for doc in _yaml_files("models")
        for m in doc["models"]
        if _privacy(m).get("consent_gate")
    }
    assert gates == {
        "int_investments_consented": "group_sharing",
        "int_page_views_consented": "marketing_cookies",
    }


# --- the build (slow) -------------------------------------------------------------------------


def _dbt(args: list[str], tmp: Path) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ]
    )
    if not result.success:
        failed = [
            f"{r.node.name}: {r.message}"
            for r in (result.result or [])
            if getattr(r, "status", None) not in ("success", "pass")
        ]
        pytest.fail(f"dbt {args[0]} failed: {result.exception or failed}")


class Built:
    def __init__(self, fixture: RawFixture, tmp: Path):
        self.fixture = fixture
        self.tmp = tmp
        self.manifest = json.loads((tmp / "target" / "manifest.json").read_text())

    def rows(self, sql: str) -> list[dict]:
        conn = duckdb.connect(str(self.fixture.path))  # dbt may still hold it in-process
        try:
            cur = conn.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            conn.close()

    def pid(self, name: str) -> str:
        nid = self.fixture.nid(name)
        return hmac.new(KEY.encode(), nid.encode(), hashlib.sha256).hexdigest()

    def by_person(self, model: str) -> dict[str, dict]:
        return {r["person_id"]: r for r in self.rows(f"select * from main.{model}")}

    def node(self, model: str) -> dict:
        return self.manifest["nodes"][f"model.fjordbank.{model}"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("dbt_build")
    fixture = build_raw_warehouse(tmp / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_WAREHOUSE", str(fixture.path))
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", KEY)
        mp.setenv("FJORDBANK_DATA_DIR", str(tmp / "data"))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        _dbt(["build"], tmp)
        yield Built(fixture, tmp)


@pytest.mark.slow
def test_register_has_one_row_per_person_and_only_neutral_columns(built):
    register = built.by_person("group_customer_register")
    persons = built.fixture.persons
    assert set(register) == {built.pid(n) for n in persons}
    assert built.fixture.invalid_national_id not in {r["national_id"] for r in register.values()}
    columns = built.node("group_customer_register")["columns"]
    assert set(next(iter(register.values()))) == set(columns)
    for name, col in columns.items():
        category = col["config"]["meta"]["privacy"]["category"]
        assert _covered(category, NEUTRAL), (name, category)
    grace = register[built.pid("grace")]  # one person in the bank and the securities unit
    assert grace["is_bank_customer"] and grace["is_markets_customer"]
    assert grace["bank_customer_no"] == persons["grace"].customer_no
    nils = register[built.pid("nils")]
    assert nils["is_asset_management_customer"] and not nils["is_bank_customer"]
    assert nils["fund_product_count"] == 1


@pytest.mark.slow
def test_staging_keeps_the_latest_delivery_per_key(built):
    alice = built.by_person("group_customer_register")[built.pid("alice")]
    assert alice["email"] == "alice.nordmann@example.no"  # day 2, trimmed and lower-cased
    features = built.by_person("marketing_scoring_features")[built.pid("alice")]
    assert features["balance_band"] == "4_1m_plus"  # the day-2 balance of her savings account
    gate = built.by_person("int_investments_consented")[built.pid("alice")]
    assert gate["securities_market_value"] == 250000  # the newest holdings snapshot only


@pytest.mark.slow
def test_securities_and_funds_reach_marketing_only_with_group_sharing_consent(built):
    features = built.by_person("marketing_scoring_features")
    alice, nils = features[built.pid("alice")], features[built.pid("nils")]
    assert alice["securities_value_band"] == "3_100k_to_1m"
    assert alice["fund_value_band"] == "2_10k_to_100k"
    assert nils["fund_value_band"] == "2_10k_to_100k"  # asset-management customer only
    for name in ("bob", "carol", "dave"):  # never consented, withdrew, tie
        row = features[built.pid(name)]
        assert (row["securities_value_band"], row["fund_value_band"], row["fund_count"]) == (
            None,
            None,
            None,
        ), name
    assert built.pid("mia") not in features  # securities only, no consent: not scored at all
    consents = built.by_person("int_group_sharing_consents_resolved")
    assert consents[built.pid("carol")]["has_group_sharing_consent"] is False
    assert consents[built.pid("dave")]["has_group_sharing_consent"] is False
    assert built.pid("bob") not in consents  # no event: no row, and no consent
    assert set(built.by_person("int_investments_consented")) == {
        built.pid(n) for n in ("alice", "grace", "nils")
    }


@pytest.mark.slow
def test_a_person_known_only_to_markets_reaches_marketing_only_through_the_gate(built):
    """Rule 3 by source: the marketing population is the neutral companies' persons plus the
    consenting holders the gate admits; the register still names every company's customers."""
    neutral = built.by_person("int_neutral_persons_matched")
    assert {built.pid(n) for n in ("judy", "liam", "alice")} <= set(neutral)
    assert not {built.pid("mia"), built.pid("nils")} & set(neutral)
    assert "is_markets_customer" not in next(iter(neutral.values()))
    shareable = built.by_person("int_shareable_persons_admitted")
    assert set(shareable) == set(neutral) | {built.pid("nils")}  # mia: no consent
    nils = shareable[built.pid("nils")]
    assert nils["birth_date"] == built.fixture.persons["nils"].birth_date
    assert (nils["postcode"], nils["is_bank_customer"]) == (None, False)
    register = built.by_person("group_customer_register")
    mia = register[built.pid("mia")]
    assert mia["is_markets_customer"] and mia["securities_account_count"] == 1
    assert mia["current_account_count"] == 0 and not mia["is_bank_customer"]
    assert built.pid("mia") in built.by_person("credit_group_exposure")
    for model in ("marketing_scoring_features", "int_person_features_joined"):
        assert built.pid("mia") not in built.by_person(model), model
    # Objection state is keyed from the log: a row per current objector only.
    objections = built.by_person("int_objections_pivoted")
    assert objections[built.pid("eve")]["objects_direct_marketing"] is True
    assert built.pid("heidi") not in objections  # withdrew her only objection
    assert built.pid("alice") not in objections


@pytest.mark.slow
def test_web_behaviour_only_with_marketing_cookies(built):
    features = built.by_person("marketing_scoring_features")
    # mortgage x2, car, and a consumer-loan view of her visitor id while logged out; the
    # student-loan view is 45 days old and the savings page is no loan page.
    assert features[built.pid("alice")]["loan_page_views_last_30d"] == 4
    assert features[built.pid("bob")]["loan_page_views_last_30d"] is None  # refused later
    assert features[built.pid("grace")]["loan_page_views_last_30d"] is None  # tie: refusal
    assert features[built.pid("alice")]["login_frequency"] == "3_daily"
    assert features[built.pid("bob")]["login_frequency"] == "1_monthly"  # 60-day-old excluded


@pytest.mark.slow
def test_objectors_are_absent_from_marketing_outputs(built):
    outputs = {
        m: {r["person_id"] for r in built.rows(f"select person_id from main.{m}")}
        for m in (
            "marketing_scoring_features",
            "marketing_propensity_scores",
            "marketing_campaign_audience",
            "marketing_social_matching_audience",
        )
    }
    assert all(outputs.values())
    eve, ken, ivan = built.pid("eve"), built.pid("ken"), built.pid("ivan")
    for model, persons in outputs.items():
        assert eve not in persons, model  # direct marketing: every marketing output
    for model in ("marketing_scoring_features", "marketing_propensity_scores"):
        assert ken not in outputs[model]  # profiling objection wins the tie with its withdrawal
        assert built.pid("heidi") in outputs[model]  # objection withdrawn later
        assert ivan in outputs[model]
        assert built.pid("frank") in outputs[model]  # statistics objection only
    assert ivan not in outputs["marketing_social_matching_audience"]


@pytest.mark.slow
def test_children_are_neither_scored_nor_matched(built):
    olga = built.pid("olga")  # a 15-year-old bank customer with contact details
    assert olga in built.by_person("group_customer_register")
    assert olga in built.by_person("int_person_features_joined")
    for model in ("marketing_scoring_features", "marketing_social_matching_audience"):
        assert olga not in built.by_person(model), model


@pytest.mark.slow
def test_scores_are_deterministic_logistic_values_of_today(built):
    scores = built.rows("select * from main.marketing_propensity_scores")
    scenarios = {r["scenario"] for r in built.rows("select scenario from main.scoring_scenarios")}
    scored = {r["person_id"] for r in scores}
    assert len(scores) == len(scored) * len(scenarios)
    assert all(0 < r["score"] < 1 and r["scored_on"] == built.fixture.today for r in scores)
    audience = built.rows(
        "select a.*, s.audience_min_score from main.marketing_campaign_audience a "
        "join main.scoring_scenarios s using (scenario)"
    )
    assert audience and all(r["score"] >= r["audience_min_score"] for r in audience)
    alice = next(r for r in audience if r["person_id"] == built.pid("alice"))
    assert alice["email"] == "alice.nordmann@example.no"


@pytest.mark.slow
def test_statistics_cells_have_at_least_the_minimum_and_skip_objectors(built):
    cells = built.rows("select * from main.statistics_customers_by_postcode_area")
    assert cells and all(c["customer_count"] >= 5 for c in cells)
    by_key = {(c["postcode_area"], c["age_group"], c["product"]): c for c in cells}
    # nine bank customers in 01xx with savings, Frank objects: eight counted
    assert by_key[("01", "35_44", "savings_account")]["customer_count"] == 8
    assert ("01", "35_44", "current_account") not in by_key  # only four persons
    assert "person_id" not in cells[0]


@pytest.mark.slow
def test_person_id_is_a_keyed_hash_stable_across_runs(built):
    nid = built.fixture.nid("alice")
    pid = built.pid("alice")
    assert pid not in {
        hashlib.sha256(nid.encode()).hexdigest(),
        hashlib.md5(nid.encode()).hexdigest(),
    }
    before = {
        r["national_id"]: r["person_id"]
        for r in built.rows("select * from main.int_persons_matched")
    }
    assert before[nid] == pid
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_WAREHOUSE", str(built.fixture.path))
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", KEY)
        _dbt(["run", "--select", "int_persons_matched"], built.tmp)
    after = {
        r["national_id"]: r["person_id"]
        for r in built.rows("select * from main.int_persons_matched")
    }
    assert after == before


@pytest.mark.slow
def test_model_development_is_pseudonymous_without_its_objectors(built):
    rows = built.rows("select * from main.model_development_dataset")
    pseudonyms = {r["pseudonym"] for r in rows}

    def pseudonym_of(person_id: str) -> str:
        return hmac.new(
            KEY.encode(), f"model_development:{person_id}".encode(), hashlib.sha256
        ).hexdigest()

    def pseudonym(name: str) -> str:
        return pseudonym_of(built.pid(name))

    # grace objects; frank's objection ties with his withdrawal and wins; heidi withdrew later.
    features = set(built.by_person("int_person_features_joined"))
    objectors = {built.pid("grace"), built.pid("frank")}
    assert objectors | {built.pid("heidi")} <= features
    assert pseudonyms == {pseudonym_of(p) for p in features - objectors}
    assert pseudonym("heidi") in pseudonyms and pseudonym("grace") not in pseudonyms
    # A model-development objection is not a marketing objection.
    assert built.pid("grace") in built.by_person("marketing_scoring_features")
    assert not pseudonyms & {built.pid(n) for n in built.fixture.persons}
    forbidden = {"person_id", "national_id", "first_name", "last_name", "email", "phone"}
    assert not forbidden & set(rows[0])


@pytest.mark.slow
def test_social_audience_hashes_the_normalised_contacts(built):
    audience = built.by_person("marketing_social_matching_audience")
    alice = built.fixture.persons["alice"]
    row = audience[built.pid("alice")]
    assert row["email_sha256"] == hashlib.sha256(alice.email.strip().lower().encode()).hexdigest()
    assert row["phone_sha256"] == hashlib.sha256(alice.phone.encode()).hexdigest()
    assert built.pid("judy") not in audience  # no contact details


@pytest.mark.slow
def test_credit_exposure_carries_the_default_history(built):
    exposure = built.by_person("credit_group_exposure")
    dave = exposure[built.pid("dave")]
    assert (dave["default_case_count"], dave["has_loan_in_default"]) == (1, True)
    assert exposure[built.pid("bob")]["mortgage_outstanding"] == 2400000
    for model in ("marketing_scoring_features", "marketing_propensity_scores"):
        assert not {"default_case_count", "has_loan_in_default"} & set(built.node(model)["columns"])


@pytest.mark.slow
def test_birth_date_from_the_identity_number_matches_python(built):
    register = built.by_person("group_customer_register")
    for name in ("judy", "liam", "mia", "nils"):  # not bank customers
        nid = built.fixture.nid(name)
        assert (
            register[built.pid(name)]["birth_date"]
            == birth_date(nid)
            == built.fixture.persons[name].birth_date
        )


@pytest.mark.slow
def test_declared_column_types_match_the_warehouse(built):
    actual = {
        (r["table_name"], r["column_name"]): r["data_type"].lower()
        for r in built.rows(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'main'"
        )
    }
    aliases = {"timestamptz": "timestamp with time zone"}
    mismatches = []
    for node in built.manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        for name, col in node["columns"].items():
            got = actual.get((node["name"], name))
            want = aliases.get(col["data_type"], col["data_type"])
            if got != want:
                mismatches.append((node["name"], name, want, got))
        assert {c for t, c in actual if t == node["name"]} == set(node["columns"]), node["name"]
    assert mismatches == []
