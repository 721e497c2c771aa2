"""``catalog lineage``: the graph or one column's walk, exit 0; one line on stderr, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.cli import main


@pytest.fixture
def manifest_args(compiled_fixture, fixture_project_dir: Path) -> list[str]:
    _, path = compiled_fixture
    return ["--manifest", str(path), "--project-dir", str(fixture_project_dir)]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lineage", *args])
    return result.exit_code, result.stdout, result.stderr


def test_graph_as_json(manifest_args: list[str]) -> None:
    code, out, _ = run(*manifest_args, "--format", "json")
    assert code == 0
    graph = json.loads(out)
    mart = next(n for n in graph["nodes"] if n["name"] == "marketing_features")
    assert mart["columns"][:2] == ["customer_no", "person_key"]
    assert {"source", "target", "type", "subtype", "masking", "restricts_rows"} <= set(
        graph["edges"][0]
    )


def test_graph_as_text(manifest_args: list[str]) -> None:
    code, out, _ = run(*manifest_args)
    assert code == 0
    assert "marketing_features (model)" in out
    assert "<- stg_bank__customers.national_id  DIRECT/TRANSFORMATION (masking)" in out


def test_upstream_walk_of_a_column(manifest_args: list[str]) -> None:
    code, out, _ = run(*manifest_args, "--column", "marketing_features.securities_band")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("upstream of marketing_features.securities_band:")
    securities = next(line for line in lines if "markets.securities_holdings.market_value" in line)
    assert "INDIRECT" in securities


def test_downstream_walk_as_json(manifest_args: list[str]) -> None:
    code, out, _ = run(
        *manifest_args,
        "--column",
        "markets.securities_holdings.market_value",
        "--direction",
        "downstream",
        "--format",
        "json",
    )
    assert code == 0
    walk = json.loads(out)
    reached = {(r["node"].split(".")[-1], r["column"]): r for r in walk["reached"]}
    assert ("leaky_features", "market_value") in reached
    assert reached[("leaky_features", "market_value")]["types"] == ["DIRECT"]
    assert reached[("features_copy", "securities_band")]["types"] == ["DIRECT", "INDIRECT"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "marketing_features.nope"], "marketing_features has no column nope"),
        (["--column", "nope.x"], "no node 'nope'"),
        (["--column", "justone"], "is not MODEL.COLUMN"),
    ],
)
def test_bad_column_exits_2(manifest_args: list[str], args: list[str], message: str) -> None:
    code, out, err = run(*manifest_args, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_missing_manifest_exits_2(tmp_path: Path) -> None:
    code, _, err = run("--manifest", str(tmp_path / "manifest.json"))
    assert code == 2
    assert "no manifest at" in err


def test_missing_project_exits_2(tmp_path: Path) -> None:
    code, _, err = run("--project-dir", str(tmp_path / "nowhere"))
    assert code == 2
    assert "no dbt project at" in err


def test_compiles_the_project_when_no_manifest_is_given(fixture_project_dir: Path) -> None:
    code, out, err = run("--project-dir", str(fixture_project_dir), "--format", "json")
    assert code == 0, err
    assert {n["name"] for n in json.loads(out)["nodes"]} >= {"marketing_features", "postcodes"}
