"""The policy configuration on any dbt project: every section optional, a malformed file is one
line naming the key (exit 2), and ``catalog init-policy``.

The project is tests/fixtures/foreign_project, written the way another bank's team would (no
privacy meta); its ``tagged/`` files are the same YAML with privacy tags, copied over the
project's in a second copy. Both are compiled once for the module (dbt-duckdb, in memory).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from catalog.cli import main
from catalog.manifest import compile_project
from catalog.policy.config import (
    SECTIONS,
    PolicyConfigError,
    load_policy_config,
    parse_policy_config,
)
from catalog.policy.evaluation import RULES, active_rules
from catalog.policy.init import render_policy, survey_project

FOREIGN = Path(__file__).resolve().parent.parent / "fixtures" / "foreign_project"
STRUCTURAL = ("every_column_tagged", "fail_closed")


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    # Never a traceback: the command ends by SystemExit (its exit code) or returns normally.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output + result.stderr
    return result


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- which rules run ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "{}", "# nothing but a comment\n"])
def test_an_empty_policy_runs_the_structural_rules_only(tmp_path: Path, text: str):
    cfg = load_policy_config(write(tmp_path / "p.yml", text))
    assert cfg.sections == frozenset()
    assert active_rules(cfg) == STRUCTURAL


@pytest.mark.parametrize(
    ("doc", "rule"),
    [
        ({"neutral_register": {"paths": ["marts/register"]}}, "neutral_register"),
        ({"national_id": None}, "national_id_purpose"),
        ({"purpose_limitation": {"sources": ["risk"]}}, "purpose_limitation"),
        ({"objections": {"required": []}}, "objections_honoured"),
        (
            {"consent_gates": {"group_sharing": {"consent_column": "a.b.c"}}},
            "no_unconsented_investments_in_marketing",
        ),
        (
            {"consent_gates": {"marketing_cookies": {"consent_column": "a.b.c"}}},
            "no_web_behaviour_without_cookie_consent",
        ),
    ],
)
def test_one_section_turns_on_its_rule_only(doc: dict, rule: str):
    assert active_rules(parse_policy_config(doc)) == ("every_column_tagged", rule, "fail_closed")


def test_sections_without_a_rule_turn_none_on():
    cfg = parse_policy_config({"outputs": {"paths": ["marts"]}, "statistics": {"min_cell_size": 3}})
    assert active_rules(cfg) == STRUCTURAL
    assert (cfg.output_paths, cfg.statistics_min_cell_size) == (("marts",), 3)
    # a gate no rule reads (the rules know group_sharing and marketing_cookies) turns none on
    newsletter = {"consent_gates": {"newsletter": {"consent_column": "crm.consents.given"}}}
    assert active_rules(parse_policy_config(newsletter)) == STRUCTURAL


def test_the_bank_policy_turns_every_rule_on():
    cfg = load_policy_config()
    assert cfg.sections == frozenset(SECTIONS)
    assert active_rules(cfg) == tuple(RULES)


# -- malformed policies ---------------------------------------------------------------------------

MALFORMED = [
    (
        "consent_gates: {group_sharing: {consent_column: a.b.c, granting_value: [granted]}}",
        "consent_gates.group_sharing.granting_value: expected a string or true / false",
    ),
    (
        "consent_gates: {group_sharing: {granting_value: x}}",
        "consent_gates.group_sharing.consent_column: missing (required)",
    ),
    ("consent_gates: {g: 3}", "consent_gates.g: expected a mapping"),
    ("national_id: {catgory: user.name}", "national_id.catgory: unknown key"),
    ("nationalid: {}", "nationalid: unknown key"),
    ("outputs: [marts]", "outputs: expected a mapping"),
    ("outputs: {paths: 3}", "outputs.paths: expected a string or a list of strings"),
    ("statistics: {min_cell_size: 0}", "statistics.min_cell_size: expected an integer >= 1"),
    ("objections: {required: [{purpose: marketing}]}", "objections.required[0].scopes: missing"),
    ("- a\n- b\n", "(top level): expected a mapping of sections"),
    ("national_id: {category: user.nope}", "national_id.category: unknown data category"),
    ("purpose_limitation: {purposes: [nope]}", "purpose_limitation.purposes: unknown data use"),
    ("outputs: {paths: [marts]\n", "not valid YAML (line"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_policy_names_the_file_and_the_key(tmp_path: Path, text: str, message: str):
    path = write(tmp_path / "policy.yml", text)
    with pytest.raises(PolicyConfigError) as exc:
        load_policy_config(path)
    assert str(exc.value).startswith(f"{path}: ")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(("text", "message"), MALFORMED[:4])
def test_check_with_a_malformed_policy_exits_2_before_compiling(
    tmp_path: Path, text: str, message: str
):
    path = write(tmp_path / "policy.yml", text)
    # the project does not exist: the policy is read first
    result = run("check", "--project-dir", str(tmp_path / "nowhere"), "--policy", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: {message}")
    assert result.stderr.count("\n") == 1


# -- init-policy ----------------------------------------------------------------------------------


def test_init_policy_lists_what_the_project_declares():
    text = render_policy(survey_project(FOREIGN))
    assert yaml.safe_load(text) is None  # every section commented out: an empty policy
    assert "##   source core.clients: client_id, personnummer, full_name, email" in text
    assert "national identity numbers: core.clients.personnummer, stg_clients.personnummer" in text
    assert "consent logs: crm.newsletter_consents" in text
    assert "#     consent_column: crm.newsletter_consents.consent_given" in text
    assert "#   paths: [marts]\n#   exclude_paths: [staging]" in text


def test_init_policy_uncommented_is_a_valid_policy_with_every_rule():
    text = render_policy(survey_project(FOREIGN))
    code = "\n".join(line[2:] for line in text.splitlines() if re.match(r"# |#$", line))
    cfg = parse_policy_config(yaml.safe_load(code))
    assert cfg.sections == frozenset(SECTIONS)
    assert active_rules(cfg) == tuple(
        r for r in RULES if r != "no_web_behaviour_without_cookie_consent"
    )


def test_init_policy_never_overwrites_without_force(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(FOREIGN, project)
    out = project / "policy.yml"
    first = run("init-policy", "--project-dir", str(project))
    assert first.exit_code == 0, first.stderr
    assert first.output.startswith(f"wrote {out}: 3 source table(s)")
    write(out, "national_id: {}\n")
    again = run("init-policy", "--project-dir", str(project))
    assert again.exit_code == 2
    assert again.stderr == f"error: {out} exists; pass --force to overwrite it\n"
    assert out.read_text() == "national_id: {}\n"
    forced = run("init-policy", "--project-dir", str(project), "--out", str(out), "--force")
    assert forced.exit_code == 0
    assert out.read_text() == render_policy(survey_project(project))


def test_init_policy_outside_a_dbt_project_exits_2(tmp_path: Path):
    result = run("init-policy", "--project-dir", str(tmp_path), "--out", str(tmp_path / "p.yml"))
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path} is not a dbt project (no dbt_project.yml)\n"
    assert not (tmp_path / "p.yml").exists()


# -- catalog check on the foreign project ---------------------------------------------------------


def _compile(root: Path, tagged: bool) -> tuple[str, str]:
    project = root / "project"
    shutil.copytree(FOREIGN, project)
    if tagged:
        shutil.copy(FOREIGN / "tagged" / "_sources.yml", project / "models/staging/_sources.yml")
        shutil.copy(FOREIGN / "tagged" / "schema.yml", project / "models/schema.yml")
    compile_project(project, profiles_dir=project, target_path=root / "target")
    return str(project), str(root / "target" / "manifest.json")


@pytest.fixture(scope="module")
def untagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _compile(tmp_path_factory.mktemp("untagged"), tagged=False)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _compile(tmp_path_factory.mktemp("tagged"), tagged=True)


def check(project: tuple[str, str], policy: Path) -> Result:
    project_dir, manifest = project
    return run(
        "check", "--project-dir", project_dir, "--manifest", manifest, "--policy", str(policy)
    )


def rules_named(result: Result) -> set[str]:
    return set(re.findall(r"^\[(\w+)\]", result.output, re.MULTILINE))


def test_empty_policy_on_a_tagged_project_holds(tagged, tmp_path: Path):
    result = check(tagged, write(tmp_path / "empty.yml", ""))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("privacy policy holds (3 models, ")


def test_empty_policy_on_an_untagged_project_names_the_untagged_columns(untagged, tmp_path):
    result = check(untagged, write(tmp_path / "empty.yml", "{}"))
    assert result.exit_code == 1
    assert rules_named(result) == {"every_column_tagged"}
    named = set(re.findall(r"^\[every_column_tagged\] (\S+):", result.output, re.MULTILINE))
    assert {"core.clients.personnummer", "stg_clients.personnummer"} <= named
    assert "client_exposure.total_principal" in named
    assert len(named) == 22  # every column of the sources and models


def test_a_partial_policy_runs_its_rule_only(tagged, tmp_path: Path):
    # client_exposure (analytics) filters out defaulted loans: a use of credit history
    limit = "purpose_limitation: {categories: [user.financial.credit_history]}\n"
    result = check(tagged, write(tmp_path / "limit.yml", limit))
    assert result.exit_code == 1
    assert rules_named(result) == {"purpose_limitation"}
    assert "[purpose_limitation] client_exposure." in result.output
    assert "core.loans" in result.output
    # another section alone: that rule runs, purpose limitation does not
    nid = "national_id: {forbidden_purposes: [marketing]}\n"
    assert check(tagged, write(tmp_path / "nid.yml", nid)).exit_code == 0


def test_a_policy_naming_a_source_the_project_lacks_exits_2(tagged, tmp_path: Path):
    doc = "purpose_limitation: {sources: [risk]}\n"
    result = check(tagged, write(tmp_path / "p.yml", doc))
    assert result.exit_code == 2
    assert "'risk', which is not in the project" in result.stderr
    assert result.stderr.count("\n") == 1


def test_init_policy_output_is_accepted_by_check_as_is(tagged, untagged, tmp_path: Path):
    out = tmp_path / "policy.yml"
    assert run("init-policy", "--project-dir", tagged[0], "--out", str(out)).exit_code == 0
    assert check(tagged, out).exit_code == 0
    assert check(untagged, out).exit_code == 1
    # uncommented, every section is valid on the project (exit 0 or 1, never 2)
    code = [line[2:] for line in out.read_text().splitlines() if re.match(r"# |#$", line)]
    full = check(tagged, write(tmp_path / "full.yml", "\n".join(code)))
    assert full.exit_code == 1, full.stderr
    assert rules_named(full) == {"purpose_limitation"}
