"""Guarantee 3 (web): website behaviour (the configured web sources and browsing / IP
categories) reaches a marketing output only through a proven ``marketing_cookies`` consent gate
(see ``consent_gates``).
"""

from __future__ import annotations

from catalog.policy import consent_gates
from catalog.policy.context import Context
from catalog.policy.result import Violation

RULE = "no_web_behaviour_without_cookie_consent"


def check(ctx: Context) -> list[Violation]:
    return consent_gates.check(ctx, consent_gates.MARKETING_COOKIES, RULE, "web behaviour")
