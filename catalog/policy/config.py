"""The policy configuration (``catalog/policy.yml``): what each rule applies to.

Every section is optional. The structural rules (every column tagged, fail closed) always run;
each other rule runs only when its section is present (``PolicyConfig.has``): an empty file (or
``{}``) checks the tags and nothing else. The document is validated against
``catalog/schemas/policy.schema.json`` first; an error names the file and the key path
(``policy.yml: consent_gates.group_sharing.granting_value: expected a string or true / false``).

>>> cfg = load_policy_config()
>>> cfg.marketing_purpose, cfg.statistics_min_cell_size
('marketing', 5)
>>> cfg.consent_gates["group_sharing"].consent_column
'privacy.group_sharing_consents.consent'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from catalog.taxonomy import Taxonomy, load_taxonomy

DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent.parent / "policy.yml"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "policy.schema.json"

# The sections of policy.yml; a rule whose section is absent does not run.
SECTIONS = (
    "outputs",
    "marketing",
    "statistics",
    "neutral_register",
    "national_id",
    "consent_gates",
    "purpose_limitation",
    "objections",
)


class PolicyConfigError(ValueError):
    """The policy configuration is invalid; the check cannot run (exit 2)."""


@dataclass(frozen=True)
class GateConfig:
    """A consent gate kind: the consent column that proves it and the data it must guard.

    ``granting_value`` is the one value of the consent column a gate may admit, ``values`` the
    other values it takes (NULL, no event, always counts too); ``subject_column`` and
    ``event_time_column`` (of the consent source) say what "the latest event per person" is.
    """

    name: str
    consent_column: str
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    granting_value: str | bool = True
    values: tuple[str | bool, ...] = ()
    subject_column: str | None = None
    event_time_column: str | None = None


@dataclass(frozen=True)
class ObjectionRequirement:
    purpose: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class PolicyConfig:
    output_resource_types: tuple[str, ...] = ("model", "snapshot", "asset")
    output_paths: tuple[str, ...] = ()
    output_exclude_paths: tuple[str, ...] = ()
    marketing_purpose: str = "marketing"
    statistics_purpose: str = "analytics.reporting.statistics"
    statistics_min_cell_size: int = 5
    register_paths: tuple[str, ...] = ()
    neutral_categories: tuple[str, ...] = ()
    register_excluded_sources: tuple[str, ...] = ()
    national_id_category: str = "user.government_id.national_identification_number"
    national_id_required_purpose: str = "essential.service.customer_administration"
    national_id_forbidden_purposes: tuple[str, ...] = ()
    consent_gates: Mapping[str, GateConfig] = field(default_factory=dict)
    purpose_limited_categories: tuple[str, ...] = ()
    purpose_limited_sources: tuple[str, ...] = ()
    purpose_limited_purposes: tuple[str, ...] = ()
    objections_source: str = "privacy.objections"
    objections_scope_column: str = "scope"
    objection_requirements: tuple[ObjectionRequirement, ...] = ()
    # The sections the document has (None: every one, for a configuration built in code).
    sections: frozenset[str] | None = None

    def has(self, section: str) -> bool:
        """Whether the configuration has ``section`` (so the rules reading it run)."""
        return self.sections is None or section in self.sections


def _section(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, Mapping):
        raise PolicyConfigError(f"policy configuration: `{key}` must be a mapping")
    return value


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyConfigError(f"policy configuration: `{where}` must be a list of strings")
    return tuple(value)


def _str(value: Any, where: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value:
        raise PolicyConfigError(f"policy configuration: `{where}` must be a non-empty string")
    return value


def _scalar(value: Any, where: str) -> str | bool:
    if isinstance(value, bool) or (isinstance(value, str) and value):
        return value
    raise PolicyConfigError(f"policy configuration: `{where}` must be a string or true / false")


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyConfigError(f"policy configuration: `{where}` must be a list")
    return value


def _optional(value: Any, where: str) -> str | None:
    return None if value is None else _str(value, where)


@lru_cache(maxsize=1)
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _expected(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(key path, what is wrong) of one schema error."""
    path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error.absolute_path)
    path = path.replace(".[", "[")
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in known)
        where = f"{path}.{extra[0]}" if path else extra[0]
        return where, "unknown key" + (f" (known: {', '.join(known)})" if known else "")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return (f"{path}.{missing}" if path else missing), "missing (required)"
    expected = error.schema.get("x-expected")
    if expected is None:
        expected = {"type": f"a {error.validator_value}", "minimum": "a larger value"}.get(
            str(error.validator), error.message
        )
    return path or "(top level)", f"expected {expected}"


