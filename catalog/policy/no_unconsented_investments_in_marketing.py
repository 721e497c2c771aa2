"""Guarantee 3: no securities or funds data of customers who did not consent to group sharing
reaches a marketing output: every path from a ``user.financial.securities`` or
``user.financial.funds`` source column (DIRECT or INDIRECT: a join that picks customers, a
filter, a CASE segment, a window rank, a GROUP BY all count) into a column of a marketing output
passes through a proven ``group_sharing`` consent gate (see ``consent_gates``).
"""

from __future__ import annotations

from catalog.policy import consent_gates
from catalog.policy.core import Context, Violation

RULE = "no_unconsented_investments_in_marketing"


def check(ctx: Context) -> list[Violation]:
    return consent_gates.check(ctx, consent_gates.GROUP_SHARING, RULE, "securities / funds data")
