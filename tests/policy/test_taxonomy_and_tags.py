"""The taxonomy's integrity and the resolution of column tags from dbt meta."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from catalog.policy import load_policy_config
from catalog.tags import project_tags, resolve_column_tags, resolve_node_tags
from catalog.taxonomy import (
    EXTENSIONS_FILE,
    LegalBasis,
    SpecialCategoryGround,
    TaxonomyError,
    Term,
    build_taxonomy,
    fideslang_terms,
    load_taxonomy,
    read_extensions,
)

# -- taxonomy ------------------------------------------------------------------------------

PRIVACY_MD_KEYS = {
    "categories": [
        "user.financial.securities",
        "user.financial.funds",
        "user.financial.loan",
        "user.financial.insurance",
        "user.financial.pension",
        "user.financial.credit_history",
        "user.financial.fraud",
        "user.financial.product_holding",
    ],
    "uses": [
        "essential.service.customer_administration",
        "essential.legal_obligation.capital_requirements",
        "essential.legal_obligation.anti_money_laundering",
        "finance.credit_assessment",
        "analytics.reporting.statistics",
        "analytics.model_development",
    ],
}


def test_keys_are_unique_and_every_parent_exists():
    base_cats, base_uses = fideslang_terms()
    ext_cats, ext_uses, _ = read_extensions(EXTENSIONS_FILE)
    for terms in ([*base_cats, *ext_cats], [*base_uses, *ext_uses]):
        keys = Counter(t.key for t in terms)
        assert [k for k, n in keys.items() if n > 1] == []
        assert [t.key for t in terms if t.parent is not None and t.parent not in keys] == []
        assert all(t.parent == (t.key.rpartition(".")[0] or None) for t in terms)


def test_banking_extensions_of_privacy_md_exist_with_their_parents():
    t = load_taxonomy()
    for key in PRIVACY_MD_KEYS["categories"]:
        assert t.data_categories[key].origin == "extension"
        assert t.is_category(t.data_categories[key].parent)
    for key in PRIVACY_MD_KEYS["uses"]:
        assert t.is_use(key) and t.is_use(t.data_uses[key].parent)
    # fideslang's defaults are there too
    assert t.is_category("user.government_id.national_identification_number")
    assert t.is_use("marketing.advertising.profiling")


def test_legal_bases_are_article_6_and_article_9():
    assert [b.value for b in LegalBasis] == [
        "consent",
        "contract",
        "legal_obligation",
        "vital_interests",
        "public_task",
        "legitimate_interests",
    ]
    assert LegalBasis.CONSENT.article == "6(1)(a)"
    assert SpecialCategoryGround.LEGAL_CLAIMS.article == "9(2)(f)"


def test_factory_rejects_duplicates_and_orphans():
    root = Term("user", None, "User")
    with pytest.raises(TaxonomyError, match="defined more than once"):
        build_taxonomy([root, Term("user", None, "User again")], [])
    with pytest.raises(TaxonomyError, match=r"parent 'user\.x' does not exist"):
        build_taxonomy([root, Term("user.x.y", "user.x", "Y")], [])
    with pytest.raises(TaxonomyError, match="expected 'user'"):
        build_taxonomy([root, Term("user.y", "system", "Y")], [])
    with pytest.raises(TaxonomyError, match="not a data category"):
        build_taxonomy([root], [], ["user.nothing"])


def test_extension_file_with_a_wrong_parent_is_rejected(tmp_path: Path):
    bad = tmp_path / "ext.yml"
    bad.write_text("data_categories:\n  - key: user.financial.crypto\n    parent: user\n")
    with pytest.raises(TaxonomyError, match="parent_key"):
        load_taxonomy(bad)


def test_policy_configuration_uses_known_keys_only():
    cfg = load_policy_config()
    assert cfg.statistics_min_cell_size == 5
    assert set(cfg.consent_gates) == {"group_sharing", "marketing_cookies"}


# -- tags ------------------------------------------------------------------------------------


def node(privacy=None, columns=None, **extra):
    return {
        "unique_id": "model.p.m",
        "resource_type": "model",
        "config": {"meta": {"privacy": privacy or {}}},
        "columns": {
            n: {"name": n, "config": {"meta": {"privacy": p}}} for n, p in (columns or {}).items()
        },
        **extra,
    }


def test_columns_inherit_model_level_purposes_basis_and_retention():
    t = resolve_column_tags(
        node(
            {
                "purposes": ["marketing.communications"],
                "legal_basis": "consent",
                "retention": "P1D",
            },
            {"a": {"category": "user.name"}, "b": {"category": "user.name", "retention": "P5Y"}},
        )
    )
    assert t["a"].purposes == ("marketing.communications",) and t["a"].retention == "P1D"
    assert t["a"].inherited == {"purposes", "legal_basis", "retention"}
    assert t["b"].retention == "P5Y" and "retention" not in t["b"].inherited


def test_config_meta_wins_over_meta_and_column_names_are_lower_case():
    props = node(
        {"purposes": ["essential.service"]},
        {"Email": {"category": "user.contact.email"}},
        meta={"privacy": {"purposes": ["marketing"], "legal_basis": "contract"}},
    )
    props["columns"]["Email"]["meta"] = {"privacy": {"category": "user.name"}}
    nt = resolve_node_tags(props)
    assert nt.purposes == ("essential.service",) and nt.legal_basis == ("contract",)
    assert nt.columns["email"].categories == ("user.contact.email",)


def test_source_block_meta_is_inherited_by_its_tables():
    props = node(columns={"x": {"category": "user.name"}}, resource_type="source")
    props["source_meta"] = {
        "privacy": {"purposes": ["essential.service"], "legal_basis": "contract"}
    }
    assert resolve_column_tags(props)["x"].purposes == ("essential.service",)


def test_malformed_tags_are_recorded_not_guessed():
    nt = resolve_node_tags(
        node({"purposes": 7, "category": "user.name"}, {"a": {"category": ["a", 1], "typo": 1}})
    )
    assert any("purposes must be a string or a list" in p for p in nt.problems)
    assert any("category is per column" in p for p in nt.problems)
    assert any("unknown privacy key(s) typo" in p for p in nt.columns["a"].problems)
    assert nt.columns["a"].categories == ()


def test_consent_gate_and_all_purposes():
    nt = resolve_node_tags(
        node(
            {"purposes": ["marketing.advertising.profiling"], "consent_gate": "group_sharing"},
            {"a": {"category": "user.name", "purposes": ["analytics.model_development"]}},
        )
    )
    assert nt.consent_gate == ("group_sharing",)
    assert nt.all_purposes == {"marketing.advertising.profiling", "analytics.model_development"}


def test_dagster_column_tags():
    t = resolve_column_tags(
        node(
            {
                "purposes": ["a.b", "c"],
                "legal_basis": "legitimate_interests",
                "art9_ground": "legal_claims",
            },
            {"a": {"category": "user.financial.credit_history"}},
        )
    )["a"]
    assert t.as_dagster_tags() == {
        "privacy/category": "user.financial.credit_history",
        "privacy/purposes": "a.b, c",
        "privacy/legal_basis": "legitimate_interests, legal_claims",
    }


def test_project_tags_from_a_manifest():
    from catalog.manifest import Manifest

    manifest = Manifest.from_dict(
        {
            "metadata": {"project_name": "p"},
            "nodes": {},
            "sources": {
                "source.p.bank.customers": {
                    "unique_id": "source.p.bank.customers",
                    "name": "customers",
                    "resource_type": "source",
                    "source_name": "bank",
                    "config": {"meta": {"privacy": {"purposes": ["essential.service"]}}},
                    "columns": {
                        "email": {
                            "name": "email",
                            "config": {"meta": {"privacy": {"category": "user.contact.email"}}},
                        }
                    },
                }
            },
        }
    )
    tags = project_tags(manifest)
    col = tags["source.p.bank.customers"].columns["email"]
    assert col.categories == ("user.contact.email",) and col.purposes == ("essential.service",)


def test_snapshot_bookkeeping_columns_are_technical_unless_declared():
    from catalog.manifest import Manifest

    snapshot = {
        "unique_id": "snapshot.p.consents_history",
        "name": "consents_history",
        "resource_type": "snapshot",
        "config": {
            "meta": {"privacy": {"purposes": ["essential.service"], "legal_basis": "contract"}},
            "snapshot_meta_column_names": {"dbt_valid_to": "valid_until"},
        },
        "columns": {
            "consent": {
                "name": "consent",
                "meta": {"privacy": {"category": "user.privacy_preferences"}},
            },
            "dbt_scd_id": {
                "name": "dbt_scd_id",
                "meta": {"privacy": {"category": "user.unique_id"}},
            },
        },
    }
    manifest = Manifest.from_dict(
        {"metadata": {}, "nodes": {snapshot["unique_id"]: snapshot}, "sources": {}}
    )
    cols = project_tags(manifest)["snapshot.p.consents_history"].columns
    assert cols["valid_until"].categories == ("system.operations",)
    assert cols["valid_until"].purposes == ("essential.service",)
    assert cols["dbt_scd_id"].categories == ("user.unique_id",)  # declared wins
    assert "dbt_valid_to" not in cols
