"""The privacy vocabulary: data categories and data uses (fideslang's default taxonomy plus the
banking extensions in ``taxonomy_extensions.yml``) and the GDPR legal bases.

Keys are dotted and hierarchical: a rule on ``user.financial`` covers
``user.financial.securities``.

>>> t = load_taxonomy()
>>> t.is_category("user.financial.securities"), t.is_use("marketing.advertising.profiling")
(True, True)
>>> covers("marketing", "marketing.advertising.profiling")
True
>>> LegalBasis("legitimate_interests").article
'6(1)(f)'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

EXTENSIONS_FILE = Path(__file__).with_name("taxonomy_extensions.yml")


class TaxonomyError(ValueError):
    """The taxonomy (the default or its extensions) is not consistent."""


class LegalBasis(StrEnum):
    """GDPR Art. 6(1) lawful bases, spelled as in the column tags."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @property
    def article(self) -> str:
        return "6(1)(" + "abcdef"[list(LegalBasis).index(self)] + ")"


class SpecialCategoryGround(StrEnum):
    """GDPR Art. 9(2) grounds for special-category data (named next to the Art. 6 basis)."""

    EXPLICIT_CONSENT = "explicit_consent"
    EMPLOYMENT = "employment_social_security"
    VITAL_INTERESTS = "vital_interests"
    NOT_FOR_PROFIT = "not_for_profit_body"
    MADE_PUBLIC = "made_public_by_data_subject"
    LEGAL_CLAIMS = "legal_claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial_public_interest"
    HEALTH_CARE = "health_or_social_care"
    PUBLIC_HEALTH = "public_health"
    ARCHIVING_RESEARCH_STATISTICS = "archiving_research_statistics"

    @property
    def article(self) -> str:
        return "9(2)(" + "abcdefghij"[list(SpecialCategoryGround).index(self)] + ")"


LEGAL_BASIS_VALUES = frozenset(b.value for b in LegalBasis) | frozenset(
    g.value for g in SpecialCategoryGround
)


@dataclass(frozen=True)
class Term:
    """One key of the taxonomy."""

    key: str
    parent: str | None
    name: str
    description: str = ""
    origin: str = "fideslang"  # or "extension"


def covers(rule_key: str, key: str) -> bool:
    """Whether ``rule_key`` is ``key`` or one of its ancestors (dotted-prefix semantics)."""
    return key == rule_key or key.startswith(rule_key + ".")


def covered_by_any(key: str, rule_keys: Iterable[str]) -> bool:
    return any(covers(r, key) for r in rule_keys)


def covered_by_set(key: str, rule_keys: frozenset[str] | set[str]) -> bool:
    """``covered_by_any`` for a set of rule keys: looks up ``key`` and each of its dotted
    prefixes instead of testing every rule key."""
    if key in rule_keys:
        return True
    cut = key.rfind(".")
    while cut >= 0:
        key = key[:cut]
        if key in rule_keys:
            return True
        cut = key.rfind(".")
    return False


