"""The privacy policy of PRIVACY.md as named rules, each a pure function of (lineage graph,
resolved tags, policy configuration).

- ``every_column_tagged``: every column has a known category, purposes and legal basis (G1).
- ``neutral_register``: the group register derives only from neutral data (G2).
- ``national_id_purpose``: the national identity number itself appears only in outputs whose
  purpose is customer administration (G2; DIRECT lineage, not joins on it).
- ``no_unconsented_investments_in_marketing``: securities / funds data reaches marketing
  outputs only through a proven group-sharing consent gate (G3).
- ``no_web_behaviour_without_cookie_consent``: the same for web behaviour and the
  marketing-cookies gate (G3).
- ``purpose_limitation``: risk and legal-obligation data never reaches an output with a
  purpose outside the purpose-bound ones (marketing, statistics, model development, the
  register) (G4).
- ``objections_honoured``: marketing, statistics and model-development outputs are filtered by
  the objections log, scope by scope (G5).
- ``fail_closed``: what the lineage cannot see is a violation (G6; SQL that does not parse
  stops the check before it: exit 2).

``evaluate(graph, tags, config)`` runs them and returns a ``PolicyResult``;
``restricted_columns`` and ``objection_scopes`` tell the row checks of guarantee 7 which
columns must be null without consent and which objections each output must honour;
``proven_gates`` says how each declared gate is proven (or why it is not).
"""

from __future__ import annotations

from collections.abc import Callable

from catalog.lineage.graph import ColumnRef, EdgeType, ProjectGraph, Subtype
from catalog.memory import gc_paused
from catalog.policy import (
    every_column_tagged,
    fail_closed,
    national_id_purpose,
    neutral_register,
    no_unconsented_investments_in_marketing,
    no_web_behaviour_without_cookie_consent,
    objections_honoured,
    purpose_limitation,
)
from catalog.policy.config import (
    GateConfig,
    ObjectionRequirement,
    PolicyConfig,
    PolicyConfigError,
    load_policy_config,
    parse_policy_config,
)
from catalog.policy.consent_gates import GROUP_SHARING, analyse
from catalog.policy.core import Context, PolicyError, PolicyResult, Violation
from catalog.tags import ProjectTags
from catalog.taxonomy import Taxonomy, covered_by_any, load_taxonomy

__all__ = [
    "RULES",
    "GateConfig",
    "ObjectionRequirement",
    "PolicyConfig",
    "PolicyConfigError",
    "PolicyError",
    "PolicyResult",
    "Violation",
    "evaluate",
    "load_policy_config",
    "objection_scopes",
    "parse_policy_config",
    "proven_gates",
    "restricted_columns",
]

# Rule name -> check, in the order of PRIVACY.md's guarantees.
RULES: dict[str, Callable[[Context], list[Violation]]] = {
    every_column_tagged.RULE: every_column_tagged.check,
    neutral_register.RULE: neutral_register.check,
    national_id_purpose.RULE: national_id_purpose.check,
    no_unconsented_investments_in_marketing.RULE: no_unconsented_investments_in_marketing.check,
    no_web_behaviour_without_cookie_consent.RULE: no_web_behaviour_without_cookie_consent.check,
    purpose_limitation.RULE: purpose_limitation.check,
    objections_honoured.RULE: objections_honoured.check,
    fail_closed.RULE: fail_closed.check,
}


def _context(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None,
    taxonomy: Taxonomy | None,
) -> Context:
    taxonomy = taxonomy or load_taxonomy()
    return Context(graph, tags, config or load_policy_config(taxonomy=taxonomy), taxonomy)


def _violations(ctx: Context, rules: tuple[str, ...] | None) -> list[Violation]:
    """Every violation of the rules (all by default); the context, with its thousands of
    short-lived indexes, is freed on return, before the collector is back on."""
    violations: list[Violation] = []
    for name, check in RULES.items():
        if rules is None or name in rules:
            violations.extend(check(ctx))
    return violations


