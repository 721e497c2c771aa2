"""The custom run facet ``fjordbank_policyVerdict``: the privacy policy's verdict on the
project a run belongs to (its JSON Schema is shipped in ``catalog/schemas``).

>>> f = policy_verdict_facet([{"rule": "r1"}], checked_at="2026-01-05T05:00:00+00:00",
...                          rules=["r1", "r2"])
>>> f.verdict, f.violations, [(r.rule, r.violations) for r in f.rules]
('fail', 1, [('r1', 1), ('r2', 0)])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import attr
from openlineage.client.facet_v2 import RunFacet
from openlineage.client.utils import RedactMixin

from catalog.openlineage.naming import PRODUCER_FIELD
from catalog.openlineage.timestamps import Timestamp, iso_timestamp

__all__ = [
    "POLICY_VERDICT_FACET",
    "POLICY_VERDICT_SCHEMA_FILE",
    "POLICY_VERDICT_SCHEMA_URL",
    "PolicyRuleResult",
    "PolicyVerdictRunFacet",
    "policy_verdict_facet",
    "policy_verdict_schema",
]

POLICY_VERDICT_FACET = "fjordbank_policyVerdict"
POLICY_VERDICT_SCHEMA_FILE = "PolicyVerdictRunFacet.json"
POLICY_VERDICT_SCHEMA_URL = (
    "https://fjordbank.example/spec/facets/1-0-0/PolicyVerdictRunFacet.json"
    "#/$defs/PolicyVerdictRunFacet"
)


@attr.define
class PolicyRuleResult(RedactMixin):
    rule: str
    violations: int


@attr.define
class PolicyVerdictRunFacet(RunFacet):
    """The privacy policy's verdict on the project a run belongs to."""

    verdict: str
    violations: int
    checked_at: str
    rules: list[PolicyRuleResult] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return POLICY_VERDICT_SCHEMA_URL


def policy_verdict_facet(
    violations: Iterable[Any],
    *,
    checked_at: Timestamp,
    rules: Iterable[str] | None = None,
) -> PolicyVerdictRunFacet:
    """The verdict facet from a policy evaluation's violations (anything with a ``rule``).

    ``rules`` lists every rule evaluated (default: ``catalog.policy.RULES``); a violation of a
    rule not listed is still counted, under its own name.
    """
    if rules is None:
        from catalog.policy import RULES  # the policy package is only needed for its names

        rules = RULES
    counts = dict.fromkeys(rules, 0)
    total = 0
    for v in violations:
        rule = v["rule"] if isinstance(v, Mapping) else v.rule
        counts[rule] = counts.get(rule, 0) + 1
        total += 1
    return PolicyVerdictRunFacet(
        verdict="pass" if total == 0 else "fail",
        violations=total,
        checked_at=iso_timestamp(checked_at),
        rules=[PolicyRuleResult(rule=r, violations=n) for r, n in counts.items()],
        **PRODUCER_FIELD,
    )


@cache
def policy_verdict_schema() -> dict[str, Any]:
    """The JSON Schema the verdict facet's ``_schemaURL`` points into (shipped in the wheel)."""
    text = resources.files("catalog.schemas").joinpath(POLICY_VERDICT_SCHEMA_FILE).read_text()
    return json.loads(text)
