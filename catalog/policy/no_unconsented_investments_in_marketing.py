"""Guarantee 3: no securities or funds data of customers who did not consent to group sharing
reaches a marketing output, neither values nor facts. Every path into a column of a marketing
output (DIRECT or INDIRECT: a join that picks customers, a filter, a CASE segment, a window rank,
a GROUP BY all count) passes through a proven ``group_sharing`` consent gate (see
``consent_gates``) when it starts at a ``user.financial.securities`` or ``user.financial.funds``
source column, or at any column of the ``markets`` and ``asset_management`` sources whatever its
category (``consent_gates.group_sharing.sources`` in policy.yml: account numbers, fund codes, the
identity number an EXISTS or a join matches on).
"""

from __future__ import annotations

from catalog.policy import consent_gates
from catalog.policy.context import Context
from catalog.policy.result import Violation

RULE = "no_unconsented_investments_in_marketing"


def check(ctx: Context) -> list[Violation]:
    return consent_gates.check(ctx, consent_gates.GROUP_SHARING, RULE, "securities / funds data")
