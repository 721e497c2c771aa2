"""The catalog on a dbt-spark project another team could have written
(tests/fixtures/spark_project): source columns declared nowhere, found in ``dbt docs
generate``'s catalog.json; an incremental model analysed in both ``is_incremental()`` branches;
unaliased aggregates and a loader's mixed-case column named as Spark names them.

The project is built on a local Spark (dbt-spark ``session``, a Derby metastore under
``tmp_path``): its raw tables made by a macro, as a loader outside dbt would, ``dbt build``
twice (so the incremental model exists and its true branch compiles), then ``dbt docs
generate``. Spark's own column names are catalog.json's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test-spark)")

pytestmark = [pytest.mark.slow, pytest.mark.spark]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "spark_project"
BIN = Path(sys.executable).parent
P = "spark_fixture"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spark_catalog")
    project = root / "project"
    shutil.copytree(FIXTURE, project)
    env = {**os.environ, "SPARK_FIXTURE_DIR": str(root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for command in (["run-operation", "load_raw"], ["build"], ["build"], ["docs", "generate"]):
        subprocess.run(
            [str(BIN / "dbt"), *command, "--profiles-dir", ".", "--quiet"],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
    os.environ["SPARK_FIXTURE_DIR"] = str(root)  # for the catalog's own compile
    yield project
    os.environ.pop("SPARK_FIXTURE_DIR", None)


@pytest.fixture(scope="module")
def compiled(built: Path) -> dict:
    """``catalog lineage`` compiling the project itself."""
    return _lineage(built)


def _lineage(project: Path, *args: str) -> dict:
    result = subprocess.run(
        [str(BIN / "catalog"), "lineage", "--project-dir", str(project), "--format", "json", *args],
        capture_output=True,
        text=True,
        cwd=project,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def _edges(graph: dict) -> set[tuple[str, str, str | None, str, str]]:
    return {
        (
            f"{e['source']['node'].split('.')[-1]}.{e['source']['column']}",
            e["target"]["node"].split(".")[-1],
            e["target"]["column"],
            e["type"],
            e["subtype"],
        )
        for e in graph["edges"]
    }


# The is_incremental() true branch's filter on the model's own relation ({{ this }}).
TRUE_BRANCH = {
    ("events_incremental.loaded_at", "events_incremental", None, "INDIRECT", "FILTER"),
    ("events.loaded_at", "events_incremental", None, "INDIRECT", "FILTER"),
}


def test_columns_are_sparks_own_and_both_branches_are_analysed(built: Path, compiled: dict) -> None:
    graph = compiled
    spark = json.loads((built / "target" / "catalog.json").read_text())
    described = {
        uid: [c for c, _ in sorted(n["columns"].items(), key=lambda kv: kv[1]["index"])]
        for uid, n in {**spark["nodes"], **spark["sources"]}.items()
    }
    nodes = {n["unique_id"]: n for n in graph["nodes"]}
    assert set(nodes) == set(described)
    for uid, columns in described.items():  # FullName, fullname, sum(amount_cents), count(1)
        assert nodes[uid]["columns"] == columns, uid
    assert {nodes[f"source.{P}.shop.{t}"]["columns_from"] for t in ("customers", "events")} == {
        "catalog.json"
    }
    edges = _edges(graph)
    assert edges >= TRUE_BRANCH
    assert {
        ("events.amount", "events_incremental", "amount_cents", "DIRECT", "TRANSFORMATION"),
        ("customers.FullName", "stg_customers", "FullName", "DIRECT", "IDENTITY"),
        ("stg_customers.FullName", "customer_totals", "fullname", "DIRECT", "IDENTITY"),
        ("stg_customers.FullName", "customer_totals", None, "INDIRECT", "GROUP_BY"),
        (
            "events_incremental.amount_cents",
            "customer_totals",
            "sum(amount_cents)",
            "DIRECT",
            "AGGREGATION",
        ),
        ("events_incremental.customer_id", "customer_totals", None, "INDIRECT", "JOIN"),
    } <= edges
    # the only edge from a model into itself is the true branch's read of {{ this }}
    assert {e for e in edges if e[0].split(".")[0] == e[1]} == {
        ("events_incremental.loaded_at", "events_incremental", None, "INDIRECT", "FILTER")
    }


def test_dbts_own_manifest_gets_the_other_branch_compiled(built: Path, compiled: dict) -> None:
    manifest = built / "target" / "manifest.json"
    code = json.loads(manifest.read_text())["nodes"][f"model.{P}.events_incremental"]
    assert "max(loaded_at)" in code["compiled_code"]  # dbt's manifest: the true branch only
    assert _edges(_lineage(built, "--manifest", str(manifest))) == _edges(compiled)
