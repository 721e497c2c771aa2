"""The policy in Dagster: the static gate before the dbt build, and blocking row checks.

- :func:`policy_gate` evaluates ``catalog.policy`` on the compiled manifest before anything is
  built; a violation fails the step with every violation listed, so nothing is written.
- :func:`plan_row_checks` derives, from column lineage and tags (never from a list of model
  names), the row checks of PRIVACY.md guarantee 7, and :func:`build_row_checks` turns them into
  blocking asset checks:

  * ``no_unconsented_investment_values``: no person without group-sharing consent has a
    non-null securities- or funds-derived value;
  * ``no_objectors``: no person who objects to a scope the output must honour appears in it;
  * ``min_cell_size``: every published statistics cell describes at least k persons;
  * ``scored_today``: scores are from today.

  Consent and objection state are computed here afresh from the raw event logs (latest event
  wins, a tie goes to the more restrictive event), independently of the dbt models under test,
  and persons are matched through the same keyed hash the register uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from catalog.lineage.graph import ProjectGraph
from catalog.policy import objection_scopes, restricted_columns
from catalog.policy.config import PolicyConfig
from catalog.tags import ProjectTags
from dagster_project.resources import Warehouse
from dagster_project.spark import is_spark

PERSON_KEY = "person_id"
CONSENT_EVENTS = "privacy.group_sharing_consents"
OBJECTION_EVENTS = "privacy.objections"


@dataclass(frozen=True)
class RowCheck:
    """One blocking check: ``sql`` counts the offending rows (0 = pass)."""

    model: str
    asset_key: dg.AssetKey
    name: str
    description: str
    sql: str


def _relation(graph: ProjectGraph, key: str) -> str:
    node = graph.node(key)
    if not node.relation:
        raise ValueError(f"{key} has no warehouse relation in the manifest")
    return ".".join(f'"{p}"' for p in node.relation.split("."))


def _consenting_sql(events: str) -> str:
    """Persons (person_id) whose latest group-sharing consent event is a grant."""
    return f"""
        select fjordbank_hmac_sha256(national_id) as person_id
        from (
            select national_id, consent, row_number() over (
                partition by national_id
                order by event_time desc, case when consent = 'withdrawn' then 0 else 1 end
            ) as rn
            from {events}
        ) latest
        where rn = 1 and consent = 'granted'
    """


def _objectors_sql(events: str, scopes: set[str]) -> str:
    """Persons whose latest objection event in any of ``scopes`` is an objection."""
    in_list = ", ".join(f"'{s}'" for s in sorted(scopes))
    return f"""
        select distinct fjordbank_hmac_sha256(national_id) as person_id
        from (
            select national_id, action, row_number() over (
                partition by national_id, scope
                order by event_time desc, case when action = 'object' then 0 else 1 end
            ) as rn
            from {events}
            where scope in ({in_list})
        ) latest
        where rn = 1 and action = 'object'
    """


def plan_row_checks(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig,
    *,
    asset_key_for: Callable[[str], dg.AssetKey],
) -> list[RowCheck]:
    """The row checks every output needs, from lineage and tags (``asset_key_for(unique_id)``)."""
    checks: list[RowCheck] = []
    by_name = {n.name: n for n in graph.nodes.values() if n.resource_type != "source"}

    consents = _relation(graph, CONSENT_EVENTS)
    for model, columns in sorted(restricted_columns(graph, tags, config).items()):
        node = by_name[model]
        if PERSON_KEY not in node.columns:
            continue
        cols = sorted(columns)
        any_value = " or ".join(f'o."{c}" is not null' for c in cols)
        checks.append(
            RowCheck(
                model,
                asset_key_for(node.unique_id),
                "no_unconsented_investment_values",
                "No person without group-sharing consent has a non-null value in "
                + ", ".join(cols)
                + " (securities/funds-derived per column lineage).",
                f"""
                select count(*) from {_relation(graph, node.unique_id)} o
                where ({any_value})
                  and not exists (
                      select 1 from ({_consenting_sql(consents)}) c
                      where c.person_id = o."{PERSON_KEY}")
                """,
            )
        )

    objections = _relation(graph, OBJECTION_EVENTS)
    for model, scopes in sorted(objection_scopes(graph, tags, config).items()):
        node = by_name[model]
        if PERSON_KEY not in node.columns:
            continue
        checks.append(
            RowCheck(
                model,
                asset_key_for(node.unique_id),
                "no_objectors",
                f"No person objecting to {', '.join(sorted(scopes))} appears.",
                f"""
                select count(*) from {_relation(graph, node.unique_id)} o
                where o."{PERSON_KEY}" in ({_objectors_sql(objections, scopes)})
                """,
            )
        )

    for node in by_name.values():
        row_checks: Mapping[str, Any] = (node.meta or {}).get("row_checks") or {}
        if col := row_checks.get("cell_size_column"):
            k = config.statistics_min_cell_size
            checks.append(
                RowCheck(
                    node.name,
                    asset_key_for(node.unique_id),
                    "min_cell_size",
                    f"Every published cell describes at least {k} persons ({col} >= {k}).",
                    f'select count(*) from {_relation(graph, node.unique_id)} where "{col}" < {k}'
                    f' or "{col}" is null',
                )
            )
        if col := row_checks.get("scored_today_column"):
            checks.append(
                RowCheck(
                    node.name,
                    asset_key_for(node.unique_id),
                    "scored_today",
                    f"Every score is from today ({col} = current_date): no stale profile.",
                    f'select count(*) from {_relation(graph, node.unique_id)} where "{col}" is '
                    "distinct from current_date",
                )
            )
    return checks


def build_row_checks(checks: list[RowCheck]) -> list[dg.AssetChecksDefinition]:
    """Blocking asset checks that run the planned queries against the warehouse."""
    return [_asset_check(c) for c in checks]


def _asset_check(check: RowCheck) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=check.asset_key,
        name=check.name,
        description=check.description,
        blocking=True,
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        offending = _offending_rows(check, warehouse)
        return dg.AssetCheckResult(
            passed=offending == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"offending_rows": offending, "model": check.model},
            description=None if offending == 0 else f"{offending} offending rows in {check.model}",
        )

    return _check


def _offending_rows(check: RowCheck, warehouse: Warehouse) -> int:
    """Run the check's query on the target's warehouse: DuckDB, or Spark (the same query
    transpiled from DuckDB's dialect by sqlglot)."""
    from dagster_project.project import settings

    s = settings()
    if is_spark(s.dbt_target):
        from dagster_project.spark import scalar, spark_session

        return int(scalar(spark_session(s), check.sql))
    from dagster_project.warehouse_functions import register_functions

    with warehouse.connect() as conn:
        register_functions(conn)
        return conn.execute(check.sql).fetchone()[0]
