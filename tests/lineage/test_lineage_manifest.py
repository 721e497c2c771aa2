"""The typed manifest view and the programmatic ``dbt compile``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from catalog.manifest import Manifest, ManifestError, compile_project, load_manifest

P = "lineage_fixture"


def test_resources_by_type(fixture_manifest: Manifest) -> None:
    assert fixture_manifest.project_name == P
    assert fixture_manifest.adapter_type == "duckdb"
    assert fixture_manifest.dbt_version.startswith("1.11")
    assert {n.name for n in fixture_manifest.sources} == {
        "customers",
        "accounts",
        "securities_holdings",
        "consents",
        "undeclared_objections",
    }
    assert {n.name for n in fixture_manifest.seeds} == {"postcodes", "product_catalog"}
    assert {n.name for n in fixture_manifest.snapshots} == {"customers_snapshot"}
    # disabled models are not nodes
    assert "broken_star" not in {n.name for n in fixture_manifest.models}


def test_source_columns_and_both_kinds_of_column_meta(fixture_manifest: Manifest) -> None:
    customers = fixture_manifest.node("bank.customers")
    assert customers.unique_id == f"source.{P}.bank.customers"
    assert customers.relation == "raw_bank.customers"
    assert customers.database == "warehouse"
    assert customers.source_name == "bank"
    assert customers.meta == {"privacy": {"legal_basis": "contract"}}
    # YAML `config: meta:` and the older column `meta:` both land in ColumnDecl.meta
    assert customers.column("customer_no").meta == {"privacy": {"category": "user.unique_id"}}
    assert customers.column("national_id").meta == {"legacy_meta": True}
    assert customers.column("updated_at").data_type == "timestamp"
    assert customers.column("NATIONAL_ID") is customers.column("national_id")


def test_models(fixture_manifest: Manifest, fixture_project_dir: Path) -> None:
    mart = fixture_manifest.node("marketing_features")
    assert mart.resource_type == "model"
    assert mart.materialized == "table"
    assert mart.relation == "main.marketing_features"
    assert mart.original_file_path == "models/marts/marketing_features.sql"
    assert mart.root_path == str(fixture_project_dir.resolve())
    assert mart.group == "marketing"
    assert mart.owner == "marketing@fjordbank.example"
    assert mart.meta == {"privacy": {"purposes": ["marketing.advertising.profiling"]}}
    assert mart.column_names == ("customer_no", "securities_band")
    assert mart.column("securities_band").meta["privacy"]["category"] == (
        "user.financial.securities"
    )
    assert set(mart.depends_on) == {
        f"model.{P}.stg_bank__customers",
        f"model.{P}.int_consented_holdings",
        f"model.{P}.stg_bank__accounts",
        f"seed.{P}.postcodes",
    }
    assert "__dbt__cte__int_consented_holdings" in (mart.compiled_code or "")
    ephemeral = fixture_manifest.node("int_latest_consent")
    assert ephemeral.materialized == "ephemeral"
    assert ephemeral.relation is None


def test_seed_columns_from_yaml_or_csv_header(fixture_manifest: Manifest) -> None:
    assert fixture_manifest.node("product_catalog").column("customer_no").data_type == "varchar"
    assert fixture_manifest.node("postcodes").column_names == ("postcode", "region")


def test_load_manifest_finds_the_project_for_seed_headers(
    compiled_fixture, fixture_project_dir: Path, tmp_path: Path
) -> None:
    _, path = compiled_fixture
    without = load_manifest(path)  # target dir is not inside the project: no CSV to read
    assert without.node("postcodes").column_names == ()
    with_project = load_manifest(path, project_dir=str(fixture_project_dir))
    assert with_project.node("postcodes").column_names == ("postcode", "region")
    # a manifest in <project>/target/ finds its project by itself
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    (project / "seeds").mkdir()
    (project / "seeds" / "postcodes.csv").write_text("postcode;region\n0001;Oslo\n")
    data = json.loads(path.read_text())
    data["nodes"][f"seed.{P}.postcodes"]["config"]["delimiter"] = ";"
    data["nodes"][f"seed.{P}.postcodes"]["original_file_path"] = "seeds/postcodes.csv"
    (project / "target" / "manifest.json").write_text(json.dumps(data))
    assert load_manifest(project / "target" / "manifest.json").node("postcodes").column_names == (
        "postcode",
        "region",
    )


def test_node_lookup(fixture_manifest: Manifest) -> None:
    assert fixture_manifest.node(f"model.{P}.leaky_features").name == "leaky_features"
    with pytest.raises(KeyError, match="no node"):
        fixture_manifest.node("nope")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no manifest at"),
        ("{not json", "cannot read the manifest"),
        ('{"a": 1}', "is not a dbt manifest"),
    ],
)
def test_load_manifest_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ManifestError, match=message) as info:
        load_manifest(path)
    assert "\n" not in str(info.value)


def test_compile_project_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no dbt project at"):
        compile_project(tmp_path / "nowhere", target_path=tmp_path / "target")
    project = tmp_path / "broken"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: broken\nversion: '1.0'\nprofile: broken\nconfig-version: 2\n"
    )
    (project / "profiles.yml").write_text(
        "broken:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {tmp_path / 'w.duckdb'}\n"
    )
    (project / "models" / "bad.sql").write_text("select {{ no_such_macro() }} as x\n")
    with pytest.raises(ManifestError) as info:
        compile_project(project, target_path=tmp_path / "target")
    message = str(info.value)
    assert message.startswith("dbt compile failed: ")
    assert "no_such_macro" in message
    assert message.endswith("fix the project and retry")
    assert "\n" not in message


def test_compile_environment_is_restored(compiled_fixture) -> None:
    """compile_project sets throwaway FJORDBANK_* values only for the compile."""
    assert "catalog-compile-" not in os.environ.get("FJORDBANK_WAREHOUSE", "")
    assert os.environ.get("FJORDBANK_PSEUDONYM_KEY") != "catalog-compile-throwaway-key"
