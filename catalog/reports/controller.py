"""The controller configuration (``catalog/controller.yml``): what the reports need that the
column tags cannot tell, validated so that an empty item is an error, never a blank cell.

>>> cfg = load_controller_config()
>>> cfg.controller["name"], cfg.company("markets")
('Fjordbank ASA', 'Fjordbank Markets')
>>> cfg.activity_for("marketing.advertising.customer_matching").name
'Customer matching on social platforms'
>>> cfg.identifier_scope("user.unique_id.pseudonymous")
'source'
>>> rule = cfg.withheld[0]
>>> rule.table, rule.key, rule.while_null
('risk.fraud_cases', ('case_no',), 'closed_on')
>>> [s.name for s in cfg.portability][:2], cfg.portability[0].table
(['bank_customer', 'insurance_customer'], 'bank.customers')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from catalog.taxonomy import Taxonomy, covers, load_taxonomy

DEFAULT_CONTROLLER_FILE = Path(__file__).resolve().parent.parent / "controller.yml"
CONTROLLER_KEYS = ("name", "organisation_number", "address", "contact")
SCOPES = ("national", "group", "source")


class ControllerConfigError(ValueError):
    """The controller configuration is missing an item or is malformed (one line, what to do)."""


@dataclass(frozen=True)
class ActivityConfig:
    """What the controller says about the processing for one purpose (a taxonomy data use)."""

    purpose: str
    name: str | None
    recipients: tuple[str, ...]
    third_country_transfers: str | None
    security_measures: tuple[str, ...]


@dataclass(frozen=True)
class WithheldRows:
    """An access exemption (``access.withheld``): the rows of dbt source ``table``
    (``source.table``) whose case, told by its ``key`` columns, is open (its latest delivered
    row by ``latest_by``, newest first, has ``while_null`` null) are withheld from the access
    report, and from everything derived from them, without saying so."""

    table: str
    key: tuple[str, ...]
    while_null: str
    latest_by: tuple[str, ...]
    reason: str
    legal_basis: str
    where: str  # the configuration item, for error messages


@dataclass(frozen=True)
class PortabilitySection:
    """A section of the portability export (``portability.sections``): the columns of dbt
    source ``table`` (``source.table``) that hold data the person provided."""

    name: str
    table: str
    columns: tuple[str, ...]
    description: str
    where: str


@dataclass(frozen=True)
class ControllerConfig:
    controller: Mapping[str, str]
    data_protection_officer: Mapping[str, str]
    joint_controllers: tuple[str, ...]
    representative: str
    supervisory_authority: str
    companies: Mapping[str, str]
    data_subjects: Mapping[str, tuple[str, ...]]
    activities: Mapping[str, ActivityConfig]
    third_country_transfers: str
    security_measures: tuple[str, ...]
    identifier_categories: Mapping[str, str]
    keyed_hash_function: str
    profile_categories: tuple[str, ...]
    path: Path | None = None
    withheld: tuple[WithheldRows, ...] = ()
    quarantine_table: str | None = None
    portability: tuple[PortabilitySection, ...] = ()

    def activity_for(self, purpose: str) -> ActivityConfig | None:
        """The entry for ``purpose``: its own, else the most specific parent key's."""
        keys = [k for k in self.activities if covers(k, purpose)]
        return self.activities[max(keys, key=len)] if keys else None

    def company(self, source_name: str) -> str | None:
        return self.companies.get(source_name)

    def data_subjects_for(self, source_name: str, table: str) -> tuple[str, ...] | None:
        """Data subject categories of a source table (``source.table`` wins over ``source``)."""
        found = self.data_subjects.get(f"{source_name}.{table}")
        return found if found is not None else self.data_subjects.get(source_name)

    def identifier_scope(self, category: str) -> str | None:
        """How far values of an identifier category are unique (most specific key wins)."""
        keys = [k for k in self.identifier_categories if covers(k, category)]
        return self.identifier_categories[max(keys, key=len)] if keys else None

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "the controller configuration"


