"""``catalog init-policy``: a commented starting policy configuration for a new dbt project.

Every section of ``policy.yml`` is written commented out, with what it turns on: the file as
written is an empty policy, under which ``catalog check`` runs the structural rules only (every
column tagged, fail closed). Uncommenting a section (delete the leading ``# `` of its lines; the
``## `` lines are explanation) turns its rule on. What the project's YAML says is listed as
comments: its sources and tables, the columns whose names look like identity numbers and the
tables that look like consent or objection logs, and the examples use those names.

The project is read from its YAML files only (``dbt_project.yml`` and the ``.yml`` files under
its model paths): nothing is compiled, no profile is needed.

>>> looks_like_identity_number("personnummer"), looks_like_identity_number("customer_no")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalog.policy.config import PolicyConfigError, parse_policy_config

__all__ = [
    "InitPolicyError",
    "ProjectSurvey",
    "looks_like_identity_number",
    "render_policy",
    "survey_project",
    "write_policy",
]


class InitPolicyError(PolicyConfigError):
    """The starting policy cannot be written (no dbt project, the file exists): exit 2."""


# Column names (snake_case tokens) of national identity numbers in the Nordics and beyond.
_IDENTITY = re.compile(
    r"(^|_)(national_?id|nat_id|nin|personnummer|person_?nr|pnr|fodselsnummer|fnr|"
    r"foedselsnummer|cpr|cpr_?nr|henkilotunnus|hetu|kennitala|ssn|social_security(_number)?|"
    r"bsn|pesel|identity_number|id_number|personal_id(_number)?|personal_identity_number)(_|$)"
)
_CONSENT = re.compile(r"consent|opt_?in|permission|gdpr")
_OBJECTION = re.compile(r"objection|opt_?out|do_not_contact|suppression")
_TIME = re.compile(r"(_at|_time|_ts|timestamp|_date|_on)$")


def looks_like_identity_number(column: str) -> bool:
    """Whether a column's name looks like a national identity number."""
    return bool(_IDENTITY.search(column.lower()))


@dataclass
class ProjectSurvey:
    """What the project's YAML declares: ``source.table -> columns``, model columns, and the
    model directories (below the model paths)."""

    project_dir: Path
    name: str = ""
    sources: dict[str, list[str]] = field(default_factory=dict)
    models: dict[str, list[str]] = field(default_factory=dict)
    model_dirs: list[str] = field(default_factory=list)

    def identity_columns(self) -> list[str]:
        return [
            f"{table}.{c}"
            for table, cols in {**self.sources, **self.models}.items()
            for c in cols
            if looks_like_identity_number(c)
        ]

    def consent_tables(self) -> list[str]:
        return [t for t, cols in self.sources.items() if _is_log(t, cols, _CONSENT)]

    def objection_tables(self) -> list[str]:
        return [t for t, cols in self.sources.items() if _is_log(t, cols, _OBJECTION)]


def _is_log(table: str, columns: list[str], pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(table.lower())) or any(pattern.search(c.lower()) for c in columns)


def _columns(entry: Mapping[str, Any]) -> list[str]:
    cols = entry.get("columns") or []
    return [str(c["name"]).lower() for c in cols if isinstance(c, Mapping) and "name" in c]


def survey_project(project_dir: Path) -> ProjectSurvey:
    """Read the project's sources and models from its YAML files (InitPolicyError when it is
    not a dbt project)."""
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise InitPolicyError(f"{project_dir} is not a dbt project (no dbt_project.yml)")
    try:
        project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InitPolicyError(f"{project_file} is not valid YAML: {exc}") from None
    survey = ProjectSurvey(project_dir, name=str(project.get("name", "")))
    model_paths = project.get("model-paths") or project.get("source-paths") or ["models"]
    dirs: set[str] = set()
    for base in (project_dir / str(p) for p in model_paths):
        for f in sorted(base.rglob("*")) if base.is_dir() else ():
            if f.is_dir():
                dirs.add(f.relative_to(base).as_posix())
            elif f.suffix in (".yml", ".yaml"):
                _read_properties(f, survey)
    survey.model_dirs = sorted(d for d in dirs if "/" not in d)
    return survey