def validate_policy_document(doc: Any, source: str = "policy configuration") -> None:
    """Check the document's shape against the JSON Schema; PolicyConfigError names the first
    wrong key: ``<source>: <key path>: <what is wrong>``."""
    errors = sorted(
        _schema_validator().iter_errors(doc),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    if errors:
        where, what = _expected(errors[0])
        raise PolicyConfigError(f"{source}: {where}: {what}")


def parse_policy_config(
    doc: Mapping[str, Any] | None,
    taxonomy: Taxonomy | None = None,
    *,
    source: str = "policy configuration",
) -> PolicyConfig:
    """Build and validate a configuration from its YAML document: its shape (the JSON Schema),
    then its taxonomy keys. ``source`` names the file in error messages."""
    validate_policy_document(doc, source)
    doc = doc or {}
    taxonomy = taxonomy or load_taxonomy()
    outputs = _section(doc, "outputs")
    marketing = _section(doc, "marketing")
    statistics = _section(doc, "statistics")
    register = _section(doc, "neutral_register")
    nid = _section(doc, "national_id")
    limitation = _section(doc, "purpose_limitation")
    objections = _section(doc, "objections")

    gates: dict[str, GateConfig] = {}
    for name, g in _section(doc, "consent_gates").items():
        if not isinstance(g, Mapping):
            raise PolicyConfigError(f"policy configuration: consent_gates.{name} must be a mapping")
        gates[str(name)] = GateConfig(
            name=str(name),
            consent_column=_str(g.get("consent_column"), f"consent_gates.{name}.consent_column"),
            categories=_strs(g.get("categories"), f"consent_gates.{name}.categories"),
            sources=_strs(g.get("sources"), f"consent_gates.{name}.sources"),
            granting_value=_scalar(
                g.get("granting_value", True), f"consent_gates.{name}.granting_value"
            ),
            values=tuple(
                _scalar(v, f"consent_gates.{name}.values")
                for v in _list(g.get("values"), f"consent_gates.{name}.values")
            ),
            subject_column=_optional(
                g.get("subject_column"), f"consent_gates.{name}.subject_column"
            ),
            event_time_column=_optional(
                g.get("event_time_column"), f"consent_gates.{name}.event_time_column"
            ),
        )

    requirements = []
    for i, r in enumerate(objections.get("required") or []):
        if not isinstance(r, Mapping):
            raise PolicyConfigError(
                f"policy configuration: objections.required[{i}] is not a mapping"
            )
        requirements.append(
            ObjectionRequirement(
                purpose=_str(r.get("purpose"), f"objections.required[{i}].purpose"),
                scopes=_strs(r.get("scopes"), f"objections.required[{i}].scopes"),
            )
        )

    k = statistics.get("min_cell_size", 5)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise PolicyConfigError("policy configuration: statistics.min_cell_size must be >= 1")

    cfg = PolicyConfig(
        output_resource_types=_strs(outputs.get("resource_types"), "outputs.resource_types")
        or ("model", "snapshot", "asset"),
        output_paths=_strs(outputs.get("paths"), "outputs.paths"),
        output_exclude_paths=_strs(outputs.get("exclude_paths"), "outputs.exclude_paths"),
        marketing_purpose=_str(marketing.get("purpose"), "marketing.purpose", "marketing"),
        statistics_purpose=_str(
            statistics.get("purpose"), "statistics.purpose", "analytics.reporting.statistics"
        ),
        statistics_min_cell_size=k,
        register_paths=_strs(register.get("paths"), "neutral_register.paths"),
        neutral_categories=_strs(
            register.get("neutral_categories"), "neutral_register.neutral_categories"
        ),
        register_excluded_sources=_strs(
            register.get("excluded_sources"), "neutral_register.excluded_sources"
        ),
        national_id_category=_str(
            nid.get("category"),
            "national_id.category",
            "user.government_id.national_identification_number",
        ),
        national_id_required_purpose=_str(
            nid.get("required_purpose"),
            "national_id.required_purpose",
            "essential.service.customer_administration",
        ),
        national_id_forbidden_purposes=_strs(
            nid.get("forbidden_purposes"), "national_id.forbidden_purposes"
        ),
        consent_gates=gates,
        purpose_limited_categories=_strs(
            limitation.get("categories"), "purpose_limitation.categories"
        ),
        purpose_limited_sources=_strs(limitation.get("sources"), "purpose_limitation.sources"),
        purpose_limited_purposes=_strs(limitation.get("purposes"), "purpose_limitation.purposes"),
        objections_source=_str(objections.get("source"), "objections.source", "privacy.objections"),
        objections_scope_column=_str(
            objections.get("scope_column"), "objections.scope_column", "scope"
        ),
        objection_requirements=tuple(requirements),
        sections=frozenset(k for k in doc if k in SECTIONS),
    )
    _check_keys(cfg, taxonomy, source)
    return cfg


def _check_keys(cfg: PolicyConfig, taxonomy: Taxonomy, source: str) -> None:
    """Every category and purpose the configuration names must be a taxonomy key."""
    categories = [
        ("neutral_register.neutral_categories", cfg.neutral_categories),
        ("national_id.category", (cfg.national_id_category,)),
        ("purpose_limitation.categories", cfg.purpose_limited_categories),
        *((f"consent_gates.{g.name}.categories", g.categories) for g in cfg.consent_gates.values()),
    ]
    uses = [
        ("marketing.purpose", (cfg.marketing_purpose,)),
        ("statistics.purpose", (cfg.statistics_purpose,)),
        ("national_id.required_purpose", (cfg.national_id_required_purpose,)),
        ("national_id.forbidden_purposes", cfg.national_id_forbidden_purposes),
        ("purpose_limitation.purposes", cfg.purpose_limited_purposes),
        *(
            (f"objections.required[{i}].purpose", (r.purpose,))
            for i, r in enumerate(cfg.objection_requirements)
        ),
    ]
    bad = [
        f"{where}: unknown data category {c!r}"
        for where, keys in categories
        for c in keys
        if not taxonomy.is_category(c)
    ]
    bad += [
        f"{where}: unknown data use {u!r}"
        for where, keys in uses
        for u in keys
        if not taxonomy.is_use(u)
    ]
    if bad:
        raise PolicyConfigError(
            f"{source}: {'; '.join(bad)}; fix the key or add it to catalog/taxonomy_extensions.yml"
        )


def load_policy_config(path: Path | None = None, taxonomy: Taxonomy | None = None) -> PolicyConfig:
    """Read and validate the policy configuration (default: ``catalog/policy.yml``)."""
    path = path or DEFAULT_CONFIG_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyConfigError(f"cannot read the policy configuration {path}: {exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise PolicyConfigError(f"{path}: not valid YAML{at}: {problem}") from None
    return parse_policy_config(doc, taxonomy, source=str(path))
