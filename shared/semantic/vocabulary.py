"""Word lists for the near-miss guard: numbers, units, time words, negations, contrasts.

English only, deliberately small and conservative: a word listed here makes two prompts that
disagree on it a miss, so a missing synonym costs a cache hit, never a wrong answer.
"""

from __future__ import annotations

from decimal import Decimal

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
# "one" is left out: far more often a pronoun ("which one") than a count.
MULTIPLIERS: dict[str, int] = {
    "hundred": 100, "thousand": 1000, "k": 1000, "million": 10**6, "mn": 10**6,
    "billion": 10**9, "bn": 10**9,
}  # fmt: skip
SPECIAL_NUMBERS: dict[str, tuple[Decimal, str]] = {
    "half": (Decimal("0.5"), ""),
    "twice": (Decimal(2), "x"),
    "double": (Decimal(2), "x"),
    "triple": (Decimal(3), "x"),
}
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip

# Canonical unit per spelling; a unit after a number (or a currency before it) is part of it.
UNITS: dict[str, str] = {
    "%": "%", "percent": "%", "pct": "%", "percentage": "%",
    "$": "usd", "usd": "usd", "dollar": "usd", "dollars": "usd",
    "€": "eur", "eur": "eur", "euro": "eur", "euros": "eur",
    "£": "gbp", "gbp": "gbp", "sterling": "gbp", "pound": "pound", "pounds": "pound",
    "¥": "jpy", "jpy": "jpy", "yen": "jpy", "chf": "chf", "cad": "cad", "aud": "aud",
    "inr": "inr", "rupee": "inr", "rupees": "inr",
    "kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "g": "g", "gram": "g", "grams": "g", "lb": "lb", "lbs": "lb", "oz": "oz", "ounce": "oz",
    "ounces": "oz", "ton": "t", "tons": "t", "tonne": "t", "tonnes": "t",
    "km": "km", "kilometer": "km", "kilometers": "km", "kilometre": "km", "kilometres": "km",
    "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m", "cm": "cm", "mm": "mm",
    "mi": "mi", "mile": "mi", "miles": "mi", "ft": "ft", "foot": "ft", "feet": "ft",
    "inch": "inch", "inches": "inch",
    "ms": "ms", "millisecond": "ms", "milliseconds": "ms", "s": "s", "sec": "s", "secs": "s",
    "second": "s", "seconds": "s", "min": "min", "mins": "min", "minute": "min",
    "minutes": "min", "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "day", "days": "day", "week": "week", "weeks": "week", "wk": "week",
    "month": "month", "months": "month", "year": "year", "years": "year", "yr": "year",
    "yrs": "year", "kb": "kb", "mb": "mb", "gb": "gb", "tb": "tb", "x": "x", "times": "x",
    "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l", "ml": "ml",
    "gallon": "gal", "gallons": "gal", "seat": "seat", "seats": "seat", "user": "user",
    "users": "user", "license": "license", "licenses": "license", "licence": "license",
    "licences": "license",
}  # fmt: skip
CURRENCY_PREFIXES = frozenset({"$", "€", "£", "¥", "usd", "eur", "gbp", "jpy", "chf", "cad"})

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
RELATIVE_DAYS = frozenset({"today", "tomorrow", "yesterday", "tonight", "overdue"})
RELATIVE_MARKERS = frozenset({"next", "last", "this", "previous", "coming", "past", "current"})
PERIODS = frozenset({"week", "weekend", "month", "year", "quarter", "day", "night", "morning"})

NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither", "nor",
     "without", "cannot", "unless", "except", "excluding"}
)  # fmt: skip
NEGATIVE_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non", "mis")