def _text(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ControllerConfigError(
            f"{source}: `{where}` is empty or missing; give it a value (an empty item is not "
            "allowed in the record of processing)"
        )
    return " ".join(str(value).split())


def _texts(value: Any, where: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ControllerConfigError(
            f"{source}: `{where}` is empty or missing; list at least one item"
        )
    return tuple(_text(v, f"{where}[{i}]", source) for i, v in enumerate(value))


def _mapping(doc: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, Mapping) or not value:
        raise ControllerConfigError(f"{source}: `{key}` is empty or missing; it must be a mapping")
    return value


def parse_controller_config(
    doc: Any, taxonomy: Taxonomy | None = None, *, path: Path | None = None
) -> ControllerConfig:
    """Build and validate the configuration from its YAML document."""
    source = str(path) if path else "controller configuration"
    if not isinstance(doc, Mapping):
        raise ControllerConfigError(f"{source}: expected a mapping at the top level")
    taxonomy = taxonomy or load_taxonomy()

    controller = _mapping(doc, "controller", source)
    contact = {k: _text(controller.get(k), f"controller.{k}", source) for k in CONTROLLER_KEYS}
    dpo = controller.get("data_protection_officer")
    if not isinstance(dpo, Mapping):
        raise ControllerConfigError(
            f"{source}: `controller.data_protection_officer` is missing; give its name and contact"
        )
    dpo_items = {
        k: _text(dpo.get(k), f"controller.data_protection_officer.{k}", source)
        for k in ("name", "contact")
    }

    companies = {
        str(k): _text(v, f"companies.{k}", source)
        for k, v in _mapping(doc, "companies", source).items()
    }
    subjects = {
        str(k): _texts(v, f"data_subjects.{k}", source)
        for k, v in _mapping(doc, "data_subjects", source).items()
    }

    activities: dict[str, ActivityConfig] = {}
    for key, entry in _mapping(doc, "activities", source).items():
        key = str(key)
        if not taxonomy.is_use(key):
            raise ControllerConfigError(
                f"{source}: activities.{key} is not a data use of the taxonomy; use a purpose key "
                "as in the column tags"
            )
        if not isinstance(entry, Mapping):
            raise ControllerConfigError(f"{source}: activities.{key} must be a mapping")
        transfers = entry.get("third_country_transfers")
        activities[key] = ActivityConfig(
            purpose=key,
            name=_text(entry["name"], f"activities.{key}.name", source)
            if "name" in entry
            else None,
            recipients=_texts(entry.get("recipients"), f"activities.{key}.recipients", source),
            third_country_transfers=(
                None
                if transfers is None
                else _text(transfers, f"activities.{key}.third_country_transfers", source)
            ),
            security_measures=(
                _texts(entry["security_measures"], f"activities.{key}.security_measures", source)
                if "security_measures" in entry
                else ()
            ),
        )

    security = _mapping(doc, "security_measures", source)
    access = _mapping(doc, "access", source)
    identifiers: dict[str, str] = {}
    for key, scope in _mapping(access, "identifier_categories", source).items():
        if not taxonomy.is_category(str(key)):
            raise ControllerConfigError(
                f"{source}: access.identifier_categories.{key} is not a data category of the "
                "taxonomy"
            )
        if scope not in SCOPES:
            raise ControllerConfigError(
                f"{source}: access.identifier_categories.{key} must be one of {', '.join(SCOPES)}"
            )
        identifiers[str(key)] = str(scope)
    profile = _texts(access.get("profile_categories"), "access.profile_categories", source)
    unknown = [c for c in profile if not taxonomy.is_category(c)]
    if unknown:
        raise ControllerConfigError(
            f"{source}: access.profile_categories names unknown categories {', '.join(unknown)}"
        )

    withheld = _withheld(access.get("withheld", []), source)
    portability = _portability(_mapping(doc, "portability", source), source)

    return ControllerConfig(
        controller=MappingProxyType(contact),
        data_protection_officer=MappingProxyType(dpo_items),
        joint_controllers=tuple(
            _texts(controller["joint_controllers"], "controller.joint_controllers", source)
            if controller.get("joint_controllers") is not None
            else ()
        ),
        representative=_text(controller.get("representative"), "controller.representative", source),
        supervisory_authority=_text(
            controller.get("supervisory_authority"), "controller.supervisory_authority", source
        ),
        companies=MappingProxyType(companies),
        data_subjects=MappingProxyType(subjects),
        activities=MappingProxyType(activities),
        third_country_transfers=_text(
            doc.get("third_country_transfers"), "third_country_transfers", source
        ),
        security_measures=_texts(security.get("general"), "security_measures.general", source),
        identifier_categories=MappingProxyType(identifiers),
        keyed_hash_function=_text(
            access.get("keyed_hash_function"), "access.keyed_hash_function", source
        ),
        profile_categories=profile,
        path=path,
        withheld=withheld,
        quarantine_table=(
            _text(access["quarantine_table"], "access.quarantine_table", source)
            if access.get("quarantine_table") is not None
            else None
        ),
        portability=portability,
    )


def _source_table(value: Any, where: str, source: str) -> str:
    text = _text(value, where, source)
    if text.count(".") != 1 or not all(text.split(".")):
        raise ControllerConfigError(
            f"{source}: `{where}` is {text!r}; name a dbt source table as source.table"
        )
    return text


def _withheld(entries: Any, source: str) -> tuple[WithheldRows, ...]:
    """``access.withheld``: a list of exemptions (may be empty, never malformed)."""
    if not isinstance(entries, list):
        raise ControllerConfigError(f"{source}: `access.withheld` must be a list of rules")
    rules = []
    for i, entry in enumerate(entries):
        where = f"access.withheld[{i}]"
        if not isinstance(entry, Mapping):
            raise ControllerConfigError(f"{source}: `{where}` must be a mapping")
        rules.append(
            WithheldRows(
                table=_source_table(entry.get("table"), f"{where}.table", source),
                key=_texts(entry.get("key"), f"{where}.key", source),
                while_null=_text(entry.get("while_null"), f"{where}.while_null", source),
                latest_by=_texts(entry.get("latest_by"), f"{where}.latest_by", source),
                reason=_text(entry.get("reason"), f"{where}.reason", source),
                legal_basis=_text(entry.get("legal_basis"), f"{where}.legal_basis", source),
                where=where,
            )
        )
    return tuple(rules)


def _portability(doc: Mapping[str, Any], source: str) -> tuple[PortabilitySection, ...]:
    """``portability.sections``: section name -> {table, columns, description}."""
    sections = []
    for name, entry in _mapping(doc, "sections", source).items():
        where = f"portability.sections.{name}"
        if not isinstance(entry, Mapping):
            raise ControllerConfigError(f"{source}: `{where}` must be a mapping")
        columns = _texts(entry.get("columns"), f"{where}.columns", source)
        if len(set(columns)) != len(columns):
            raise ControllerConfigError(f"{source}: `{where}.columns` names a column twice")
        sections.append(
            PortabilitySection(
                name=str(name),
                table=_source_table(entry.get("table"), f"{where}.table", source),
                columns=columns,
                description=_text(entry.get("description"), f"{where}.description", source),
                where=where,
            )
        )
    return tuple(sections)


def load_controller_config(
    path: Path | None = None, taxonomy: Taxonomy | None = None
) -> ControllerConfig:
    """Read and validate ``catalog/controller.yml`` (or ``path``)."""
    path = Path(path) if path else DEFAULT_CONTROLLER_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ControllerConfigError(
            f"cannot read the controller configuration {path}: {e.strerror or e}"
        ) from None
    except yaml.YAMLError as e:
        raise ControllerConfigError(
            f"the controller configuration {path} is not valid YAML: {' '.join(str(e).split())}"
        ) from None
    return parse_controller_config(doc, taxonomy, path=path)
