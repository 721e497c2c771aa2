"""The policy's blocking row checks in Dagster (the static gate before the dbt build is
``policy_gate`` in ``dagster_project/assets/dbt.py``).

:func:`plan_row_checks` derives, from column lineage and tags (never from a list of model
names), the row checks of PRIVACY.md guarantee 7, and :func:`build_row_checks` turns them into
blocking asset checks, run on the target's warehouse (DuckDB, or Spark with the query
transpiled):

* ``no_unconsented_investment_values``: no person without group-sharing consent has a
  non-null securities- or funds-derived value;
* ``no_unconsented_investment_customers``: no person appears in a marketing output whom only
  the group-sharing gate's sources (``markets``, ``asset_management``) know and who has not
  consented: being their customer is itself a securities or funds fact (rule 3 by source);
* ``no_unconsented_web_behaviour``: no person has a non-null value in a web-behaviour-derived
  (cookie-gated) column of a marketing output unless a visitor whose latest marketing-cookie
  choice is acceptance was seen logged in as that person;
* ``no_objectors``: no person who objects to a scope the output must honour appears in it,
  and no row names no person (a null key; outputs keyed by a pseudonym instead of
  ``person_id`` declare how it is made, see :func:`_person_key`);
* ``min_cell_size``: every published statistics cell describes at least k persons;
* ``scored_today``: scores are from today.

Consent and objection state are computed here afresh from the raw event logs (latest event
wins, a tie goes to the more restrictive event), independently of the dbt models under test,
and persons are matched through the same keyed hash the register uses.

The cookie check proves who may have web behaviour at all, not how much: a person with one
consenting visitor and one refusing visitor passes it whatever the count says (the static
rule judges that the gate filters every view).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg

from catalog.lineage.graph import ProjectGraph
from catalog.policy import objection_scopes, restricted_columns
from catalog.policy.config import PolicyConfig
from catalog.tags import ProjectTags
from catalog.taxonomy import covers
from dagster_project.resources import Warehouse
from dagster_project.spark import is_spark

PERSON_KEY = "person_id"
CONSENT_EVENTS = "privacy.group_sharing_consents"
OBJECTION_EVENTS = "privacy.objections"
GROUP_SHARING = "group_sharing"
COOKIE_GATE = "marketing_cookies"
VISITOR_KEY = "visitor_id"
NATIONAL_ID = "national_id"


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


def _cookie_consenting_sql(consents: str, consent_column: str, views: list[str]) -> str:
    """Persons (person_id) seen logged in on a visitor whose latest marketing-cookie choice is
    an acceptance (latest event wins; on equal times the refusal wins)."""
    seen = " union all ".join(
        f"select {VISITOR_KEY}, {NATIONAL_ID} from {v} where {NATIONAL_ID} is not null"
        for v in views
    )
    return f"""
        select distinct fjordbank_hmac_sha256(seen.{NATIONAL_ID}) as person_id
        from ({seen}) seen
        inner join (
            select {VISITOR_KEY}, "{consent_column}" as accepted, row_number() over (
                partition by {VISITOR_KEY}
                order by event_time desc, case when "{consent_column}" then 1 else 0 end
            ) as rn
            from {consents}
        ) latest
            on latest.{VISITOR_KEY} = seen.{VISITOR_KEY}
        where latest.rn = 1 and latest.accepted
    """


def _cookie_check(
    graph: ProjectGraph, config: PolicyConfig, node: Any, columns: set[str], key: dg.AssetKey
) -> RowCheck:
    """``no_unconsented_web_behaviour`` for one marketing output: its cookie-gated columns
    must be null for every row whose person no consenting visitor was seen as. Without a
    person key, a non-null value cannot be attributed to a consent and counts as offending."""
    gate = config.consent_gates[COOKIE_GATE]
    table, _, consent_column = gate.consent_column.rpartition(".")
    views = [
        _relation(graph, n.unique_id)
        for spec in gate.sources
        for n in graph.nodes.values()
        if n.resource_type == "source"
        and spec in (n.source_name, n.label)
        and {VISITOR_KEY, NATIONAL_ID} <= set(n.columns)
    ]
    if not views:
        raise ValueError(
            f"{node.name}: consent_gates.{COOKIE_GATE}.sources name no source table with "
            f"{VISITOR_KEY} and {NATIONAL_ID}, so its cookie-gated columns cannot be checked "
            "on the rows; fix catalog/policy.yml"
        )
    cols = sorted(columns)
    any_value = " or ".join(f'o."{c}" is not null' for c in cols)
    consenting = _cookie_consenting_sql(_relation(graph, table), consent_column, views)
    unattributed = (
        f'not exists (select 1 from ({consenting}) c where c.person_id = o."{PERSON_KEY}")'
        if PERSON_KEY in node.columns
        else "true"
    )
    return RowCheck(
        node.name,
        key,
        "no_unconsented_web_behaviour",
        "No person without a visitor whose latest marketing-cookie choice is acceptance has a "
        "non-null value in " + ", ".join(cols) + " (web-behaviour-derived per column lineage).",
        f"""
        select count(*) from {_relation(graph, node.unique_id)} o
        where ({any_value}) and {unattributed}
        """,
    )


def _person_key(graph: ProjectGraph, node: Any) -> tuple[str, str] | None:
    """How rows of ``node`` name their person, as (column, SQL of that column's value for the
    ``person_id`` of the check's subquery alias ``p``): ``person_id`` itself, or a pseudonym
    the model declares under ``meta.row_checks.person_pseudonym`` (``column``: the pseudonym
    column; ``key_context``: the text the keyed hash puts before person_id). The declaration
    must agree with the SQL: lineage shows the column as a keyed hash of a person_id and the
    compiled SQL holds the context literal; otherwise ValueError (fail closed). None: no key.
    """
    if PERSON_KEY in node.columns:
        return PERSON_KEY, "p.person_id"
    declared = ((node.meta or {}).get("row_checks") or {}).get("person_pseudonym")
    if not declared:
        return None
    column, context = declared.get("column"), declared.get("key_context")
    hint = "fix meta.row_checks.person_pseudonym in its YAML"
    if not isinstance(column, str) or not isinstance(context, str) or column not in node.columns:
        raise ValueError(
            f"{node.name}: row_checks.person_pseudonym needs `column` (one of its columns) and "
            f"`key_context` (text); {hint}"
        )
    keyed_from_person = any(
        e.target_node == node.unique_id
        and e.target_column == column
        and e.masking
        and e.keyed
        and e.source.column == PERSON_KEY
        for e in graph.edges
    )
    literal = "'" + context.replace("'", "''") + "'"
    if not keyed_from_person or literal not in (node.sql or ""):
        raise ValueError(
            f"{node.name}: {column} is declared a pseudonym of person_id with key context "
            f"{context!r}, but lineage shows no keyed hash of a person_id into it or its SQL "
            f"has no {literal}; {hint}"
        )
    return column, f"fjordbank_hmac_sha256(cast({literal} || p.person_id as varchar))"


def _all_persons_sql(graph: ProjectGraph, tags: ProjectTags, config: PolicyConfig) -> str:
    """Every person (person_id) any source delivers an identity number of: the sources'
    columns tagged with the national-identity category."""
    parts = []
    for n in sorted(graph.nodes.values(), key=lambda n: n.unique_id):
        if n.resource_type != "source" or tags.get(n.unique_id) is None:
            continue
        for c, t in tags[n.unique_id].columns.items():
            if config.national_id_category in t.categories and c in n.columns:
                parts.append(f'select "{c}" as national_id from {_relation(graph, n.unique_id)}')
    if not parts:
        raise ValueError("no source column carries the national identity number category")
    return (
        "select distinct fjordbank_hmac_sha256(national_id) as person_id from ("
        + " union ".join(parts)
        + ") ids where national_id is not null"
    )


def _investment_only_persons_sql(
    graph: ProjectGraph, tags: ProjectTags, config: PolicyConfig
) -> str | None:
    """Persons (person_id) whose identity number only the group-sharing gate's sources deliver
    (``consent_gates.group_sharing.sources``): customers of the securities unit or the asset
    manager whom no other company of the group knows. The privacy event logs know nobody as a
    customer. None when the gate restricts no source."""
    gate = config.consent_gates.get(GROUP_SHARING)
    specs = set(gate.sources) if gate else set()
    if not specs:
        return None
    privacy = {CONSENT_EVENTS.split(".")[0], OBJECTION_EVENTS.split(".")[0]}
    only: list[str] = []
    elsewhere: list[str] = []
    for n in sorted(graph.nodes.values(), key=lambda n: n.unique_id):
        if n.resource_type != "source" or tags.get(n.unique_id) is None:
            continue
        for c, t in tags[n.unique_id].columns.items():
            if config.national_id_category not in t.categories or c not in n.columns:
                continue
            part = f'select "{c}" as national_id from {_relation(graph, n.unique_id)}'
            if specs & {n.source_name, n.label}:
                only.append(part)
            elif n.source_name not in privacy:
                elsewhere.append(part)
    if not only:
        raise ValueError(
            "no column of consent_gates.group_sharing.sources carries the national identity "
            "number category; tag it in the sources' YAML"
        )
    known_elsewhere = " union ".join(elsewhere) if elsewhere else "select null as national_id"
    return f"""
        select fjordbank_hmac_sha256(national_id) as person_id
        from (
            select national_id from ({" union ".join(only)}) o where national_id is not null
            except
            select national_id from ({known_elsewhere}) e
        ) investment_only
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

    investment_only = _investment_only_persons_sql(graph, tags, config)
    for model in sorted(objection_scopes(graph, tags, config)) if investment_only else ():
        node = by_name[model]
        purposes = tags.purposes(node.unique_id)
        if PERSON_KEY not in node.columns or not any(
            covers(config.marketing_purpose, p) for p in purposes
        ):
            continue
        checks.append(
            RowCheck(
                model,
                asset_key_for(node.unique_id),
                "no_unconsented_investment_customers",
                "No person whom only the securities unit or the asset manager knows appears "
                "without group-sharing consent (being their customer is a securities / funds "
                "fact).",
                f"""
                select count(*) from {_relation(graph, node.unique_id)} o
                where o."{PERSON_KEY}" in ({investment_only})
                  and not exists (
                      select 1 from ({_consenting_sql(consents)}) c
                      where c.person_id = o."{PERSON_KEY}")
                """,
            )
        )

    if COOKIE_GATE in config.consent_gates:
        gated = restricted_columns(graph, tags, config, gate=COOKIE_GATE)
        for model, columns in sorted(gated.items()):
            node = by_name[model]
            if not any(covers(config.marketing_purpose, p) for p in tags.purposes(node.unique_id)):
                continue
            checks.append(
                _cookie_check(graph, config, node, set(columns), asset_key_for(node.unique_id))
            )

    objections = _relation(graph, OBJECTION_EVENTS)
    for model, scopes in sorted(objection_scopes(graph, tags, config).items()):
        node = by_name[model]
        person_key = _person_key(graph, node)
        if person_key is None:
            continue
        column, key_sql = person_key
        objectors = f"select {key_sql} from ({_objectors_sql(objections, scopes)}) p"
        # Fail closed: a row whose key is null names no person, so nothing shows it is not an
        # objector's; it counts as offending (the model's not-null test says so too, but the
        # row check does not lean on a test someone may remove from the YAML).
        if column == PERSON_KEY:
            where = f'o."{column}" in ({objectors}) or o."{column}" is null'
            how = " (a row with no person_id counts too)"
        else:
            # A pseudonym no person of the sources has means the declared key is wrong: it
            # would hide every objector, so such rows count as offending too, as a null one
            # does. `not exists` rather than `not in (subquery)`: Spark plans `not in` as a
            # nested-loop join (null semantics), `not exists` as a hash anti join.
            persons = f"select {key_sql} as k from ({_all_persons_sql(graph, tags, config)}) p"
            where = (
                f'o."{column}" in ({objectors}) or not exists '
                f'(select 1 from ({persons}) persons where persons.k = o."{column}")'
            )
            how = (
                f" (rows keyed by their pseudonym column {column}; one of no person, or none,"
                " counts too)"
            )
        checks.append(
            RowCheck(
                model,
                asset_key_for(node.unique_id),
                "no_objectors",
                f"No person objecting to {', '.join(sorted(scopes))} appears{how}.",
                f"""
                select count(*) from {_relation(graph, node.unique_id)} o
                where {where}
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
    """The planned row checks as blocking asset checks of one op, ``row_checks``: one step and
    one warehouse connection for all of them (a step each cost more than most checks' queries),
    each check still its own Dagster check with its own result. A run that selects some of
    them runs those. A check whose query cannot run fails the step (fail closed) after the
    others have given their results; a failed check fails it too, as every blocking check
    does."""
    if not checks:
        return []
    by_key = {dg.AssetCheckKey(c.asset_key, c.name): c for c in checks}

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec(c.name, asset=c.asset_key, description=c.description, blocking=True)
            for c in checks
        ],
        name="row_checks",
        can_subset=True,
    )
    def row_checks(context, warehouse: Warehouse):  # an AssetCheckExecutionContext
        selected = context.selected_asset_check_keys
        unevaluated = []
        with _offending_rows(warehouse) as offending_rows:
            for key, check in by_key.items():
                if key not in selected:
                    continue
                try:
                    offending = offending_rows(check.sql)
                except Exception as exc:  # the others still run; the step fails below
                    unevaluated.append(f"{check.model}.{check.name}: {' '.join(str(exc).split())}")
                    continue
                yield dg.AssetCheckResult(
                    asset_key=check.asset_key,
                    check_name=check.name,
                    passed=offending == 0,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"offending_rows": offending, "model": check.model},
                    description=(
                        None if offending == 0 else f"{offending} offending rows in {check.model}"
                    ),
                )
        if unevaluated:
            raise dg.Failure(
                description=(
                    f"{len(unevaluated)} row check(s) could not run, so the policy is not "
                    "proven on those outputs: " + "; ".join(unevaluated)
                ),
                allow_retries=False,
            )

    return [row_checks]


@contextmanager
def _offending_rows(warehouse: Warehouse) -> Iterator[Callable[[str], int]]:
    """A function running a check's query on the target's warehouse: DuckDB (one connection
    for every query), or Spark (the same query transpiled from DuckDB's dialect by sqlglot)."""
    from catalog.settings import settings

    s = settings()
    if is_spark(s.dbt_target):
        from dagster_project.spark import scalar, spark_session

        session = spark_session(s)
        yield lambda sql: int(scalar(session, sql))
        return
    from dagster_project.warehouse_functions import register_native_hmac

    with warehouse.connect() as conn:
        register_native_hmac(conn)  # DuckDB's own SHA-256: the checks hash whole populations
        yield lambda sql: conn.execute(sql).fetchone()[0]
