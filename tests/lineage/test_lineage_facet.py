"""The OpenLineage column-lineage facet built from the engine's result."""

from __future__ import annotations

import json

import pytest
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.serde import Serde

from catalog.lineage import LineageError, column_lineage_facet, query_lineage, to_facet

SCHEMA = {
    "warehouse": {
        "raw_bank": {
            "customers": {"customer_no": "varchar", "national_id": "varchar", "email": "varchar"}
        },
        "raw_privacy": {"consents": {"national_id": "varchar", "group_sharing": "boolean"}},
    }
}
SQL = """
select
    c.customer_no,
    md5(c.email) as email_hash,
    case when k.group_sharing then c.national_id end as shared_id
from "warehouse"."raw_bank"."customers" as c
join "warehouse"."raw_privacy"."consents" as k on k.national_id = c.national_id
where k.group_sharing
"""


def _transformations(field: cl.InputField) -> set[tuple[str, str | None, bool | None]]:
    return {(t.type, t.subtype, t.masking) for t in field.transformations or []}


def test_facet_fields_and_dataset() -> None:
    facet = column_lineage_facet(SQL, schema=SCHEMA, namespace="duckdb://warehouse")
    assert isinstance(facet, cl.ColumnLineageDatasetFacet)
    assert list(facet.fields) == ["customer_no", "email_hash", "shared_id"]

    (email,) = facet.fields["email_hash"].inputFields
    assert (email.namespace, email.name, email.field) == (
        "duckdb://warehouse",
        "warehouse.raw_bank.customers",
        "email",
    )
    assert _transformations(email) == {("DIRECT", "TRANSFORMATION", True)}

    shared = {f.field: _transformations(f) for f in facet.fields["shared_id"].inputFields}
    assert shared == {
        "national_id": {("DIRECT", "TRANSFORMATION", False)},
        "group_sharing": {("INDIRECT", "CONDITIONAL", False)},
    }

    dataset = {(f.name, f.field): _transformations(f) for f in facet.dataset}
    assert dataset == {
        ("warehouse.raw_bank.customers", "national_id"): {("INDIRECT", "JOIN", False)},
        ("warehouse.raw_privacy.consents", "national_id"): {("INDIRECT", "JOIN", False)},
        ("warehouse.raw_privacy.consents", "group_sharing"): {("INDIRECT", "FILTER", False)},
    }


def test_one_input_field_per_source_column_with_all_its_transformations() -> None:
    sql = "select case when email like '%@%' then email end as email from raw_bank.customers"
    facet = column_lineage_facet(sql, schema=SCHEMA)
    (field,) = facet.fields["email"].inputFields
    assert _transformations(field) == {
        ("DIRECT", "TRANSFORMATION", False),
        ("INDIRECT", "CONDITIONAL", False),
    }


def test_facet_serialises_and_validates_against_the_spec(shared_dir) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    spec_dir = shared_dir / "openlineage-spec"
    facet_schema = json.loads((spec_dir / "facets" / "ColumnLineageDatasetFacet.json").read_text())
    core = json.loads((spec_dir / "OpenLineage.json").read_text())
    registry = referencing.Registry().with_resources(
        [(s["$id"], referencing.Resource.from_contents(s)) for s in (facet_schema, core)]
    )
    document = {"columnLineage": Serde.to_dict(column_lineage_facet(SQL, schema=SCHEMA))}
    jsonschema.Draft202012Validator(facet_schema, registry=registry).validate(document)
    assert document["columnLineage"]["_schemaURL"].endswith("ColumnLineageDatasetFacet")


def test_to_facet_matches_query_lineage() -> None:
    q = query_lineage(SQL, schema=SCHEMA)
    facet = to_facet(q)
    for name in q.columns:
        got = {
            (f.name, f.field, t.type, t.subtype)
            for f in facet.fields[name].inputFields
            for t in f.transformations
        }
        assert got == {(d.table, d.column, str(d.type), str(d.subtype)) for d in q.fields[name]}


def test_facet_fails_closed() -> None:
    with pytest.raises(LineageError, match=r"raw_bank\.nope is not in the schema"):
        column_lineage_facet("select * from raw_bank.nope", schema=SCHEMA)
