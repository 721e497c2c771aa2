"""The rights benchmark's correctness part (no timing asserted): on a few hundred generated
persons, the product's retention sweep and erasure delete exactly the rows the plain DuckDB
DELETEs of the baseline delete, table by table."""

from __future__ import annotations

import pytest

from bench import rights


@pytest.fixture(scope="module")
def setup(real_project, tmp_path_factory):
    _, manifest_path = real_project
    root = tmp_path_factory.mktemp("bench_rights")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_DATA_DIR", str(root / "data"))
        mp.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
        yield rights.prepare(root, 300, manifest_path=manifest_path)


def test_product_and_delete_remove_the_same_rows(setup):
    before = setup.warehouse.read_bytes()
    landing_before = {p: p.read_bytes() for p in setup.landing.rglob("*.csv")}
    deleted = rights.check(setup)
    # the generated history has expired rows, and the person picked has rows in many tables
    assert deleted["sweep"] > 0
    assert deleted["erasure"] >= 5
    # every run works on a copy: the generated warehouse and landing files are untouched
    assert setup.warehouse.read_bytes() == before
    assert {p: p.read_bytes() for p in setup.landing.rglob("*.csv")} == landing_before
    assert sorted(p.name for p in setup.root.iterdir()) == ["base"]


def test_the_person_picked_has_no_legal_hold_and_is_found_by_the_product(setup):
    _, catalog = rights.load_context(setup)
    nid = rights.pick_person(setup)
    product = rights.erase_product(setup, catalog, nid)
    assert "bank.customers" in product["rows"]
    assert not {"risk.default_cases", "risk.fraud_cases"} & set(product["rows"])
    assert product["files_rewritten"] == len(product["rows"])


def test_a_difference_in_rows_deleted_fails_the_benchmark(setup):
    nid = rights.pick_person(setup)
    baseline = rights.erase_baseline(setup, nid)["rows"]
    fewer = {**baseline, "bank.customers": (0, 0)}
    with pytest.raises(AssertionError, match=r"differ .* in bank\.customers"):
        rights.same_rows("erasure", baseline, fewer)
    assert rights.same_rows("erasure", baseline, dict(baseline)) == sum(
        raw + q for raw, q in baseline.values()
    )