def evaluate(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    taxonomy: Taxonomy | None = None,
    rules: tuple[str, ...] | None = None,
) -> PolicyResult:
    """Evaluate the rules (all by default) and return every violation, sorted.

    Raises ``PolicyConfigError`` when the configuration does not fit the project and
    ``PolicyError`` when the graph cannot be judged (both: the check could not run, exit 2).
    """
    unknown = [r for r in rules or () if r not in RULES]
    if unknown:
        raise PolicyConfigError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    with gc_paused():
        violations = _violations(_context(graph, tags, config, taxonomy), rules)
    order = {name: i for i, name in enumerate(RULES)}
    violations.sort(key=lambda v: (order[v.rule], v.model, v.column or "", v.message))
    checked = [n for n in graph.nodes.values() if n.resource_type != "source"]
    return PolicyResult(
        violations=tuple(dict.fromkeys(violations)),
        models_checked=len(checked),
        columns_checked=sum(len(n.columns) for n in graph.nodes.values()),
    )


def restricted_columns(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    gate: str = GROUP_SHARING,
    taxonomy: Taxonomy | None = None,
) -> dict[str, dict[str, set[str]]]:
    """Per marketing or statistics output (dbt name): the columns that must be null for every
    person without the ``gate``'s consent (securities / funds by default), with the restricted
    categories they derive from. For the row checks of guarantee 7.

    A column is listed when its value is restricted data: every DIRECT input of it is itself
    restricted (a copy, a band, a sum of holdings), or a CASE condition on restricted data
    decides it (``case when units > 0 then 'investor' end``). A column that mixes restricted
    data with other data (a score weighing a securities band among twenty features) is not
    null for non-consenting persons and is not listed; filters and joins shape rows, which the
    static rule already judged.
    """
    ctx = _context(graph, tags, config, taxonomy)
    g = ctx.config.consent_gates[gate]
    origins = ctx.origins(
        categories=g.categories, sources=g.sources, entry_only=True, where=f"consent_gates.{gate}"
    )
    restricted: dict[ColumnRef, set[str]] = {}
    for o in origins:
        own = ctx.categories(o)
        restricted[o] = {x for x in own if covered_by_any(x, g.categories)} or set(own)
    for uid in ctx.order:
        for c in graph.nodes[uid].columns:
            ref = ColumnRef(uid, c)
            if ref in restricted:
                continue
            edges = ctx.column_inputs(ref)
            direct = [e for e in edges if e.type == EdgeType.DIRECT]
            conditions = [
                e for e in edges if e.subtype == Subtype.CONDITIONAL and e.source in restricted
            ]
            if direct and all(e.source in restricted for e in direct):
                cats = set().union(*(restricted[e.source] for e in direct))
            elif conditions:
                cats = set().union(*(restricted[e.source] for e in conditions))
            else:
                continue
            restricted[ref] = cats
    purposes = (ctx.config.marketing_purpose, ctx.config.statistics_purpose)
    out: dict[str, dict[str, set[str]]] = {}
    for uid in ctx.order:
        if not (ctx.is_output(uid) and any(ctx.has_purpose(uid, p) for p in purposes)):
            continue
        for c in graph.nodes[uid].columns:
            ref = ColumnRef(uid, c)
            if ref in restricted:
                out.setdefault(ctx.name(uid), {})[c] = set(restricted[ref])
    return out


def objection_scopes(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    taxonomy: Taxonomy | None = None,
) -> dict[str, set[str]]:
    """Per output (dbt name): the objection scopes its rows must honour (guarantees 5 and 7)."""
    ctx = _context(graph, tags, config, taxonomy)
    out = {ctx.name(u): objections_honoured.required_scopes(ctx, u) for u in ctx.order}
    return {k: v for k, v in out.items() if v}


def proven_gates(
    graph: ProjectGraph,
    tags: ProjectTags,
    config: PolicyConfig | None = None,
    *,
    gate: str = GROUP_SHARING,
    taxonomy: Taxonomy | None = None,
) -> dict[str, str]:
    """Declared ``gate`` nodes restricted data reaches, by dbt name: ``"rows"`` or ``"columns"``
    (how the SQL proves it), or why it is not a gate."""
    ctx = _context(graph, tags, config, taxonomy)
    a = analyse(ctx, gate)
    return {
        **{ctx.name(u): how for u, how in a.proven.items()},
        **{ctx.name(u): f"not a gate: {why}" for u, why in a.refuted.items()},
    }