def ancestors(key: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b"]``: the keys a rule may be written on to cover ``key``."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@dataclass(frozen=True)
class Taxonomy:
    """Data categories and data uses by key, and which categories are Art. 9 special ones."""

    data_categories: Mapping[str, Term]
    data_uses: Mapping[str, Term]
    special_categories: frozenset[str]

    def is_category(self, key: str) -> bool:
        return key in self.data_categories

    def is_use(self, key: str) -> bool:
        return key in self.data_uses

    def is_special(self, category: str) -> bool:
        """Whether ``category`` is special-category data (GDPR Art. 9) and needs a 9(2) ground."""
        return covered_by_set(category, self.special_categories)

    def extensions(self) -> list[Term]:
        terms = [*self.data_categories.values(), *self.data_uses.values()]
        return [t for t in terms if t.origin == "extension"]


def build_taxonomy(
    categories: Iterable[Term], uses: Iterable[Term], special_categories: Iterable[str] = ()
) -> Taxonomy:
    """The validating factory: keys well-formed and unique, every parent exists and is the key
    without its last segment, special categories are known categories."""
    from fideslang.validation import FidesValidationError, validate_fides_key

    categories, uses = list(categories), list(uses)
    problems: list[str] = []
    for kind, terms in (("data category", categories), ("data use", uses)):
        dupes = sorted(k for k, n in Counter(t.key for t in terms).items() if n > 1)
        problems += [f"{kind} {k!r} is defined more than once" for k in dupes]
        keys = {t.key for t in terms}
        for t in terms:
            try:
                validate_fides_key(t.key)
            except FidesValidationError as exc:
                problems.append(f"{kind} {t.key!r}: {exc}")
            expected = t.key.rpartition(".")[0] or None
            if t.parent != expected:
                problems.append(
                    f"{kind} {t.key!r} names parent {t.parent!r}, expected {expected!r}"
                )
            elif t.parent is not None and t.parent not in keys:
                problems.append(f"{kind} {t.key!r}: parent {t.parent!r} does not exist")
    cat_keys = {t.key for t in categories}
    special = frozenset(special_categories)
    problems += [f"special category {k!r} is not a data category" for k in special - cat_keys]
    if problems:
        raise TaxonomyError("; ".join(problems))
    return Taxonomy(
        data_categories=MappingProxyType({t.key: t for t in categories}),
        data_uses=MappingProxyType({t.key: t for t in uses}),
        special_categories=special,
    )


def fideslang_terms() -> tuple[list[Term], list[Term]]:
    """The data categories and data uses of fideslang's default taxonomy."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    def term(x: Any) -> Term:
        return Term(x.fides_key, x.parent_key, x.name or x.fides_key, x.description or "")

    return (
        [term(c) for c in DEFAULT_TAXONOMY.data_category],
        [term(u) for u in DEFAULT_TAXONOMY.data_use],
    )


def read_extensions(path: Path) -> tuple[list[Term], list[Term], list[str]]:
    """Categories, uses and special categories of an extensions file, each checked by
    fideslang's own models (key syntax, parent key matches the key)."""
    from fideslang.models import DataCategory, DataUse
    from pydantic import ValidationError

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"cannot read the taxonomy extensions {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise TaxonomyError(f"{path}: expected a mapping with data_categories and data_uses")

    def terms(section: str, model: type) -> list[Term]:
        out = []
        for i, item in enumerate(doc.get(section) or []):
            if not isinstance(item, dict) or not item.get("key"):
                raise TaxonomyError(f"{path}: {section}[{i}] needs at least a key and a parent")
            try:
                model(
                    fides_key=item["key"],
                    parent_key=item.get("parent"),
                    name=item.get("name"),
                    description=item.get("description"),
                )
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"]
                raise TaxonomyError(f"{path}: {section} {item['key']!r}: {msg}") from None
            out.append(
                Term(
                    item["key"],
                    item.get("parent"),
                    item.get("name") or item["key"],
                    (item.get("description") or "").strip(),
                    "extension",
                )
            )
        return out

    special = [str(k) for k in doc.get("special_categories") or []]
    return terms("data_categories", DataCategory), terms("data_uses", DataUse), special


# GDPR Art. 9(1) special categories in fideslang's keys (Art. 10 criminal data treated alike).
DEFAULT_SPECIAL_CATEGORIES = (
    "user.biometric",
    "user.health_and_medical",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
    "user.criminal_history",
)


def load_taxonomy(extensions: Path | None = None) -> Taxonomy:
    """fideslang's default taxonomy plus the banking extensions (validated)."""
    if extensions is None:
        return _default_taxonomy()
    return _load(extensions)


@cache
def _default_taxonomy() -> Taxonomy:
    return _load(EXTENSIONS_FILE)


def _load(path: Path) -> Taxonomy:
    base_cats, base_uses = fideslang_terms()
    ext_cats, ext_uses, special = read_extensions(path)
    return build_taxonomy(
        [*base_cats, *ext_cats], [*base_uses, *ext_uses], [*DEFAULT_SPECIAL_CATEGORIES, *special]
    )
