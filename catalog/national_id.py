"""Norwegian national identity numbers (fødselsnummer, D-number) per LANDING.md.

DDMMYY + 3-digit individual number + two mod-11 check digits. D-numbers add 4 to the first digit;
synthetic test persons add 80 to the month and are accepted only where ``synthetic`` is allowed.

>>> is_valid("02016126007"), is_valid("02016126008")
(True, False)
"""

from __future__ import annotations

import datetime as dt

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def check_digits(first_nine: str) -> str | None:
    """The two check digits for nine leading digits, or None when no valid number exists."""
    digits = [int(c) for c in first_nine]
    k1 = 11 - sum(w * d for w, d in zip(W1, digits, strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    k2 = 11 - sum(w * d for w, d in zip(W2, [*digits, k1], strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def birth_date(nid: str) -> dt.date | None:
    """The birth date encoded in a number (D-number and synthetic offsets removed)."""
    day, month, yy, ind = int(nid[0:2]), int(nid[2:4]), int(nid[4:6]), int(nid[6:9])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    # Individual-number ranges give the century (Skatteetaten's rules).
    if ind <= 499:
        year = 1900 + yy
    elif ind <= 749 and yy >= 54:
        year = 1800 + yy
    elif ind >= 900 and yy >= 40:
        year = 1900 + yy
    else:
        year = 2000 + yy if yy <= 39 else 1900 + yy
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def is_synthetic(nid: str) -> bool:
    return len(nid) == 11 and nid.isdigit() and int(nid[2:4]) > 80


def is_valid(nid: str, *, allow_synthetic: bool = False) -> bool:
    """True when ``nid`` is 11 digits with correct check digits and a real calendar date."""
    if len(nid) != 11 or not nid.isdigit():
        return False
    if is_synthetic(nid) and not allow_synthetic:
        return False
    if check_digits(nid[:9]) != nid[9:]:
        return False
    return birth_date(nid) is not None
