"""The eight rules by name (``RULES``, in the order of PRIVACY.md's guarantees) and
``evaluate``: every violation of them on one graph, as a ``PolicyResult``.

The structural rules (``every_column_tagged``, ``fail_closed``) always run; each other rule
runs only when the policy configuration has its section (``RULE_SECTIONS``; a consent-gate
rule when its gate is configured), so a project with an empty policy is checked for tags only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from catalog.lineage.graph import ProjectGraph
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
from catalog.policy.config import PolicyConfig, PolicyConfigError
from catalog.policy.context import Context, build_context
from catalog.policy.result import PolicyResult, Violation
from catalog.tags import ProjectTags
from catalog.taxonomy import Taxonomy

__all__ = ["RULES", "RULE_SECTIONS", "active_rules", "evaluate"]

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


# Rule name -> the policy.yml section it needs (``consent_gates.<gate>``: that gate); the rules
# not listed always run.
RULE_SECTIONS: dict[str, str] = {
    neutral_register.RULE: "neutral_register",
    national_id_purpose.RULE: "national_id",
    no_unconsented_investments_in_marketing.RULE: "consent_gates.group_sharing",
    no_web_behaviour_without_cookie_consent.RULE: "consent_gates.marketing_cookies",
    purpose_limitation.RULE: "purpose_limitation",
    objections_honoured.RULE: "objections",
}


def active_rules(config: PolicyConfig) -> tuple[str, ...]:
    """The rules the configuration turns on, in ``RULES`` order."""

    def on(rule: str) -> bool:
        section = RULE_SECTIONS.get(rule)
        if section is None:
            return True
        name, _, gate = section.partition(".")
        return config.has(name) and (not gate or gate in config.consent_gates)

    return tuple(rule for rule in RULES if on(rule))


def _violations(ctx: Context, rules: tuple[str, ...] | None) -> list[Violation]:
    """Every violation of the rules (all those the configuration turns on by default); the
    context, with its thousands of short-lived indexes, is freed on return, before the
    collector is back on."""
    violations: list[Violation] = []
    active = active_rules(ctx.config)
    for name, check in RULES.items():
        if name in active and (rules is None or name in rules):
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
    """Evaluate the rules (all those the configuration turns on, by default) and return every
    violation, sorted.

    Raises ``PolicyConfigError`` when the configuration does not fit the project and
    ``PolicyError`` when the graph cannot be judged (both: the check could not run, exit 2).
    """
    unknown = [r for r in rules or () if r not in RULES]
    if unknown:
        raise PolicyConfigError(f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    with gc_paused():
        violations = _violations(build_context(graph, tags, config, taxonomy), rules)
    order = {name: i for i, name in enumerate(RULES)}
    violations.sort(key=lambda v: (order[v.rule], v.model, v.column or "", v.message))
    kinds = Counter(n.resource_type for n in graph.nodes.values())
    return PolicyResult(
        violations=tuple(dict.fromkeys(violations)),
        models_checked=sum(k not in ("source", "seed") for k in kinds.elements()),
        columns_checked=sum(len(n.columns) for n in graph.nodes.values()),
        seeds_checked=kinds["seed"],
        sources_checked=kinds["source"],
    )
