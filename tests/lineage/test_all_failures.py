"""Every model that cannot be analysed is reported in one run, one line each, exit 2.

tests/fixtures/incremental_project with ``--vars '{include_broken: true}'`` adds three models
that fail closed (an unknown column, SQL that does not parse, a relation that is no ref) and
one that reads a broken one: it is reported as not analysed, never analysed on a partial
schema.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.cli import main
from catalog.lineage import LineageError, build_project_graph
from catalog.lineage.project import ProjectLineageError
from catalog.manifest import Manifest, compile_project

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "incremental_project"

EXPECTED = [
    "broken_column: column no_such_column",
    "broken_not_a_ref: relation main.not_a_relation is not in the schema",
    "broken_parse: the SQL does not parse",
    "broken_downstream: not analysed: it reads broken_column, whose lineage could not be derived",
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Manifest, Path]:
    """The fixture compiled with its broken models (warehouse not built), and its manifest."""
    tmp = tmp_path_factory.mktemp("all_failures")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FJORDBANK_WAREHOUSE", str(tmp / "warehouse.duckdb"))
        manifest = compile_project(FIXTURE, target_path=tmp, vars={"include_broken": True})
    return manifest, tmp / "manifest.json"


def _matches(lines: list[str], prefix: str = "") -> None:
    assert len(lines) == len(EXPECTED), lines
    failed, downstream = lines[:3], lines[3]
    for expected in EXPECTED[:3]:
        assert sum(line.startswith(prefix + expected) for line in failed) == 1, (expected, lines)
    assert downstream == prefix + EXPECTED[3]


def test_every_failing_model_is_named_and_its_downstream_not_analysed(broken) -> None:
    manifest, _ = broken
    with pytest.raises(ProjectLineageError) as info:
        build_project_graph(manifest)
    assert isinstance(info.value, LineageError)
    assert [e.model for e in info.value.errors][3] == "broken_downstream"
    _matches(str(info.value).splitlines())


def test_one_failing_model_is_its_own_error(broken) -> None:
    manifest, _ = broken
    keep = {
        uid: n
        for uid, n in manifest.nodes.items()
        if n.name not in ("broken_parse", "broken_not_a_ref", "broken_downstream")
    }
    with pytest.raises(LineageError) as info:
        build_project_graph(dataclasses.replace(manifest, nodes=keep))
    assert not isinstance(info.value, ProjectLineageError)
    assert str(info.value).startswith(EXPECTED[0]) and "\n" not in str(info.value)


@pytest.mark.parametrize("command", ["lineage", "check"])
def test_the_commands_report_every_failing_model_and_exit_2(
    broken, command: str, tmp_path: Path
) -> None:
    _, manifest_path = broken
    args = [command, "--manifest", str(manifest_path), "--project-dir", str(FIXTURE)]
    if command == "check":
        policy = tmp_path / "policy.yml"
        policy.write_text("")  # the structural rules only
        args += ["--policy", str(policy)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""  # no graph, no verdict: nothing was proven
    _matches(result.stderr.splitlines(), prefix="error: ")


def test_check_json_lists_every_error(broken, tmp_path: Path) -> None:
    _, manifest_path = broken
    policy = tmp_path / "policy.yml"
    policy.write_text("")
    result = CliRunner().invoke(
        main,
        [
            "check", "--manifest", str(manifest_path), "--project-dir", str(FIXTURE),
            "--policy", str(policy), "--format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    _matches(report["errors"])
    assert report["error"] == "\n".join(report["errors"])
