"""Norwegian national identity numbers (fødselsnummer, D-number) per LANDING.md.

DDMMYY + 3-digit individual number + two mod-11 check digits. D-numbers add 4 to the first digit;
synthetic test persons add 80 to the month and are accepted only where ``synthetic`` is allowed.

>>> is_valid("02016126007"), is_valid("02016126008")
(True, False)
"""

from __future__ import annotations

import datetime as dt

from catalog.settings import SYNTHETIC_ENV

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


class InvalidNationalId(ValueError):
    """Not a valid national identity number; the message says why, in one line."""


def check_national_id(value: str, *, allow_synthetic: bool) -> str:
    """The number, normalised (spaces removed), or :class:`InvalidNationalId` saying why not.

    Fødselsnummer or D-number: DDMMYY, individual number, two mod-11 check digits; synthetic
    test numbers (month + 80) only where ``allow_synthetic``.

    >>> check_national_id("020161 26007", allow_synthetic=False)
    '02016126007'
    """
    nid = "".join(value.split())
    if len(nid) != 11 or not nid.isdigit():
        raise InvalidNationalId(
            f"{value!r} is not a national identity number: it must be 11 digits "
            "(DDMMYY and five more)"
        )
    if check_digits(nid[:9]) != nid[9:]:
        raise InvalidNationalId(
            f"{nid} is not a valid national identity number: its check digits are wrong "
            "(mod 11); check the number"
        )
    if birth_date(nid) is None:
        raise InvalidNationalId(
            f"{nid} is not a valid national identity number: it encodes no real birth date"
        )
    if is_synthetic(nid) and not allow_synthetic:
        raise InvalidNationalId(
            f"{nid} is a synthetic test number (month + 80), accepted only for synthetic data; "
            f"pass --synthetic or set {SYNTHETIC_ENV}=true"
        )
    return nid


def is_valid(nid: str, *, allow_synthetic: bool = False) -> bool:
    """True when ``nid`` is 11 digits (no spaces) with correct check digits and a real
    calendar date."""
    try:
        return check_national_id(nid, allow_synthetic=allow_synthetic) == nid
    except InvalidNationalId:
        return False
