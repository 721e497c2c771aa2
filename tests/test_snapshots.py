"""Snapshots of what the configuration resolves to, so a refactor of the YAML or the code that
reads it cannot change behaviour unnoticed:

- every column's resolved privacy tags (and every node's own), with the descriptions dbt renders;
- the Dagster asset specs: keys, groups, owners, kinds, tags, dependencies, column schemas, and
  the asset checks.

A deliberate change regenerates them
(``FJORDBANK_UPDATE_SNAPSHOTS=1 pytest tests/test_snapshots.py``) and the diff of
``tests/snapshots/`` is reviewed like code."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from catalog.tags import project_tags

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("FJORDBANK_UPDATE_SNAPSHOTS") == "1"


def _compare(name: str, actual: Any) -> None:
    path = SNAPSHOTS / name
    text = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing; write it with FJORDBANK_UPDATE_SNAPSHOTS=1"
    expected = json.loads(path.read_text())
    for key in sorted(set(expected) | set(actual)):
        assert actual.get(key) == expected.get(key), f"{name}: {key} differs from the snapshot"
    assert actual == expected


def resolved_tags(manifest: Any) -> dict[str, Any]:
    tags = project_tags(manifest)
    out: dict[str, Any] = {}
    for node in manifest:
        t = tags[node.unique_id]
        descriptions = {str(c.name).lower(): c.description or "" for c in node.columns}
        out[node.unique_id] = {
            "description": node.description or "",
            "purposes": list(t.purposes),
            "legal_basis": list(t.legal_basis),
            "art9_ground": list(t.art9_ground),
            "retention": t.retention,
            "consent_gate": list(t.consent_gate),
            "extra": json.loads(json.dumps(dict(t.extra), default=str)),
            "problems": list(t.problems),
            "columns": {
                name: {
                    **c.to_json(),
                    "problems": list(c.problems),
                    "description": descriptions.get(name, ""),
                }
                for name, c in sorted(t.columns.items())
            },
        }
    return out


def test_every_columns_resolved_tags_match_the_snapshot(real_project) -> None:
    manifest, _ = real_project
    _compare("resolved_tags.json", resolved_tags(manifest))


@pytest.fixture(scope="module")
def definitions(tmp_path_factory) -> dg.Definitions:
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_DATA_DIR", str(data))
        mp.setenv("FJORDBANK_PSEUDONYM_KEY", "test-key")
        from dagster_project.definitions import defs

        yield defs()


def _column_schema(spec: dg.AssetSpec) -> list[dict[str, Any]] | None:
    schema = spec.metadata.get("dagster/column_schema")
    if schema is None:
        return None
    return [
        {"name": c.name, "type": c.type, "description": c.description, "tags": dict(c.tags)}
        for c in schema.columns
    ]


def asset_specs(definitions: dg.Definitions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in definitions.resolve_all_asset_specs():
        out[spec.key.to_user_string()] = {
            "group": spec.group_name,
            "owners": list(spec.owners),
            "kinds": sorted(spec.kinds),
            "tags": dict(sorted(spec.tags.items())),
            "deps": sorted(d.asset_key.to_user_string() for d in spec.deps),
            "description": spec.description,
            "metadata_keys": sorted(spec.metadata),
            "columns": _column_schema(spec),
        }
    graph = definitions.resolve_asset_graph()
    out["__checks__"] = sorted(
        f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys
    )
    return out


def test_resolved_asset_specs_match_the_snapshot(definitions) -> None:
    _compare("asset_specs.json", asset_specs(definitions))
