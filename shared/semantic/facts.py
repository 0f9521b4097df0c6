"""What a meaning-level comparison misses, read out of one prompt: the near-miss guard's facts.

An embedding puts "refund order 1042" right next to "refund order 1043", and "approve" next to
"do not approve". Before a semantic cache serves a neighbour's answer, both prompts must agree on
the parts where a small change of text is a large change of meaning:

* numbers, with their unit or currency (``1,250.00 EUR`` = ``EUR 1250``; ``5 kg`` != ``5 lb``),
  number words (``twenty five`` = ``25``) and ordinals;
* identifiers: tokens mixing letters and digits, digit groups, codes with leading zeros,
  e-mail addresses and URLs (``INV-2024-001``, ``A12``, ``0042``);
* dates and times (``3 May 2026`` = ``May 3rd, 2026`` = ``2026-05-03``; weekdays; ``next week``);
* negations, with the word each one governs (``do not approve`` = ``don't approve``);
* named entities (capitalised words), compared case-insensitively against the other's words;
* contrasts: words of mutually exclusive classes (approve/reject, buy/sell, daily/weekly, ...);
* roles: the word after ``from``/``to``/``than``/``into`` ("from savings to checking").

English only, rule-based and conservative: a fact it cannot parse simply differs, which costs a
cache hit, never a wrong answer. Pure Python, no model, ~50 µs per prompt.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from shared.semantic.text import decimal_value, number_fact, stem
from shared.semantic.vocabulary import (
    COMMON_STARTERS,
    CONTRASTS,
    CURRENCY_PREFIXES,
    FUNCTION_WORDS,
    MONTHS,
    MULTIPLIERS,
    NEGATIONS,
    NUMBER_WORDS,
    ORDINALS,
    PERIODS,
    RELATIVE_DAYS,
    RELATIVE_MARKERS,
    ROLE_WORDS,
    SPECIAL_NUMBERS,
    STOPWORDS,
    UNITS,
    WEEKDAYS,
)

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/.]\d{1,2}[/.]\d{1,4}\b")
_TIME = re.compile(
    r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?!\w)|\b(\d{1,2}):(\d{2})\b", re.IGNORECASE
)
_TOKEN = re.compile(r"[$€£¥%]|[^\W_]+(?:['\u2019.,\-_/][^\W_]+)*|[.!?;:\n]")
_SIGNS = frozenset("$€£¥%")
_BOUNDARY = frozenset(".!?;:\n")
_SUFFIXED = re.compile(r"(\d+(?:[.,]\d+)?)([a-z%]+)")
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)")
_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_YEAR = re.compile(r"(?:19|20)\d{2}")


# Words other checks already compare (numbers, units, dates, negations) or that carry no
# content: left out of the one-word-swap check.
NOT_CONTENT = (
    FUNCTION_WORDS
    | NEGATIONS
    | UNITS.keys()
    | NUMBER_WORDS.keys()
    | MULTIPLIERS.keys()
    | ORDINALS.keys()
    | SPECIAL_NUMBERS.keys()
    | MONTHS.keys()
    | WEEKDAYS
    | RELATIVE_DAYS
    | RELATIVE_MARKERS
    | PERIODS
)

CONTRAST_CLASS: dict[str, tuple[str, int]] = {
    stem(word): (group, index)
    for group, classes in CONTRASTS.items()
    for index, words in enumerate(classes)
    for word in words
}


@dataclass(frozen=True, slots=True)
class Facts:
    numbers: frozenset[str]
    identifiers: frozenset[str]
    dates: frozenset[str]
    negations: Counter[str]
    entities: frozenset[str]
    contrasts: dict[str, frozenset[int]]
    roles: dict[str, frozenset[str]]
    words: frozenset[str]  # every word, lower-cased
    stems: frozenset[str]
    content: frozenset[str]  # stems of the words that carry meaning (no stopwords, negations)


class _Reader:
    """One pass over a prompt's tokens, filling the fact sets."""

    def __init__(self, text: str) -> None:
        self.numbers: set[str] = set()
        self.identifiers: set[str] = set()
        self.dates: set[str] = set()
        self.negations: Counter[str] = Counter()
        self.entities: set[str] = set()
        self.contrasts: dict[str, set[int]] = {}
        self.roles: dict[str, set[str]] = {}
        text = self._patterns(text)
        self.tokens = [m.group() for m in _TOKEN.finditer(text)]
        self.lower = [t.lower().replace("\u2019", "'") for t in self.tokens]
        self.used = [False] * len(self.tokens)
        self.has_from = "from" in self.lower

    def _patterns(self, text: str) -> str:
        """Facts with punctuation inside (URLs, e-mails, dates, times), cut out of the text."""
        for match in _URL.finditer(text):
            self.identifiers.add(match.group().lower().rstrip("/.,"))
        text = _URL.sub(" ", text)
        for match in _EMAIL.finditer(text):
            self.identifiers.add(match.group().lower())
        text = _EMAIL.sub(" ", text)
        for y, m, d in _ISO_DATE.findall(text):
            self.dates.add(f"{int(y):04d}-{int(m):02d}-{int(d):02d}")
        text = _ISO_DATE.sub(" ", text)
        for match in _NUMERIC_DATE.finditer(text):
            self.dates.add(match.group().replace(".", "/"))
        text = _NUMERIC_DATE.sub(" ", text)
        for hour, minute, half, hour24, minute24 in _TIME.findall(text):
            if half:
                h = int(hour) % 12 + (12 if half.lower() == "p" else 0)
                self.dates.add(f"t{h:02d}:{int(minute or 0):02d}")
            else:
                self.dates.add(f"t{int(hour24):02d}:{int(minute24):02d}")
        return _TIME.sub(" ", text)

    def sentence_start(self, i: int) -> bool:
        return i == 0 or self.tokens[i - 1] in _BOUNDARY

    def next_content(self, i: int) -> str:
        """The first word after ``i`` that is not a stopword (stemmed), or ''."""
        for j in range(i + 1, min(len(self.tokens), i + 6)):
            word = self.lower[j]
            if word in _BOUNDARY:
                return ""
            if word not in STOPWORDS and word not in NEGATIONS:
                return stem(word)
        return ""

    def unit_after(self, i: int) -> str:
        j = i + 1
        if j < len(self.tokens) and self.lower[j] in UNITS:
            self.used[j] = True
            return UNITS[self.lower[j]]
        return ""

    def currency_before(self, i: int) -> str:
        if i > 0 and self.lower[i - 1] in CURRENCY_PREFIXES:
            return UNITS[self.lower[i - 1]]
        return ""

    def read(self) -> None:
        for i in range(len(self.tokens)):
            if not self.used[i]:
                self._token(i)

    def _token(self, i: int) -> None:
        token, word = self.tokens[i], self.lower[i]
        if token in _BOUNDARY or token in _SIGNS:
            return
        if any(c.isdigit() for c in word):
            self._digits(i, word)
        elif not self._date_words(i, word) and not self._number_words(i, word):
            self._word(i, token, word)

    def _digits(self, i: int, word: str) -> None:
        if self._date_from_day(i):
            return
        value = decimal_value(word)
        if value is not None and not (len(word) > 1 and word.startswith("0") and "." not in word):
            multiplier = self._multiplier_after(i)
            unit = self.currency_before(i) or self.unit_after(i + (multiplier != 1))
            self.numbers.add(number_fact(value * multiplier, unit))
            return
        if ordinal := _ORDINAL.fullmatch(word):
            self.numbers.add(f"ord:{int(ordinal.group(1))}")
            return
        suffixed = _SUFFIXED.fullmatch(word)
        if suffixed and (value := decimal_value(suffixed.group(1))) is not None:
            suffix = suffixed.group(2)
            if suffix in MULTIPLIERS:
                unit = self.currency_before(i) or self.unit_after(i)
                self.numbers.add(number_fact(value * MULTIPLIERS[suffix], unit))
                return
            if suffix in UNITS:
                self.numbers.add(number_fact(value, UNITS[suffix]))
                return
        self.identifiers.add(re.sub(r"['\u2019.,\-_/]", "", word))

    def _multiplier_after(self, i: int) -> int:
        j = i + 1
        if j < len(self.tokens) and self.lower[j] in MULTIPLIERS:
            self.used[j] = True
            return MULTIPLIERS[self.lower[j]]
        return 1

    def _date_from_day(self, i: int) -> bool:
        """``3 May [2026]`` / ``3rd of May``: a day number followed by a month."""
        j = i + 1 + (i + 1 < len(self.tokens) and self.lower[i + 1] == "of")
        day = _DAY.fullmatch(self.lower[i])
        if day is None or j >= len(self.tokens) or self.lower[j] not in MONTHS:
            return False
        self._date(int(day.group(1)), j, j + 1)
        self.used[i] = self.used[j] = True
        return True

    def _date(self, day: int | None, month_at: int, year_at: int) -> None:
        month = MONTHS[self.lower[month_at]]
        year = ""
        if year_at < len(self.tokens) and _YEAR.fullmatch(self.lower[year_at]):
            year, self.used[year_at] = self.lower[year_at] + "-", True
        self.dates.add(f"{year}{month:02d}" + (f"-{day:02d}" if day else ""))

    def _date_words(self, i: int, word: str) -> bool:
        if word in MONTHS:
            nxt = self.lower[i + 1] if i + 1 < len(self.tokens) else ""
            day = _DAY.fullmatch(nxt)
            if day and int(day.group(1)) <= 31 and not _YEAR.fullmatch(nxt):
                self.used[i + 1] = True
                self._date(int(day.group(1)), i, i + 2)
                return True
            named = self.tokens[i][0].isupper() and not self.sentence_start(i) and len(word) > 3
            if _YEAR.fullmatch(nxt) or named:
                self._date(None, i, i + 1)
                return True
            return False
        if word in WEEKDAYS or word in RELATIVE_DAYS or word == "ago":
            self.dates.add(word)
            return True
        if word in RELATIVE_MARKERS and i + 1 < len(self.tokens):
            nxt = self.lower[i + 1]
            if nxt in PERIODS or nxt in WEEKDAYS or nxt in MONTHS:
                self.used[i + 1] = True
                self.dates.add(f"{word}:{nxt}")
                return True
        return False

    def _number_words(self, i: int, word: str) -> bool:
        if word in SPECIAL_NUMBERS:
            value, unit = SPECIAL_NUMBERS[word]
            self.numbers.add(number_fact(value, unit or self.unit_after(i)))
            return True
        if word in ORDINALS:
            self.numbers.add(f"ord:{ORDINALS[word]}")
            return True
        if word not in NUMBER_WORDS:
            return False
        total, current, j = 0, 0, i
        while j < len(self.tokens) and (
            self.lower[j] in NUMBER_WORDS
            or self.lower[j] in MULTIPLIERS
            # "two hundred and fifty", but not "items two and three"
            or (self.lower[j] == "and" and self.lower[j - 1] in MULTIPLIERS)
        ):
            part = self.lower[j]
            if part in NUMBER_WORDS:
                current += NUMBER_WORDS[part]
            elif part in MULTIPLIERS:
                current = max(current, 1) * MULTIPLIERS[part]
                if MULTIPLIERS[part] >= 1000:
                    total, current = total + current, 0
            self.used[j] = True
            j += 1
        unit = self.currency_before(i) or self.unit_after(j - 1)
        self.numbers.add(number_fact(Decimal(total + current), unit))
        return True

    def _word(self, i: int, token: str, word: str) -> None:
        if word in UNITS:
            return  # a currency or unit word without its number says nothing on its own
        if word in NEGATIONS or word.endswith("n't"):
            self.negations[self.next_content(i)] += 1
            return
        if word in ROLE_WORDS or (word == "to" and self.has_from):
            target = self.next_content(i)
            if target:
                self.roles.setdefault(word, set()).add(target)
        contrast = CONTRAST_CLASS.get(stem(word))
        if contrast is not None:
            self.contrasts.setdefault(contrast[0], set()).add(contrast[1])
            return  # "Approve ..." at the start of a sentence is not a name
        if token[0].isupper() and len(token) > 1 and word not in COMMON_STARTERS:
            self.entities.add(word.removesuffix("'s"))

    def facts(self) -> Facts:
        words = frozenset(w.removesuffix("'s") for w in self.lower if w[0].isalpha())
        return Facts(
            numbers=frozenset(self.numbers),
            identifiers=frozenset(self.identifiers),
            dates=frozenset(self.dates),
            negations=self.negations,
            entities=frozenset(self.entities),
            contrasts={k: frozenset(v) for k, v in self.contrasts.items()},
            roles={k: frozenset(v) for k, v in self.roles.items()},
            words=words,
            stems=frozenset(stem(w) for w in words),
            content=frozenset(
                stem(w) for w in words if w not in NOT_CONTENT and not w.endswith("n't")
            ),
        )


def extract(text: str) -> Facts:
    reader = _Reader(text)
    reader.read()
    return reader.facts()