def _read_properties(path: Path, survey: ProjectSurvey) -> None:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return  # dbt itself reports a broken properties file; the survey only lists names
    if not isinstance(doc, Mapping):
        return
    for source in doc.get("sources") or []:
        if not isinstance(source, Mapping) or "name" not in source:
            continue
        for table in source.get("tables") or []:
            if isinstance(table, Mapping) and "name" in table:
                survey.sources[f"{source['name']}.{table['name']}"] = _columns(table)
    for model in [*(doc.get("models") or []), *(doc.get("snapshots") or [])]:
        if isinstance(model, Mapping) and "name" in model:
            survey.models[str(model["name"])] = _columns(model)


def _yaml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _pick(columns: list[str], pattern: re.Pattern[str], default: str) -> str:
    return next((c for c in columns if pattern.search(c)), default)


def render_policy(survey: ProjectSurvey) -> str:
    """The commented policy file for the surveyed project (an empty policy as written)."""
    sources = sorted({t.split(".")[0] for t in survey.sources})
    identity = survey.identity_columns()
    consents = survey.consent_tables()
    objections = survey.objection_tables()
    out: list[str] = []

    def prose(*lines: str) -> None:
        out.extend(f"## {line}".rstrip() for line in lines)

    def code(*lines: str) -> None:
        out.extend(f"# {line}".rstrip() for line in lines)

    prose(
        f"Privacy policy of the dbt project {survey.name or survey.project_dir.name!r}, for",
        "`catalog check --policy <this file>` (exit 0 holds, 1 violations, 2 could not run).",
        "Written by `catalog init-policy`. As written every section is commented out: only the",
        "structural rules run (every column of every source, seed, model and snapshot carries",
        "privacy tags in `config: {meta: {privacy: ...}}`; SQL the lineage cannot model fails",
        "closed). Uncomment a section (delete the leading '# ' of its lines; '## ' lines are",
        "explanation) to turn its rule on. Categories and purposes are taxonomy keys (fideslang's",
        "plus catalog/taxonomy_extensions.yml); sources are written `source_name` or",
        "`source_name.table`.",
        "",
        "Found in the project's YAML:",
    )
    if survey.sources:
        for table, cols in sorted(survey.sources.items()):
            prose(f"  source {table}: {', '.join(cols) or '(no columns declared)'}")
    else:
        prose("  no sources declared")
    prose(
        f"  {len(survey.models)} model(s) / snapshot(s) with properties; model directories: "
        + (", ".join(survey.model_dirs) or "none")
    )
    prose(
        "  columns that look like national identity numbers: " + (", ".join(identity) or "none"),
        "    (tag them category: user.government_id.national_identification_number)",
        "  tables that look like consent logs: " + (", ".join(consents) or "none"),
        "  tables that look like objection logs: " + (", ".join(objections) or "none"),
        "",
        "Which nodes are outputs the rules judge: models and snapshots under `paths`, and every",
        "model nothing else consumes; never one under `exclude_paths`.",
    )
    marts = [d for d in survey.model_dirs if d in ("marts", "mart", "reporting", "exposures")]
    staging = [d for d in survey.model_dirs if d in ("staging", "stage", "stg")]
    code(
        "outputs:",
        "  resource_types: [model, snapshot, asset]",
        f"  paths: {_yaml_list(marts)}",
        f"  exclude_paths: {_yaml_list(staging)}",
    )
    prose("", "The purpose key of marketing outputs (read by the consent-gate rules).")
    code("marketing:", "  purpose: marketing")
    prose(
        "",
        "Published statistics: the purpose key, and the smallest number of distinct persons a",
        "cell may describe (read by the row checks of the Dagster code and `catalog ropa`).",
    )
    code("statistics:", "  purpose: analytics.reporting.statistics", "  min_cell_size: 5")
    prose(
        "",
        "Rule neutral_register: every column of the models under `paths` derives only from",
        "columns of the neutral categories, never from an excluded source.",
    )
    code(
        "neutral_register:",
        "  paths: [marts/register]",
        "  neutral_categories: [user.name, user.contact, user.unique_id, system]",
        "  excluded_sources: []",
    )
    prose(
        "",
        "Rule national_id_purpose: the national identity number (DIRECT lineage) appears only in",
        "outputs whose purpose is `required_purpose`, never one of `forbidden_purposes`.",
    )
    code(
        "national_id:",
        "  category: user.government_id.national_identification_number",
        "  required_purpose: essential.service.customer_administration",
        "  forbidden_purposes: [marketing, analytics]",
    )
    consent = consents[0] if consents else "privacy.consents"
    cols = survey.sources.get(consent, [])
    consent_col = _pick(cols, _CONSENT, "consent")
    subject = _pick([c for c in cols if c != consent_col], re.compile(r"_id$|_no$"), "person_id")
    event_time = _pick(cols, _TIME, "event_time")
    prose(
        "",
        "Rules no_unconsented_investments_in_marketing (gate `group_sharing`) and",
        "no_web_behaviour_without_cookie_consent (gate `marketing_cookies`): data of `categories`",
        "or `sources` reaches a marketing output only through a model declaring",
        "`consent_gate: <gate>` that filters on `consent_column` = `granting_value` (the latest",
        "event per `subject_column` by `event_time_column`).",
        (
            f"The example uses {consent}, which looks like a consent log; check its columns."
            if consents
            else "No consent log found: replace privacy.consents with yours."
        ),
    )
    code(
        "consent_gates:",
        "  group_sharing:",
        f"    consent_column: {consent}.{consent_col}",
        "    granting_value: true",
        "    values: [true, false]",
        f"    subject_column: {subject}",
        f"    event_time_column: {event_time}",
        "    categories: [user.financial.securities, user.financial.funds]",
        "    sources: []",
    )
    prose(
        "",
        "Rule purpose_limitation: data of these categories or sources, or whose purposes all",
        "fall under `purposes`, reaches no output with a purpose outside `purposes`.",
    )
    code(
        "purpose_limitation:",
        "  categories: [user.financial.credit_history, user.financial.fraud]",
        "  sources: []",
        "  purposes: [essential.legal_obligation, essential.fraud_detection, "
        "finance.credit_assessment]",
    )
    objection = objections[0] if objections else "privacy.objections"
    scope = _pick(survey.sources.get(objection, []), re.compile(r"scope|type|kind"), "scope")
    prose(
        "",
        "Rule objections_honoured: outputs with a `purpose` filter out the persons who objected",
        "(`scopes`, values of `scope_column` in the `source` objection log).",
        (
            f"The example uses {objection}, which looks like an objection log."
            if objections
            else "No objection log found: replace privacy.objections with yours."
        ),
    )
    code(
        "objections:",
        f"  source: {objection}",
        f"  scope_column: {scope}",
        "  required:",
        "    - purpose: marketing",
        "      scopes: [direct_marketing]",
    )
    if sources:
        prose("", f"Sources of this project: {', '.join(sources)}.")
    return "\n".join(out) + "\n"


def write_policy(project_dir: Path, out: Path, *, force: bool = False) -> ProjectSurvey:
    """Write the starting policy of ``project_dir`` to ``out`` (never over an existing file
    unless ``force``); it is checked to parse as an empty policy before it is written."""
    if out.exists() and not force:
        raise InitPolicyError(f"{out} exists; pass --force to overwrite it")
    survey = survey_project(project_dir)
    text = render_policy(survey)
    parse_policy_config(yaml.safe_load(text), source=str(out))
    out.write_text(text, encoding="utf-8")
    return survey
