"""The near-miss guard: may a cached answer to one prompt be served for another, close one?

A semantic cache finds a cached prompt whose embedding is within the similarity threshold of the
new one. Embeddings measure closeness of meaning *as a whole*, and are known to put prompts that
differ in one decisive detail side by side ("refund order 1042" / "refund order 1043", "approve"
/ "do not approve"). Before such a hit is served, ``near_miss`` compares the facts each prompt
states (shared/semantic/facts.py) and names the first kind on which they disagree; any
disagreement is a cache miss. The rules are one-sided on purpose: when in doubt, miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

from shared.semantic.facts import CONTRAST_CLASS, Facts, extract
from shared.semantic.vocabulary import NEGATIVE_PREFIXES

Disagreement = Literal[
    "number",
    "identifier",
    "date",
    "negation",
    "entity",
    "polarity",
    "contrast",
    "role",
    "substitution",
]
# Extraction is ~50 µs; a cached prompt is compared on every near hit, so its facts are kept.
FACTS_MEMO = 2048


@lru_cache(maxsize=FACTS_MEMO)
def facts_of(text: str) -> Facts:
    return extract(text)


def _entities_agree(mine: Iterable[str], other: Facts) -> bool:
    """Each name one prompt gives must appear (in any case) among the other's words."""
    return all(entity in other.words for entity in mine)


def _prefix_negated(a: Facts, b: Facts) -> bool:
    """``valid`` / ``invalid``, ``paid`` / ``unpaid``, ``approve`` / ``disapprove``."""
    only_a, only_b = a.stems - b.stems, b.stems - a.stems
    for word in only_a:
        for prefix in NEGATIVE_PREFIXES:
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 4 and rest in only_b:
                return True
    return False


def _contrasts_agree(a: Facts, b: Facts) -> bool:
    return all(a.contrasts[g] == b.contrasts[g] for g in a.contrasts.keys() & b.contrasts.keys())


def _roles_agree(a: Facts, b: Facts) -> bool:
    return all(a.roles[r] == b.roles[r] for r in a.roles.keys() & b.roles.keys())


def _one_word_swapped(a: Facts, b: Facts) -> bool:
    """Everything the same but one content word for another: "senior" / "junior", "noon" /
    "midnight", "heavier" / "lighter" — an antonym no list can hold is most often exactly this.
    Two words of one contrast class ("approve" / "authorize") are known synonyms."""
    only_a, only_b = a.content - b.content, b.content - a.content
    if len(only_a) != 1 or len(only_b) != 1:
        return False
    (x,), (y,) = only_a, only_b
    known = CONTRAST_CLASS.get(x)
    return known is None or known != CONTRAST_CLASS.get(y)


def disagreement(a: Facts, b: Facts) -> Disagreement | None:
    if a.numbers != b.numbers:
        return "number"
    if a.identifiers != b.identifiers:
        return "identifier"
    if a.dates != b.dates:
        return "date"
    if a.negations != b.negations:
        return "negation"
    if not (_entities_agree(a.entities, b) and _entities_agree(b.entities, a)):
        return "entity"
    if _prefix_negated(a, b) or _prefix_negated(b, a):
        return "polarity"
    if not _contrasts_agree(a, b):
        return "contrast"
    if not _roles_agree(a, b):
        return "role"
    if _one_word_swapped(a, b):
        return "substitution"
    return None


def near_miss(new_prompt: str, cached_prompt: str) -> Disagreement | None:
    """The kind of fact the two prompts disagree on, or None when a cached answer may serve."""
    return disagreement(facts_of(new_prompt), facts_of(cached_prompt))