# Words two prompts may use in either order around a negation or a role ("not the refund").
STOPWORDS = frozenset(
    {"a", "an", "the", "to", "be", "been", "being", "is", "are", "was", "were", "am", "do",
     "does", "did", "have", "has", "had", "any", "my", "your", "our", "their", "his", "her",
     "its", "this", "that", "these", "those", "of", "for", "it", "i", "we", "you", "they",
     "he", "she", "me", "us", "them", "and", "or", "but", "so", "at", "on", "in", "by", "with",
     "yet", "ever", "even", "really", "actually", "please", "just", "also", "all", "some",
     "can", "could", "will", "would", "should", "shall", "may", "might", "must", "get", "got",
     "want", "need", "like"}
)  # fmt: skip
# Not content for the substitution rule (near_miss.py): swapping one of these for another
# ("how" / "where", "when" / "whenever") says little about what is asked.
FUNCTION_WORDS = STOPWORDS | frozenset(
    {"how", "what", "why", "when", "whenever", "where", "wherever", "who", "which", "whose",
     "there", "here", "if", "then", "than", "as", "from", "into", "onto", "about", "up",
     "out", "off", "over", "after", "before", "via", "per", "i'd", "i'm", "i've", "i'll",
     "it's", "what's", "where's", "how's", "let's", "you're", "we're", "they're"}
)  # fmt: skip
# Sentence-initial capitalised words that are not names (a name there is still caught when the
# other prompt has it elsewhere: entities are compared case-insensitively against all words).
COMMON_STARTERS = STOPWORDS | frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "whose", "hi", "hello", "hey",
     "dear", "thanks", "thank", "ok", "okay", "yes", "no", "not", "there", "here", "if",
     "after", "before", "since", "as", "from", "summarize", "summarise", "classify",
     "extract", "show", "list", "give", "tell", "find", "send", "check", "help", "explain",
     "translate", "write", "create", "update", "delete", "cancel", "refund", "is", "are",
     "does", "did", "do", "has", "have", "am", "was", "were", "i'd", "i'm", "i've", "what's",
     "where's", "how's", "it's", "let", "let's", "make", "set", "change", "move", "transfer",
     "book", "order", "pay", "approve", "reject", "remind", "schedule", "add", "remove",
     "open", "close", "reset", "charge", "ship", "return", "compare", "convert", "calculate",
     "my", "our", "your", "unfortunately", "also", "again", "still", "then", "now", "today",
     "tomorrow", "yesterday", "only", "every", "each", "both", "either", "neither", "none",
     "nothing", "everything", "something", "anything", "somebody", "someone", "anyone",
     "urgent", "important", "quick", "question", "request", "issue", "problem", "note"}
)  # fmt: skip

# Role prepositions: the word after each is compared ("from savings to checking"). "to" only
# counts in a prompt that also says "from" (elsewhere it is mostly an infinitive).
ROLE_WORDS = frozenset({"from", "into", "onto", "than", "versus", "vs"})

# Mutually exclusive classes: prompts that use different classes of one group disagree.
CONTRASTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "verdict": (
        ("approve", "accept", "grant", "allow", "permit", "authorize", "authorise"),
        ("reject", "deny", "decline", "refuse", "disallow", "forbid", "block"),
    ),
    "direction": (
        ("increase", "raise", "rise", "grow", "up", "higher", "above", "over", "exceed", "more"),
        (
            "decrease",
            "reduce",
            "lower",
            "cut",
            "drop",
            "fall",
            "down",
            "below",
            "under",
            "less",
            "fewer",
        ),
    ),
    "time_order": (
        ("before", "earlier", "prior", "until"),
        ("after", "later", "since", "following"),
    ),
    "trade": (("buy", "purchase", "bought"), ("sell", "sold")),
    "trade_flow": (("import", "imports"), ("export", "exports")),
    "money_flow": (
        ("refund", "reimburse", "reimbursement"),
        ("charge", "charged"),
    ),
    "account_flow": (("deposit",), ("withdraw", "withdrawal")),
    "tier": (("upgrade",), ("downgrade",)),
    "state": (
        ("open", "enable", "activate", "start", "subscribe", "resume", "unlock"),
        (
            "close",
            "disable",
            "deactivate",
            "stop",
            "cancel",
            "unsubscribe",
            "pause",
            "suspend",
            "lock",
        ),
    ),
    "edit": (("add", "include", "insert"), ("remove", "exclude", "delete")),
    "extreme": (
        ("min", "minimum", "lowest", "smallest", "least", "cheapest", "shortest"),
        ("max", "maximum", "highest", "largest", "most", "biggest", "longest", "dearest"),
    ),
    "recency": (("earliest", "oldest"), ("latest", "newest", "recent")),
    "sort": (("asc", "ascending"), ("desc", "descending")),
    "truth": (("true", "correct"), ("false", "incorrect", "wrong")),
    "outcome": (
        ("pass", "passed", "win", "won", "success", "succeed"),
        ("fail", "failed", "lose", "lost", "failure"),
    ),
    "sex": (("male", "men", "man"), ("female", "women", "woman")),
    "frequency": (
        ("hourly",),
        ("daily",),
        ("weekly",),
        ("biweekly", "fortnightly"),
        ("monthly",),
        ("quarterly",),
        ("yearly", "annual", "annually"),
    ),
    "daypart": (("morning",), ("afternoon",), ("evening",), ("night", "overnight")),
    "compass": (
        ("north", "northern"),
        ("south", "southern"),
        ("east", "eastern"),
        ("west", "western"),
    ),
    "scope": (("internal",), ("external",)),
    "visibility": (("public",), ("private", "confidential")),
    "reach": (("domestic", "national", "local"), ("international", "overseas", "abroad")),
    "flow": (
        ("inbound", "incoming", "arrival", "arrive", "arriving"),
        ("outbound", "outgoing", "departure", "depart", "departing"),
    ),
    "temperature": (("hot", "warm", "heat"), ("cold", "cool", "freeze", "frozen")),
    "quantity": (("all", "every", "each", "entire", "whole"), ("some", "several", "few", "part")),
    "profit": (("profit", "gain", "gains"), ("loss", "losses")),
    "size": (("small", "smaller", "mini"), ("medium",), ("large", "larger", "big", "bigger")),
}
