"""Normal forms of words and numbers for the near-miss guard (shared/semantic/facts.py)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_EURO_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")


def stem(word: str) -> str:
    """A crude suffix stripper, applied alike to prompts and word lists (approve/approved)."""
    if len(word) > 4 and word.endswith(("ies", "ied")):
        word = word[:-3] + "y"
    else:
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in "aeiou":
                    word = word[:-1]  # stopped -> stop, cancelled -> cancel
                break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def decimal_value(text: str) -> Decimal | None:
    if _PLAIN_NUMBER.fullmatch(text):
        raw = text
    elif _THOUSANDS.fullmatch(text):
        raw = text.replace(",", "")
    elif _EURO_THOUSANDS.fullmatch(text):
        raw = text.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(text):
        raw = text.replace(",", ".")
    else:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def number_fact(value: Decimal, unit: str) -> str:
    return f"{format(value.normalize(), 'f')}|{unit}"
