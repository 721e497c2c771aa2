"""A tiny dbt manifest (as ``dbt compile`` writes it) for fast report tests: two sources, a
consent gate and a marketing mart, with compiled SQL the lineage parses. No dbt run needed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

P = "fjordbank"
NID = "user.government_id.national_identification_number"


def _columns(spec: dict[str, str]) -> dict[str, Any]:
    return {
        name: {
            "name": name,
            "data_type": "varchar",
            "description": f"the {name}",
            "config": {"meta": {"privacy": {"category": category}}},
        }
        for name, category in spec.items()
    }


def _source(source: str, table: str, columns: dict[str, str], privacy: dict) -> dict[str, Any]:
    return {
        "unique_id": f"source.{P}.{source}.{table}",
        "name": table,
        "resource_type": "source",
        "package_name": P,
        "source_name": source,
        "database": "warehouse",
        "schema": f"raw_{source}",
        "identifier": table,
        "description": f"{source} {table}",
        # retention_from: what the period runs from (catalog/retention); the delivery date here
        "config": {"meta": {"privacy": {"retention_from": "delivery", **privacy}}},
        "columns": _columns(columns),
    }


def _model(
    name: str, path: str, sql: str, depends: list[str], columns: dict[str, str], privacy: dict
) -> dict[str, Any]:
    return {
        "unique_id": f"model.{P}.{name}",
        "name": name,
        "resource_type": "model",
        "package_name": P,
        "database": "warehouse",
        "schema": "main",
        "alias": name,
        "description": f"model {name}",
        "config": {"materialized": "table", "meta": {"privacy": privacy}},
        "columns": _columns(columns),
        "compiled_code": sql,
        "language": "sql",
        "depends_on": {"nodes": depends},
        "original_file_path": f"models/{path}/{name}.sql",
    }


CONTRACT = {"purposes": ["essential.service"], "legal_basis": "contract", "retention": "P10Y"}
PREFS = {
    "purposes": ["functional.storage.privacy_preferences"],
    "legal_basis": "legal_obligation",
    "retention": "P10Y",
}
PROFILING = {
    "purposes": ["marketing.advertising.profiling"],
    "legal_basis": "legitimate_interests",
    "retention": "P1D",
}


def manifest_dict() -> dict[str, Any]:
    holdings = _source(
        "markets",
        "securities_holdings",
        {
            "national_id": NID,
            "market_value": "user.financial.securities",
            "_source_file": "system.operations",
        },
        CONTRACT,
    )
    # Unused by the models, but named by the policy (consent_gates.group_sharing.sources).
    funds = _source(
        "asset_management",
        "fund_holdings",
        {"national_id": NID, "units": "user.financial.funds"},
        CONTRACT,
    )
    consents = _source(
        "privacy",
        "group_sharing_consents",
        {
            "national_id": NID,
            "consent": "user.privacy_preferences",
            "event_time": "system.operations",
        },
        PREFS,
    )
    cookies = _source(
        "privacy",
        "cookie_consents",
        {"visitor_id": "user.device.cookie_id", "marketing_cookies": "user.privacy_preferences"},
        PREFS,
    )
    objections = _source(
        "privacy", "objections", {"national_id": NID, "scope": "user.privacy_preferences"}, PREFS
    )
    page_views = _source(
        "web",
        "page_views",
        {"visitor_id": "user.device.cookie_id", "national_id": NID},
        {
            "purposes": ["essential.service.operations"],
            "legal_basis": "consent",
            "retention": "P1Y",
        },
    )
    defaults = _source(
        "risk",
        "default_cases",
        {"national_id": NID, "loss_amount": "user.financial.credit_history"},
        {
            "purposes": ["essential.legal_obligation.legal_claims"],
            "legal_basis": "legitimate_interests",
            "art9_ground": "legal_claims",
            "retention": "P13Y",
        },
    )
    gate = _model(
        "int_investments_consented",
        "intermediate/products",
        "with latest as (\n"
        "  select national_id, consent, row_number() over (\n"
        "    partition by national_id order by event_time desc) as event_rank\n"
        '  from "warehouse"."raw_privacy"."group_sharing_consents"\n'
        ")\n"
        "select h.national_id, sum(h.market_value) as securities_market_value\n"
        'from "warehouse"."raw_markets"."securities_holdings" as h\n'
        "inner join latest as c\n"
        "  on h.national_id = c.national_id\n"
        "where c.event_rank = 1 and c.consent = 'granted'\n"
        "group by h.national_id",
        [holdings["unique_id"], consents["unique_id"]],
        {"national_id": NID, "securities_market_value": "user.financial.securities"},
        {**PROFILING, "consent_gate": "group_sharing"},
    )
    mart = _model(
        "marketing_features",
        "marts/marketing",
        "select g.national_id, case when g.securities_market_value > 100000 then 'high' "
        "else 'low' end as securities_band\n"
        'from "warehouse"."main"."int_investments_consented" as g',
        [gate["unique_id"]],
        {"national_id": NID, "securities_band": "user.financial.securities"},
        PROFILING,
    )
    return {
        "metadata": {"project_name": P, "adapter_type": "duckdb", "dbt_version": "1.11.0"},
        "nodes": {n["unique_id"]: n for n in (gate, mart)},
        "sources": {
            n["unique_id"]: n
            for n in (holdings, funds, consents, cookies, objections, page_views, defaults)
        },
        "groups": {},
    }


def write_manifest(directory: Path, data: dict[str, Any] | None = None) -> Path:
    path = directory / "target" / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data or manifest_dict()))
    return path


def controller_doc() -> dict[str, Any]:
    """The real controller configuration as a dict (tests change one item at a time)."""
    import yaml

    from catalog.reports.controller import DEFAULT_CONTROLLER_FILE

    return copy.deepcopy(yaml.safe_load(DEFAULT_CONTROLLER_FILE.read_text(encoding="utf-8")))
